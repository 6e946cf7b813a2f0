"""What drove a prediction, for the analyst who is asked about it: cheap, and only what the model really used.

* a linear model (``linear``): the largest terms of weight × standardised value
  for the predicted class, the numbers the logistic regression added up;
* a tree (``hat``): the path of tests from the root to the leaf the event falls in;
* ``auto``: both members, each with its weight in the mixture;
* a forest (``arf``): nothing (ten trees' paths explain nothing to a person).

It runs only for the events that are queried (a few in a hundred), at the
moment they are asked, and travels with the review item.

>>> from streamal.core.models import make_model
>>> model = make_model("linear", seed=1)
>>> for x, y in [({"bytes": 9000.0, "proto": "tcp"}, "bad"), ({"bytes": 100.0, "proto": "udp"}, "ok")] * 50:
...     model.learn_one(x, y)
>>> why = explain(model, {"bytes": 8000.0, "proto": "tcp"}, "bad")
>>> [m["name"] for m in why["members"]], [t["feature"] for t in why["members"][0]["terms"]][:2]
(['linear'], ['bytes', 'proto_tcp'])
"""

from __future__ import annotations

import re
from typing import Any

from river import compose, multiclass, tree

from streamal.core.models import Mixture

__all__ = ["explain"]

#: Terms shown per linear model, and tests per tree path.
MAX_TERMS = 5
MAX_STEPS = 12
_LONG_NUMBER = re.compile(r"-?\d+\.\d{5,}")


def explain(model: Any, x: dict[str, Any], prediction: str | None) -> dict[str, Any] | None:
    """The explanation of ``model``'s ``prediction`` for ``x``, or ``None`` when there is nothing honest to say."""
    if prediction is None:
        return None
    if isinstance(model, Mixture):
        members = [(m, w) for m, w in zip(model, model.weights(), strict=True)]
    else:
        members = [(model, 1.0)]
    out = []
    for member, weight in members:
        part = _explain_one(member, x, prediction)
        if part is not None:
            out.append(part | {"weight": round(weight, 3)})
    return {"members": out} if out else None


def _explain_one(model: Any, x: dict[str, Any], prediction: str) -> dict[str, Any] | None:
    try:
        if isinstance(model, compose.Pipeline):
            return _linear_terms(model, x, prediction)
        if isinstance(model, tree.HoeffdingTreeClassifier):
            return _tree_path(model, x)
    except Exception:
        return None
    return None


def _linear_terms(model: compose.Pipeline, x: dict[str, Any], prediction: str) -> dict[str, Any] | None:
    steps = list(model.steps.values())
    head, clf = steps[:-1], steps[-1]
    if not isinstance(clf, multiclass.OneVsRestClassifier) or prediction not in clf.classifiers:
        return None
    encoded = dict(x)
    for step in head:
        encoded = step.transform_one(encoded)
    weights = clf.classifiers[prediction].weights
    terms = [(name, value, float(weights.get(name, 0.0)) * float(value)) for name, value in encoded.items()]
    terms = [t for t in terms if t[2] != 0.0]
    terms.sort(key=lambda t: abs(t[2]), reverse=True)
    return {"name": "linear", "class": prediction,
            "terms": [{"feature": name, "value": round(float(value), 4), "effect": round(effect, 4)}
                      for name, value, effect in terms[:MAX_TERMS]]}


def _tree_path(model: tree.HoeffdingTreeClassifier, x: dict[str, Any]) -> dict[str, Any] | None:
    text = model.debug_one(x) or ""
    path = []
    for line in text.splitlines():
        if line.startswith("Class") or not line.strip():
            break
        path.append(_LONG_NUMBER.sub(lambda m: f"{float(m.group()):.4g}", line.strip())[:200])
    return {"name": "tree", "path": path[:MAX_STEPS]}
