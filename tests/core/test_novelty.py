"""Rare and new classes: novelty queries, look-alikes of a new class, per-class audit figures, discovery delays."""

from __future__ import annotations

import pickle
import random
from collections.abc import Iterator
from typing import Any

from streamal.core.config import LearnerConfig
from streamal.core.domain import Event, Label
from streamal.core.learner import Learner
from streamal.evaluation.classes import ClassTracker, per_class
from streamal.evaluation.runs import run_learner
from streamal.evaluation.streams import open_stream


def _flows(n: int, new_at: int, seed: int = 0) -> Iterator[tuple[dict[str, Any], str]]:
    """Benign flows around 1 kB; from ``new_at`` on, one in 50 is a huge upload (a class never seen)."""
    rng = random.Random(seed)
    for i in range(n):
        if i >= new_at and rng.random() < 0.02:
            yield {"bytes": rng.lognormvariate(17, 0.3), "port": 443}, "exfiltration"
        else:
            port = rng.choice([80, 443, 53])
            yield {"bytes": rng.lognormvariate(7, 0.8), "port": port}, "dns" if port == 53 else "web"


def test_a_new_cluster_is_asked_about_at_once_with_reason_novelty_and_why() -> None:
    learner = Learner(LearnerConfig(model="linear", budget=0.05, audit_share=0.0, seed=1))
    first, asked = None, []
    for i, (x, y) in enumerate(_flows(6000, new_at=3000)):
        d = learner.score(Event(str(i), x), now=float(i))
        if y == "exfiltration" and first is None:
            first = i
        if d.query is not None:
            asked.append((i, y, d.query.reason, d.item))
            learner.learn(Label(str(i), y), now=float(i))
    by_event = {i: (y, reason, item) for i, y, reason, item in asked}
    assert first in by_event, "the first event of the new class was not asked about"
    y, reason, item = by_event[first]
    assert reason == "novelty"  # the model was sure it was web or dns; it had never seen anything like it
    assert item is not None and item.explanation == {"novel": ["bytes"]}  # what is new about it, for the analyst
    tails = sum(r == "novelty" and y != "exfiltration" for _, y, r, _ in asked)
    assert tails <= 5  # the benign tails widen the cover once each, not over and over
    exfil = [a for a in asked if a[1] == "exfiltration"]
    assert len(exfil) >= 3  # its look-alikes were asked too once it was named: more than one example
    assert sum(r == "novelty" for _, _, r, _ in asked) <= 0.2 * len(asked) + 1  # within the novelty share
    assert len(asked) <= 0.05 * 6000 + 1  # and within the budget


def _as_stream() -> Any:
    from streamal.evaluation.streams import Stream

    return Stream("flows", lambda: _flows(6000, new_at=3000), 6000)


def test_baselines_get_no_novelty_queries() -> None:
    tr = run_learner(_as_stream(), model="linear", strategy="random", budget=0.05, seed=1)
    assert "novelty" not in tr.reasons


def test_per_class_audit_figures_are_bounded_and_pool_the_rest_as_other() -> None:
    learner = Learner(LearnerConfig())
    for k in range(15):  # 15 classes, class k audited 15 - k times, half right
        for j in range(15 - k):
            learner.audit_pairs.append((f"c{k:02d}", f"c{k:02d}" if j % 2 == 0 else "c00"))
    figures = learner.audit_by_class(top=10)
    assert len(figures) == 11 and "other" in figures
    assert figures["other"][2] == sum(15 - k for k in range(10, 15))
    recall, precision, n = figures["c01"]
    assert n == 14 and recall == 0.5 and precision == 1.0


def test_discovery_delays_on_a_hand_made_stream() -> None:
    t = ClassTracker()
    rows = [("a", None, True), ("a", "a", False), ("b", "a", False), ("b", "a", False), ("b", "a", True),
            ("b", "b", False), ("c", "a", False)]
    for truth, pred, asked in rows:
        t.record(truth, pred)
        if asked:
            t.queried(truth)
    assert t.discovery("a") == (0, 1)
    assert t.discovery("b") == (2, 3)  # two of its events passed before one was asked, three before one was right
    assert t.discovery("c") == (None, None)  # never asked, never predicted
    assert t.rare(share=0.2) == ["c"]
    f = per_class(t.confusion)
    assert f.support == {"a": 2, "b": 4, "c": 1} and f.recall["b"] == 0.25 and f.recall["c"] == 0.0


def test_evaluate_reports_macro_f1_and_discovery_on_the_security_stream() -> None:
    tr = run_learner(open_stream("security", n=6000), model="auto", strategy="margin", budget=0.05, seed=1)
    f = per_class(tr.confusion)
    assert set(f.recall) >= {"benign", "scan", "bruteforce", "exfiltration", "c2"}
    assert f.macro_f1 > 0.3  # a model that says benign to everything would score about 0.16
    assert tr.classes.discovery("exfiltration")[0] is not None


def test_a_flag_that_held_one_value_long_enough_is_new_when_it_changes() -> None:
    from streamal.core.novelty import NoveltyWatch

    watch = NoveltyWatch(min_covered=20, steady=200)
    rng = random.Random(3)
    for _ in range(199):
        watch.cover({"bytes": rng.lognormvariate(7, 1), "wrong_fragment": 0})
    assert watch.novel({"bytes": 900.0, "wrong_fragment": 1}) == []  # 199 events of 0 say little yet
    watch.cover({"bytes": 800.0, "wrong_fragment": 0})
    assert watch.novel({"bytes": 900.0, "wrong_fragment": 1}) == ["wrong_fragment"]
    assert watch.novel({"bytes": 900.0, "wrong_fragment": 0}) == []
    watch.cover({"bytes": 900.0, "wrong_fragment": 1})  # asked about: covered, no longer new
    assert watch.novel({"bytes": 900.0, "wrong_fragment": 1}) == []


def test_a_watch_saved_before_the_steady_count_still_judges() -> None:
    from streamal.core.novelty import NoveltyWatch

    watch = NoveltyWatch(min_covered=1)
    watch.cover({"flag": 0})
    watch._ranges["flag"] = watch._ranges["flag"][:2]  # as an older release saved it: [low, high]
    del watch.__dict__["steady"]
    watch = pickle.loads(pickle.dumps(watch))  # loaded from such a checkpoint
    assert watch.novel({"flag": 1}) == ["flag"]  # an old cover is taken as established
    watch.cover({"flag": 0})
    assert watch._ranges["flag"][2] >= 1


def test_a_small_count_twice_beyond_its_covered_range_is_new() -> None:
    from streamal.core.novelty import NoveltyWatch

    watch = NoveltyWatch(min_covered=20)
    rng = random.Random(5)
    for _ in range(100):  # refund words in billing tickets: 0 to 3
        watch.cover({"w_refund": rng.randint(0, 3), "length": rng.lognormvariate(5, 0.6)})
    assert watch.novel({"w_refund": 6, "length": 150.0}) == []  # within a factor of 2 of (1 + 3)
    assert watch.novel({"w_refund": 8, "length": 150.0}) == ["w_refund"]  # a refund-heavy ticket: new
