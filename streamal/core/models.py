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

import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

from river import base, compose, linear_model, multiclass, optim, preprocessing, tree

from streamal.core.calibration import log_likelihood
from streamal.core.names import ModelName

__all__ = ["MODELS", "Mixture", "make_model", "prepare"]


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
    # drop_zeros: only the categories present, not a zero for every category ever seen. The zeros change
    # nothing learned or predicted (no L2 term: a zero input moves no weight) but cost a copy of one entry
    # per category seen, every event: with a feature like an IP address, that grows without end.
    encode = compose.TransformerUnion(
        compose.SelectType(numbers.Number) | preprocessing.StandardScaler(),
        compose.SelectType(str) | preprocessing.OneHotEncoder(drop_zeros=True),
    )
    clf = multiclass.OneVsRestClassifier(linear_model.LogisticRegression(optimizer=optim.SGD(0.05)))
    return compose.Pipeline(encode, clf)


def _hat(seed: int) -> base.Classifier:
    return tree.HoeffdingAdaptiveTreeClassifier(grace_period=50, seed=seed)


def _arf(seed: int) -> base.Classifier:
    # imported here: river.forest pulls in river.metrics and scipy.stats, a second of start-up for every model
    from river import forest

    return forest.ARFClassifier(n_models=10, grace_period=50, seed=seed)


class Mixture(base.Ensemble, base.Classifier):  # type: ignore[misc]
    """An exponentially weighted mixture of classifiers that all learn every label (Hedge).

    Before a member learns a label it predicts that label's event, and pays
    its log-loss; the losses fade with a ``half_life`` in labels, so the
    weights follow drift. The mixture's probabilities are the members'
    averaged by ``exp(-eta * (loss - best loss))``: in effect the member the
    recent labels favour, blended where they are close (``eta`` of about
    ``sqrt(8 ln 2 / T)`` for ``T`` of several hundred labels). With few labels the
    smooth member (``linear``) carries the mixture; once the tree has seen
    enough, it takes over where it is better.

    >>> mix = Mixture([_linear(1), _hat(1)])
    >>> for x, y in [({"port": 22, "proto": "ssh"}, "bad"), ({"port": 443, "proto": "tls"}, "ok")] * 30:
    ...     mix.learn_one(x, y)
    >>> max(mix.predict_proba_one({"port": 22, "proto": "ssh"}).items(), key=lambda kv: kv[1])[0]
    'bad'
    >>> [round(w, 2) for w in mix.weights()]  # the smooth member was right sooner: it leads
    [0.88, 0.12]
    """

    def __init__(self, models: list[base.Classifier], eta: float = 0.1, half_life: float = 500.0) -> None:
        super().__init__(models)
        self.eta = eta
        self.half_life = half_life
        self._decay = 0.5 ** (1.0 / half_life)
        self._loss = [0.0] * len(models)

    @staticmethod
    def _proba(model: base.Classifier, x: dict[str, Any]) -> dict[str, float]:
        raw = model.predict_proba_one(x)
        total = sum(raw.values())
        return {c: p / total for c, p in raw.items()} if total > 0 else {}

    def weights(self) -> list[float]:
        """Each member's weight in the mixture now (they add up to 1)."""
        best = min(self._loss)
        w = [math.exp(-self.eta * (loss - best)) for loss in self._loss]
        total = sum(w)
        return [v / total for v in w]

    def learn_one(self, x: dict[str, Any], y: Any) -> None:
        for i, model in enumerate(self):
            self._loss[i] = self._decay * self._loss[i] - log_likelihood(model.predict_proba_one(x), y)
            model.learn_one(x, y)

    def predict_proba_one(self, x: dict[str, Any]) -> dict[str, float]:
        out: dict[str, float] = {}
        for w, model in zip(self.weights(), self, strict=True):
            for c, p in self._proba(model, x).items():
                out[c] = out.get(c, 0.0) + w * p
        return out


def _auto(seed: int) -> base.Classifier:
    return Mixture([_linear(seed), _hat(seed)])


MODELS: dict[ModelName, tuple[Callable[[int], base.Classifier], str]] = {
    "linear": (_linear, "standardised numbers + one-hot strings, one-vs-rest logistic regression"),
    "hat": (_hat, "Hoeffding adaptive tree (ADWIN in the nodes)"),
    "arf": (_arf, "adaptive random forest, 10 trees"),
    "auto": (_auto, "linear and hat learning every label, mixed by their recent log-loss (Hedge)"),
}


def make_model(name: str, seed: int = 42) -> base.Classifier:
    """A fresh model by name; raises ``KeyError`` listing the names on a wrong one."""
    try:
        factory = MODELS[name][0]  # type: ignore[index]  # a name from outside: checked here
    except KeyError:
        raise KeyError(f"unknown model {name!r}; choose one of {', '.join(sorted(MODELS))}") from None
    return factory(seed)
