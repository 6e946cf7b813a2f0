"""The store of queried-but-unlabelled events, and the memory of labelled ones.

A label joins the features of the event it answers through this store. It is
bounded: past ``max_items`` the oldest item is dropped (and counted), so a
stalled review team cannot exhaust memory. The review topic holds every item
too, so the store can be rebuilt from it.

>>> store = PendingStore(max_items=2)
>>> for i in range(3):
...     _ = store.add(PendingItem(f"e{i}", {"x": i}, None, "a", {"a": 1.0}, 0.0, "uncertainty", 0, 0.0))
>>> list(store), store.evicted
(['e1', 'e2'], 1)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from streamal.core.domain import FeatureValue

__all__ = ["PendingItem", "PendingStore", "RecentIds"]


@dataclass(slots=True)
class PendingItem:
    """A queried event waiting for its label: what was asked, and what the model said."""

    event_id: str
    features: dict[str, FeatureValue]
    meta: dict[str, Any] | None
    prediction: str | None
    proba: dict[str, float]
    score: float
    reason: str
    model_version: int
    queried_at: float | None
    explanation: dict[str, Any] | None = None  # what drove the prediction (streamal.core.explain)
    key: str | None = None  # with a model per key (STREAMAL_MODEL_KEY): whose model asked ("" the shared one)

    def __getstate__(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f) for f in self.__slots__)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        # checkpoints made before a field was added hold fewer values: the rest take their defaults
        for name, value in zip(self.__slots__, state, strict=False):
            object.__setattr__(self, name, value)
        for name in self.__slots__[len(state):]:
            object.__setattr__(self, name, None)


class PendingStore:
    """Insertion-ordered, bounded map of event id to :class:`PendingItem`."""

    def __init__(self, max_items: int = 100_000) -> None:
        self.max_items = max_items
        self.evicted = 0
        self._items: OrderedDict[str, PendingItem] = OrderedDict()

    def add(self, item: PendingItem) -> bool:
        """Add ``item``; ``False`` (and no change) if its event is already pending."""
        if item.event_id in self._items:
            return False
        self._items[item.event_id] = item
        while len(self._items) > self.max_items:
            self._items.popitem(last=False)
            self.evicted += 1
        return True

    def get(self, event_id: str) -> PendingItem | None:
        """The pending item of ``event_id``, left in place."""
        return self._items.get(event_id)

    def pop(self, event_id: str) -> PendingItem | None:
        """Remove and return the item of ``event_id``, or ``None``."""
        return self._items.pop(event_id, None)

    def oldest(self) -> PendingItem | None:
        """The item waiting longest, or ``None`` when the store is empty."""
        return next(iter(self._items.values()), None)

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)


class RecentIds:
    """A bounded set of the most recently added ids (the labelled events).

    >>> seen = RecentIds(max_items=2)
    >>> for i in "abc":
    ...     seen.add(i)
    >>> "a" in seen, "c" in seen
    (False, True)
    """

    def __init__(self, max_items: int = 100_000) -> None:
        self.max_items = max_items
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, event_id: str) -> None:
        """Remember ``event_id``, forgetting the oldest past the bound."""
        self._ids[event_id] = None
        self._ids.move_to_end(event_id)
        while len(self._ids) > self.max_items:
            self._ids.popitem(last=False)

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)
