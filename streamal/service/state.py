"""What a checkpoint holds, as one record: the learner, the review store, the side topics' positions, waiting labels.

Saved as a dict of these four (the shape earlier releases wrote, which still
loads), read back through :meth:`SavedState.from_dict`, which says what is
wrong when a file holds something else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from streamal.core.learner import Learner
from streamal.errors import CheckpointError
from streamal.service.routing import Waiting

__all__ = ["SavedState"]


@dataclass(slots=True)
class SavedState:
    """The state saved with the topic positions it belongs to."""

    learner: Learner
    review: bytes  # ReviewStore.snapshot(), taken under the store's lock
    positions: dict[str, int] = field(default_factory=dict)  # "topic:partition" -> next offset to read
    waiting: list[Waiting] = field(default_factory=list)  # labels whose review item was not read yet

    def to_dict(self) -> dict[str, Any]:
        return {"learner": self.learner, "review": self.review, "positions": dict(self.positions),
                "waiting": list(self.waiting)}

    @classmethod
    def from_dict(cls, state: dict[str, Any], where: object) -> SavedState:
        learner, review = state.get("learner"), state.get("review")
        if not isinstance(learner, Learner) or not isinstance(review, bytes):
            raise CheckpointError(f"{where} holds no learner and review store; start afresh with "
                                  "`streamal run --reset-model` (the labels topic is learned again)")
        return cls(learner, review, dict(state.get("positions") or {}), list(state.get("waiting") or []))
