"""The contract every strategy keeps (as river's estimator checks do for its estimators).

* its utility is pure: the same answer twice, nothing changed;
* with the sampler around it, a run spends between 97% and 100% of
  ``budget * events`` (the seed is an advance on it, repaid as events come;
  what the drift reserve holds at the end is kept for the next drift),
  never more than ``budget * events + seed`` at any point, with labels at
  once, labels late, and no labels at all; and no window of events sees more
  than the budget's share of non-seed queries (give or take the pace's slack);
* questions on their way (the pending discount) change which events are
  asked, never how many;
* its decisions survive a pickle round trip (a checkpoint) unchanged;
* the same seed gives the same decisions.
"""

from __future__ import annotations

import pickle
import random
from collections.abc import Iterator
from typing import Any

import pytest
from river import base

from streamal.core.budget import PACE_SLACK
from streamal.core.config import LearnerConfig
from streamal.core.names import strategy_name
from streamal.core.sampling import Sampler
from streamal.core.strategies import STRATEGIES, Observation, make_strategy


class Votes(base.Ensemble, base.Classifier):
    """A stand-in ensemble for ``committee``: members that disagree by a random amount."""

    def __init__(self, n: int = 3) -> None:
        super().__init__([_Member(i) for i in range(n)])

    def learn_one(self, x: dict[str, Any], y: str) -> None:
        pass

    def predict_proba_one(self, x: dict[str, Any]) -> dict[str, float]:
        return {"a": 0.5, "b": 0.5}


class _Member(base.Classifier):
    def __init__(self, i: int) -> None:
        self.i = i

    def learn_one(self, x: dict[str, Any], y: str) -> None:
        pass

    def predict_proba_one(self, x: dict[str, Any]) -> dict[str, float]:
        a = (x.get("u", 0.5) * (self.i + 1)) % 1.0
        return {"a": a, "b": 1.0 - a}


def events(n: int, seed: int = 0, classes: int = 2) -> Iterator[tuple[dict[str, float], dict[str, Any]]]:
    """``n`` events with probabilities of ``classes`` classes: mostly sure, some unsure, some nil-utility ties."""
    rng = random.Random(seed)
    for i in range(n):
        if i % 7 == 0:
            top = 1.0  # the model claims certainty: utility 0, many ties
        else:
            top = 1.0 / classes + (1.0 - 1.0 / classes) * rng.random() ** 0.5
        rest = (1.0 - top) / (classes - 1)
        proba = {"c0": top, **{f"c{k}": rest for k in range(1, classes)}}
        yield proba, {"u": rng.random(), "v": rng.gauss(0, 1), "p": rng.choice("xyz")}


def sampler(name: str, budget: float, seed: int = 1, seed_size: int = 20, window: int = 1000) -> Sampler:
    cfg = LearnerConfig(strategy=strategy_name(name), budget=budget, seed_size=seed_size, window=window, seed=seed)
    return Sampler(make_strategy(name, seed=seed), cfg)


def drive(s: Sampler, n: int, *, labels_from: int | None = 0, seed: int = 0, classes: int = 2,
          lag: int = 300) -> list[Any]:
    """Run ``n`` events through ``s``; labels count as learned from event ``labels_from`` on (``None``: never).

    Each question is on its way (it discounts its region) until its answer comes ``lag`` events later,
    once labels come at all.
    """
    out = []
    model = Votes()
    asked: list[tuple[int, str]] = []
    for i, (proba, x) in enumerate(events(n, seed, classes)):
        learned = 0 if labels_from is None or i < labels_from else i - labels_from + s.seed_size
        while asked and labels_from is not None and i >= labels_from and asked[0][0] + lag <= i:
            s.answered(asked.pop(0)[1])
        decision = s.decide(proba, x, n_learned=learned, model=model, now=float(i), backlog=len(asked), key=str(i))
        if decision is not None:
            asked.append((i, str(i)))
        out.append(decision)
        assert s.cap.queries <= s.budget * s.cap.events + s.seed_size + 1e-9, "spent ahead of the credit"
    return out


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_utility_is_pure(name: Any) -> None:
    strategy = make_strategy(name, seed=1)
    model = Votes()
    for proba, x in events(200, classes=3):
        obs = Observation(proba, x, model)
        before = pickle.dumps(strategy)
        first = strategy.utility(obs)
        assert strategy.utility(obs) == first
        assert pickle.dumps(strategy) == before
        strategy.observe(obs, first, "passed")


@pytest.mark.parametrize("name", sorted(STRATEGIES))
@pytest.mark.parametrize("budget", [0.02, 0.05, 0.2])
@pytest.mark.parametrize("labels_from", [0, 3000, None], ids=["labels-at-once", "labels-late", "no-labels"])
def test_spends_its_budget_never_more_and_holds_the_pace(name: Any, budget: float, labels_from: int | None) -> None:
    n, window = 20_000, 1000
    s = sampler(name, budget, window=window)
    decisions = drive(s, n, labels_from=labels_from, classes=3 if name != "committee" else 2)
    allowed = budget * n
    spent = sum(d is not None for d in decisions)
    # (what the drift reserve holds at the end is budget kept for the next drift, not spent: at most
    # budget * (boost - 1) * boost_events)
    assert 0.97 * allowed - s.cap.reserve <= spent <= allowed, f"{spent} of {allowed:.0f}, reserve {s.cap.reserve:.1f}"
    assert s.cap.reserve <= s.cap.reserve_size + 1e-9
    paced = [d is not None and not (d.reason == "seed" and i < 200) for i, d in enumerate(decisions)]
    for start in range(0, n - window, window // 4):
        assert sum(paced[start:start + window]) <= budget * window * (1 + PACE_SLACK) + 1


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_decisions_survive_a_pickle_round_trip(name: Any) -> None:
    s = sampler(name, 0.1)
    drive(s, 3000)
    twin = pickle.loads(pickle.dumps(s))
    a = [d and d.reason for d in drive(s, 2000, seed=5)]
    b = [d and d.reason for d in drive(twin, 2000, seed=5)]
    assert a == b and any(a)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_same_seed_same_decisions(name: Any) -> None:
    assert ([d and d.reason for d in drive(sampler(name, 0.1, seed=3), 3000)]
            == [d and d.reason for d in drive(sampler(name, 0.1, seed=3), 3000)])
