"""Label routing without Kafka: external labels, review answers, retractions, labels that wait."""

from __future__ import annotations

from typing import Any

import orjson

from streamal.core.config import LearnerConfig
from streamal.core.learner import Learner
from streamal.core.pending import PendingItem
from streamal.review.store import ReviewStore
from streamal.service.routing import LabelRouter
from streamal.wire.labels import LabelMessage, parse_label_message
from streamal.wire.messages import encode
from streamal.wire.review import parse_review_message, review_item_message


def item(event_id: str, x: float = 1.0) -> PendingItem:
    return PendingItem(event_id, {"x": x}, None, "ok", {"ok": 0.6, "bad": 0.4}, 0.4, "uncertainty", 0, 0.0)


def said(event_id: str, label: str, annotator: str | None = None, **fields: Any) -> LabelMessage:
    """A label message as it comes off the labels topic, parsed as the service parses it."""
    return parse_label_message(orjson.dumps({"event_id": event_id, "label": label, "annotator": annotator, **fields}))


def router(answers_wanted: int = 1, undo: float = 30.0) -> LabelRouter:
    review = ReviewStore(answers_wanted=answers_wanted, undo_seconds=undo, clock=lambda: 0.0)
    return LabelRouter(Learner(LearnerConfig(seed_size=1)), review, wait=5.0)


def test_an_external_label_is_learned_at_once_and_closes_its_review_item() -> None:
    r = router()
    r.add_item(item("e1"))
    [result] = r.label(said("e1", "bad", "siem"), now=1.0)
    assert result.outcome == "learned" and r.learner.model_version == 1
    entry = r.review.entry("e1")
    assert not entry.open and entry.handed
    assert r.tick(now=100.0, review_caught_up=True) == []  # not learned a second time when due


def test_a_review_answer_is_learned_once_agreed_and_past_its_undo_window() -> None:
    r = router(answers_wanted=2, undo=30.0)
    r.add_item(item("e1"))
    answer = {"source": "review"}
    assert r.label(said("e1", "bad", "analyst-1", **answer, answer_id="a1"), now=1.0) == []
    assert r.label(said("e1", "bad", "analyst-2", **answer, answer_id="a2"), now=2.0) == []
    assert r.tick(now=10.0, review_caught_up=True) == []  # agreed, still within the undo window
    [result] = r.tick(now=40.0, review_caught_up=True)
    assert result.outcome == "learned" and r.learner.model_version == 1


def test_a_retraction_reopens_the_item_and_nothing_is_learned() -> None:
    r = router(answers_wanted=1, undo=30.0)
    r.add_item(item("e1"))
    r.label(said("e1", "bad", "analyst-1", source="review", answer_id="a1"), now=1.0)
    assert r.label(said("e1", "bad", "analyst-1", source="review", retracts="a1"), now=2.0) == []
    assert r.review.entry("e1").open
    assert r.tick(now=100.0, review_caught_up=True) == []
    assert r.learner.model_version == 0


def test_a_label_waits_for_its_review_item_while_the_review_topic_is_behind() -> None:
    r = router()
    assert r.label(said("e9", "bad"), now=0.0) == []
    assert r.tick(now=60.0, review_caught_up=False) == []  # behind on reviews: however long, it waits
    r.add_item(item("e9"))
    [result] = r.tick(now=61.0, review_caught_up=True)
    assert result.outcome == "learned"


def test_a_label_for_an_event_never_queried_is_unknown_once_the_wait_is_over() -> None:
    r = router()
    r.label(said("ghost", "bad"), now=0.0)
    assert r.tick(now=2.0, review_caught_up=True) == []
    [result] = r.tick(now=6.0, review_caught_up=True)
    assert result.outcome == "unknown" and not r.waiting


def test_a_dropped_item_is_forgotten_by_the_learner_and_the_store() -> None:
    r = router()
    r.add_item(item("e1"))
    r.drop("e1")
    assert r.learner.backlog == 0 and r.review.entry("e1").dropped


