"""Each strategy behaves as its definition says, on constructed cases."""

import random
from collections.abc import Callable
from typing import Any

import pytest
from river import base

from streamal.core.config import LearnerConfig
from streamal.core.domain import Event, Label
from streamal.core.learner import Learner
from streamal.core.neighbourhood import Cells
from streamal.core.sampling import Sampler
from streamal.core.strategies import (
    PAL,
    Adaptive,
    Committee,
    Entropy,
    FixedUncertainty,
    Margin,
    Observation,
    PeriodicSampling,
    RandomizedVariableUncertainty,
    RandomSampling,
    Split,
    Uncertainty,
    VariableUncertainty,
)
from streamal.core.strategies.base import Strategy
from streamal.core.strategies.pal import probabilistic_gain


def decide(strategy: Strategy, obs: Observation, rate: float) -> bool:
    """One event through ``strategy`` on its own: ask, then tell it what became of the event."""
    u = strategy.utility(obs)
    asked = strategy.ask(u, rate, rate) != "no"
    strategy.observe(obs, u, "queried" if asked else "passed")
    return asked


def feed(strategy: Strategy, n: int, budget: float, *, confidence: Callable[[random.Random], float] | None = None,
         seed: int = 0) -> list[bool]:
    """Ask ``strategy`` about ``n`` two-class events; return which were asked."""
    rng = random.Random(seed)
    asked = []
    for _ in range(n):
        c = confidence(rng) if confidence else 0.5 + 0.5 * rng.random()
        asked.append(decide(strategy, Observation({"a": c, "b": 1 - c}, {"x": rng.random()}), budget))
    return asked


@pytest.mark.parametrize("cls", [RandomSampling, PeriodicSampling, Uncertainty, Margin, Entropy])
@pytest.mark.parametrize("budget", [0.02, 0.1])
def test_a_rate_strategy_alone_asks_its_rate(cls: Any, budget: float) -> None:
    """On stationary utilities; holding the budget whatever the utilities do is the sampler's job."""
    share = sum(feed(cls(seed=3), 30_000, budget)) / 30_000
    assert budget * 0.9 <= share <= budget * 1.1


def test_periodic_asks_every_nth_event_and_random_spreads_evenly() -> None:
    assert [i for i, a in enumerate(feed(PeriodicSampling(), 40, 0.1)) if a] == [9, 19, 29, 39]
    asked = feed(RandomSampling(seed=5), 20_000, 0.05)
    first, second = sum(asked[:10_000]), sum(asked[10_000:])
    assert 440 <= first <= 560 and 440 <= second <= 560
    assert asked != feed(RandomSampling(seed=6), 20_000, 0.05)  # a different seed: different events


@pytest.mark.parametrize("cls", [Uncertainty, Margin, Entropy])
def test_quantile_strategies_ask_the_unsure_and_pass_the_sure(cls: Any) -> None:
    s, rng = cls(seed=1), random.Random(0)
    unsure = sure = 0
    for i in range(5000):
        c = 0.5 if i % 20 == 9 else 0.999 if i % 20 == 19 else 0.6 + 0.4 * rng.random()
        asked = decide(s, Observation({"a": c, "b": 1 - c}, {}), 0.1)
        unsure += asked and c == 0.5
        sure += asked and c == 0.999
    assert unsure >= 0.9 * 250
    assert sure == 0


def test_margin_and_entropy_see_more_than_the_top_class() -> None:
    two_way = {"a": 0.45, "b": 0.45, "c": 0.10}
    spread = {"a": 0.45, "b": 0.2, "c": 0.2, "d": 0.15}
    assert Margin().utility(Observation(two_way, {})) > Margin().utility(Observation(spread, {}))
    assert Uncertainty().utility(Observation(two_way, {})) == Uncertainty().utility(Observation(spread, {}))


def test_fixed_uncertainty_asks_only_under_its_bar() -> None:
    s = FixedUncertainty()
    asked = feed(s, 5000, 0.1)
    bar = 1 - s.threshold(0.1)  # confidence bar: 1/2 + 0.1 * 1/2
    assert bar == pytest.approx(0.55)
    assert not any(feed(FixedUncertainty(), 2000, 0.1, confidence=lambda r: 0.56 + 0.4 * r.random()))
    assert any(asked) and all(feed(FixedUncertainty(), 200, 0.1, confidence=lambda r: 0.5 + 0.049 * r.random()))


