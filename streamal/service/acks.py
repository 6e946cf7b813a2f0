"""Which outputs the broker has acknowledged: a number per output, and the number every one up to is safe.

Each output is numbered as it is queued (:meth:`Acks.number`); the client's
delivery callback settles it (:meth:`Acks.settle`), in whatever order the
broker answers (batches to different partitions complete out of order). The
**watermark** :attr:`Acks.acked` is the highest number ``n`` such that every
output numbered ``1..n`` is acknowledged: a failed output stops it for good.
The commit policy (:mod:`streamal.service.commits`) compares it with the
number of the last output queued for an event, so an offset is never
committed past an event whose outputs, or any earlier one's, are not on the
broker.

>>> acks = Acks()
>>> a, b, c = acks.number(), acks.number(), acks.number()
>>> acks.settle(b); acks.acked        # b is in, but a is not yet
0
>>> acks.settle(a); acks.acked        # a and b: the watermark moves past both
2
>>> acks.settle(c, error="broker gone"); acks.acked, acks.error
(2, 'broker gone')
"""

from __future__ import annotations

import threading

__all__ = ["Acks"]


class Acks:
    """Numbers outputs as they are queued; :attr:`acked` is how far every one is acknowledged.

    :meth:`number` is called by the thread that sends; :meth:`settle` by the
    client's delivery callbacks, on any thread.
    """

    def __init__(self) -> None:
        self.sent = 0  # the number of the last output queued
        self.acked = 0  # every output numbered up to this one is acknowledged
        self.error: object | None = None  # the first delivery failure, if any
        self._early: set[int] = set()  # acknowledged above the watermark (a gap below it still open)
        self._lock = threading.Lock()

    def number(self) -> int:
        """The number of the output about to be queued."""
        self.sent += 1
        return self.sent

    def settle(self, number: int, error: object | None = None) -> None:
        """Output ``number`` was acknowledged, or failed with ``error`` (the watermark never passes it)."""
        with self._lock:
            if error is not None:
                if self.error is None:
                    self.error = error
                return
            if number != self.acked + 1:
                self._early.add(number)
                return
            acked = number
            early = self._early
            while acked + 1 in early:
                acked += 1
                early.discard(acked)
            self.acked = acked

    @property
    def in_flight(self) -> int:
        """Outputs queued and not yet acknowledged (failed ones included)."""
        return self.sent - self.acked
