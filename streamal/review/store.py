"""The review store: open and answered review items, materialised from the review and labels topics.

The topics are the source of truth. The service feeds this store every review
item and label it reads (the review API applies its own answers once Kafka has
acknowledged them; the message coming back is known by its ``answer_id``). It
is checkpointed with the learner, at the same topic positions. Claims alone
live in memory only (:class:`~streamal.review.claims.Claims`). Every rule is
kept here, under one lock, and nothing live leaves the store: readers get
frozen :class:`~streamal.review.entries.ItemView` copies.

>>> from streamal.core.pending import PendingItem
>>> store = ReviewStore(answers_wanted=2, clock=lambda: 100.0)
>>> store.add_item(PendingItem("e1", {"x": 1}, None, "ok", {"ok": 0.6, "bad": 0.4}, 0.4, "uncertainty", 7, 90.0))
True
>>> store.apply_answer("e1", "bad", "analyst-1", answer_id="a1")
True
>>> store.due(now=1000.0)                 # one answer of the two wanted
[]
>>> store.apply_answer("e1", "bad", "analyst-2", answer_id="a2")
True
>>> store.due(now=130.0)                  # agreed, but still within the undo window
[]
>>> store.due(now=161.0)
[('e1', 'bad', 100.0)]
"""

from __future__ import annotations

import pickle
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from streamal.core.pending import PendingItem
from streamal.review.book import Book
from streamal.review.claims import (
    Claims,
    answerable,
    changeable_answer,
    check_answerable,
    listed,
    not_held_by_another,
    undoable_answer,
)
from streamal.review.entries import (
    Answer,
    AnswerView,
    ItemView,
    ReviewConflict,
    ReviewEntry,
    UnknownItem,
    majority,
)
from streamal.review.figures import agreement_kappa, summarize

__all__ = ["Answer", "AnswerView", "ItemView", "ReviewConflict", "ReviewEntry", "ReviewStore", "UnknownItem"]


