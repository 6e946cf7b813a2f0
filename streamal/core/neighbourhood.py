"""Cheap neighbourhoods of events: locality-sensitive cells with decaying counts.

Density-aware strategies need to know, per event, how crowded its region of
feature space is and how many labels it already has. A kernel density over a
window of past events costs a pass over the window per event; here an event
falls into a *cell* instead, found by a few random hyperplanes (SimHash) over
its online-standardised features, and counts per cell decay exponentially so
that old data fades as it would out of a sliding window. One event costs a
few microseconds per feature, whatever the history.

Strings count as one-hot indicators (``name=value``); booleans as 0/1; nulls
are skipped. The hyperplanes come from a hash of the feature name, so cells
are the same from run to run and replica to replica.

>>> cells = Cells(bits=4)
>>> for v in range(10):
...     cells.update({"x": float(v), "y": 2.0 * v})
>>> a = cells.cell({"x": 1.0, "y": 2.0})
>>> a == cells.cell({"x": 1.0, "y": 2.0})
True
>>> 0 <= a < 16
True
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Mapping
from typing import Any

__all__ = ["Cells", "DecayingCounts", "PendingCounts"]


class Cells:
    """Map features to one of ``2**bits`` cells of similar events.

    Parameters
    ----------
    bits
        Hyperplanes, so ``2**bits`` cells: more bits, finer cells.
    """

    def __init__(self, bits: int = 8) -> None:
        self.bits = bits
        self._planes: dict[str, list[float]] = {}
        self._stats: dict[str, list[float]] = {}  # name -> [n, mean, M2]

    def __getstate__(self) -> dict[str, Any]:
        # the hyperplanes are a memo, drawn again from the feature names after a restart
        return {"bits": self.bits, "_stats": self._stats}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._planes = {}

    def _plane(self, key: str) -> list[float]:
        plane = self._planes.get(key)
        if plane is None:
            rng = random.Random(zlib.crc32(key.encode()))
            plane = [rng.gauss(0.0, 1.0) for _ in range(self.bits)]
            self._planes[key] = plane
        return plane

    def _z(self, name: str, value: float) -> float:
        st = self._stats.get(name)
        if st is None or st[0] < 2:
            return 0.0
        n, mean, m2 = st
        sd = math.sqrt(m2 / n)
        return (value - mean) / sd if sd > 0 else 0.0

    def cell(self, x: Mapping[str, Any]) -> int:
        """The cell of ``x`` (an int in ``[0, 2**bits)``) on the scales seen so far. Pure."""
        acc = [0.0] * self.bits
        for name, value in x.items():
            if value is None:
                continue
            if isinstance(value, str):
                z, plane = 1.0, self._plane(f"{name}={value}")
            else:
                z, plane = self._z(name, float(value)), self._plane(name)
            if z:
                for i, w in enumerate(plane):
                    acc[i] += w * z
        code = 0
        for i, a in enumerate(acc):
            if a > 0.0:
                code |= 1 << i
        return code

    def update(self, x: Mapping[str, Any]) -> None:
        """Take ``x`` into the running scales of its numeric features."""
        for name, value in x.items():
            if value is None or isinstance(value, str):
                continue
            st = self._stats.get(name)
            if st is None:
                st = self._stats[name] = [0.0, 0.0, 0.0]
            n, mean, m2 = st
            n += 1.0
            delta = float(value) - mean
            mean += delta / n
            m2 += delta * (float(value) - mean)
            st[0], st[1], st[2] = n, mean, m2


class DecayingCounts:
    """Counts per key that halve every ``half_life`` ticks, updated lazily.

    >>> c = DecayingCounts(half_life=10)
    >>> c.add("a", now=0)
    >>> round(c.get("a", now=10), 3)
    0.5
    """

    def __init__(self, half_life: float = 2000.0) -> None:
        self._rate = math.log(2.0) / half_life
        self._values: dict[Any, tuple[float, float]] = {}

    def get(self, key: Any, now: float) -> float:
        """The count of ``key`` at time ``now``."""
        value, at = self._values.get(key, (0.0, now))
        return value * math.exp(-self._rate * (now - at)) if now > at else value

    def add(self, key: Any, now: float, amount: float = 1.0) -> None:
        """Add ``amount`` to ``key`` at time ``now``."""
        self._values[key] = (self.get(key, now) + amount, now)


class PendingCounts:
    """Questions on their way: how many queried events in a cell still wait for their label.

    A query is counted in its cell until its label comes back (:meth:`answered`)
    or until ``horizon`` events have passed since it was asked: by then the
    region may have moved on, and an answer that late teaches little about
    today's events (the *forgetting* of Forgetting and Simulating). Bounded:
    past ``max_items`` the oldest question is no longer counted.

    >>> p = PendingCounts(horizon=100)
    >>> p.asked("e1", cell=3, t=0); p.asked("e2", cell=3, t=10)
    >>> p.count(3, t=50), p.count(4, t=50)
    (2, 0)
    >>> p.answered("e1"); p.count(3, t=50)
    1
    >>> p.count(3, t=111)     # e2 asked 101 events ago: past the horizon
    0
    """

    def __init__(self, horizon: int = 1000, max_items: int = 100_000) -> None:
        self.horizon = horizon
        self.max_items = max_items
        self._items: dict[str, tuple[int, int]] = {}  # id -> (cell, t), in the order asked
        self._cells: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._items)

    def asked(self, key: str, cell: int, t: int) -> None:
        """A query about ``key`` (in ``cell``) went out at tick ``t``."""
        if key in self._items:
            return
        self._items[key] = (cell, t)
        self._cells[cell] = self._cells.get(cell, 0) + 1
        while len(self._items) > self.max_items:
            self._drop(next(iter(self._items)))

    def answered(self, key: str) -> None:
        """The label of ``key`` came back (or its question was withdrawn): no longer on its way."""
        if key in self._items:
            self._drop(key)

    def _drop(self, key: str) -> None:
        cell, _ = self._items.pop(key)
        left = self._cells[cell] - 1
        if left:
            self._cells[cell] = left
        else:
            del self._cells[cell]

    def count(self, cell: int, t: int) -> int:
        """Questions on their way in ``cell`` at tick ``t`` (those older than ``horizon`` forgotten)."""
        while self._items:
            key = next(iter(self._items))
            if self._items[key][1] >= t - self.horizon:
                break
            self._drop(key)
        return self._cells.get(cell, 0)