def test_variable_uncertainty_lowers_its_bar_after_a_quiet_stretch() -> None:
    s = VariableUncertainty()
    feed(s, 3000, 0.1)  # settles
    before = s.threshold(0.1)
    assert s.ask(1 - 0.85, 0.1, 0.1) == "no"  # confidence 0.85 is over the bar now
    quiet = feed(s, 30, 0.1, confidence=lambda r: 0.99)  # confident events: nothing asked
    assert not any(quiet)
    assert s.threshold(0.1) < before  # the utility bar fell...
    assert s.ask(1 - 0.85, 0.1, 0.1) == "yes"  # ...so the same moderately unsure event is asked now


def test_variable_uncertainty_raises_its_bar_after_queries() -> None:
    s = VariableUncertainty()
    s.theta = 0.8
    assert decide(s, Observation({"a": 0.5, "b": 0.5}, {}), 0.5)
    assert s.theta < 0.8


def test_randomized_and_split_ask_some_confident_events_variable_does_not() -> None:
    def confident_asked(s: Strategy) -> int:
        rng, asked = random.Random(0), 0
        for i in range(5000):
            c = 0.99 if i % 10 == 9 else 0.5 + 0.3 * rng.random()
            a = decide(s, Observation({"a": c, "b": 1 - c}, {}), 0.1)
            asked += a and c == 0.99
        return asked

    plain = confident_asked(VariableUncertainty(seed=1))
    assert plain == 0
    assert confident_asked(RandomizedVariableUncertainty(seed=1)) > 5
    assert confident_asked(Split(seed=1)) > 5


class Fixed(base.Classifier):
    def __init__(self, proba: dict[str, float]) -> None:
        self.proba = proba

    def learn_one(self, x: dict[str, Any], y: str) -> None:
        pass

    def predict_proba_one(self, x: dict[str, Any]) -> dict[str, float]:
        return self.proba


class Committee2(base.Ensemble, base.Classifier):
    def __init__(self, models: list[Any]) -> None:
        super().__init__(models)

    def learn_one(self, x: dict[str, Any], y: str) -> None:
        pass

    def predict_proba_one(self, x: dict[str, Any]) -> dict[str, float]:
        return {c: sum(m.predict_proba_one(x)[c] for m in self) / len(self) for c in ("a", "b")}


def test_committee_asks_where_members_disagree_not_where_they_are_jointly_unsure() -> None:
    s = Committee()
    agree = Committee2([Fixed({"a": 0.5, "b": 0.5}), Fixed({"a": 0.5, "b": 0.5})])
    disagree = Committee2([Fixed({"a": 0.9, "b": 0.1}), Fixed({"a": 0.1, "b": 0.9})])
    proba = {"a": 0.5, "b": 0.5}
    assert s.utility(Observation(proba, {"x": 1}, agree)) == 0.0
    assert s.utility(Observation(proba, {"x": 1}, disagree)) > 0.3


def test_committee_needs_an_ensemble() -> None:
    with pytest.raises(ValueError, match="arf"):
        Learner(LearnerConfig(model="hat", strategy="committee"))
    learner = Learner(LearnerConfig(model="arf", strategy="committee", budget=0.1, seed_size=5))
    rng = random.Random(0)
    for i in range(600):
        x: dict[str, Any] = {"x": rng.random(), "y": rng.random()}
        d = learner.score(Event(str(i), x), now=i)
        if d.query:
            learner.learn(Label(str(i), "a" if x["x"] > x["y"] else "b"), now=i)
    assert 0 < learner.sampler.cap.queries <= 0.1 * 600 + 5


