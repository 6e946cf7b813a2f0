"""What the review store holds: review items with the analysts' answers, and its errors.

Kept apart from :mod:`streamal.review.store` (which re-exports them), so the
store's module holds the workflow and this one the records it works on.

:class:`ReviewEntry` is the store's own, changed only under its lock; what
leaves the store is an :class:`ItemView` (frozen, its answers a tuple of
frozen :class:`Answer`), so an HTTP thread reading one never sees the loop
thread change it halfway.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import MISSING, Field, dataclass, field, fields, replace
from typing import Any, Protocol

from streamal.core.pending import PendingItem
from streamal.core.pool import REASON_ORDER
from streamal.errors import StreamalError

__all__ = ["REASON_ORDER", "Answer", "AnswerView", "ItemView", "ReviewConflict", "ReviewEntry", "UnknownItem",
           "majority"]


class UnknownItem(StreamalError):
    """No review item has this event id."""


class ReviewConflict(StreamalError):
    """The request does not fit the item's state (answered, claimed by another analyst, undo too late)."""


@dataclass(slots=True, frozen=True)
class Answer:
    """One analyst's answer to one item (frozen: a change is a new answer put in its place)."""

    answer_id: str
    annotator: str
    label: str
    at: float
    retracted: bool = False
    tentative: bool = False  # given on this replica, not read back from the labels topic yet
    comment: str | None = None
    corrects: str | None = None  # the answer this one replaced after the undo window
    why: str | None = None  # why it was retracted, when not by its analyst (a rebuild left it out)

    def __setstate__(self, state: object) -> None:
        # checkpoints hold (None, {field: value}) from before answers were frozen, or a dict
        values = state[1] if isinstance(state, tuple) and len(state) == 2 else state
        if not isinstance(values, dict):  # pragma: no cover - no other shape is written
            raise TypeError(f"cannot restore an answer from {type(state).__name__}")
        for f in fields(Answer):
            object.__setattr__(self, f.name, values[f.name] if f.name in values else _default(f))

    def __getstate__(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(Answer)}


class _Facts(Protocol):
    @property
    def item(self) -> PendingItem: ...
    @property
    def answers(self) -> Sequence[Answer]: ...
    @property
    def agreed(self) -> str | None: ...
    @property
    def dropped(self) -> bool: ...
    @property
    def utility(self) -> float | None: ...


class _ItemFacts:
    """What a review entry and its frozen view both say of themselves, from the same fields."""

    __slots__ = ()

    @property
    def priority(self: _Facts) -> float:
        """How much answering it is worth now: its re-ranked utility, else its score when asked."""
        return self.item.score if self.utility is None else self.utility

    def live_answers(self: _Facts) -> list[Answer]:
        return [a for a in self.answers if not a.retracted]

    @property
    def open(self: _Facts) -> bool:
        return self.agreed is None and not self.dropped


