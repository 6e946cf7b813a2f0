"""The sampler and its strategies: budget, cold start, audit, over-confidence, drift boost."""

import random
from collections.abc import Callable
from typing import Any

import pytest

from streamal.core.config import LearnerConfig
from streamal.core.sampling import Sampler
from streamal.core.strategies import make_strategy
from streamal.core.strategies.base import Observation


def run(sampler: Sampler, n: int,
        proba: Callable[[int, random.Random], dict[str, float]] = lambda i, rng: {"a": rng.random()},
        n_learned: int = 10_000, seed: int = 0) -> Any:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        p = proba(i, rng)
        p = {"a": p["a"], "b": 1 - p["a"]}
        out.append(sampler.decide(p, {}, n_learned=n_learned))
    return out


def test_cold_start_asks_the_seed_first_then_keeps_asking_at_the_budget_without_any_label() -> None:
    s = Sampler(make_strategy("uncertainty"), LearnerConfig(budget=0.05, seed_size=20, audit_share=0.1, seed=1))
    decisions = [s.decide({}, {}, n_learned=0) for _ in range(20_000)]  # no label ever arrives
    asked = [d for d in decisions if d is not None]
    assert all(d is not None for d in decisions[:20])  # the seed: the first events
    assert 0.97 * 0.05 * 20_000 <= len(asked) <= 0.05 * 20_000  # the budget spent, never more
    audits = sum(d.reason == "random" for d in asked)
    assert audits >= 0.8 * 0.05 * 0.1 * 20_000  # the audit share from the first event on
    assert {d.reason for d in asked} == {"seed", "random"}  # no model yet: nothing else to say


def test_a_restart_with_labels_learned_is_no_cold_start() -> None:
    s = Sampler(make_strategy("uncertainty"), LearnerConfig(budget=0.2, seed_size=20, audit_share=0.0, seed=1))
    for _ in range(20):
        s.decide({}, {}, n_learned=0)
    decisions = run(s, 2000, n_learned=500)
    assert {d.reason for d in decisions if d} <= {"uncertainty", "explore"}


def test_never_stops_querying_when_over_confident() -> None:
    s = Sampler(make_strategy("uncertainty"), LearnerConfig(budget=0.05, seed_size=0, seed=2))
    # the model is sure of everything after event 1000
    decisions = run(s, 6000, proba=lambda i, rng: {"a": rng.random() if i < 1000 else 1 - 1e-9 * rng.random()})
    late = sum(d is not None for d in decisions[3000:])
    assert late >= 0.7 * 0.05 * 3000


def test_uncertainty_prefers_the_uncertain() -> None:
    s = Sampler(make_strategy("uncertainty"), LearnerConfig(budget=0.1, seed_size=0, audit_share=0.0, seed=3))
    rng = random.Random(0)
    picked: list[float] = []
    skipped: list[float] = []
    for _ in range(5000):
        a = rng.random()
        d = s.decide({"a": a, "b": 1 - a}, {}, n_learned=10_000)
        (picked if d else skipped).append(abs(a - 0.5))
    assert sum(picked) / len(picked) < 0.1 < sum(skipped) / len(skipped)


def test_audit_share_is_random() -> None:
    s = Sampler(make_strategy("uncertainty"), LearnerConfig(budget=0.1, audit_share=0.2, seed_size=0, seed=4))
    decisions = run(s, 20_000)
    audits = [i for i, d in enumerate(decisions) if d is not None and d.reason == "random"]
    assert 0.8 * 0.02 * 20_000 <= len(audits) <= 1.2 * 0.02 * 20_000
    assert 0.4 < sum(audits) / len(audits) / 20_000 < 0.6  # spread over the run, not bunched


