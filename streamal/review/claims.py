"""Who may do what to a review item now: claims that expire, skips, the undo window, the queue's order.

:class:`AnalystRules` is the analysts' side of
:class:`~streamal.review.store.ReviewStore` (which it is mixed into): every
method takes the store's lock and reads the store's entries and clock, and
raises :class:`~streamal.review.entries.ReviewConflict` with a sentence the
page can show when a request does not fit the item's state.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from streamal.review.entries import REASON_ORDER, Answer, ReviewConflict, ReviewEntry, UnknownItem

__all__ = ["AnalystRules"]


class AnalystRules:
    """The analysts' requests against the store's entries (the store supplies the state below)."""

    _entries: OrderedDict[str, ReviewEntry]
    _lock: threading.RLock
    _inflight: set[tuple[str, str]]
    clock: Callable[[], float]
    claim_seconds: float
    undo_seconds: float

    def entry(self, event_id: str) -> ReviewEntry:
        with self._lock:
            entry = self._entries.get(event_id)
            if entry is None:
                raise UnknownItem(f"no review item {event_id!r}")
            self._expire(entry)
            return entry

    def _expire(self, entry: ReviewEntry) -> None:
        if entry.claimed_by is not None and entry.claim_until <= self.clock():
            entry.claimed_by, entry.claim_until = None, 0.0

    def open_items(self, *, reason: str | None = None, annotator: str | None = None,
                   available: bool = False, limit: int = 50, offset: int = 0) -> tuple[list[ReviewEntry], int]:
        """Open items, most valuable first (drift first, then by their worth now); and how many match.

        ``annotator``: leave out what they skipped or answered; with ``available``, also
        what another analyst holds.
        """
        with self._lock:
            entries = []
            for e in self._entries.values():
                self._expire(e)
                if not e.open or (reason and e.item.reason != reason):
                    continue
                if annotator is not None and (annotator in e.skipped_by
                                              or any(a.annotator == annotator for a in e.live_answers())):
                    continue
                if available and e.claimed_by not in (None, annotator):
                    continue
                entries.append(e)
            entries.sort(key=lambda e: (REASON_ORDER.get(e.item.reason, 3), -e.priority, e.added_at))
            return entries[offset:offset + limit], len(entries)

    def next_for(self, annotator: str) -> ReviewEntry | None:
        """The most useful open item ``annotator`` may answer now, claimed for them; ``None`` if there is none.

        Decided when asked (the pool is re-ranked as the model learns), and claimed in
        the same step, so two analysts asking at once never get the same item.
        """
        with self._lock:
            for entry in self.open_items(annotator=annotator, available=True, limit=len(self._entries) or 1)[0]:
                try:
                    self.claim(entry.item.event_id, annotator)
                except ReviewConflict:
                    continue
                return entry
            return None

    def check_answerable(self, event_id: str, annotator: str) -> ReviewEntry:
        """Raise unless ``annotator`` may answer ``event_id`` now."""
        with self._lock:
            entry = self.entry(event_id)
            if entry.withdrawn is not None:
                raise ReviewConflict(f"item {event_id!r} was withdrawn ({entry.withdrawn}): no answer is needed")
            if entry.dropped:
                raise ReviewConflict(f"item {event_id!r} was dropped")
            if not entry.open:
                raise ReviewConflict(f"item {event_id!r} is already answered ({entry.agreed!r})")
            if any(a.annotator == annotator for a in entry.live_answers()) or (event_id, annotator) in self._inflight:
                raise ReviewConflict(f"you already answered item {event_id!r}; undo it to change your answer")
            if entry.claimed_by not in (None, annotator):
                raise ReviewConflict(f"item {event_id!r} is claimed by {entry.claimed_by}")
            return entry

    def claim(self, event_id: str, annotator: str) -> float:
        """Claim an item for ``claim_seconds``; returns when the claim ends."""
        with self._lock:
            entry = self.check_answerable(event_id, annotator)
            entry.claimed_by, entry.claim_until = annotator, self.clock() + self.claim_seconds
            return entry.claim_until

    def release(self, event_id: str, annotator: str) -> None:
        with self._lock:
            entry = self.entry(event_id)
            _not_held_by_another(entry, annotator)
            entry.claimed_by, entry.claim_until = None, 0.0

    def check_droppable(self, event_id: str, annotator: str) -> ReviewEntry:
        """Raise unless ``annotator`` may drop ``event_id`` now (open, and not claimed by someone else)."""
        with self._lock:
            entry = self.entry(event_id)
            if not entry.open:
                raise ReviewConflict(f"item {event_id!r} is already closed")
            _not_held_by_another(entry, annotator)
            return entry

    def skip(self, event_id: str, annotator: str) -> None:
        """Back to the queue for the others; this analyst is not shown it again."""
        with self._lock:
            entry = self.entry(event_id)
            _not_held_by_another(entry, annotator)
            entry.skipped_by.add(annotator)
            entry.claimed_by, entry.claim_until = None, 0.0

    def undoable(self, event_id: str, annotator: str) -> Answer:
        """The answer of ``annotator`` to ``event_id`` that may still be taken back."""
        with self._lock:
            entry = self.entry(event_id)
            answer = _latest_answer(entry, annotator, "undo")
            if self.clock() - answer.at > self.undo_seconds:
                raise ReviewConflict(f"the undo window of {self.undo_seconds:g}s has passed")
            if entry.handed:
                raise ReviewConflict("the label was already learned; answer a new item to correct the model")
            return answer

    def correctable(self, event_id: str, annotator: str) -> Answer:
        """The answer of ``annotator`` to ``event_id`` that may be changed by a correction (its undo window over)."""
        with self._lock:
            entry = self.entry(event_id)
            answer = _latest_answer(entry, annotator, "change")
            if entry.withdrawn is not None:
                raise ReviewConflict(f"item {event_id!r} was withdrawn ({entry.withdrawn}): no answer is needed")
            if entry.dropped:
                raise ReviewConflict(f"item {event_id!r} was dropped")
            if self.clock() - answer.at <= self.undo_seconds and not entry.handed:
                raise ReviewConflict("your answer can still be undone: undo it and answer again")
            return answer

    def last_undoable(self, annotator: str) -> tuple[str, Answer] | None:
        """This analyst's most recent answer still in its undo window."""
        with self._lock:
            best = None
            for event_id, e in self._entries.items():
                for a in e.live_answers():
                    if a.annotator == annotator and self.clock() - a.at <= self.undo_seconds:
                        if best is None or a.at > best[1].at:
                            best = (event_id, a)
            return best


def _not_held_by_another(entry: ReviewEntry, annotator: str) -> None:
    """Raise if another analyst holds ``entry`` (a claim of this analyst's own, or none, is fine)."""
    if entry.claimed_by not in (None, annotator):
        raise ReviewConflict(f"item {entry.item.event_id!r} is claimed by {entry.claimed_by}, not by you")


def _latest_answer(entry: ReviewEntry, annotator: str, to: str) -> Answer:
    """The last answer ``annotator`` gave to ``entry`` and has not taken back; raise if none (nothing ``to`` do)."""
    mine = [a for a in entry.live_answers() if a.annotator == annotator]
    if not mine:
        raise ReviewConflict(f"you have no answer to item {entry.item.event_id!r} to {to}")
    return mine[-1]
