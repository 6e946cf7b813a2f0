"""The kept review entries: in arrival order, within their memory bounds, and the agreed ones not yet learned.

:class:`Book` is the review store's record keeping, apart from its rules: how
many items are kept, which closed ones are let go first, which agreed labels
are due to the learner once their undo window is over, and what of it goes
into a checkpoint. Not thread-safe: the store calls it under its lock.

>>> from streamal.core.pending import PendingItem
>>> book = Book(max_items=2, max_closed=10)
>>> for i in range(3):
...     _ = book.add(ReviewEntry(PendingItem(f"e{i}", {}, None, "a", {"a": 1.0}, 0.0, "uncertainty", 0, 0.0), 0.0))
>>> list(book.entries)                     # past max_items, the oldest goes (closed ones first)
['e1', 'e2']
"""

from __future__ import annotations

import heapq
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from streamal.review.entries import REASON_ORDER, ReviewEntry

__all__ = ["Book"]


#: An entry's place in the kept order: its rank, a sequence number (the latest counts), its event id.
_Place = tuple[tuple[int, float, float], int, str]


class Book:
    """Review entries by event id, bounded; the closed ones in closing order; the agreed ones due to the learner.

    Parameters
    ----------
    max_items
        Items kept; the oldest closed ones go first.
    max_closed
        Closed (answered or dropped) items kept, for "my answers", the export and
        changes of answer; the oldest go first, so memory stays flat however long
        the analysts keep up (the labels topic keeps every answer for good).
    """

    def __init__(self, max_items: int, max_closed: int) -> None:
        self.max_items = max_items
        self.max_closed = max_closed
        self.entries: OrderedDict[str, ReviewEntry] = OrderedDict()
        self.closed: deque[str] = deque()  # closed items' ids, in the order they closed
        self.due: list[str] = []  # agreed items whose label has not gone to the learner yet
        # the queue's order, kept as it changes: places (rank, seq, event id); a place counts only while it is
        # its event's latest (``_latest``) and the entry is open, the rest are dropped when they surface
        self._heap: list[_Place] = []
        self._latest: dict[str, _Place] = {}
        self._seq = 0

    def get(self, event_id: str) -> ReviewEntry | None:
        return self.entries.get(event_id)

    def add(self, entry: ReviewEntry) -> bool:
        """Keep ``entry``; ``False`` if an entry for its event is kept already."""
        if entry.item.event_id in self.entries:
            return False
        self.entries[entry.item.event_id] = entry
        self.touch(entry)
        self.trim()
        return True

    def touch(self, entry: ReviewEntry) -> None:
        """``entry``'s place in the queue may have changed (its worth now, or it is open again): file it anew.

        A push, not a search: its earlier place is left to be dropped when it surfaces.
        """
        if not entry.open:
            return
        rank = _rank(entry)
        filed = self._latest.get(entry.item.event_id)
        if filed is not None and filed[0] == rank:
            return  # where it is filed already (a worth set again to what it was, an answer that kept it open)
        heapq.heappush(self._heap, self._place(entry.item.event_id, rank))
        if len(self._heap) > 2 * len(self.entries) + 64:  # mostly superseded places: start again
            self._rebuild()

    def _place(self, event_id: str, rank: tuple[int, float, float]) -> _Place:
        """A new place for ``event_id`` at ``rank``: the one that counts for it from now on."""
        self._seq += 1
        place = (rank, self._seq, event_id)
        self._latest[event_id] = place
        return place

    def _rebuild(self) -> None:
        self._latest = {}
        self._heap = [self._place(e.item.event_id, _rank(e)) for e in self.entries.values() if e.open]
        heapq.heapify(self._heap)

    def closing(self, event_id: str, *, agreed: bool = False) -> None:
        """``event_id`` closed (``agreed``: its label is due to the learner); past ``max_closed``, the oldest goes."""
        if agreed:
            self.due.append(event_id)
        self.closed.append(event_id)
        while len(self.closed) > self.max_closed:
            old = self.closed.popleft()
            entry = self.entries.get(old)
            if entry is not None and not entry.open and (entry.handed or entry.dropped):
                del self.entries[old]

    def top(self, wanted: Callable[[ReviewEntry], bool], limit: int) -> list[ReviewEntry]:
        """The first ``limit`` open entries in the queue's order (:func:`_rank`) that are ``wanted``, no sort.

        Walks the kept order from its head (the next item for an analyst, the top the pool re-ranks, a page
        of the list): a few pops and pushes, not a pass over every entry. ``wanted`` sees each open entry
        once, in the queue's order.
        """
        out: list[ReviewEntry] = []
        kept: list[_Place] = []
        heap, latest = self._heap, self._latest
        try:
            while heap and len(out) < limit:
                place = heapq.heappop(heap)
                rank, _, event_id = place
                if latest.get(event_id) is not place:
                    continue  # a place it has since left
                entry = self.entries.get(event_id)
                if entry is None or not entry.open:
                    del latest[event_id]  # let go, or closed: filed again if it opens again
                    continue
                now = _rank(entry)
                if now != rank:  # changed without a word: file it where it belongs now and go on
                    heapq.heappush(heap, self._place(event_id, now))
                    continue
                kept.append(place)
                if wanted(entry):
                    out.append(entry)
        finally:
            for element in kept:
                heapq.heappush(heap, element)
        return out

    def trim(self) -> None:
        """Past ``max_items``: the item closed longest ago goes, else the oldest open one.

        Constant time a call: the closed items are found through ``closed`` (the order they closed in),
        never by walking every entry (with 100,000 open items and nobody answering, each new item
        walked them all, and the service scored 400 events a second).
        """
        while len(self.entries) > self.max_items:
            while self.closed:
                entry = self.entries.get(self.closed[0])
                if entry is not None and not entry.open:
                    del self.entries[self.closed.popleft()]
                    break
                self.closed.popleft()  # gone already, or open again (it is counted again when it closes)
            else:
                self.entries.popitem(last=False)

    def take_due(self, now: float, undo_seconds: float) -> list[tuple[str, str, float]]:
        """Agreed items whose undo window is over: ``(event_id, label, closed_at)``, each handed out once."""
        out, keep = [], []
        for event_id in self.due:
            entry = self.entries.get(event_id)
            if entry is None or entry.handed or entry.agreed is None or entry.closed_at is None:
                continue
            if now - entry.closed_at < undo_seconds:
                keep.append(event_id)
                continue
            entry.handed = True
            out.append((event_id, entry.agreed, entry.closed_at))
        self.due = keep
        return out

    def state(self) -> dict[str, Any]:
        """What a checkpoint keeps (the names are those of earlier checkpoints, which still load)."""
        return {"_entries": self.entries, "_due": self.due, "_closed": self.closed}

    def load(self, state: dict[str, Any]) -> None:
        self.entries = state["_entries"]
        self.due = state["_due"]
        self.closed = state.get("_closed") or deque(k for k, e in self.entries.items() if not e.open)
        self._rebuild()
        self.trim()


def _rank(e: ReviewEntry) -> tuple[int, float, float]:
    """The queue's order: by reason (drift and novelty first), then the worth now, then the oldest.

    A worth that is not a number ranks as none (a NaN would compare unequal to itself and never settle).
    """
    worth = e.priority
    return REASON_ORDER.get(e.item.reason, 3), -worth if worth == worth else 0.0, e.added_at