def test_pal_prefers_a_sparse_unsure_region_over_a_dense_well_labelled_one() -> None:
    s = PAL(seed=0)
    rng = random.Random(0)
    for _ in range(500):  # traffic all over, so the feature scales are known
        decide(s, Observation({"a": 0.6, "b": 0.4}, {"u": rng.gauss(0, 3), "v": rng.gauss(0, 3)}), 0.1)
    for _ in range(500):  # a crowded region, labelled over and over
        x = {"u": rng.gauss(2, 0.01), "v": rng.gauss(2, 0.01)}
        decide(s, Observation({"a": 0.6, "b": 0.4}, x), 0.1)
        s.learn_one(x, "a")
    dense = s.utility(Observation({"a": 0.55, "b": 0.45}, {"u": 2.0, "v": 2.0}))
    sparse = s.utility(Observation({"a": 0.55, "b": 0.45}, {"u": -4.0, "v": 5.0}))
    assert sparse > dense


def test_probabilistic_gain_falls_as_labels_pile_up() -> None:
    gains = [probabilistic_gain(n, n / 2 + 1) for n in (0, 2, 10, 50, 200)]
    assert gains == sorted(gains, reverse=True)
    assert probabilistic_gain(200, 200) < 1e-4


def test_cells_are_stable_and_separate_far_apart_events() -> None:
    cells = Cells(bits=12)
    rng = random.Random(0)
    for _ in range(500):
        cells.update({"u": rng.gauss(0, 1), "v": rng.gauss(0, 1), "p": rng.choice("xyz")})
    a = cells.cell({"u": 2.0, "v": 2.0, "p": "x"})
    assert a == cells.cell({"u": 2.0, "v": 2.0, "p": "x"})
    assert a != cells.cell({"u": -2.0, "v": -2.0, "p": "z"})


# -- options of the sampler -----------------------------------------------------------------------


def burst_queries(diversity: float) -> int:
    s = Sampler(Uncertainty(seed=1),
                LearnerConfig(budget=0.1, diversity=diversity, seed_size=0, audit_share=0.0, seed=1))
    rng = random.Random(1)
    for i in range(3000):  # ordinary traffic
        c = 0.5 + 0.5 * rng.random()
        s.decide({"a": c, "b": 1 - c}, {"u": rng.gauss(0, 1), "v": rng.gauss(0, 1)}, n_learned=100, now=i)
    burst = [s.decide({"a": 0.5, "b": 0.5}, {"u": 1.5, "v": -0.7}, n_learned=100, now=3000 + i) for i in range(100)]
    return sum(q is not None for q in burst)


def test_diversity_keeps_a_burst_of_look_alikes_from_eating_the_budget() -> None:
    without, with_ = burst_queries(0.0), burst_queries(1.0)
    assert with_ < without / 2
    assert with_ >= 1  # the first of them is still asked


def test_capacity_caps_queries_per_hour_and_the_backlog() -> None:
    s = Sampler(Uncertainty(seed=1), LearnerConfig(budget=0.5, capacity=30, seed_size=0, audit_share=0.0, seed=1))
    rng = random.Random(2)
    times = []
    for i in range(7200):  # one event a second for two hours
        c = 0.5 + 0.5 * rng.random()
        if s.decide({"a": c, "b": 1 - c}, {}, n_learned=100, now=float(i)):
            times.append(i)
    for start in range(0, 7200 - 3600, 600):
        assert sum(start <= t < start + 3600 for t in times) <= 30
    assert len(times) >= 50  # and it does use the capacity

    s = Sampler(Uncertainty(seed=1), LearnerConfig(budget=0.5, max_backlog=10, seed_size=0, audit_share=0.0, seed=1))
    assert all(s.decide({"a": 0.5, "b": 0.5}, {}, n_learned=100, backlog=10) is None for _ in range(200))


