"""Where a keyed learner's models wait out of memory: the :class:`Parking` protocol and its in-memory kind.

A :class:`~streamal.core.keyed.KeyedLearner` keeps ``max_models`` learners in
memory and *parks* the least recently used one (its pickle) until its key
comes back. The service parks on the state volume
(:class:`streamal.service.parking.DirectoryParking`); the evaluation and the
tests park in memory.

>>> parking = MemoryParking()
>>> token = parking.park("dmz", b"a pickled learner")
>>> parking.read(token), parking.unpark(token), parking.kept
(b'a pickled learner', b'a pickled learner', {})
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["MemoryParking", "Parking"]


class Parking(Protocol):
    """Where a learner out of memory waits for its key to come back."""

    def park(self, key: str, data: bytes) -> str:
        """Keep ``data`` (a pickled learner); a token to get it back with."""

    def unpark(self, token: str) -> bytes:
        """The data kept under ``token``, which may then let it go (the learner is back in memory)."""

    def read(self, token: str) -> bytes:
        """The data kept under ``token``, kept on (the learner stays parked)."""


class MemoryParking:
    """Parked learners as bytes in memory (the evaluation and the tests; the service parks on disk)."""

    def __init__(self) -> None:
        self.kept: dict[str, bytes] = {}
        self._n = 0

    def park(self, key: str, data: bytes) -> str:
        self._n += 1
        token = f"{self._n}"
        self.kept[token] = data
        return token

    def unpark(self, token: str) -> bytes:
        return self.kept.pop(token)

    def read(self, token: str) -> bytes:
        return self.kept[token]
