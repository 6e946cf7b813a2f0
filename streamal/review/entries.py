"""What the review store holds: review items with the analysts' answers, and its errors.

Kept apart from :mod:`streamal.review.store` (which re-exports them), so the
store's module holds the workflow and this one the records it works on.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import MISSING, Field, dataclass, field, fields
from typing import Any

from streamal.core.pending import PendingItem
from streamal.core.pool import REASON_ORDER
from streamal.errors import StreamalError

__all__ = ["REASON_ORDER", "Answer", "ReviewConflict", "ReviewEntry", "UnknownItem", "majority"]



class UnknownItem(StreamalError):
    """No review item has this event id."""


class ReviewConflict(StreamalError):
    """The request does not fit the item's state (answered, claimed by another analyst, undo too late)."""


@dataclass(slots=True)
class Answer:
    """One analyst's answer to one item."""

    answer_id: str
    annotator: str
    label: str
    at: float
    retracted: bool = False
    tentative: bool = False  # given on this replica, not read back from the labels topic yet
    comment: str | None = None
    corrects: str | None = None  # the answer this one replaced after the undo window


@dataclass(slots=True)
class ReviewEntry:
    """A review item and what the analysts did with it."""

    item: PendingItem
    added_at: float
    answers: list[Answer] = field(default_factory=list)
    claimed_by: str | None = None
    claim_until: float = 0.0
    skipped_by: set[str] = field(default_factory=set)
    dropped: bool = False
    agreed: str | None = None
    closed_at: float | None = None
    handed: bool = False  # the agreed label went to the learner
    utility: float | None = None  # the question's worth to the model now (re-ranked); None: as when it was asked
    withdrawn: str | None = None  # why the service took the question back (the model answered it for itself)

    def __setstate__(self, state: object) -> None:
        # entries checkpointed before a field was added hold fewer values: the rest take their defaults
        values = state[1] if isinstance(state, tuple) and len(state) == 2 and isinstance(state[1], dict) else state
        if isinstance(values, dict):
            for f in _FIELDS:
                object.__setattr__(self, f.name, values[f.name] if f.name in values else _default(f))
        else:  # pragma: no cover - no other shape is written
            raise TypeError(f"cannot restore a review entry from {type(state).__name__}")

    @property
    def priority(self) -> float:
        """How much answering it is worth now: its re-ranked utility, else its score when asked."""
        return self.item.score if self.utility is None else self.utility

    def live_answers(self) -> list[Answer]:
        return [a for a in self.answers if not a.retracted]

    @property
    def open(self) -> bool:
        return self.agreed is None and not self.dropped


_FIELDS = fields(ReviewEntry)


def _default(f: Field[Any]) -> Any:
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    raise TypeError(f"a checkpointed review entry has no {f.name!r}")


def majority(answers: list[Answer]) -> str:
    """The label most of ``answers`` give; on a tie, the one given first.

    >>> majority([Answer("1", "a", "ok", 1.0), Answer("2", "b", "bad", 2.0), Answer("3", "c", "bad", 3.0)])
    'bad'
    >>> majority([Answer("1", "a", "ok", 1.0), Answer("2", "b", "bad", 2.0)])
    'ok'
    """
    counts = Counter(a.label for a in answers)
    top = max(counts.values())
    return next(a.label for a in answers if counts[a.label] == top)
