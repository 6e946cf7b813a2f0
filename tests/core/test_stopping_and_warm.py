"""The stopping rule and the warm start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from streamal.cli import main
from streamal.core.config import LearnerConfig
from streamal.core.domain import Event, Label
from streamal.core.learner import Learner
from streamal.evaluation.streams import open_stream


def run(learner: Learner, stream: list[tuple[dict[str, Any], str]], start: int = 0) -> dict[str, int]:
    reasons: dict[str, int] = {}
    for i, (x, y) in enumerate(stream, start):
        d = learner.score(Event(str(i), x), now=float(i))
        if d.query:
            reasons[d.query.reason] = reasons.get(d.query.reason, 0) + 1
            learner.learn(Label(str(i), y), now=float(i))
    return reasons


def test_the_stopping_rule_saves_labels_on_a_stream_it_has_learned_and_keeps_the_audit() -> None:
    stream = list(open_stream("sea-abrupt", n=30_000))[:14_000]  # before the drift: one concept
    plain = Learner(LearnerConfig(model="hat", budget=0.1, seed=3))
    stopping = Learner(LearnerConfig(model="hat", budget=0.1, seed=3, stopping=True))
    asked_plain, asked_stop = run(plain, stream), run(stopping, stream)
    assert stopping.stopping is not None and stopping.stopping.saturations >= 1
    assert sum(asked_stop.values()) < 0.9 * sum(asked_plain.values())  # labels saved...
    assert asked_stop["random"] >= 0.7 * asked_plain["random"]  # ...but never the audit's


def test_a_drift_alarm_resumes_asking() -> None:
    learner = Learner(LearnerConfig(model="hat", budget=0.1, seed=3, stopping=True))
    run(learner, list(open_stream("sea-abrupt", n=30_000))[:14_000])
    assert learner.saturated
    learner._on_drift()
    assert not learner.saturated


def test_a_warm_start_counts_as_labels_learned_and_skips_the_seed() -> None:
    history = list(open_stream("sea-abrupt", n=600))
    learner = Learner(LearnerConfig(model="linear", budget=0.1, seed_size=20))
    assert learner.warm(history) == (600, 0)
    assert learner.model_version == 600
    reasons = run(learner, list(open_stream("sea-abrupt", n=2000, seed=9)))
    assert "seed" not in reasons


def test_evaluate_warm_and_stopping_add_their_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--data", "sea-abrupt", "--limit", "3000", "--budget", "0.1", "--warm", "500",
                 "--stopping", "--no-plots", "--quiet", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "2500 events" in out
    for row in ("margin+warm", "margin+stop", "margin+stop+warm"):
        assert f"| {row} " in out, out
