"""Checkpoints: the header, stale temporary files, the directory lock, old formats, consistent snapshots."""

from __future__ import annotations

import pickle
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from streamal.core.config import LearnerConfig
from streamal.core.domain import Label as DomainLabel
from streamal.core.learner import Learner
from streamal.core.pending import PendingItem
from streamal.errors import CheckpointError
from streamal.review.store import ReviewStore
from streamal.service.checkpoint import CheckpointStore
from streamal.service.routing import Waiting


def test_the_header_is_readable_without_loading_the_state(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    learner = Learner(LearnerConfig(model="linear", budget=0.05))
    store.save({"learner": learner.config.to_dict()}, {"learner": learner})
    header = store.read_header()
    assert header is not None
    assert header["format"] == 2 and header["learner"]["model"] == "linear" and header["saved_at"] > 0
    assert (tmp_path / "checkpoint.pkl").read_bytes().startswith(b"STREAMAL-CHECKPOINT 2\n")
    state = store.load()
    assert state is not None and state["learner"].config.budget == 0.05


def test_stale_temporary_files_from_a_kill_are_removed(tmp_path: Path) -> None:
    (tmp_path / ".checkpoint-abc123.tmp").write_bytes(b"half a pickle")
    (tmp_path / "unrelated.txt").write_text("keep me")
    store = CheckpointStore(tmp_path)
    assert [p.name for p in store.clean_stale()] == [".checkpoint-abc123.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["unrelated.txt"]


def test_a_second_process_cannot_use_the_same_state_directory(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    store.lock()
    code = ("from streamal.service.checkpoint import CheckpointStore\n"
            f"CheckpointStore({str(tmp_path)!r}).lock()\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "is in use by another streamal process" in out.stderr
    store.unlock()
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


def test_a_checkpoint_of_the_old_format_says_how_to_start_afresh(tmp_path: Path) -> None:
    (tmp_path / "checkpoint.pkl").write_bytes(pickle.dumps({"format": 1, "learner": None}))
    with pytest.raises(CheckpointError, match=r"older streamal.*--reset-model"):
        CheckpointStore(tmp_path).read_header()


def test_moving_aside_keeps_the_old_checkpoint_and_leaves_none(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    store.save({}, {"x": 1})
    kept = store.move_aside()
    assert kept is not None and kept.exists() and store.read_header() is None


def test_the_review_store_snapshot_is_consistent_while_analysts_change_it() -> None:
    store = ReviewStore(answers_wanted=2, clock=lambda: 0.0)
    stop = threading.Event()
    errors: list[BaseException] = []

    def analysts() -> None:
        i = 0
        try:
            while not stop.is_set():
                eid = f"e{i}"
                store.add_item(PendingItem(eid, {"x": i}, None, "a", {"a": 1.0}, 0.1, "uncertainty", 0, 0.0))
                store.apply_answer(eid, "a", "analyst-1", answer_id=f"{eid}-1")
                i += 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=analysts) for _ in range(3)]
    for t in threads:
        t.start()
    snapshots = [store.snapshot() for _ in range(50)]
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    copy = ReviewStore(answers_wanted=2)
    copy.restore(snapshots[-1])
    state = pickle.loads(snapshots[-1])
    assert len(state["_entries"]) > 0
    assert all(len(e.answers) <= 1 for e in state["_entries"].values())
    assert copy.stats()["open"] == len(state["_entries"])


def test_labels_waiting_in_a_checkpoint_of_the_release_before_the_domain_moved_still_load(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Waiting labels were pickled as ``streamal.wire.messages.Label`` with ISO times and an ``extra`` dict."""
    import dataclasses

    import streamal.wire.messages

    @dataclasses.dataclass(slots=True)
    class Label:  # the shape of the earlier release's class, where it lived
        event_id: str
        label: str
        annotator: str | None = None
        labeled_at: str | None = None
        features: dict[str, Any] | None = None
        extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    Label.__module__, Label.__qualname__ = "streamal.wire.messages", "Label"
    monkeypatch.setattr(streamal.wire.messages, "Label", Label, raising=False)
    old = Label("e1", "bad", "siem", "2026-11-24T10:00:00Z", {"x": 1.0}, {"source": "event"})
    store = CheckpointStore(tmp_path)
    store.save({"model": "linear"}, {"learner": None, "waiting": [Waiting(old, 5.0)]})  # type: ignore[arg-type]
    monkeypatch.delattr(streamal.wire.messages, "Label")
    state = store.load()
    assert state is not None
    [waiting] = state["waiting"]
    label = waiting.label
    assert isinstance(label, DomainLabel) and waiting.since == 5.0
    assert (label.event_id, label.label, label.annotator, label.labeled_at, label.features) == (
        "e1", "bad", "siem", 1795514400.0, {"x": 1.0})
