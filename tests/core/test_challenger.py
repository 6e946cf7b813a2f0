"""A challenger beside the champion: taught the same labels, judged fairly, never deciding what is asked."""

from __future__ import annotations

import math

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from streamal.core.challenger import promote
from streamal.core.config import LearnerConfig
from streamal.core.domain import Event, Label
from streamal.core.learner import Learner
from streamal.evaluation.streams import open_stream
from streamal.service.metrics import Metrics


def run(learner: Learner, n: int = 3000) -> list[tuple[str | None, str | None]]:
    out: list[tuple[str | None, str | None]] = []
    for i, (x, y) in enumerate(open_stream("sea-abrupt", n=n)):
        decision = learner.score(Event(f"e{i}", x), now=float(i))
        out.append((decision.prediction, decision.query.reason if decision.query else None))
        if decision.query is not None:
            learner.learn(Label(f"e{i}", y), now=float(i))
    return out


def test_a_challenger_never_changes_what_is_predicted_or_asked() -> None:
    plain = Learner(LearnerConfig(model="linear", budget=0.1, seed=3))
    with_challenger = Learner(LearnerConfig(model="linear", budget=0.1, seed=3, challenger="hat"))
    assert run(plain) == run(with_challenger)
    c = with_challenger.challenger
    assert c is not None and c.labels == with_challenger.model_version  # exactly the labels the champion learned
    stats = with_challenger.stats().challenger
    assert stats is not None and stats.model == "hat"
    assert 0.5 < stats.accuracy["queried"] <= 1 and stats.accuracy_labels["audit"] > 0
    assert -1 <= stats.lead <= 1 and not math.isnan(stats.brier)


def test_promotion_swaps_the_two_and_the_new_champion_serves_what_it_learned() -> None:
    learner = Learner(LearnerConfig(model="linear", challenger="hat", budget=0.2, seed=3))
    run(learner, 2000)
    assert learner.challenger is not None
    challenger_model = learner.challenger.model
    x = {"attr_0": 5.0, "attr_1": 5.0, "attr_2": 5.0}
    promote(learner)
    assert learner.model is challenger_model and learner.config.model == "hat"
    assert learner.challenger is not None and learner.challenger.name == "linear"
    assert learner.predict_proba(x)  # the promoted model serves at once
    stats = learner.stats().challenger
    assert stats is not None and math.isnan(stats.lead)  # the demoted champion's record starts afresh


def test_without_a_challenger_there_is_nothing_to_promote_and_no_challenger_series() -> None:
    learner = Learner(LearnerConfig(model="linear"))
    with pytest.raises(ValueError, match="no challenger to promote"):
        promote(learner)
    metrics = Metrics(CollectorRegistry())
    metrics.publish(learner.stats(), 0.0, None)
    assert 'model="challenger"' not in generate_latest(metrics.registry).decode()


def test_the_challenger_s_figures_are_exported_beside_the_champion_s() -> None:
    learner = Learner(LearnerConfig(model="linear", challenger="hat", budget=0.2, seed=3))
    run(learner, 1500)
    metrics = Metrics(CollectorRegistry())
    metrics.describe(version="x", model="linear", strategy="margin")
    metrics.publish(learner.stats(), 0.0, None)
    text = generate_latest(metrics.registry).decode()
    assert 'streamal_accuracy{estimate="queried",model="challenger"}' in text
    assert 'streamal_accuracy{estimate="queried",model="champion"}' in text
    assert 'streamal_calibration{measure="brier",model="challenger"}' in text
    promote(learner)
    metrics.publish(learner.stats(), 0.0, None)
    assert [line for line in generate_latest(metrics.registry).decode().splitlines()
            if line.startswith("streamal_build_info{") and 'model="hat"' in line]
