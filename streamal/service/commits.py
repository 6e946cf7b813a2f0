"""The commit policy: when processed events become committed, and when state is saved.

The order, in one place (as quix-streams' checkpointing does it):

1. :meth:`Commits.processed`: an event was handled and its outputs queued;
2. :meth:`Commits.commit`, before every poll of the events topic:
   **flush the outputs** (every prediction, review item and dead letter
   acknowledged; an undelivered one raises :class:`~streamal.errors.BrokerError`
   and nothing is committed), then **commit the offsets** of the events handled;
3. :meth:`Commits.maybe_checkpoint`, every ``interval`` seconds and at the end:
   **save the state** (learner, review store, side-topic positions).

Why before every poll: kafka-python 3 runs rebalance callbacks inside
``poll()``, on its IO thread, where a blocking commit is refused (``Cannot
block on net.run() from the IO thread itself``) and would hold up the
heartbeats anyway. Committing on the loop's own thread just before each poll
means that when a poll revokes partitions, everything handled from them is
already committed: :meth:`revoked` has only bookkeeping to drop, and the next
owner starts exactly where this replica stopped.

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

Partition = tuple[str, int]


class _Flushes(Protocol):
    def flush(self, timeout: float = ...) -> None: ...


class _Commits(Protocol):
    def commit(self, offsets: Mapping[Partition, int]) -> None: ...


class Commits:
    """Tracks handled events and makes them durable in the documented order.

    >>> class Out:
    ...     def flush(self, timeout=30.0): print("flush")
    >>> class Group:
    ...     def commit(self, offsets): print("commit", dict(offsets))
    >>> commits = Commits(Out(), Group(), save=lambda: print("save"), interval=30.0, clock=lambda: 0.0)
    >>> commits.processed(("events", 0), 42)
    >>> commits.commit()
    flush
    commit {('events', 0): 42}
    >>> commits.commit()           # nothing new handled: nothing to do
    >>> commits.final()
    save
    """

    def __init__(self, outputs: _Flushes, group: _Commits, *, save: Callable[[], None], interval: float,
                 flush_timeout: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.outputs = outputs
        self.group = group
        self.save = save
        self.interval = interval
        self.flush_timeout = flush_timeout
        self.clock = clock
        self.failed = False
        self._pending: dict[Partition, int] = {}
        self._dirty = False  # outputs queued since the last flush
        self._last_save = clock()

    def processed(self, partition: Partition, next_offset: int) -> None:
        """An event was handled (its outputs queued); ``next_offset`` is the one after it."""
        self._pending[partition] = next_offset
        self._dirty = True

    def queued(self) -> None:
        """An output was queued outside of an event (it must be flushed before the next commit)."""
        self._dirty = True

    def revoked(self, partitions: Iterable[Partition]) -> None:
        """The group took ``partitions`` away (on the client's IO thread): forget them, no IO."""
        for p in partitions:
            self._pending.pop(p, None)

    def flush(self) -> None:
        """Step 1: every queued output acknowledged, or :class:`BrokerError` (and ``failed``)."""
        if not self._dirty:
            return
        try:
            self.outputs.flush(timeout=self.flush_timeout)
        except BrokerError:
            self.failed = True
            raise
        self._dirty = False

    def commit(self) -> None:
        """Steps 1 and 2: flush, then commit the handled events' offsets."""
        if self.failed or not (self._dirty or self._pending):
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
        """Step 3 now: save the state (after the commit, so it never runs ahead of the offsets)."""
        if self.failed:
            return
        self.save()
        self._last_save = self.clock()

    def final(self) -> None:
        """The clean stop: flush, commit, save (nothing, after a fatal error)."""
        if self.failed:
            logger.warning("not committing or saving after a fatal error; the restart resumes from the last commit")
            return
        self.commit()
        self.checkpoint()