class ReviewStore:
    """Review items by event id, with their answers, claims and agreement.

    Parameters
    ----------
    answers_wanted
        Answers an item needs before its label is agreed (the most frequent answer; ties go to the earliest).
    claim_seconds
        How long a claim holds before it is released by itself.
    undo_seconds
        How long an analyst may take back an answer.
    max_items, max_closed
        Items kept, and closed items kept (:class:`~streamal.review.book.Book`).
    """

    def __init__(self, answers_wanted: int = 1, claim_seconds: float = 300.0, undo_seconds: float = 60.0,
                 max_items: int = 100_000, clock: Callable[[], float] = time.time, max_closed: int = 10_000) -> None:
        self.answers_wanted = answers_wanted
        self.claim_seconds = claim_seconds
        self.undo_seconds = undo_seconds
        self.clock = clock
        self._book = Book(max_items, max_closed)
        self._lock = threading.RLock()
        self.classes: list[str] = []  # the classes the model knows (from the items' probabilities)
        self._claims = Claims(claim_seconds, clock)  # in memory only: who holds what, whose answer is on its way

    def snapshot(self) -> bytes:
        """The store as bytes, taken whole under the lock (HTTP threads may be changing it)."""
        with self._lock:
            state = {"answers_wanted": self.answers_wanted, "claim_seconds": self.claim_seconds,
                     "undo_seconds": self.undo_seconds, "max_items": self._book.max_items, "classes": self.classes,
                     **self._book.state()}
            return pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)

    def restore(self, data: bytes) -> None:
        """Replace the contents with a :meth:`snapshot`, in place; claims do not survive it.

        The settings given at construction (answers wanted, claim and undo
        times, size) win over those in the snapshot.
        """
        state = pickle.loads(data)
        with self._lock:
            self._book.load(state)
            self.classes = state["classes"]
            self._claims.clear()

    # -- from the topics -----------------------------------------------------------------------

    def add_item(self, item: PendingItem) -> bool:
        """A review item was read from the review topic; ``False`` if it was known already."""
        with self._lock:
            if not self._book.add(ReviewEntry(item, self.clock())):
                return False
            for c in item.proba:
                if c not in self.classes:
                    self.classes.append(c)
            return True

    def reserve(self, event_id: str, annotator: str) -> ItemView:
        """Hold ``event_id`` for one answer of ``annotator`` while it is published (atomic).

        :class:`ReviewConflict` when the analyst may not answer now, already has
        an answer on its way, or the answers wanted are all on their way already.
        """
        with self._lock:
            entry = self._get(event_id)
            check_answerable(entry, annotator, self._claims, self.answers_wanted)
            self._claims.reserve(event_id, annotator)
            return self._view(entry)

    def unreserve(self, event_id: str, annotator: str) -> None:
        """The reserved answer was not published after all."""
        with self._lock:
            self._claims.unreserve(event_id, annotator)

    def record_local(self, event_id: str, label: str, annotator: str, *, answer_id: str, at: float,
                     comment: str | None = None) -> None:
        """An answer this replica published (and Kafka acknowledged): counted now, confirmed when read back."""
        with self._lock:
            self._claims.unreserve(event_id, annotator)
            entry = self._book.get(event_id)
            if entry is None or entry.dropped or any(a.answer_id == answer_id for a in entry.answers):
                return
            entry.answers.append(Answer(answer_id, annotator, label, at, tentative=True, comment=comment))
            self._answered(entry, annotator)

    def apply_answer(self, event_id: str, label: str, annotator: str, *, answer_id: str | None = None,
                     at: float | None = None, comment: str | None = None) -> bool:
        """A label read from the labels topic; ``False`` if it does not count (:meth:`ReviewEntry.take`)."""
        with self._lock:
            entry = self._book.get(event_id)
            if entry is None or entry.dropped:
                return False
            taken = entry.take(Answer(answer_id or f"{event_id}:{len(entry.answers)}", annotator, label,
                                      self.clock() if at is None else at, comment=comment), by_id=bool(answer_id))
            if taken:
                self._answered(entry, annotator)
            self._book.touch(entry)  # an answer the topic replaced may open it again
            return taken

    def _answered(self, entry: ReviewEntry, annotator: str) -> None:
        self._claims.let_go(entry.item.event_id, annotator)
        self._settle(entry)

    def _settle(self, entry: ReviewEntry) -> None:
        live = entry.live_answers()
        if entry.agreed is None and len(live) >= self.answers_wanted:
            entry.agreed = majority(live)
            entry.closed_at = live[-1].at
            self._book.closing(entry.item.event_id, agreed=True)

    def apply_retraction(self, event_id: str, answer_id: str) -> bool:
        """An answer was taken back: the item opens again unless its label already went to the learner."""
        with self._lock:
            entry = self._book.get(event_id)
            if entry is None:
                return False
            retracted = entry.retract(answer_id, self.answers_wanted)
            self._book.touch(entry)  # open again: back in the queue's order
            return retracted

    def record_correction(self, event_id: str, old_answer_id: str, answer: Answer) -> None:
        """A correction this replica published: shown now; what is learned waits for the labels topic."""
        with self._lock:
            entry = self._book.get(event_id)
            if entry is not None:
                entry.record_correction(old_answer_id, answer)

    def apply_correction(self, event_id: str, old_answer_id: str, answer: Answer) -> str | None:
        """A correction read from the labels topic; the label to learn now (:meth:`ReviewEntry.correct`)."""
        with self._lock:
            entry = self._book.get(event_id)
            if entry is None or entry.dropped:
                return None
            relearn = entry.correct(old_answer_id, answer, self.answers_wanted)
            if entry.agreed is None:
                self._settle(entry)
            self._book.touch(entry)
            return relearn

    def answers(self, *, annotator: str | None = None, limit: int | None = None) -> list[AnswerView]:
        """Every answer kept (retracted ones too), newest first; only ``annotator``'s if given.

        Each with whether its analyst may still undo it (in the undo window, not
        learned yet) or change it (a correction, once the window is over).
        """
        with self._lock:
            now = self.clock()
            pairs = [(e, a) for e in self._book.entries.values() for a in e.answers
                     if annotator is None or a.annotator == annotator]
            pairs.sort(key=lambda ea: ea[1].at, reverse=True)
            return [e.answer_view(self._view(e), a, now, self.undo_seconds)
                    for e, a in (pairs[:limit] if limit is not None else pairs)]

    def retract_answers(self, annotator: str | None, since: float | None, answer_ids: frozenset[str], *,
                        why: str) -> int:
        """Mark as retracted, saying ``why``, the answers a rebuild left out of the model; how many."""
        with self._lock:
            return sum(e.retract_matching(annotator, since, answer_ids, why) for e in self._book.entries.values())

    def apply_drop(self, event_id: str) -> None:
        """An analyst dropped the item: nobody is asked for it any more."""
        with self._lock:
            entry = self._book.get(event_id)
            if entry is not None:
                entry.dropped = True
                entry.closed_at = self.clock()
                self._book.closing(event_id)

    def apply_withdraw(self, event_id: str, why: str) -> bool:
        """The service took the question back (``why``): closed like a drop; ``False`` if it was not open."""
        with self._lock:
            entry = self._book.get(event_id)
            if entry is None or not entry.open:
                return False
            entry.dropped = True
            entry.withdrawn = why
            self._claims.let_go(event_id)
            entry.closed_at = self.clock()
            self._book.closing(event_id)
            return True

    def withdrawn_features(self, event_id: str) -> dict[str, Any] | None:
        """The features of a withdrawn item (an answer that comes anyway is still learned), else ``None``."""
        with self._lock:
            entry = self._book.get(event_id)
            return dict(entry.item.features) if entry is not None and entry.withdrawn is not None else None

    def top_unanswered(self, reasons: frozenset[str], limit: int) -> list[ItemView]:
        """The first ``limit`` open items of the queue with one of ``reasons``, unanswered, unclaimed, none on its way.

        What the pool re-ranks: only the top of the queue is looked at again, not every item.
        """
        def wanted(e: ReviewEntry) -> bool:
            event_id = e.item.event_id
            return (e.item.reason in reasons and not e.live_answers() and self._claims.holder(event_id) is None
                    and not self._claims.on_the_way(event_id))

        with self._lock:
            return [self._view(e) for e in self._book.top(wanted, limit)]

    def set_utility(self, event_id: str, utility: float) -> None:
        """The question's worth to the model now (the queue is ordered by it)."""
        with self._lock:
            entry = self._book.get(event_id)
            if entry is not None:
                entry.utility = utility
                self._book.touch(entry)  # its place in the queue moves with its worth

    def due(self, now: float) -> list[tuple[str, str, float]]:
        """Agreed items whose undo window is over: ``(event_id, label, closed_at)``, each handed out once."""
        with self._lock:
            return self._book.take_due(now, self.undo_seconds)

    def mark_handed(self, event_id: str) -> None:
        """The learner got this item's label another way (a label message from outside the review API)."""
        with self._lock:
            entry = self._book.get(event_id)
            if entry is not None:
                entry.handed = True

    def features(self, event_id: str) -> dict[str, Any] | None:
        """The features of the item for ``event_id`` (``None`` if it is not kept)."""
        with self._lock:
            entry = self._book.get(event_id)
            return dict(entry.item.features) if entry is not None else None

    def knows(self, event_id: str) -> bool:
        with self._lock:
            return event_id in self._book.entries

    # -- the analysts --------------------------------------------------------------------------

    def _get(self, event_id: str) -> ReviewEntry:
        entry = self._book.get(event_id)
        if entry is None:
            raise UnknownItem(f"no review item {event_id!r}")
        return entry

    def _view(self, entry: ReviewEntry) -> ItemView:
        event_id = entry.item.event_id
        return entry.view(self._claims.holder(event_id), self._claims.until(event_id))

    def entry(self, event_id: str) -> ItemView:
        """The item for ``event_id`` as it is now (:class:`UnknownItem` if it is not kept)."""
        with self._lock:
            return self._view(self._get(event_id))

    def open_items(self, *, reason: str | None = None, annotator: str | None = None,
                   available: bool = False, limit: int = 50, offset: int = 0) -> tuple[list[ItemView], int]:
        """Open items, most valuable first (drift first, then by their worth now); and how many match.

        ``annotator``: leave out what they skipped or answered; with ``available``, also
        what another analyst holds.
        """
        with self._lock:
            shown = partial(listed, claims=self._claims, reason=reason, annotator=annotator, available=available)
            page = self._book.top(shown, offset + limit)[offset:]  # the head of the kept order, not a sort
            total = sum(1 for e in self._book.entries.values() if e.open and shown(e))
            return [self._view(e) for e in page], total

    def next_for(self, annotator: str) -> ItemView | None:
        """The most useful open item ``annotator`` may answer now, claimed for them; ``None`` if there is none.

        Decided when asked (the pool is re-ranked as the model learns), and claimed in
        the same step, so two analysts asking at once never get the same item.
        """
        with self._lock:  # most useful first, from the head of the kept order
            found = self._book.top(lambda e: listed(e, self._claims, None, annotator, True)
                                   and answerable(e, annotator, self._claims, self.answers_wanted), 1)
            if not found:
                return None
            self._claims.take(found[0].item.event_id, annotator)
            return self._view(found[0])

    def claim(self, event_id: str, annotator: str) -> float:
        """Claim an item for ``claim_seconds``; returns when the claim ends."""
        with self._lock:
            check_answerable(self._get(event_id), annotator, self._claims, self.answers_wanted)
            return self._claims.take(event_id, annotator)

    def release(self, event_id: str, annotator: str) -> None:
        """Give back a claimed item (:class:`ReviewConflict` if another analyst holds it)."""
        with self._lock:
            not_held_by_another(self._get(event_id), annotator, self._claims)
            self._claims.let_go(event_id)

    def skip(self, event_id: str, annotator: str) -> None:
        """Back to the queue for the others; this analyst is not shown it again."""
        with self._lock:
            self.check_droppable(event_id, annotator)
            self._get(event_id).skipped_by.add(annotator)
            self._claims.let_go(event_id)

    def check_droppable(self, event_id: str, annotator: str) -> None:
        """Raise unless ``annotator`` may skip or drop ``event_id`` now (open, and not claimed by someone else)."""
        with self._lock:
            entry = self._get(event_id)
            if not entry.open:
                raise ReviewConflict(f"item {event_id!r} is already closed")
            not_held_by_another(entry, annotator, self._claims)

    def undoable(self, event_id: str, annotator: str) -> Answer:
        """The answer of ``annotator`` to ``event_id`` that may still be taken back."""
        with self._lock:
            return undoable_answer(self._get(event_id), annotator, self.clock(), self.undo_seconds)

    def correctable(self, event_id: str, annotator: str) -> Answer:
        """The answer of ``annotator`` to ``event_id`` that may be changed by a correction (its undo window over)."""
        with self._lock:
            return changeable_answer(self._get(event_id), annotator, self.clock(), self.undo_seconds)

    def last_undoable(self, annotator: str) -> tuple[str, Answer] | None:
        """This analyst's most recent answer still in its undo window."""
        with self._lock:
            now, best = self.clock(), None
            for event_id, e in self._book.entries.items():
                if not e.answers:  # most of a long queue: nothing to look through
                    continue
                for a in e.live_answers():
                    if a.annotator == annotator and now - a.at <= self.undo_seconds:
                        if best is None or a.at > best[1].at:
                            best = (event_id, a)
            return best

    # -- statistics ----------------------------------------------------------------------------

    def agreement_kappa(self) -> float | None:
        """Fleiss' kappa over the agreed items answered more than once (``None`` while there are none)."""
        with self._lock:
            return agreement_kappa(list(self._book.entries.values()))

    def stats(self) -> dict[str, Any]:
        """Open, answered, by reason, by annotator, median answer time, agreement."""
        with self._lock:
            return summarize(list(self._book.entries.values()))
