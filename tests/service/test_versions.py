"""The model's life on one replica: snapshots, the journal of labels learned, rollbacks, history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from streamal.core.config import LearnerConfig
from streamal.core.learner import Learner
from streamal.core.pending import PendingItem
from streamal.review.store import ReviewStore
from streamal.service.routing import LabelRouter
from streamal.service.versions import ModelVersions, UnknownVersion
from streamal.wire.labels import LabelMessage, parse_label_message

PROBES = [{"x": x / 4, "y": (x % 3) - 1.0} for x in range(-8, 9)]


def said(**fields: Any) -> LabelMessage:
    return parse_label_message(orjson.dumps(fields))


def setup(tmp_path: Path, every: int = 4) -> tuple[Learner, ModelVersions, LabelRouter]:
    learner = Learner(LearnerConfig(model="linear", seed_size=0, seed=1))
    versions = ModelVersions(tmp_path, every=every, keep=3, clock=lambda: 1000.0)
    return learner, versions, LabelRouter(learner, ReviewStore(clock=lambda: 0.0), versions=versions)


def teach(router: LabelRouter, start: int, n: int, wrong: bool = False, annotator: str = "analyst-1") -> None:
    for i in range(start, start + n):
        x = {"x": (i % 7) - 3.0, "y": float(i % 2)}
        truth = "pos" if x["x"] > 0 else "neg"
        label = ("neg" if truth == "pos" else "pos") if wrong else truth
        router.label(said(event_id=f"e{i}", label=label, annotator=annotator, features=x), now=float(i))


def predictions(learner: Learner) -> list[dict[str, float]]:
    return [learner.predict_proba(x) for x in PROBES]


def test_snapshots_come_every_n_labels_named_by_version_and_the_newest_are_kept(tmp_path: Path) -> None:
    learner, versions, router = setup(tmp_path, every=4)
    teach(router, 0, 17)
    assert [s.version for s in versions.snapshots()] == [8, 12, 16]  # every 4, the newest 3
    assert learner.model_version == 17
    lines = [r for r in versions.entries() if "control" not in r]
    # the labels since the oldest snapshot kept (v8), each with who gave it and what it was learned from
    assert [r["v"] for r in lines] == list(range(9, 18)) and lines[0]["annotator"] == "analyst-1"
    assert lines[0]["event_id"] == "e8" and lines[0]["features"] == {"x": -2.0, "y": 0.0}


def test_a_rollback_without_replay_gives_the_model_of_that_version_and_drops_the_labels_since(tmp_path: Path) -> None:
    learner, versions, router = setup(tmp_path, every=8)
    teach(router, 0, 8)
    at_eight = predictions(learner)
    teach(router, 8, 12, wrong=True, annotator="careless")
    assert predictions(learner) != at_eight
    router.label(said(control="rollback", id="c1", by="sre", version=8, replay_labels=False), now=99.0)
    assert learner.model_version == 8 and predictions(learner) == at_eight
    [rollback] = [h for h in versions.history() if h.get("control") == "rollback"]
    assert (rollback["from"], rollback["to"], rollback["dropped"], rollback["by"]) == (20, 8, 12, "sre")
    assert not [s for s in versions.snapshots() if s.version > 8]  # snapshots of the abandoned model are gone
    teach(router, 100, 1)
    assert learner.model_version == 9  # the lineage goes on from 8


def test_a_rollback_with_replay_learns_the_answers_as_they_stand_now(tmp_path: Path) -> None:
    """Undo the model, keep the answers: a label corrected after it was learned is learned right this time."""
    learner, versions, router = setup(tmp_path, every=4)
    teach(router, 0, 4)
    item = PendingItem("q1", {"x": 2.0, "y": 1.0}, None, None, {}, 0.5, "uncertainty", 4, 0.0)
    router.add_item(item)
    router.label(said(event_id="q1", label="neg", annotator="analyst-2", source="review", answer_id="a1"), now=5.0)
    assert [r.outcome for r in router.tick(now=1e9, review_caught_up=True)] == ["learned"]  # the wrong answer
    router.label(said(event_id="q1", label="pos", annotator="analyst-2", source="review", answer_id="a2",
                      corrects="a1"), now=6.0)
    assert learner.model_version == 6  # the correction is learned after the mistake: both are in the model
    fresh = Learner(LearnerConfig(model="linear", seed_size=0, seed=1))
    teach(LabelRouter(fresh, ReviewStore(clock=lambda: 0.0)), 0, 4)
    fresh.correct("q1", item.features, "pos")  # the right answer alone
    assert predictions(learner) != predictions(fresh)
    router.label(said(control="rollback", id="c2", version=4), now=50.0)
    assert learner.model_version == 5 and predictions(learner) == predictions(fresh)
    [line] = [r for r in versions.entries() if r.get("kind") == "replay"]
    assert (line["v"], line["event_id"], line["label"]) == (5, "q1", "pos")


def test_a_rollback_to_a_version_not_kept_changes_nothing_and_says_so(tmp_path: Path,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    learner, versions, router = setup(tmp_path, every=4)
    teach(router, 0, 6)
    before = predictions(learner)
    router.label(said(control="rollback", id="c3", version=5), now=9.0)
    assert learner.model_version == 6 and predictions(learner) == before
    assert "no snapshot of model version 5 here; kept: 4" in caplog.text
    try:
        versions.rollback(learner, 5)
    except UnknownVersion as exc:
        assert "kept: 4" in str(exc)
    else:
        raise AssertionError("a rollback to a version not kept must fail")


def test_a_restart_cuts_the_journal_back_to_the_checkpoint_and_a_fresh_model_starts_a_new_lineage(
        tmp_path: Path
) -> None:
    _, versions, router = setup(tmp_path, every=4)
    teach(router, 0, 10)
    assert versions.cut_back(7) == 3
    assert max(r["v"] for r in versions.entries() if "control" not in r) == 7
    versions.start_afresh()
    assert list(versions.entries()) == [] and versions.snapshots() == []
    assert len(list(tmp_path.glob("journal-*.replaced"))) == 1 and len(list(tmp_path.glob("snapshots-*"))) == 1


def test_history_says_who_taught_the_model_what_and_when_it_was_rolled_back(tmp_path: Path) -> None:
    _, versions, router = setup(tmp_path, every=0)
    teach(router, 0, 3, annotator="analyst-1")
    router.label(said(control="snapshot", id="s1", by="sre"), now=5.0)
    teach(router, 3, 2, annotator="analyst-2")
    history = versions.history()
    assert history[0] == {"kind": "labels", "from": 4, "to": 5, "labels": 2, "annotators": {"analyst-2": 2}}
    assert history[1]["control"] == "snapshot" and history[1]["by"] == "sre" and history[1]["v"] == 3
    assert history[2]["annotators"] == {"analyst-1": 3}


def test_a_rebuild_without_one_annotator_gives_the_model_a_fresh_learner_gets_from_the_other_labels(
        tmp_path: Path
) -> None:
    learner, versions, router = setup(tmp_path, every=6)
    teach(router, 0, 6, annotator="analyst-1")
    teach(router, 6, 9, wrong=True, annotator="careless")  # interleaved with good ones below
    teach(router, 15, 6, annotator="analyst-1")
    router.label(said(control="rebuild", id="r1", by="sre", annotator="careless"), now=99.0)
    fresh = Learner(LearnerConfig(model="linear", seed_size=0, seed=1))
    reference = LabelRouter(fresh, ReviewStore(clock=lambda: 0.0))
    teach(reference, 0, 6, annotator="analyst-1")
    teach(reference, 15, 6, annotator="analyst-1")
    assert learner.model_version == fresh.model_version == 12
    assert predictions(learner) == predictions(fresh)
    [done] = [h for h in versions.history() if h.get("control") == "rebuild"]
    assert (done["base"], done["excluded"], done["replayed"], done["by"]) == (6, 9, 6, "sre")
    assert [s.version for s in versions.snapshots()] == [6]  # those with the careless labels in are gone


def test_a_rebuild_from_before_any_snapshot_starts_from_a_fresh_model_and_leaves_out_answers_by_id(
        tmp_path: Path
) -> None:
    learner, versions, router = setup(tmp_path, every=0)
    for i in range(8):
        x = {"x": (i % 7) - 3.0, "y": 1.0}
        router.label(said(event_id=f"e{i}", label="pos" if x["x"] > 0 else "neg", features=x, source="review",
                          answer_id=f"a{i}"), now=float(i))  # not in the review store: learned at once
    router.label(said(control="rebuild", id="r2", answers=["a0", "a3"]), now=20.0)
    assert learner.model_version == 6
    assert {r["event_id"] for r in versions.entries() if r.get("kind") == "replay"} == {
        "e1", "e2", "e4", "e5", "e6", "e7"}


def test_the_answers_a_rebuild_leaves_out_are_retracted_in_the_review_store_saying_why(tmp_path: Path) -> None:
    learner, _, router = setup(tmp_path, every=0)
    teach(router, 0, 3)
    router.add_item(PendingItem("q1", {"x": 2.0, "y": 1.0}, None, None, {}, 0.5, "uncertainty", 3, 0.0))
    router.label(said(event_id="q1", label="neg", annotator="careless", source="review", answer_id="a1",
                      labeled_at="2026-12-07T10:00:00Z"), now=5.0)
    router.tick(now=1e10, review_caught_up=True)
    assert learner.model_version == 4
    router.label(said(control="rebuild", id="r3", by="sre", annotator="careless",
                      since="2026-12-07T09:00:00Z"), now=9.0)
    assert learner.model_version == 3
    [row] = router.review.answers(annotator="careless")
    assert row.answer.retracted and row.answer.why == "left out of the model by a rebuild (sre)"


def test_a_command_that_changes_the_model_asks_for_a_checkpoint_at_once(tmp_path: Path) -> None:
    """So a restart does not read the rollback again on top of a model that already took it."""
    _, versions, router = setup(tmp_path, every=4)
    teach(router, 0, 6)
    assert not versions.changed  # labels and snapshots alone: the usual checkpoint interval
    router.label(said(control="rollback", id="c9", version=4), now=9.0)
    assert versions.changed


def test_the_journal_keeps_only_what_a_rollback_or_rebuild_can_use(tmp_path: Path) -> None:
    learner, versions, router = setup(tmp_path, every=4)  # keeps 3 snapshots
    teach(router, 0, 30)
    kept = [s.version for s in versions.snapshots()]
    assert kept == [20, 24, 28]
    labels = [r["v"] for r in versions.entries() if "control" not in r]
    assert labels == list(range(21, 31))  # since the oldest snapshot kept: bounded however long it runs
    router.label(said(control="rollback", id="c10", version=20), now=99.0)
    assert learner.model_version == 30  # every label since v20 is still there to learn again
