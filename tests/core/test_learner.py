"""The learner: mixed features, string labels, bad labels, drift, state."""

import pickle
import random
from typing import Any

import pytest

from streamal.core.config import LearnerConfig
from streamal.core.domain import Event, Label
from streamal.core.learner import Learner
from streamal.core.names import ModelName
from streamal.evaluation.streams import open_stream


def mixed_event(i: int, rng: random.Random) -> tuple[Event, str]:
    proto = rng.choice(["tcp", "udp", "icmp"])
    port = rng.choice([22, 80, 443, 3389])
    x: dict[str, Any] = {"bytes": rng.random() * 1000, "proto": proto, "port": port, "vpn": rng.random() < 0.5,
         "country": rng.choice(["fr", "de", None])}
    if rng.random() < 0.1:
        del x["bytes"]  # missing
    label = "malicious" if (port == 3389 and not x["vpn"]) else ("scan" if proto == "icmp" else "benign")
    return Event(f"e{i}", x), label


@pytest.mark.parametrize("model", ["linear", "hat", "arf"])
def test_mixed_features_and_multiclass_string_labels(model: ModelName) -> None:
    rng = random.Random(0)
    learner = Learner(LearnerConfig(model=model, budget=1.0, seed_size=0))
    correct = 0
    for i in range(3000):
        event, label = mixed_event(i, rng)
        d = learner.score(event, now=float(i))
        correct += i >= 2000 and d.prediction == label
        learner.learn(Label(event.id, label, features=None), now=float(i))
    assert set(learner.classes) == {"malicious", "scan", "benign"}
    assert correct / 1000 > 0.9
    proba = learner.predict_proba({"proto": "tcp"})
    assert set(proba) == {"malicious", "scan", "benign"} and abs(sum(proba.values()) - 1) < 1e-9


def test_label_outcomes() -> None:
    learner = Learner(LearnerConfig(budget=1.0, seed_size=5))
    d = learner.score(Event("a", {"x": 1}), now=0.0)
    assert d.query is not None and learner.backlog == 1
    assert learner.learn(Label("nobody", "x"), now=1.0).outcome == "unknown"
    r = learner.learn(Label("a", "pos", labeled_at=4.0), now=9.0)
    assert r.outcome == "learned" and r.delay == pytest.approx(4.0)
    assert learner.learn(Label("a", "pos"), now=10.0).outcome == "duplicate"
    assert learner.model_version == 1 and learner.backlog == 0
    # ground truth for an event that was never queried, with its features
    assert learner.learn(Label("b", "neg", features={"x": 2}), now=11.0).outcome == "learned"
    assert learner.model_version == 2


def test_review_items_from_elsewhere_are_remembered_once() -> None:
    a = Learner(LearnerConfig(budget=1.0, seed_size=5))
    b = Learner(LearnerConfig(budget=1.0, seed_size=5))
    item = a.score(Event("e1", {"x": 1}), now=0.0).item
    assert item is not None
    assert b.remember(item) and not b.remember(item)
    assert b.learn(Label("e1", "pos"), now=1.0).outcome == "learned"
    assert not b.remember(item)  # already labelled: not pending again


def test_budget_held_over_a_long_stream() -> None:
    learner = Learner(LearnerConfig(model="hat", budget=0.05, seed_size=20))
    n = queried = 0
    for i, (x, y) in enumerate(open_stream("sea-abrupt", n=10_000)):
        d = learner.score(Event(str(i), x), now=float(i))
        n += 1
        if d.query:
            queried += 1
            learner.learn(Label(str(i), y), now=float(i))
    reserve = learner.sampler.cap.reserve  # kept for the next drift: the boost spends it, never ahead of the credit
    assert 0.97 * 0.05 * n - reserve <= queried <= 0.05 * n


def test_drift_reaction_on_a_known_change_point() -> None:
    """An abrupt concept change at 5000: an alarm follows it (not before), and a boost (when on) asks more."""
    learner = Learner(LearnerConfig(model="hat", budget=0.1, seed_size=20, drift_warmup=100, boost=3.0, seed=1))
    alarms_at, drift_queries = [], 0
    for i, (x, y) in enumerate(open_stream("agrawal-abrupt", n=10_000, seed=3)):
        d = learner.score(Event(str(i), x), now=float(i))
        alarms_at += [i] * len(d.alarms)
        if d.query:
            drift_queries += d.query.reason == "drift"
            r = learner.learn(Label(str(i), y), now=float(i))
            alarms_at += [i] * len(r.alarms)
    assert alarms_at, "no drift alarm"
    assert any(5000 <= a <= 7000 for a in alarms_at)
    assert drift_queries > 0
    assert sum(learner.drift_alarms().values()) == len(alarms_at)


def test_warmup_keeps_the_learning_curve_from_raising_alarms() -> None:
    learner = Learner(LearnerConfig(model="hat", budget=0.1, seed_size=20, drift_warmup=200, seed=2))
    alarms = 0
    for i, (x, y) in enumerate(open_stream("sea-abrupt", n=4000, seed=5)):  # no drift before 10000
        d = learner.score(Event(str(i), x), now=float(i))
        alarms += len(d.alarms)
        if d.query:
            alarms += len(learner.learn(Label(str(i), y), now=float(i)).alarms)
        if learner.model_version < 200:
            assert alarms == 0


def test_state_survives_pickling() -> None:
    learner = Learner(LearnerConfig(model="hat", budget=0.5, seed_size=3))
    for i in range(50):
        learner.score(Event(str(i), {"x": i % 7, "c": "ab"[i % 2]}), now=float(i))
        learner.learn(Label(str(i), "ab"[i % 2]), now=float(i))
    clone = pickle.loads(pickle.dumps(learner))
    x = {"x": 3, "c": "a"}
    assert clone.predict_proba(x) == learner.predict_proba(x)
    assert clone.model_version == learner.model_version and clone.backlog == learner.backlog
