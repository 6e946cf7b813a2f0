"""The models streamal can run, by name, each ready for mixed features and string labels.

Events carry numbers, booleans, strings and nulls. :func:`prepare` turns
booleans into 0/1 and drops nulls (a missing value is an absent key, which
every river model tolerates). Then:

* ``linear``: numbers standardised, strings one-hot encoded, one logistic
  regression per class. Fast, smooth probabilities, good on few labels and
  on data that is close to linearly separable; forgets slowly.
* ``hat``: Hoeffding adaptive tree. Numbers and strings natively (strings are
  nominal splits), ADWIN in its nodes replaces subtrees that go stale:
  a cheap default for drifting data.
* ``arf``: adaptive random forest of 10 such trees with a drift detector per
  tree; the most accurate on most streams and 5-10x the cost of ``hat``.
  Its members also give the disagreement used by the ``committee`` strategy.

>>> model = make_model("linear", seed=1)
>>> for x, y in [({"port": 22, "proto": "ssh"}, "bad"), ({"port": 443, "proto": "tls"}, "ok")] * 20:
...     model.learn_one(prepare(x), y)
>>> max(model.predict_proba_one(prepare({"port": 22, "proto": "ssh"})).items(), key=lambda kv: kv[1])[0]
'bad'
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from typing import Any

from river import base, compose, forest, linear_model, multiclass, optim, preprocessing, tree

from streamal.core.names import ModelName

__all__ = ["MODELS", "make_model", "prepare"]


def prepare(features: Mapping[str, Any]) -> dict[str, float | str]:
    """Make raw event features model-ready: bools as 0/1, nulls dropped.

    >>> prepare({"a": True, "b": None, "c": 2, "d": "x"})
    {'a': 1.0, 'c': 2, 'd': 'x'}
    """
    out: dict[str, float | str] = {}
    for name, value in features.items():
        if value is None:
            continue
        if value is True or value is False:
            out[name] = 1.0 if value else 0.0
        else:
            out[name] = value
    return out


def _linear(seed: int) -> base.Classifier:
    encode = compose.TransformerUnion(
        compose.SelectType(numbers.Number) | preprocessing.StandardScaler(),
        compose.SelectType(str) | preprocessing.OneHotEncoder(),
    )
    clf = multiclass.OneVsRestClassifier(linear_model.LogisticRegression(optimizer=optim.SGD(0.05)))
    return compose.Pipeline(encode, clf)


def _hat(seed: int) -> base.Classifier:
    return tree.HoeffdingAdaptiveTreeClassifier(grace_period=50, seed=seed)


def _arf(seed: int) -> base.Classifier:
    return forest.ARFClassifier(n_models=10, grace_period=50, seed=seed)


MODELS: dict[ModelName, tuple[Callable[[int], base.Classifier], str]] = {
    "linear": (_linear, "standardised numbers + one-hot strings, one-vs-rest logistic regression"),
    "hat": (_hat, "Hoeffding adaptive tree (ADWIN in the nodes)"),
    "arf": (_arf, "adaptive random forest, 10 trees"),
}


def make_model(name: str, seed: int = 42) -> base.Classifier:
    """A fresh model by name; raises ``KeyError`` listing the names on a wrong one."""
    try:
        factory = MODELS[name][0]  # type: ignore[index]  # a name from outside: checked here
    except KeyError:
        raise KeyError(f"unknown model {name!r}; choose one of {', '.join(sorted(MODELS))}") from None
    return factory(seed)