def test_drift_boost_shifts_the_budget_to_the_events_after_an_alarm_at_a_fixed_total() -> None:
    s = Sampler(make_strategy("uncertainty"), LearnerConfig(
        budget=0.05, window=1000, boost=3.0, boost_events=500, seed_size=0, seed=5))
    before = run(s, 4000)
    assert s.cap.reserve == pytest.approx(0.05 * 2 * 500)  # put aside while nothing drifted
    assert sum(d is not None for d in before) < 0.05 * 4000  # ... out of what those events earned
    s.on_drift()
    burst = run(s, 500, seed=9)
    drift = sum(d is not None and d.reason == "drift" for d in burst)
    assert drift > 0.05 * 500 * 1.5  # the events after the alarm get well over the plain budget
    assert s.cap.queries <= 0.05 * s.cap.events + 1e-9  # never ahead of what was earned
    after = run(s, 5000, seed=10)
    assert sum(d is not None for d in after) > 0.5 * 0.05 * 5000  # still asking while the reserve fills again
    assert s.cap.queries <= 0.05 * s.cap.events + 1e-9


def test_an_alarm_at_the_very_end_of_a_run_does_not_overspend() -> None:
    s = Sampler(make_strategy("margin"), LearnerConfig(budget=0.05, boost=2.0, boost_events=500, seed_size=0, seed=3))
    run(s, 3000)
    s.on_drift()
    run(s, 50, seed=4)  # the run ends 50 events after the alarm
    assert s.cap.queries <= 0.05 * s.cap.events + 1e-9


def test_decisions_taken_while_labels_are_late_reach_the_strategy_as_unasked() -> None:
    """Late-label exploration is the sampler's choice: a strategy steering its own rate must not count it."""
    strategy = make_strategy("variable-uncertainty")
    seen: list[tuple[bool, str]] = []
    asked = False
    ask, observe = strategy.ask, strategy.observe

    def spy_ask(*args: Any) -> Any:
        nonlocal asked
        asked = True
        return ask(*args)

    def spy_observe(obs: Observation, utility: float, outcome: Any) -> None:
        nonlocal asked
        seen.append((asked, outcome))
        asked = False
        observe(obs, utility, outcome)

    strategy.ask, strategy.observe = spy_ask, spy_observe  # type: ignore[method-assign,assignment]
    s = Sampler(strategy, LearnerConfig(budget=0.1, seed_size=0, audit_share=0.0, late_explore=10.0, seed=5))
    rng = random.Random(0)
    for _ in range(4000):
        a = rng.random()
        s.decide({"a": a, "b": 1 - a}, {}, n_learned=10_000, backlog=10)  # ten labels outstanding
    unasked = [outcome for was_asked, outcome in seen if not was_asked]
    assert 0.3 * len(seen) < len(unasked) < 0.7 * len(seen)  # half of the decisions explore (10 / (10 + 10))
    assert set(unasked) == {"unasked"}
    assert "unasked" not in {outcome for was_asked, outcome in seen if was_asked}
    theta = strategy.theta  # type: ignore[attr-defined]
    strategy.observe(Observation({"a": 0.5, "b": 0.5}, {}), 0.5, "unasked")  # its bar stays where it was
    assert strategy.theta == theta  # type: ignore[attr-defined]


@pytest.mark.parametrize("discount", [0.0, 1.0])
def test_questions_on_their_way_discount_their_region(discount: float) -> None:
    """Labels late: the most uncertain region has questions on their way, so the next ones go elsewhere too."""
    s = Sampler(make_strategy("margin"), LearnerConfig(budget=0.1, seed_size=0, audit_share=0.0, explore_share=0.0,
                                                       pending_discount=discount, seed=2))
    rng = random.Random(1)
    asked = {"a": 0, "b": 0}
    for i in range(6000):
        region = "a" if rng.random() < 0.5 else "b"
        sure = 0.5 + 0.02 * rng.random() if region == "a" else 0.62 + 0.02 * rng.random()
        x = {"u": (5.0 if region == "a" else -5.0) + rng.gauss(0, 0.1), "v": rng.gauss(0, 0.1)}
        d = s.decide({"p": sure, "q": 1 - sure}, x, n_learned=100, now=float(i), backlog=sum(asked.values()),
                     key=f"e{i}")
        if d is not None and i >= 1000:  # (the first events teach the regions' scales)
            asked[region] += 1
    share_b = asked["b"] / sum(asked.values())
    if discount:
        assert share_b > 0.3, asked  # a label for the other region is worth more than a fourth question on a
        assert len(s.on_the_way) > 0
    else:
        assert share_b < 0.05, asked  # plain margin: every question on the one region
