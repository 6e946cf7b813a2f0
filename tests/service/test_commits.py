"""The commit policy without a broker: the invariant, the order of its steps, rebalances, failures."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamal.errors import BrokerError
from streamal.service.acks import Acks
from streamal.service.commits import Commits
from streamal.service.ports import Partition


class Recorder:
    """Stands in for the producer and the group consumer, writing down what it is asked to do.

    Outputs are numbered by a real :class:`Acks`; the test acknowledges them with :meth:`ack`.
    """

    def __init__(self, flush_fails: bool = False, commit_fails: bool = False) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.flush_fails = flush_fails
        self.commit_fails = commit_fails
        self.acks = Acks()

    def send(self) -> int:
        return self.acks.number()

    def ack(self, *numbers: int) -> None:
        for n in numbers or range(self.acks.acked + 1, self.acks.sent + 1):
            self.acks.settle(n)

    def sent(self) -> int:
        return self.acks.sent

    def acked(self) -> int:
        return self.acks.acked

    def check(self) -> None:
        if self.acks.error is not None:
            raise BrokerError(str(self.acks.error))

    def flush(self, timeout: float = 30.0) -> None:
        self.calls.append(("flush",))
        if self.flush_fails:
            raise BrokerError("broker gone")
        self.check()  # a failed output stays failed
        self.ack()

    def commit(self, offsets: Mapping[Partition, int]) -> None:
        self.calls.append(("commit", dict(offsets)))
        if self.commit_fails:
            raise RuntimeError("rebalance in progress")

    def save(self) -> None:
        self.calls.append(("save",))


def make(rec: Recorder, interval: float = 30.0, clock: Callable[[], float] | None = None,
         commit_every: float = 0.0) -> Commits:
    return Commits(rec, rec, save=rec.save, interval=interval, clock=clock or (lambda: 0.0),
                   commit_every=commit_every)


def handle(commits: Commits, rec: Recorder, partition: int, next_offset: int, outputs: int = 1) -> list[int]:
    """An event handled: ``outputs`` messages queued, then the event marked processed."""
    numbers = [rec.send() for _ in range(outputs)]
    commits.processed(("ev", partition), next_offset)
    return numbers


def test_an_event_is_committed_only_once_its_outputs_and_every_earlier_one_are_acknowledged() -> None:
    rec = Recorder()
    commits = make(rec)
    [a] = handle(commits, rec, 0, 10)
    [b] = handle(commits, rec, 1, 5)
    [c] = handle(commits, rec, 0, 11)
    commits.commit()
    assert rec.calls == []  # nothing acknowledged yet: nothing to commit, and no waiting either
    rec.ack(c)  # the later event's output is in, but not the earlier ones
    commits.commit()
    assert rec.calls == []
    rec.ack(a)  # event 10 of partition 0 is safe; 11 follows an output (b) still in flight
    commits.commit()
    assert rec.calls == [("commit", {("ev", 0): 10})]
    rec.ack(b)
    commits.commit()
    assert rec.calls[-1] == ("commit", {("ev", 0): 11, ("ev", 1): 5})


def test_commits_come_at_most_every_commit_every_seconds() -> None:
    rec, now = Recorder(), [0.0]
    commits = make(rec, clock=lambda: now[0], commit_every=0.1)
    handle(commits, rec, 0, 10)
    rec.ack()
    now[0] = 0.05
    commits.commit()
    assert rec.calls == []
    now[0] = 0.1
    commits.commit()
    assert rec.calls == [("commit", {("ev", 0): 10})]


def test_an_event_without_outputs_waits_for_the_outputs_before_it() -> None:
    rec = Recorder()
    commits = make(rec)
    [a] = handle(commits, rec, 0, 1)
    handle(commits, rec, 0, 2, outputs=0)  # e.g. predictions switched off and not queried
    commits.commit()
    assert rec.calls == []
    rec.ack(a)
    commits.commit()
    assert rec.calls == [("commit", {("ev", 0): 2})]


def test_a_checkpoint_waits_for_the_outputs_and_commits_before_it_saves() -> None:
    rec = Recorder()
    commits = make(rec, commit_every=10.0)
    handle(commits, rec, 0, 7, outputs=2)
    commits.checkpoint()
    assert rec.calls == [("flush",), ("commit", {("ev", 0): 7}), ("save",)]


def test_nothing_handled_means_no_commit() -> None:
    rec = Recorder()
    make(rec).commit()
    assert rec.calls == []


def test_a_revoked_partition_is_forgotten_without_any_io() -> None:
    rec = Recorder()
    commits = make(rec)
    handle(commits, rec, 0, 10)
    handle(commits, rec, 1, 20)
    commits.revoked({("ev", 0)})
    assert rec.calls == []  # the callback runs on the client's IO thread: no flush, no commit there
    rec.ack()
    commits.commit()
    assert rec.calls == [("commit", {("ev", 1): 20})]


def test_a_failed_delivery_commits_nothing_now_or_at_the_stop() -> None:
    rec = Recorder()
    commits = make(rec)
    [a] = handle(commits, rec, 0, 10)
    handle(commits, rec, 0, 11)
    rec.acks.settle(a, error="message too large")
    rec.ack(a + 1)
    with pytest.raises(BrokerError):
        commits.commit()
    assert commits.failed
    commits.final()
    assert rec.calls == []  # no commit, no save


def test_a_failed_flush_at_a_checkpoint_commits_and_saves_nothing() -> None:
    rec = Recorder(flush_fails=True)
    commits = make(rec)
    handle(commits, rec, 0, 10)
    with pytest.raises(BrokerError):
        commits.checkpoint()
    commits.final()
    assert rec.calls == [("flush",)]


def test_a_failed_commit_is_retried_at_the_next_poll() -> None:
    rec = Recorder(commit_fails=True)
    commits = make(rec)
    handle(commits, rec, 0, 10)
    rec.ack()
    commits.commit()
    rec.commit_fails = False
    commits.commit()
    commits.commit()  # nothing new: not committed a third time
    assert rec.calls == [("commit", {("ev", 0): 10}), ("commit", {("ev", 0): 10})]


def test_state_is_saved_on_its_interval_and_at_the_stop_after_the_commit() -> None:
    now = [0.0]
    rec = Recorder()
    commits = make(rec, interval=10.0, clock=lambda: now[0])
    assert not commits.maybe_checkpoint()
    now[0] = 10.0
    assert commits.maybe_checkpoint()
    handle(commits, rec, 0, 3)
    commits.final()
    assert rec.calls == [("flush",), ("save",), ("flush",), ("commit", {("ev", 0): 3}), ("save",)]


def test_a_long_wait_for_the_broker_is_logged_once_it_is_over(caplog: pytest.LogCaptureFixture) -> None:
    rec, now = Recorder(), [0.0]
    commits = make(rec, clock=lambda: now[0])
    handle(commits, rec, 0, 10)
    rec.flush = lambda timeout=30.0: now.__setitem__(0, now[0] + 0.5)  # type: ignore[method-assign]  # normal wait
    commits.commit(wait=True)
    assert "acknowledged after" not in caplog.text
    handle(commits, rec, 0, 20)
    rec.flush = lambda timeout=30.0: now.__setitem__(0, now[0] + 8.0)  # type: ignore[method-assign]  # away 8 s
    commits.commit(wait=True)
    assert "outputs acknowledged after 8.0s: the broker was slow or unreachable" in caplog.text


# -- the invariant under any interleaving --------------------------------------------------------------

_steps = st.lists(st.one_of(
    st.tuples(st.just("process"), st.integers(0, 2), st.integers(0, 3)),  # partition, outputs
    st.tuples(st.just("ack"), st.integers(0, 30)),  # an output in flight, by position
    st.tuples(st.just("fail"), st.integers(0, 30)),
    st.tuples(st.just("revoke"), st.integers(0, 2)),
    st.tuples(st.just("assign"), st.integers(0, 2)),
    st.tuples(st.just("commit"),),
    st.tuples(st.just("checkpoint"),),
), max_size=80)


class Group:
    """The group consumer: keeps the committed offsets, refusing none (the broker checks no ownership)."""

    def __init__(self) -> None:
        self.committed: dict[tuple[str, int], int] = {}

    def commit(self, offsets: Mapping[Partition, int]) -> None:
        self.committed.update(offsets)


@settings(max_examples=400, deadline=None)
@given(_steps)
def test_no_offset_is_ever_committed_past_an_event_whose_outputs_are_not_all_acknowledged(steps: list[Any]) -> None:
    rec, group = Recorder(), Group()
    commits = Commits(rec, group, save=lambda: None, interval=1e9, commit_every=0.0)
    owned = {0, 1, 2}
    next_offset = {0: 0, 1: 0, 2: 0}
    events: dict[int, list[tuple[int, set[int]]]] = {0: [], 1: [], 2: []}  # per partition: (offset, its outputs)
    in_flight: list[int] = []
    failed = False
    for step in steps:
        kind = step[0]
        if kind == "process" and step[1] in owned:
            p, n = step[1], step[2]
            numbers = {rec.send() for _ in range(n)}
            in_flight.extend(sorted(numbers))
            events[p].append((next_offset[p], numbers))
            next_offset[p] += 1
            commits.processed(("ev", p), next_offset[p])
        elif kind in ("ack", "fail") and in_flight:
            number = in_flight.pop(step[1] % len(in_flight))
            if kind == "fail":
                rec.acks.settle(number, error="delivery failed")
                failed = True
            else:
                rec.acks.settle(number)
        elif kind == "revoke":
            owned.discard(step[1])
            commits.revoked({("ev", step[1])})
        elif kind == "assign" and step[1] not in owned:
            owned.add(step[1])
            # the next owner starts at the committed offset: what was handled after it is handled again
            p = step[1]
            next_offset[p] = group.committed.get(("ev", p), 0)
            events[p] = [e for e in events[p] if e[0] < next_offset[p]]
        elif kind in ("commit", "checkpoint"):
            try:
                commits.commit() if kind == "commit" else commits.checkpoint()
            except BrokerError:
                assert failed
            assert commits.failed == failed  # a failed delivery stops the service at its next commit
            if kind == "checkpoint" and not commits.failed:
                in_flight.clear()  # the flush acknowledged everything
        _assert_nothing_committed_past_unacknowledged(group, events, rec.acks.acked)


def _assert_nothing_committed_past_unacknowledged(group: Group, events: dict[int, list[tuple[int, set[int]]]],
                                                 watermark: int) -> None:
    """The invariant: every event below a committed offset has every output, and every earlier one, acknowledged."""
    for (_, p), offset in group.committed.items():
        for o, numbers in events[p]:
            if o < offset:
                assert all(n <= watermark for n in numbers), (p, o, offset, numbers, watermark)
