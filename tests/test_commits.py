"""The commit policy without a broker: the order of its steps, rebalances, failures."""

from __future__ import annotations

import pytest

from streamal.errors import BrokerError
from streamal.service.commits import Commits


class Recorder:
    """Stands in for the producer and the group consumer, writing down what it is asked to do."""

    def __init__(self, flush_fails: bool = False, commit_fails: bool = False) -> None:
        self.calls: list[tuple] = []
        self.flush_fails = flush_fails
        self.commit_fails = commit_fails
        self.in_flight = 0

    def unacked(self) -> int:
        return self.in_flight

    def flush(self, timeout: float = 30.0) -> None:
        self.calls.append(("flush",))
        if self.flush_fails:
            raise BrokerError("broker gone")

    def commit(self, offsets) -> None:
        self.calls.append(("commit", dict(offsets)))
        if self.commit_fails:
            raise RuntimeError("rebalance in progress")

    def save(self) -> None:
        self.calls.append(("save",))


def make(rec: Recorder, interval: float = 30.0, clock=None, commit_every: float = 0.0) -> Commits:
    return Commits(rec, rec, save=rec.save, interval=interval, clock=clock or (lambda: 0.0),
                   commit_every=commit_every, max_delay=1.0)


def test_a_commit_waits_for_nothing_until_due_and_then_only_for_long_outputs_in_flight():
    rec, now = Recorder(), [0.0]
    commits = make(rec, clock=lambda: now[0], commit_every=0.1)
    commits.processed(("ev", 0), 10)
    rec.in_flight = 3
    commits.commit()
    now[0] = 0.5
    commits.commit()  # due, but its outputs are in flight: the loop goes on to poll
    assert rec.calls == []
    rec.in_flight = 0  # acknowledged: committed without waiting
    commits.commit()
    assert rec.calls == [("flush",), ("commit", {("ev", 0): 10})]
    rec.calls.clear()
    commits.processed(("ev", 0), 20)
    rec.in_flight = 1
    now[0] = 1.4
    commits.commit()
    assert rec.calls == []
    now[0] = 1.5  # in flight for max_delay under a steady stream: now it waits
    commits.commit()
    assert rec.calls == [("flush",), ("commit", {("ev", 0): 20})]


def test_a_checkpoint_waits_for_the_outputs_and_commits_before_it_saves():
    rec = Recorder()
    commits = make(rec, commit_every=10.0)
    commits.processed(("ev", 0), 7)
    rec.in_flight = 2
    commits.checkpoint()
    assert rec.calls == [("flush",), ("commit", {("ev", 0): 7}), ("save",)]


def test_outputs_are_flushed_before_offsets_are_committed():
    rec = Recorder()
    commits = make(rec)
    commits.processed(("ev", 0), 10)
    commits.processed(("ev", 1), 5)
    commits.processed(("ev", 0), 11)
    commits.commit()
    assert rec.calls == [("flush",), ("commit", {("ev", 0): 11, ("ev", 1): 5})]


def test_nothing_handled_means_no_flush_and_no_commit():
    rec = Recorder()
    make(rec).commit()
    assert rec.calls == []


def test_a_revoked_partition_is_forgotten_without_any_io():
    rec = Recorder()
    commits = make(rec)
    commits.processed(("ev", 0), 10)
    commits.processed(("ev", 1), 20)
    commits.revoked({("ev", 0)})
    assert rec.calls == []  # the callback runs on the client's IO thread: no flush, no commit there
    commits.commit()
    assert rec.calls == [("flush",), ("commit", {("ev", 1): 20})]


def test_a_failed_delivery_commits_nothing_now_or_at_the_stop():
    rec = Recorder(flush_fails=True)
    commits = make(rec)
    commits.processed(("ev", 0), 10)
    with pytest.raises(BrokerError):
        commits.commit()
    assert commits.failed
    commits.final()
    assert rec.calls == [("flush",)]  # no commit, no save, no second flush


def test_a_failed_commit_is_retried_at_the_next_poll():
    rec = Recorder(commit_fails=True)
    commits = make(rec)
    commits.processed(("ev", 0), 10)
    commits.commit()
    rec.commit_fails = False
    commits.commit()
    commits.commit()  # nothing new: not committed a third time
    assert rec.calls == [("flush",), ("commit", {("ev", 0): 10}), ("commit", {("ev", 0): 10})]


def test_state_is_saved_on_its_interval_and_at_the_stop_after_the_commit():
    now = [0.0]
    rec = Recorder()
    commits = make(rec, interval=10.0, clock=lambda: now[0])
    assert not commits.maybe_checkpoint()
    now[0] = 10.0
    assert commits.maybe_checkpoint()
    commits.processed(("ev", 0), 3)
    commits.final()
    assert rec.calls == [("save",), ("flush",), ("commit", {("ev", 0): 3}), ("save",)]


def test_a_long_wait_for_the_broker_is_logged_once_it_is_over(caplog):
    rec, now = Recorder(), [0.0]
    commits = make(rec, clock=lambda: now[0])
    commits.processed(("ev", 0), 10)
    rec.flush = lambda timeout=30.0: now.__setitem__(0, now[0] + 0.5)  # a normal wait: nothing said
    commits.commit(wait=True)
    assert "acknowledged after" not in caplog.text
    commits.processed(("ev", 0), 20)
    rec.flush = lambda timeout=30.0: now.__setitem__(0, now[0] + 8.0)  # the broker away for 8 s
    commits.commit(wait=True)
    assert "outputs acknowledged after 8.0s: the broker was slow or unreachable" in caplog.text
