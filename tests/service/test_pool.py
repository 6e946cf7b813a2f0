"""The living review pool: re-ranked by the questions' worth now, withdrawn once the model knows, budget given back."""

from __future__ import annotations

import random
from typing import Any

from streamal.core.config import LearnerConfig
from streamal.core.domain import Event, Label
from streamal.core.learner import Learner
from streamal.core.pending import PendingItem
from streamal.review.store import ReviewStore
from streamal.service.pool import ReviewPool


def _item(event_id: str, x: float, reason: str = "uncertainty", score: float = 0.9) -> PendingItem:
    return PendingItem(event_id, {"x": x}, None, "a", {"a": 0.5, "b": 0.5}, score, reason, 0, 0.0)


def _taught(n: int = 400, seed: int = 1) -> Learner:
    """A model that knows x < 0 is a, x > 0 is b, and has seen the events near the boundary (its bar)."""
    learner = Learner(LearnerConfig(model="linear", strategy="margin", budget=0.1, seed_size=0, audit_share=0.0,
                                    seed=seed))
    rng = random.Random(seed)
    for i in range(n):
        x = rng.uniform(-10, 10)
        learner.learn(Label(f"l{i}", "a" if x < 0 else "b", features={"x": x}), now=0.0)
    for i in range(300):  # scored events, so the strategy knows what utilities look like now
        learner.score(Event(f"s{i}", {"x": rng.uniform(-10, 10)}), now=0.0)
    return learner


class Published(list[tuple[str, dict[str, Any]]]):
    def __call__(self, key: str, msg: dict[str, Any]) -> None:
        self.append((key, msg))


def test_the_queue_is_ordered_by_what_answers_are_worth_now() -> None:
    learner, store, published = _taught(), ReviewStore(clock=lambda: 0.0), Published()
    # asked when the model knew nothing: the far one with the higher score then
    store.add_item(_item("far", 9.0, score=0.95))
    store.add_item(_item("near", 0.05, score=0.90))
    assert [e.item.event_id for e in store.open_items()[0]] == ["far", "near"]
    ReviewPool(learner, store, published).rerank()
    entries = store.open_items()[0]
    assert [e.item.event_id for e in entries] == ["near", "far"]  # the boundary is where a label is worth most
    assert entries[0].priority > entries[1].priority
    assert published == []  # neither was asked by this replica: nothing withdrawn


def test_a_question_the_model_answered_for_itself_is_withdrawn_and_its_query_refunded() -> None:
    learner, store, published = _taught(), ReviewStore(clock=lambda: 0.0), Published()
    pool = ReviewPool(learner, store, published)
    for item in (_item("far", 9.0), _item("near", 0.05)):
        learner.remember(item)
        store.add_item(item)
        pool.asked(item.event_id)
    learner.sampler.cap.spend()
    learner.sampler.cap.spend()
    queries = learner.sampler.cap.queries
    assert pool.rerank() == 1
    assert published == [("far", {"event_id": "far", "status": "withdrawn", "why": published[0][1]["why"]})]
    assert "under the bar" in published[0][1]["why"]
    far = store.entry("far")
    assert not far.open and far.withdrawn and store.stats()["withdrawn"] == 1 and store.stats()["dropped"] == 0
    assert learner.pending.get("far") is None and learner.pending.get("near") is not None
    assert learner.sampler.cap.queries == queries - 1  # the label it would have cost goes back to the budget
    assert [e.item.event_id for e in store.open_items()[0]] == ["near"]
    assert pool.rerank() == 0  # once


def test_the_audit_answered_claimed_and_foreign_questions_are_never_withdrawn() -> None:
    learner, store, published = _taught(), ReviewStore(answers_wanted=2, clock=lambda: 0.0), Published()
    pool = ReviewPool(learner, store, published)
    items = [_item("audit", 9.0, reason="random"), _item("half", 8.0), _item("held", 7.0), _item("seed", 9.5, "seed")]
    for item in items:
        learner.remember(item)
        store.add_item(item)
        pool.asked(item.event_id)
    store.add_item(_item("other-replica", 6.0))
    store.apply_answer("half", "b", "analyst-1", answer_id="x1")
    store.claim("held", "analyst-2")
    assert pool.rerank() == 0
    assert published == []
    assert all(store.entry(i.event_id).open for i in items)


def test_next_is_the_most_useful_open_item_claimed_for_the_one_who_asks() -> None:
    learner, store = _taught(), ReviewStore(clock=lambda: 0.0)
    for item in (_item("far", 9.0, score=0.95), _item("near", 0.05, score=0.9), _item("mid", 2.0, score=0.8)):
        store.add_item(item)
    ReviewPool(learner, store, Published()).rerank()
    first = store.next_for("analyst-1")
    second = store.next_for("analyst-2")
    assert first is not None and second is not None
    assert first.item.event_id == "near" and first.claimed_by == "analyst-1"
    assert second.item.event_id != "near"  # claimed by the first: the next best
    assert store.next_for("analyst-1") == first  # asking again gives back what you hold
    store.apply_drop("far")
    store.apply_drop("mid")
    assert store.next_for("analyst-3") is None  # the rest held or closed


def test_a_question_unanswered_past_the_expiry_is_withdrawn() -> None:
    learner, store, published = _taught(), ReviewStore(clock=lambda: 0.0), Published()
    now = [1000.0]
    pool = ReviewPool(learner, store, published, expire=600.0, wall_clock=lambda: now[0])
    item = PendingItem("near", {"x": 0.05}, None, "a", {"a": 0.5, "b": 0.5}, 0.9, "uncertainty", 0, 900.0)
    learner.remember(item)
    store.add_item(item)
    pool.asked("near")
    assert pool.rerank() == 0  # worth asking, and asked 100 s ago
    now[0] = 1600.0
    assert pool.rerank() == 1  # 700 s unanswered: past the 600 s expiry
    assert published[0][1]["why"].startswith("expired: asked 700s ago")
    assert store.entry("near").withdrawn is not None and learner.pending.get("near") is None
