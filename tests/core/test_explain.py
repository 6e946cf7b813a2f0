"""Explanations of queried predictions: what each model really used, carried with the review item."""

from __future__ import annotations

import pickle
import random
from typing import Any

import orjson

from streamal.core.config import LearnerConfig
from streamal.core.domain import Event
from streamal.core.explain import explain
from streamal.core.learner import Learner
from streamal.core.models import make_model
from streamal.core.pending import PendingItem
from streamal.wire.outputs import fit
from streamal.wire.review import parse_review_message, review_item_message


def trained(name: str, n: int = 3000) -> Any:
    model = make_model(name, seed=1)
    rng = random.Random(3)
    for _ in range(n):
        x: dict[str, Any] = {"size": rng.random() * 100, "noise": rng.random(), "proto": rng.choice(["tcp", "udp"])}
        model.learn_one(x, "bad" if x["size"] > 60 else "ok")
    return model


def test_linear_terms_rank_the_feature_the_label_depends_on_first() -> None:
    why = explain(trained("linear"), {"size": 90.0, "noise": 0.5, "proto": "udp"}, "bad")
    assert why is not None
    [member] = why["members"]
    assert member["name"] == "linear" and member["class"] == "bad" and member["weight"] == 1.0
    assert member["terms"][0]["feature"] == "size" and member["terms"][0]["effect"] > 0
    assert len(member["terms"]) <= 5


def test_a_tree_gives_its_path_and_auto_gives_both_members_weighted() -> None:
    why = explain(trained("hat", 6000), {"size": 90.0, "noise": 0.5, "proto": "udp"}, "bad")
    assert why is not None
    [member] = why["members"]
    assert member["name"] == "tree" and any("size" in step for step in member["path"])
    mixed = explain(trained("auto"), {"size": 90.0, "noise": 0.5, "proto": "udp"}, "bad")
    assert mixed is not None
    assert [m["name"] for m in mixed["members"]] == ["linear", "tree"]
    assert abs(sum(m["weight"] for m in mixed["members"]) - 1.0) < 0.01


def test_nothing_is_made_up_for_a_forest_or_without_a_prediction() -> None:
    assert explain(trained("arf", 300), {"size": 90.0, "noise": 0.5, "proto": "udp"}, "bad") is None
    assert explain(make_model("linear"), {"size": 1.0}, None) is None


def test_a_queried_event_carries_its_explanation_to_the_review_topic_and_back() -> None:
    learner = Learner(LearnerConfig(model="linear", strategy="random", budget=1.0, seed_size=0))
    for i in range(50):
        learner.warm([({"size": float(i)}, "bad" if i > 25 else "ok")])
    decision = learner.score(Event("e1", {"size": 40.0}), now=0.0)
    assert decision.item is not None and decision.item.explanation is not None
    again = parse_review_message(orjson.dumps(review_item_message(decision.item)))
    assert isinstance(again, PendingItem) and again.explanation == decision.item.explanation


def test_the_explanation_is_the_first_thing_left_out_of_a_review_item_too_large() -> None:
    msg = {"event_id": "e1", "features": {"x": 1}, "meta": {"m": "y" * 100}, "explanation": {"members": ["z" * 500]}}
    out = orjson.loads(fit(msg, 400))
    assert out["explanation"] is None and out["meta"] == {"m": "y" * 100}


def test_an_item_pickled_before_explanations_existed_still_loads() -> None:
    item = PendingItem("e1", {"x": 1}, None, "ok", {"ok": 1.0}, 0.5, "uncertainty", 3, 10.0)
    old_state = [getattr(item, f) for f in PendingItem.__slots__[:-1]]  # as checkpoints of the last release hold it
    restored = PendingItem.__new__(PendingItem)
    restored.__setstate__(tuple(old_state))
    assert restored.explanation is None and restored.event_id == "e1" and restored.model_version == 3
    assert pickle.loads(pickle.dumps(item)) == item
