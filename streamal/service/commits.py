"""The commit policy: which offsets may be committed, when, and when state is saved.

**The invariant.** No offset is ever committed past an event whose outputs
(its prediction, review item, label or dead letter) are not acknowledged by
the broker: per partition, the offset committed is the one after the highest
event whose outputs, *and every earlier output*, are acknowledged. A crash
at any moment then repeats some predictions and loses none.

It is enforced where offsets are computed, not by timing. Every output is
numbered as it is queued (:class:`~streamal.service.acks.Acks`); when an
event has been handled, :meth:`Commits.processed` notes, for its partition,
the pair (number of the last output queued so far, offset after the event).
:meth:`Commits.committable` takes, per partition, the last offset whose
number is at or below the acknowledgement watermark: that event's outputs and
those of every event before it (in every partition) are on the broker. A
failed output stops the watermark for good, and the failure stops the
service.

The order, in one place (as quix-streams' checkpointing does it):

1. :meth:`Commits.processed`: an event was handled and its outputs queued;
2. :meth:`Commits.commit`, before a poll of the events topic, at most every
   ``commit_every`` seconds: commit what is committable now, without waiting
   (what is still in flight is committed at a later poll);
3. :meth:`Commits.maybe_checkpoint`, every ``interval`` seconds and at the
   end: wait for every output (flush), commit, then **save the state**
   (learner, review store, side-topic positions), so the state never runs
   ahead of the offsets.

Why before a poll: kafka-python 3 runs rebalance callbacks inside ``poll()``,
on its IO thread, where a blocking commit is refused (``Cannot block on
net.run() from the IO thread itself``) and would hold up the heartbeats
anyway. :meth:`revoked` only drops what it tracked for the partitions taken
away; the next owner starts where this replica last committed (those events
are scored again: duplicates on the output topics only).

If a commit fails because the group is rebalancing, the offsets stay
pending: committed at the next poll if the partitions are still ours, dropped
by :meth:`revoked` if not. After a fatal error nothing more is committed or
saved: the restart resumes from the last commit and checkpoint.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from streamal.crashes import NO_CRASHES, CrashPoints
from streamal.errors import BrokerError
from streamal.service.ports import Partition

__all__ = ["Commits"]

logger = logging.getLogger(__name__)

#: A wait for the outputs' acknowledgements this long (seconds) is logged: the broker was slow or away
SLOW_FLUSH = 2.0


class _Acknowledged(Protocol):
    def flush(self, timeout: float = ...) -> None: ...
    def sent(self) -> int: ...
    def acked(self) -> int: ...
    def check(self) -> None: ...


class _Commits(Protocol):
    def commit(self, offsets: Mapping[Partition, int]) -> None: ...


class Commits:
    """Tracks handled events and makes them durable in the documented order.

    >>> class Out:
    ...     numbered = through = 0
    ...     def sent(self): return self.numbered
    ...     def acked(self): return self.through
    ...     def check(self): pass
    ...     def flush(self, timeout=30.0): print("flush"); self.through = self.numbered
    >>> class Group:
    ...     def commit(self, offsets): print("commit", dict(offsets))
    >>> out = Out()
    >>> commits = Commits(out, Group(), save=lambda: print("save"), interval=30.0, commit_every=0.0)
    >>> out.numbered = 1; commits.processed(("events", 0), 42)   # handled; its prediction is output 1
    >>> commits.commit()                     # output 1 not acknowledged: nothing to commit yet
    >>> out.through = 1; commits.commit()
    commit {('events', 0): 42}
    >>> out.numbered = 2; commits.processed(("events", 0), 43)
    >>> commits.final()                      # the stop waits for every output, commits and saves
    flush
    commit {('events', 0): 43}
    save
    """

    def __init__(self, outputs: _Acknowledged, group: _Commits, *, save: Callable[[], None], interval: float,
                 flush_timeout: float = 30.0, commit_every: float = 0.1, clock: Callable[[], float] = time.monotonic,
                 crashes: CrashPoints = NO_CRASHES) -> None:
        self.outputs = outputs
        self.group = group
        self.save = save
        self.interval = interval
        self.flush_timeout = flush_timeout
        self.commit_every = commit_every
        self.clock = clock
        self.crashes = crashes
        self.failed = False
        # per partition: (number of the last output queued when the event was handled, the offset after it)
        self._marks: dict[Partition, deque[tuple[int, int]]] = {}
        self._ready: dict[Partition, int] = {}  # committable, not yet committed
        self._lock = threading.Lock()  # revoked() runs on the client's IO thread
        self._last_commit = clock()
        self._last_save = clock()

    def processed(self, partition: Partition, next_offset: int) -> None:
        """An event was handled (its outputs queued); ``next_offset`` is the one after it."""
        mark = (self.outputs.sent(), next_offset)
        with self._lock:
            marks = self._marks.get(partition)
            if marks is None:
                self._marks[partition] = deque((mark,))
            elif marks and marks[-1][0] == mark[0]:
                marks[-1] = mark  # no output queued since the last one: the later offset stands for both
            else:
                marks.append(mark)

    def revoked(self, partitions: Iterable[Partition]) -> None:
        """The group took ``partitions`` away (on the client's IO thread): forget them, no IO."""
        with self._lock:
            for p in partitions:
                self._marks.pop(p, None)
                self._ready.pop(p, None)

    def committable(self) -> dict[Partition, int]:
        """Per partition, the offset after the last event whose outputs and all earlier ones are acknowledged."""
        acked = self.outputs.acked()
        with self._lock:
            for p, marks in self._marks.items():
                while marks and marks[0][0] <= acked:
                    self._ready[p] = marks.popleft()[1]
            return dict(self._ready)

    def flush(self) -> None:
        """Wait until every queued output is acknowledged, or :class:`BrokerError` (and ``failed``)."""
        started = self.clock()
        try:
            self.outputs.flush(timeout=self.flush_timeout)
        except BrokerError:
            self.failed = True
            raise
        waited = self.clock() - started
        if waited >= SLOW_FLUSH:  # the clients log nothing above INFO while they reconnect: say it here
            logger.warning("outputs acknowledged after %.1fs: the broker was slow or unreachable meanwhile "
                           "(no event was scored while waiting)", waited)

    def commit(self, *, wait: bool = False) -> None:
        """Commit what is committable; with ``wait``, after every output queued so far is acknowledged.

        Without ``wait``, at most every ``commit_every`` seconds and never
        blocking on outputs in flight (they are committed at a later poll).
        """
        if self.failed:
            return
        if wait:
            self.flush()
        else:
            if self.clock() - self._last_commit < self.commit_every:
                return
            try:
                self.outputs.check()
            except BrokerError:
                self.failed = True
                raise
        offsets = self.committable()
        self._last_commit = self.clock()
        if not offsets:
            return
        self.crashes.reached("flushed")
        try:
            self.group.commit(offsets)
        except Exception as exc:
            logger.warning("offset commit failed, retried at the next poll error=%s", exc)
            return
        self.crashes.reached("committed")
        with self._lock:
            for p, o in offsets.items():
                if self._ready.get(p) == o:
                    del self._ready[p]

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