def test_a_withdrawn_question_is_closed_everywhere_and_an_answer_that_comes_anyway_is_learned_once() -> None:
    r = router()
    r.add_item(item("e1"))
    r.withdrawn("e1", "the model is sure of it now")
    entry = r.review.entry("e1")
    assert r.learner.backlog == 0 and not entry.open and entry.withdrawn == "the model is sure of it now"
    [result] = r.label(said("e1", "bad", "siem"), now=1.0)  # the analyst had it open
    assert result.outcome == "learned" and r.learner.model_version == 1
    assert [x.outcome for x in r.label(said("e1", "bad", "siem"), now=2.0)] == ["duplicate"]
    assert r.learner.model_version == 1


def test_a_label_the_model_cannot_learn_is_invalid_and_the_event_still_waits() -> None:
    r = router()
    r.learner.config = LearnerConfig(seed_size=1, max_classes=2)
    r.add_item(item("e1"))
    r.add_item(item("e2"))
    r.add_item(item("e3"))
    assert [x.outcome for x in r.label(said("e1", "a"), now=0.0)] == ["learned"]
    assert [x.outcome for x in r.label(said("e2", "b"), now=0.0)] == ["learned"]
    [third] = r.label(said("e3", "c"), now=0.0)
    assert third.outcome == "invalid" and "max_classes" in (third.error or "")
    assert "e3" in r.learner.pending and r.learner.model_version == 2
    assert [x.outcome for x in r.label(said("e3", "a"), now=0.0)] == ["learned"]


def test_a_correction_after_the_label_was_learned_teaches_the_new_class_once() -> None:
    r = router(undo=30.0)
    r.add_item(item("e1"))
    r.label(said("e1", "ok", "analyst-1", source="review", answer_id="a1"), now=1.0)
    [learned] = r.tick(now=40.0, review_caught_up=True)
    assert learned.outcome == "learned" and r.learner.model_version == 1
    fix = said("e1", "bad", "analyst-1", source="review", answer_id="a2", corrects="a1", comment="misread the port")
    [relearned] = r.label(fix, now=50.0)
    assert relearned.outcome == "learned" and r.learner.model_version == 2
    entry = r.review.entry("e1")
    assert entry.agreed == "bad"
    assert [(a.answer_id, a.retracted, a.comment) for a in entry.answers] == [
        ("a1", True, None), ("a2", False, "misread the port")]
    assert r.label(fix, now=51.0) == [] and r.learner.model_version == 2  # read twice: learned once
    other = said("e1", "ok", "analyst-2", source="review", answer_id="a3", corrects="a2")
    assert r.label(other, now=52.0) == [] and r.review.entry("e1").agreed == "bad"  # not someone else's answer


def test_a_correction_before_the_label_was_learned_changes_what_will_be_learned() -> None:
    r = router(answers_wanted=2, undo=30.0)
    r.add_item(item("e1"))
    review = {"source": "review"}
    r.label(said("e1", "ok", "analyst-1", **review, answer_id="a1"), now=1.0)
    r.label(said("e1", "bad", "analyst-2", **review, answer_id="a2"), now=2.0)
    assert r.review.entry("e1").agreed == "ok"  # a tie goes to the earliest answer
    assert r.label(said("e1", "bad", "analyst-1", **review, answer_id="a3", corrects="a1"),
                   now=3.0) == []
    assert r.review.entry("e1").agreed == "bad"
    [result] = r.tick(now=60.0, review_caught_up=True)
    assert result.outcome == "learned" and r.learner.model_version == 1
    assert r.learner.classes == ["bad"]


def test_an_item_this_replica_queried_is_held_once_by_the_learner_and_the_review_store() -> None:
    r = router()
    mine = item("e1")
    r.learner.pending.add(mine)  # queried here: pending before its review item comes back from the topic
    echo = parse_review_message(encode(review_item_message(mine)))
    assert isinstance(echo, PendingItem)
    r.add_item(echo)
    assert r.review.entry("e1").item is mine  # one copy, not two
