"""Model versions: what a version of the model is, taken whole and put back; and which labels a replay learns.

A learner's *model* is what labels changed: the river model, the strategy's
own learned part, the schema of the features, the classes and their counts,
and the version (labels learned). The rest of the learner is the present:
questions on their way, the budget, the accuracy estimates, the drift
monitors. A rollback puts an earlier model back and keeps the present.

>>> from streamal.core.config import LearnerConfig
>>> from streamal.core.learner import Learner
>>> learner = Learner(LearnerConfig(model="linear", seed_size=0))
>>> _ = learner.warm([({"x": 1.0}, "a"), ({"x": -1.0}, "b")])
>>> earlier = ModelState.capture(learner)
>>> _ = learner.warm([({"x": 2.0}, "c")])
>>> learner.model_version, learner.classes
(3, ['a', 'b', 'c'])
>>> earlier.restore(learner)
>>> learner.model_version, learner.classes
(2, ['a', 'b'])
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["ModelState", "Replayed", "replay_order"]


class _Learner(Protocol):
    model_version: int

    def model_parts(self) -> dict[str, Any]: ...

    def restore_model_parts(self, parts: Mapping[str, Any], version: int) -> None: ...


@dataclass(frozen=True, slots=True)
class ModelState:
    """One version of a learner's model, as bytes (a deep copy: the live learner goes on changing)."""

    version: int
    data: bytes

    @classmethod
    def capture(cls, learner: _Learner) -> ModelState:
        return cls(learner.model_version, pickle.dumps(learner.model_parts(), protocol=pickle.HIGHEST_PROTOCOL))

    def restore(self, learner: _Learner) -> None:
        """Put this model back into ``learner`` (its questions, budget and estimates stay as they are)."""
        learner.restore_model_parts(pickle.loads(self.data), self.version)


@dataclass(frozen=True, slots=True)
class Replayed:
    """One label to learn again: its event, its final label, its features."""

    event_id: str
    label: str
    features: Mapping[str, Any]
    key: str | None = None  # whose model learned it, with a model per key


def replay_order(entries: Iterable[Mapping[str, Any]], after: int,
                 excluded: frozenset[str] = frozenset()) -> list[Replayed]:
    """The labels learned after version ``after``, in the order first learned, each with its final label.

    ``entries`` are journal records (``v`` the version the label made,
    ``event_id``, ``label``, ``features``, ``answer_id``, ``kind``
    ``label`` or ``correction``). A correction changes the label its event is
    replayed with (the answers as they stand, not as first given); an entry
    whose ``answer_id`` is in ``excluded`` is left out.

    >>> log = [{"v": 1, "event_id": "e1", "label": "ok", "features": {}},
    ...        {"v": 2, "event_id": "e2", "label": "bad", "features": {}},
    ...        {"v": 3, "event_id": "e2", "label": "ok", "features": {}, "kind": "correction"}]
    >>> [(r.event_id, r.label) for r in replay_order(log, after=1)]
    [('e2', 'ok')]
    """
    order: list[str] = []
    final: dict[str, Replayed] = {}
    for entry in entries:
        if int(entry.get("v", 0)) <= after or entry.get("answer_id") in excluded:
            continue
        event_id = str(entry["event_id"])
        if event_id not in final:
            order.append(event_id)
        earlier = final.get(event_id)
        features = entry.get("features") or (earlier.features if earlier is not None else {})
        key = entry.get("key", earlier.key if earlier is not None else None)
        final[event_id] = Replayed(event_id, str(entry["label"]), features, key if isinstance(key, str) else None)
    return [final[e] for e in order]
