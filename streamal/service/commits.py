"""The commit policy: when processed events become committed, and when state is saved.

The order, in one place (as quix-streams' checkpointing does it):

1. :meth:`Commits.processed`: an event was handled and its outputs queued;
2. :meth:`Commits.commit`, before every poll of the events topic:
   **the outputs acknowledged** (every prediction, review item and dead
   letter; an undelivered one raises :class:`~streamal.errors.BrokerError` and
   nothing is committed), then **commit the offsets** of the events handled;
3. :meth:`Commits.maybe_checkpoint`, every ``interval`` seconds and at the end:
   **save the state** (learner, review store, side-topic positions), after a
   waited commit, so the state never runs ahead of the offsets.

Why before a poll: kafka-python 3 runs rebalance callbacks inside ``poll()``,
on its IO thread, where a blocking commit is refused (``Cannot block on
net.run() from the IO thread itself``) and would hold up the heartbeats
anyway. Committing on the loop's own thread before a poll means that when a
poll revokes partitions, what was handled from them is committed but for the
last ``commit_every`` seconds at most: :meth:`revoked` has only bookkeeping to
drop, and the next owner starts where this replica last committed (those few
events are scored again: duplicates on the output topics only).

Why not wait at every poll: waiting for the acknowledgements and the commit
round trip at every poll put both in front of every event's prediction (at
1,000 events/s, most of the loop's time). So the loop commits at most every
``commit_every`` seconds (0.1), and then without waiting when the client
says every output is already acknowledged (``unacked() == 0``); it waits
(flushes) only when outputs have been in flight for ``max_delay`` seconds
(0.25), so a commit is never put off for long under a steady stream.

If a commit fails because the group is rebalancing, the offsets stay
pending: committed at the next poll if the partitions are still ours, dropped
by :meth:`revoked` if not (the next owner scores those events again; only the
output topics see duplicates). After a fatal error nothing more is committed
or saved: the restart resumes from the last commit and checkpoint.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from streamal.errors import BrokerError

__all__ = ["Commits", "Partition"]

logger = logging.getLogger(__name__)

#: A wait for the outputs' acknowledgements this long (seconds) is logged: the broker was slow or away
SLOW_FLUSH = 2.0

Partition = tuple[str, int]


class _Flushes(Protocol):
    def flush(self, timeout: float = ...) -> None: ...
    def unacked(self) -> int: ...


class _Commits(Protocol):
    def commit(self, offsets: Mapping[Partition, int]) -> None: ...


class Commits:
    """Tracks handled events and makes them durable in the documented order.

    >>> class Out:
    ...     in_flight = 0
    ...     def flush(self, timeout=30.0): print("flush"); self.in_flight = 0
    ...     def unacked(self): return self.in_flight
    >>> class Group:
    ...     def commit(self, offsets): print("commit", dict(offsets))
    >>> now = [0.0]
    >>> out = Out()
    >>> commits = Commits(out, Group(), save=lambda: print("save"), interval=30.0, clock=lambda: now[0])
    >>> commits.processed(("events", 0), 42); out.in_flight = 1
    >>> commits.commit()           # handled just now: not yet
    >>> now[0] = 0.2; commits.commit()   # due, but its outputs are in flight: no wait yet
    >>> now[0] = 0.3; commits.commit()   # in flight for max_delay: wait for them, then commit
    flush
    commit {('events', 0): 42}
    >>> commits.commit()           # nothing new handled: nothing to do
    >>> commits.processed(("events", 0), 43)
    >>> commits.final()            # the stop waits, commits and saves
    flush
    commit {('events', 0): 43}
    save
    """

    def __init__(self, outputs: _Flushes, group: _Commits, *, save: Callable[[], None], interval: float,
                 flush_timeout: float = 30.0, commit_every: float = 0.1, max_delay: float = 0.25,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.outputs = outputs
        self.group = group
        self.save = save
        self.interval = interval
        self.flush_timeout = flush_timeout
        self.commit_every = commit_every
        self.max_delay = max_delay
        self.clock = clock
        self.failed = False
        self._pending: dict[Partition, int] = {}
        self._dirty = False  # outputs queued since the last flush
        self._since = 0.0  # when the first of them was queued
        self._last_save = clock()

    def processed(self, partition: Partition, next_offset: int) -> None:
        """An event was handled (its outputs queued); ``next_offset`` is the one after it."""
        self._pending[partition] = next_offset
        self.queued()

    def queued(self) -> None:
        """An output was queued outside of an event (it must be acknowledged before the next commit)."""
        if not self._dirty:
            self._dirty = True
            self._since = self.clock()

    def revoked(self, partitions: Iterable[Partition]) -> None:
        """The group took ``partitions`` away (on the client's IO thread): forget them, no IO."""
        for p in partitions:
            self._pending.pop(p, None)

    def flush(self) -> None:
        """Step 1: every queued output acknowledged, or :class:`BrokerError` (and ``failed``)."""
        if not self._dirty:
            return
        started = self.clock()
        try:
            self.outputs.flush(timeout=self.flush_timeout)
        except BrokerError:
            self.failed = True
            raise
        self._dirty = False
        waited = self.clock() - started
        if waited >= SLOW_FLUSH:  # the clients log nothing above INFO while they reconnect: say it here
            logger.warning("outputs acknowledged after %.1fs: the broker was slow or unreachable meanwhile "
                           "(no event was scored while waiting)", waited)

    def commit(self, *, wait: bool = False) -> None:
        """Steps 1 and 2: the outputs acknowledged, then the handled events' offsets committed.

        Without ``wait``, only when due and without blocking on outputs in
        flight unless they have been for ``max_delay`` (see the module's text).
        """
        if self.failed or not (self._dirty or self._pending):
            return
        if not wait and self._dirty:
            age = self.clock() - self._since
            if age < self.commit_every or (age < self.max_delay and self.outputs.unacked() > 0):
                return
        self.flush()
        if not self._pending:
            return
        offsets = dict(self._pending)
        try:
            self.group.commit(offsets)
        except Exception as exc:  # noqa: BLE001 - a failed commit is retried at the next poll
            logger.warning("offset commit failed, retried at the next poll error=%s", exc)
            return
        for p, o in offsets.items():
            if self._pending.get(p) == o:
                del self._pending[p]

    def maybe_checkpoint(self) -> bool:
        """Step 3 when ``interval`` has passed since the last save; whether it saved."""
        if self.clock() - self._last_save < self.interval:
            return False
        self.checkpoint()
        return True

    def checkpoint(self) -> None:
        """Step 3 now: save the state (after a waited commit, so it never runs ahead of the offsets)."""
        if self.failed:
            return
        self.commit(wait=True)  # raises (and saves nothing) if the outputs cannot be delivered
        self.save()
        self._last_save = self.clock()

    def final(self) -> None:
        """The clean stop: flush, commit, save (nothing, after a fatal error)."""
        if self.failed:
            logger.warning("not committing or saving after a fatal error; the restart resumes from the last commit")
            return
        self.checkpoint()
