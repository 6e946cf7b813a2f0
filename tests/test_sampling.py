"""The sampler and its strategies: budget, cold start, audit, over-confidence, drift boost."""

import random

import pytest

from streamal.core.config import LearnerConfig
from streamal.core.sampling import Sampler
from streamal.core.strategies import STRATEGIES, make_strategy


def run(sampler, n, proba=lambda i, rng: {"a": rng.random()}, n_learned=10_000, seed=0):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        p = proba(i, rng)
        p = {"a": p["a"], "b": 1 - p["a"]}
        out.append(sampler.decide(p, {}, n_learned=n_learned))
    return out


@pytest.mark.parametrize("name", sorted(STRATEGIES))
@pytest.mark.parametrize("budget", [0.01, 0.05, 0.2])
def test_budget_held_over_the_run_and_every_window(name, budget):
    s = Sampler(make_strategy(name, seed=1), LearnerConfig(budget=budget, window=500, seed_size=10, seed=1))
    decisions = run(s, 20_000)
    flags = [d is not None for d in decisions]
    assert sum(flags) <= budget * len(flags) + s.cap.reserve
    assert sum(flags) >= 0.7 * budget * len(flags)  # and it does spend it
    for start in range(0, len(flags) - 500, 250):
        assert sum(flags[start:start + 500]) <= max(1, budget * 500)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_same_seed_same_decisions(name):
    def reasons(seed):
        s = Sampler(make_strategy(name, seed=seed), LearnerConfig(budget=0.1, seed=seed))
        return [d and d.reason for d in run(s, 2000)]

    assert reasons(3) == reasons(3)


def test_cold_start_queries_the_seed_set_first():
    s = Sampler(make_strategy("uncertainty"), LearnerConfig(budget=0.05, seed_size=20, window=1000))
    first = [s.decide({}, {}, n_learned=0) for _ in range(40)]
    assert all(d is not None and d.reason == "uncertainty" for d in first[:20])
    assert sum(d is not None for d in first[20:]) <= 2


def test_never_stops_querying_when_over_confident():
    s = Sampler(make_strategy("uncertainty"), LearnerConfig(budget=0.05, seed_size=0, seed=2))
    # the model is sure of everything after event 1000
    decisions = run(s, 6000, proba=lambda i, rng: {"a": rng.random() if i < 1000 else 1 - 1e-9 * rng.random()})
    late = sum(d is not None for d in decisions[3000:])
    assert late >= 0.7 * 0.05 * 3000


def test_uncertainty_prefers_the_uncertain():
    s = Sampler(make_strategy("uncertainty"), LearnerConfig(budget=0.1, seed_size=0, audit_share=0.0, seed=3))
    rng = random.Random(0)
    picked, skipped = [], []
    for _ in range(5000):
        a = rng.random()
        d = s.decide({"a": a, "b": 1 - a}, {}, n_learned=10_000)
        (picked if d else skipped).append(abs(a - 0.5))
    assert sum(picked) / len(picked) < 0.1 < sum(skipped) / len(skipped)


def test_audit_share_is_random():
    s = Sampler(make_strategy("uncertainty"), LearnerConfig(budget=0.1, audit_share=0.2, seed_size=0, seed=4))
    decisions = run(s, 20_000)
    audits = [d for d in decisions if d is not None and d.reason == "random"]
    assert 0.5 * 0.02 * 20_000 <= len(audits) <= 1.5 * 0.02 * 20_000


def test_drift_boost_spends_more_then_pays_back():
    s = Sampler(make_strategy("uncertainty"), LearnerConfig(
        budget=0.05, window=1000, boost=3.0, boost_events=500, seed_size=0, seed=5))
    run(s, 4000)
    s.on_drift()
    burst = run(s, 500, seed=9)
    assert sum(d is not None and d.reason == "drift" for d in burst) > 0.05 * 500 * 1.5
    after = run(s, 20_000, seed=10)
    total = s.cap.queries
    assert total <= 0.05 * s.cap.events + s.cap.reserve
    assert sum(d is not None for d in after) > 0