def test_a_filling_backlog_keeps_only_the_most_valuable() -> None:
    def asked(backlog: int) -> list[float]:
        s = Sampler(Uncertainty(seed=1),
                    LearnerConfig(budget=0.2, max_backlog=100, seed_size=0, audit_share=0.0, late_explore=0.0,
                                  explore_share=0.0, seed=1))
        rng = random.Random(3)
        utilities = []
        for _ in range(5000):
            c = 0.5 + 0.5 * rng.random()
            if s.decide({"a": c, "b": 1 - c}, {}, n_learned=100, backlog=backlog):
                utilities.append(1 - c)
        return utilities

    free, busy = asked(0), asked(80)
    assert len(busy) < len(free) / 2
    assert min(busy) > sorted(free)[len(free) // 2]  # only the top of what it took when free


# -- delayed labels ------------------------------------------------------------------------------


def test_a_late_label_is_judged_against_the_prediction_made_when_it_was_asked() -> None:
    learner = Learner(LearnerConfig(model="linear", budget=1.0, seed_size=1, audit_share=1.0))
    learner.learn(Label("seed", "a", features={"x": 1.0}), now=0)
    asked = learner.score(Event("e1", {"x": 1.0}), now=1)
    assert asked.query is not None and asked.prediction == "a"
    for i in range(50):  # meanwhile the world says "b" for x = 1
        learner.learn(Label(f"f{i}", "b", features={"x": 1.0}), now=2 + i)
    assert learner.predict_proba({"x": 1.0})["b"] > 0.5
    result = learner.learn(Label("e1", "b"), now=100)
    assert result.correct is False  # the model said "a" when it asked, whatever it says now
    assert result.delay == 99
    assert learner.accuracy_estimates()["audit"] == 0.0


class _Fit:
    """A stand-in model whose probability for class ``a`` the test moves, as learning would."""

    def __init__(self) -> None:
        self.p = 0.5

    def predict_proba_one(self, x: dict[str, Any]) -> dict[str, float]:
        return {"a": self.p, "b": 1.0 - self.p}


def _adaptive_run(helps: str, events: int = 600) -> Any:
    """``adaptive`` where only the labels ``helps`` (an arm's class name) chose move the model towards the audit."""
    s = Adaptive(seed=3)
    model = _Fit()
    for i in range(5):  # the audit sample: every label is "a", so a higher p fits it better
        s.observe(Observation({"a": 0.5, "b": 0.5}, {"i": -i}, model), 0.0, "passed")
        s.learn_one({"i": -i}, "a", audit=True)
    picked = []
    for i in range(events):
        obs = Observation({"a": 0.6, "b": 0.4}, {"i": i}, model)
        u = s.utility(obs)  # margin's 0.8 or random's 0.0: which arm decides this event
        chooser = "Margin" if u > 0 else "RandomSampling"
        asked = s.ask(u, 0.5, 0.5) != "no"
        s.observe(obs, u, "queried" if asked else "passed")
        if asked:
            picked.append(chooser)
            # the label of this event moves the model: towards the audit if its arm is the helpful one
            model.p = min(0.95, model.p + 0.002) if chooser == helps else max(0.05, model.p - 0.002)
            s.learn_one({"i": i}, "a")
    return s, picked, model


@pytest.mark.parametrize("helps", ["RandomSampling", "Margin"])
def test_adaptive_gives_most_queries_to_the_arm_whose_labels_move_the_model_towards_the_audit(helps: str) -> None:
    s, picked, _ = _adaptive_run(helps)
    late = picked[len(picked) // 2:]
    assert late.count(helps) > 0.7 * len(late), (helps, s.weights())
    best = type(s.arms[s.weights().index(max(s.weights()))]).__name__
    assert best == helps


def test_adaptive_rewards_nobody_for_audit_labels_and_survives_a_checkpoint() -> None:
    import pickle

    s, _, model = _adaptive_run("Margin", events=100)
    before = s.weights()
    s.learn_one({"i": 10_000}, "a", audit=True)  # an audit label joins the holdout; no arm is credited
    assert s.weights() == before
    # a query the sampler made without asking the strategy (exploring while labels are late): nobody's choice
    obs = Observation({"a": 0.6, "b": 0.4}, {"i": 9_999}, model)
    s.observe(obs, s.utility(obs), "queried")
    model.p = 0.9  # its label moves the model a long way towards the audit
    s.learn_one({"i": 9_999}, "a")
    assert s.weights() == before
    restored = pickle.loads(pickle.dumps(s))
    assert restored.weights() == before
    restored.learn_one({"i": 10_001}, "b")  # no model until the next event: nothing to measure, nothing breaks
    obs = Observation({"a": 0.5, "b": 0.5}, {"i": 10_002}, _Fit())
    restored.observe(obs, restored.utility(obs), "passed")
