"""A model per kind of event: each key its own learner, bounded in memory and in number, one version count."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from streamal.core.config import LearnerConfig
from streamal.core.domain import Event, Label
from streamal.core.keyed import SHARED, KeyedLearner, key_of, make_learner
from streamal.core.learner import Learner
from streamal.core.pool import assess
from streamal.core.versions import ModelState
from streamal.errors import InvalidEvent


def config(**kw: Any) -> LearnerConfig:
    base: dict[str, Any] = {"model": "linear", "model_key": "meta.sensor", "seed_size": 0, "audit_share": 0.0,
                            "budget": 0.5}
    return LearnerConfig(**(base | kw))


def teach(learner: Learner, sensor: str, flipped: bool, n: int = 60, start: int = 0) -> None:
    """Labels with features for ``sensor``: x > 0 is 'bad' there, or 'ok' where ``flipped``."""
    for i in range(start, start + n):
        x = (i % 21 - 10) / 5.0
        y = ("ok" if x > 0 else "bad") if flipped else ("bad" if x > 0 else "ok")
        event = Event(f"{sensor}-{i}", {"x": x}, meta={"sensor": sensor})
        d = learner.score(event, now=float(i))
        if d.query is None:  # learned through its features, as a label from another system would be
            learner.learn(Label(event.id, y, features={"x": x}, meta={"sensor": sensor}), now=float(i))
        else:
            learner.learn(Label(event.id, y), now=float(i))


def predicted(learner: Learner, sensor: str | None, x: float) -> str | None:
    meta = {"sensor": sensor} if sensor is not None else None
    return learner.score(Event(f"probe-{sensor}-{x}", {"x": x}, meta=meta), now=1e6).prediction


def test_each_key_learns_its_own_concept_where_one_model_could_not() -> None:
    learner = KeyedLearner(config())
    teach(learner, "dmz", flipped=False)
    teach(learner, "lan", flipped=True)
    assert predicted(learner, "dmz", 1.5) == "bad" and predicted(learner, "dmz", -1.5) == "ok"
    assert predicted(learner, "lan", 1.5) == "ok" and predicted(learner, "lan", -1.5) == "bad"
    assert learner.model_version == 120  # one count for the deployment: every key's labels
    assert sorted(learner.keys()) == ["dmz", "lan"] and learner.classes == []  # the shared model learned nothing


def test_a_label_with_only_an_event_id_reaches_the_model_of_the_key_that_asked() -> None:
    learner = KeyedLearner(config(seed_size=1))
    d = learner.score(Event("e1", {"x": 1.0}, meta={"sensor": "dmz"}), now=0.0)
    assert d.key == "dmz" and d.item is not None and d.item.key == "dmz" and d.query is not None
    result = learner.learn(Label("e1", "bad"), now=1.0)
    assert (result.outcome, result.key) == ("learned", "dmz")
    assert learner.resident["dmz"].model_version == 1 and learner.model_version == 1
    assert learner.learn(Label("e1", "bad"), now=2.0).outcome == "duplicate"


def test_events_without_the_key_are_scored_by_the_shared_model() -> None:
    learner = KeyedLearner(config())
    d = learner.score(Event("e1", {"x": 1.0}), now=0.0)
    assert d.key == SHARED and not learner.resident
    learner.learn(Label("e1", "bad", features={"x": 1.0}), now=1.0)
    assert learner.classes == ["bad"] and learner.model_version == 1


def test_least_recently_used_models_are_parked_and_come_back_the_same() -> None:
    learner = KeyedLearner(config(max_models=2))
    for sensor, flipped in (("a", False), ("b", True)):
        teach(learner, sensor, flipped)
    before = learner.resident["a"].predict_proba({"x": 0.7})
    teach(learner, "c", flipped=False, n=30)  # a third key: the least recently used ('a') is parked
    assert list(learner.resident) == ["b", "c"] and list(learner.parked) == ["a"] and learner.parks == 1
    assert predicted(learner, "a", 1.5) == "bad"  # back in memory, as it was
    assert learner.resident["a"].predict_proba({"x": 0.7}) == before
    assert "b" in learner.parked and len(learner.resident) == 2


def test_new_keys_beyond_max_keys_go_to_the_shared_model_or_are_refused() -> None:
    learner = KeyedLearner(config(max_keys=2))
    for sensor in ("a", "b", "c"):
        learner.score(Event(f"{sensor}1", {"x": 1.0}, meta={"sensor": sensor}), now=0.0)
    assert sorted(learner.keys()) == ["a", "b"] and learner.overflowed == 1
    assert learner.score(Event("c2", {"x": 1.0}, meta={"sensor": "c"}), now=1.0).key == SHARED
    strict = KeyedLearner(config(max_keys=1, key_overflow="deadletter"))
    strict.score(Event("a1", {"x": 1.0}, meta={"sensor": "a"}), now=0.0)
    with pytest.raises(InvalidEvent, match="over STREAMAL_MAX_KEYS") as refused:
        strict.score(Event("b1", {"x": 1.0}, meta={"sensor": "b"}), now=0.0)
    assert refused.value.reason == "key_overflow"


def test_a_snapshot_puts_every_key_back_and_resets_keys_made_after_it() -> None:
    learner = KeyedLearner(config(max_models=1))
    teach(learner, "dmz", flipped=False)
    teach(learner, "lan", flipped=True)  # dmz parked now: the snapshot must take it from the parking
    earlier = ModelState.capture(learner)
    teach(learner, "dmz", flipped=True, n=200, start=100)  # dmz's concept turned
    teach(learner, "new", flipped=False, n=30)
    assert predicted(learner, "dmz", 1.5) == "ok"
    earlier.restore(learner)
    assert learner.model_version == 120
    assert predicted(learner, "dmz", 1.5) == "bad" and predicted(learner, "lan", 1.5) == "ok"
    assert learner.resident.get("new", None) is None or learner.resident["new"].model_version == 0
    fresh = make_learner(learner.config)
    ModelState.capture(fresh).restore(learner)  # a rebuild from nothing: every key afresh
    assert learner.model_version == 0 and all(learner._sub(k, create=False).model_version == 0  # type: ignore[union-attr]
                                              for k in learner.keys())


def test_after_a_rebuild_from_nothing_the_keys_learn_apart_again() -> None:
    learner = KeyedLearner(config())
    teach(learner, "dmz", flipped=False)
    teach(learner, "lan", flipped=True)
    ModelState.capture(make_learner(learner.config)).restore(learner)
    teach(learner, "dmz", flipped=False, n=60, start=500)
    assert learner.resident["lan"].model_version == 0 and learner.resident["lan"].classes == []
    assert learner.resident["lan"].model is not learner.resident["dmz"].model
    teach(learner, "lan", flipped=True, n=60, start=500)
    assert predicted(learner, "dmz", 1.5) == "bad" and predicted(learner, "lan", 1.5) == "ok"


def test_a_checkpoint_keeps_the_keys_and_the_owners_of_the_questions() -> None:
    learner = KeyedLearner(config(seed_size=1, max_models=1))
    learner.score(Event("a1", {"x": 1.0}, meta={"sensor": "a"}), now=0.0)
    learner.score(Event("b1", {"x": 1.0}, meta={"sensor": "b"}), now=0.0)  # 'a' parked
    back = pickle.loads(pickle.dumps(learner))
    assert isinstance(back, KeyedLearner) and back.parked.keys() == {"a"}
    back.parking = learner.parking
    assert back.learn(Label("a1", "bad"), now=1.0).key == "a"
    assert back.resident["a"].classes == ["bad"]


def test_the_pool_judges_a_question_by_the_model_of_its_key() -> None:
    learner = KeyedLearner(config())
    teach(learner, "dmz", flipped=False, n=200)
    sure = assess(learner, {"x": 2.0}, "uncertainty", "dmz")
    unknown = assess(learner, {"x": 2.0}, "uncertainty", "lan")  # no model for 'lan': the shared one, knowing nothing
    assert sure[0] < unknown[0]


def test_key_values_are_text_cut_to_a_bound_and_a_plain_config_makes_a_plain_learner() -> None:
    assert key_of("port", {"port": 22}, None) == "22" and key_of("flag", {"flag": True}, None) == "true"
    assert key_of("meta.s", {}, {"s": "x" * 500}) == "x" * 120
    assert key_of("meta.s", {}, {"s": {"nested": 1}}) is None
    assert type(make_learner(LearnerConfig())) is Learner
    with pytest.raises(ValueError, match="model_key"):
        KeyedLearner(LearnerConfig())


def test_a_promotion_promotes_the_challenger_of_every_key_parked_ones_too() -> None:
    learner = KeyedLearner(config(max_models=1, challenger="hat"))
    teach(learner, "dmz", flipped=False)
    teach(learner, "lan", flipped=True)  # dmz parked
    challenger = learner.stats().challenger
    assert challenger is not None and challenger.accuracy_labels["queried"] >= 50
    learner.promote_challenger()
    assert learner.config.model == "hat" and learner.resident["lan"].config.model == "hat"
    assert predicted(learner, "dmz", 1.5) == "bad"  # unparked under the new config without complaint
    assert learner.resident["dmz"].config.model == "hat" and learner.resident["dmz"].config.challenger == "linear"
