"""Who may do what to a review item now: claims that expire, answers on their way, and the rules.

:class:`Claims` holds what lives in one replica's memory only (which analyst
holds which item until when, and whose answers are being published); the
functions below are the rules every analyst request is checked against. Both
are used by :class:`~streamal.review.store.ReviewStore` under its lock, and
raise :class:`~streamal.review.entries.ReviewConflict` with a sentence the
page can show when a request does not fit the item's state.

>>> claims = Claims(seconds=60.0, clock=lambda: 10.0)
>>> claims.take("e1", "analyst-1")
70.0
>>> claims.holder("e1"), claims.holder("e2")
('analyst-1', None)
"""

from __future__ import annotations

from collections.abc import Callable

from streamal.review.entries import Answer, ReviewConflict, ReviewEntry

__all__ = ["Claims", "answerable", "changeable_answer", "check_answerable", "listed", "not_held_by_another",
           "undoable_answer"]


class Claims:
    """Claims on items (expiring by themselves) and the answers being published, by event id.

    Not thread-safe on its own: the store calls it under its lock.
    """

    def __init__(self, seconds: float, clock: Callable[[], float]) -> None:
        self.seconds = seconds
        self.clock = clock
        self._held: dict[str, tuple[str, float]] = {}  # event_id -> (annotator, until)
        self._on_the_way: dict[str, set[str]] = {}  # event_id -> annotators whose answer is being published

    def holder(self, event_id: str) -> str | None:
        """Who holds ``event_id`` now (an expired claim is let go here)."""
        held = self._held.get(event_id)
        if held is None:
            return None
        if held[1] <= self.clock():
            del self._held[event_id]
            return None
        return held[0]

    def until(self, event_id: str) -> float:
        """When the claim on ``event_id`` ends (0 when nobody holds it)."""
        return self._held[event_id][1] if self.holder(event_id) is not None else 0.0

    def take(self, event_id: str, annotator: str) -> float:
        """``annotator`` holds ``event_id`` for ``seconds`` from now; returns when the claim ends."""
        until = self.clock() + self.seconds
        self._held[event_id] = (annotator, until)
        return until

    def let_go(self, event_id: str, annotator: str | None = None) -> None:
        """The claim on ``event_id`` ends (only ``annotator``'s own, if given)."""
        if annotator is None or self.holder(event_id) == annotator:
            self._held.pop(event_id, None)

    def reserve(self, event_id: str, annotator: str) -> None:
        self._on_the_way.setdefault(event_id, set()).add(annotator)

    def unreserve(self, event_id: str, annotator: str) -> None:
        waiting = self._on_the_way.get(event_id)
        if waiting is not None:
            waiting.discard(annotator)
            if not waiting:
                del self._on_the_way[event_id]

    def on_the_way(self, event_id: str) -> frozenset[str]:
        """The analysts whose answer to ``event_id`` is being published now."""
        return frozenset(self._on_the_way.get(event_id, ()))

    def clear(self) -> None:
        """Claims do not survive a restore."""
        self._held.clear()
        self._on_the_way.clear()


def check_answerable(entry: ReviewEntry, annotator: str, claims: Claims, answers_wanted: int) -> None:
    """Raise unless ``annotator`` may answer ``entry`` now.

    Answers on their way count towards the quorum: with two answers wanted and
    two being published, a third analyst is told the item is taken care of.
    """
    event_id = entry.item.event_id
    _not_taken_back(entry)
    if not entry.open:
        raise ReviewConflict(f"item {event_id!r} is already answered ({entry.agreed!r})")
    live = entry.live_answers()
    coming = claims.on_the_way(event_id)
    if any(a.annotator == annotator for a in live) or annotator in coming:
        raise ReviewConflict(f"you already answered item {event_id!r}; undo it to change your answer")
    if len(live) + len(coming) >= answers_wanted:
        raise ReviewConflict(f"item {event_id!r} has the {answers_wanted} answer(s) it needs on their way")
    holder = claims.holder(event_id)
    if holder not in (None, annotator):
        raise ReviewConflict(f"item {event_id!r} is claimed by {holder}")


def listed(entry: ReviewEntry, claims: Claims, reason: str | None, annotator: str | None, available: bool) -> bool:
    """Whether ``entry`` is on ``annotator``'s list: of ``reason`` (if given), neither skipped nor answered by
    them, and with ``available``, not held by another analyst."""
    if reason and entry.item.reason != reason:
        return False
    if annotator is not None and (annotator in entry.skipped_by or (entry.answers and any(
            a.annotator == annotator for a in entry.live_answers()))):
        return False
    return not available or claims.holder(entry.item.event_id) in (None, annotator)


def answerable(entry: ReviewEntry, annotator: str, claims: Claims, answers_wanted: int) -> bool:
    """Whether ``annotator`` may answer ``entry`` now (:func:`check_answerable`, as a yes or no)."""
    try:
        check_answerable(entry, annotator, claims, answers_wanted)
    except ReviewConflict:
        return False
    return True


def not_held_by_another(entry: ReviewEntry, annotator: str, claims: Claims) -> None:
    """Raise if another analyst holds ``entry`` (a claim of this analyst's own, or none, is fine)."""
    holder = claims.holder(entry.item.event_id)
    if holder not in (None, annotator):
        raise ReviewConflict(f"item {entry.item.event_id!r} is claimed by {holder}, not by you")


def undoable_answer(entry: ReviewEntry, annotator: str, now: float, undo_seconds: float) -> Answer:
    """The answer of ``annotator`` to ``entry`` that may still be taken back (in its window, not learned yet)."""
    answer = _latest_answer(entry, annotator, "undo")
    if now - answer.at > undo_seconds:
        raise ReviewConflict(f"the undo window of {undo_seconds:g}s has passed")
    if entry.handed:
        raise ReviewConflict("the label was already learned; answer a new item to correct the model")
    return answer


def changeable_answer(entry: ReviewEntry, annotator: str, now: float, undo_seconds: float) -> Answer:
    """The answer of ``annotator`` to ``entry`` that a correction may change (its undo window over)."""
    answer = _latest_answer(entry, annotator, "change")
    _not_taken_back(entry)
    if now - answer.at <= undo_seconds and not entry.handed:
        raise ReviewConflict("your answer can still be undone: undo it and answer again")
    return answer


def _not_taken_back(entry: ReviewEntry) -> None:
    """Raise if the service withdrew ``entry`` or an analyst dropped it."""
    if entry.withdrawn is not None:
        raise ReviewConflict(f"item {entry.item.event_id!r} was withdrawn ({entry.withdrawn}): no answer is needed")
    if entry.dropped:
        raise ReviewConflict(f"item {entry.item.event_id!r} was dropped")


def _latest_answer(entry: ReviewEntry, annotator: str, to: str) -> Answer:
    """The last answer ``annotator`` gave to ``entry`` and has not taken back; raise if none (nothing ``to`` do)."""
    mine = [a for a in entry.live_answers() if a.annotator == annotator]
    if not mine:
        raise ReviewConflict(f"you have no answer to item {entry.item.event_id!r} to {to}")
    return mine[-1]