@dataclass(slots=True)
class ReviewEntry(_ItemFacts):
    """A review item and what the analysts did with it."""

    item: PendingItem
    added_at: float
    answers: list[Answer] = field(default_factory=list)
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


    def take(self, answer: Answer, *, by_id: bool = True) -> bool:
        """An answer read from the labels topic; ``False`` if it does not count.

        The topic decides: the first answer of an annotator to an item, in topic
        order, is the one that counts (idempotent by ``answer_id``); a later one
        is a duplicate, and a tentative local answer it contradicts gives way to it.
        """
        same = next((a for a in self.answers if by_id and a.answer_id == answer.answer_id), None)
        if same is not None:  # our own answer read back: confirmed
            self.replace_answer(same, tentative=False)
            return True
        mine = [a for a in self.live_answers() if a.annotator == answer.annotator]
        if any(not a.tentative for a in mine):
            return False  # this analyst already answered this item, earlier in the topic
        for a in mine:  # a tentative answer the topic did not keep
            self.answers.remove(a)
        self.answers.append(answer)
        if mine and self.agreed is not None and not self.handed:
            self.agreed, self.closed_at = None, None  # agreed on what the topic replaced: agree again
        return True

    def retract(self, answer_id: str, answers_wanted: int) -> bool:
        """An answer was taken back: the item opens again unless its label already went to the learner."""
        for a in self.answers:
            if a.answer_id == answer_id and not a.retracted:
                self.replace_answer(a, retracted=True)
                if self.agreed is not None and len(self.live_answers()) < answers_wanted:
                    self.agreed, self.closed_at, self.handed = None, None, False
                return True
        return False

    def record_correction(self, old_answer_id: str, answer: Answer) -> None:
        """A correction published on this replica: shown now (tentative); what is learned waits for the topic."""
        if any(a.answer_id == answer.answer_id for a in self.answers):
            return
        for a in list(self.answers):
            if a.answer_id == old_answer_id:
                self.replace_answer(a, retracted=True)
        self.answers.append(answer)

    def correct(self, old_answer_id: str, answer: Answer, answers_wanted: int) -> str | None:
        """A correction read from the labels topic; the label to learn now, if the agreed label changed.

        The old answer is replaced by the new one and the agreement counted
        again. If the old agreed label had already gone to the learner, the new
        one is returned to be learned as well (a model cannot unlearn; the
        correction outweighs the mistake as more labels come); if not, the
        item closes on the new agreement when its time comes (the store settles it).
        """
        known = next((a for a in self.answers if a.answer_id == answer.answer_id), None)
        if known is not None and not known.tentative:
            return None  # read twice
        old = next((a for a in self.answers if a.answer_id == old_answer_id), None)
        if old is None or old.annotator != answer.annotator:
            return None
        self.replace_answer(old, retracted=True)
        if known is not None:
            self.replace_answer(known, tentative=False)
        else:
            self.answers.append(answer)
        live = self.live_answers()
        if len(live) < answers_wanted or self.agreed is None:
            return None
        agreed = majority(live)
        changed = agreed != self.agreed
        self.agreed = agreed
        return agreed if changed and self.handed else None

    def retract_matching(self, annotator: str | None, since: float | None, answer_ids: frozenset[str],
                         why: str) -> int:
        """Retract, saying ``why``, the answers of ``annotator`` (at or after ``since``) and those named; how many."""
        count = 0
        for a in list(self.answers):
            mine = annotator is not None and a.annotator == annotator and (since is None or a.at >= since)
            if (mine or a.answer_id in answer_ids) and not a.retracted:
                self.replace_answer(a, retracted=True, why=why)
                count += 1
        return count

    def answer_view(self, view: ItemView, answer: Answer, now: float, undo_seconds: float) -> AnswerView:
        """``answer`` with what its analyst may still do: undo it (in its window, not learned) or change it."""
        undo = not answer.retracted and not self.handed and now - answer.at <= undo_seconds
        return AnswerView(view, answer, undo, not answer.retracted and not self.dropped and not undo)

    def replace_answer(self, old: Answer, **changes: Any) -> Answer:
        """Put a changed copy of ``old`` in its place (answers are frozen) and return it."""
        new = replace(old, **changes)
        self.answers[self.answers.index(old)] = new
        return new

    def view(self, claimed_by: str | None, claim_until: float) -> ItemView:
        """A frozen copy for readers outside the store's lock, with the claim held on it now."""
        return ItemView(self.item, self.added_at, tuple(self.answers), claimed_by, claim_until,
                        frozenset(self.skipped_by), self.dropped, self.agreed, self.closed_at, self.handed,
                        self.utility, self.withdrawn)


@dataclass(slots=True, frozen=True)
class ItemView(_ItemFacts):
    """A review item as it stood when it was read: what routes and the pool are handed."""

    item: PendingItem
    added_at: float
    answers: tuple[Answer, ...]
    claimed_by: str | None
    claim_until: float
    skipped_by: frozenset[str]
    dropped: bool
    agreed: str | None
    closed_at: float | None
    handed: bool
    utility: float | None
    withdrawn: str | None



@dataclass(slots=True, frozen=True)
class AnswerView:
    """One answer with its item, and what its analyst may still do with it (the store's rules, decided once)."""

    item: ItemView
    answer: Answer
    can_undo: bool
    can_change: bool


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
