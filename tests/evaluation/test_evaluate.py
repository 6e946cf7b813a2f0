"""`streamal evaluate`: the runs, the measures, the files and the plots."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest

from streamal.cli import main
from streamal.evaluation.evaluate import evaluate
from streamal.evaluation.measures import kappa_temporal, recovery_time
from streamal.evaluation.runs import parse_delay, run_learner
from streamal.evaluation.streams import open_stream


def write_csv(path: Path, rows: Sequence[Sequence[Any]]) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["x", "y", "cls"])
        w.writerows(rows)
    return path


def test_a_small_run_writes_the_table_the_files_and_the_plots(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ev"
    code = main(["evaluate", "--data", "sea-abrupt", "--limit", "3000", "--model", "linear",
                 "--strategy", "margin,variable-uncertainty", "--budget", "0.05,0.1", "--delay", "30",
                 "--out", str(out), "--quiet"])
    assert code == 0
    table = capsys.readouterr().out
    assert "| strategy" in table and "margin (default)" in table and "drifts at 1500" in table
    results = orjson.loads((out / "results.json").read_bytes())
    runs = results["runs"]
    keys = {(r["strategy"], r["budget"]) for r in runs}
    assert {("passive", None), ("no-change", None), ("majority", None), ("random", 0.05), ("random", 0.1),
            ("margin", 0.05), ("variable-uncertainty", 0.1)} <= keys
    for r in runs:
        assert {"strategy", "budget", "model", "accuracy", "labels", "n", "default", "kappa",
                "kappa_temporal"} <= set(r)
        assert r["model"] == "linear" and r["n"] == 3000 and 0 <= r["accuracy"] <= 1
        assert r["default"] == (r["strategy"] == "margin")
    by = {(r["strategy"], r["budget"]): r for r in runs}
    assert by[("passive", None)]["labels"] > 2900
    for b in (0.05, 0.1):  # the budget is held: the seed is an advance on it, the drift reserve (b * 500) kept
        assert 0.95 * b * 3000 - b * 500 <= by[("margin", b)]["labels"] <= b * 3000
    with (out / "results.csv").open() as fh:
        assert len(list(csv.DictReader(fh))) == len(runs)
    for png in ("accuracy_over_time.png", "accuracy_vs_labels.png"):
        data = (out / png).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 10_000


def test_a_known_drift_shows_up_in_the_results() -> None:
    ev = evaluate(open_stream("agrawal-abrupt", n=4000), model="hat", strategies=["uncertainty"], budgets=[0.1],
                  progress=False)
    assert ev.drifts == [2000]
    passive = ev.run("passive")
    assert len(passive.accuracy_after_drift) == 1 and len(passive.recovery) == 1
    before = sum(ev.traces[("passive", None)][0].correct[1500:2000]) / 500
    assert passive.accuracy_after_drift[0] < before - 0.05  # the drift costs accuracy right after it


def test_delayed_labels_keep_the_budget_and_cost_accuracy() -> None:
    stream = open_stream("sea-abrupt", n=4000)
    now = run_learner(stream, model="linear", strategy="uncertainty", budget=0.05, delay=0)
    late = run_learner(stream, model="linear", strategy="uncertainty", budget=0.05, delay=1000)
    assert late.labels <= 0.05 * 4000 + 20 + 50
    assert late.accuracy < now.accuracy


def test_kappa_temporal_against_the_no_change_classifier(tmp_path: Path) -> None:
    # labels in runs of 10: no-change is right 90% of the time, x tells the label
    rows = [(i, (i // 10) % 2, "a" if (i // 10) % 2 else "b") for i in range(2000)]
    ev = evaluate(open_stream(str(write_csv(tmp_path / "runs.csv", rows))), model="hat",
                  strategies=["uncertainty"], budgets=[0.2], progress=False)
    nc = ev.run("no-change")
    assert nc.kappa_temporal == 0.0
    assert ev.run("passive").kappa_temporal > 0  # better than repeating the last label
    assert ev.run("majority").kappa_temporal < 0  # worse
    assert kappa_temporal(0.95, 0.9) == pytest.approx(0.5)
    assert kappa_temporal(0.8, 0.9) < 0


def test_kappa_temporal_stays_defined_when_no_change_is_always_right(tmp_path: Path) -> None:
    assert kappa_temporal(1.0, 1.0) == 0.0
    assert kappa_temporal(0.9, 1.0) == pytest.approx(-0.1)
    ev = evaluate(open_stream(str(write_csv(tmp_path / "same.csv", [(i, 0, "a") for i in range(500)]))),
                  model="linear", strategies=["uncertainty"], budgets=[0.1], progress=False)
    for r in ev.runs:
        assert math.isfinite(r.kappa_temporal) and math.isfinite(r.kappa)


def test_seeds_change_random_runs_and_not_deterministic_ones() -> None:
    ev = evaluate(open_stream("sea-abrupt", n=3000), model="linear", strategies=["periodic"], budgets=[0.05],
                  seeds=3, options={"audit_share": 0.0}, progress=False)
    rnd = ev.run("random", 0.05)
    assert rnd.seeds == 3 and len(set(rnd.per_seed)) > 1 and rnd.accuracy_std > 0
    periodic = ev.run("periodic", 0.05)
    assert periodic.seeds == 3 and len(set(periodic.per_seed)) == 1 and periodic.accuracy_std == 0
    assert ev.run("no-change").seeds == 1


def test_recovery_time_counts_events_until_accuracy_is_back() -> None:
    before, dip, after = [1, 1, 1, 0] * 250, [0] * 300, [1, 1, 1, 0] * 250
    back = recovery_time(before + dip + after, 1000, window=100, tolerance=0.02)
    assert back is not None and 390 <= back <= 400
    assert recovery_time(before + [0] * 1000, 1000, window=100) is None


def test_bad_arguments_fail_with_a_clear_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--data", "sea-abrupt", "--strategy", "psychic", "--quiet", "--no-plots"]) == 2
    assert "--strategy: unknown strategy 'psychic'" in capsys.readouterr().err
    assert main(["evaluate", "--data", "sea-abrupt", "--budget", "1.5", "--quiet", "--no-plots"]) == 2
    assert main(["evaluate", "--data", "nowhere.csv", "--quiet", "--no-plots"]) == 2  # a usage error
    assert "neither a file nor a known stream" in capsys.readouterr().err
    assert parse_delay("90s", rate=2) == 180
    with pytest.raises(Exception, match="--delay"):
        parse_delay("soon")


def test_peers_run_side_by_side() -> None:
    from streamal.evaluation.peers import available_peers

    peers = {"river:entropy": available_peers()["river:entropy"]}
    ev = evaluate(open_stream("sea-abrupt", n=2000), model="hat", strategies=["uncertainty"], budgets=[0.1],
                  peers=peers, progress=False)
    row = ev.run("river:entropy", 0.1)
    assert row.kind == "peer" and 0 < row.labels <= 0.1 * 2000 + 20 + 1


def test_paired_verdicts_headroom_and_data_efficiency_over_seeds(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ev"
    assert main(["evaluate", "--data", "sea-abrupt", "--limit", "4000", "--model", "linear", "--budget", "0.05",
                 "--seeds", "6", "--out", str(out), "--quiet", "--no-plots"]) == 0
    text = capsys.readouterr().out
    line = next(v for v in text.splitlines() if v.startswith("margin @ 5%"))
    assert "than random over 6 seeds (Wilcoxon p=" in line or "no difference from random over 6 seeds" in line
    runs = {(r["strategy"], r["budget"]): r for r in orjson.loads((out / "results.json").read_bytes())["runs"]}
    margin, rnd, passive = runs[("margin", 0.05)], runs[("random", 0.05)], runs[("passive", None)]
    assert margin["vs_random"] in ("better", "worse", "no difference") and 0 <= margin["p_vs_random"] <= 1
    assert margin["headroom_closed"] == pytest.approx(
        (margin["accuracy"] - rnd["accuracy"]) / (passive["accuracy"] - rnd["accuracy"]), abs=1e-3)
    assert f"headroom closed {margin['headroom_closed']:.2f}" in line
    # margin beats random clearly on SEA: random needs more labels than margin for the same accuracy
    assert margin["vs_random"] == "better" and margin["data_efficiency"] > 1.0
    assert f"data efficiency {margin['data_efficiency']:.2f}x" in line


def test_simulated_analysts_pull_from_the_pool_within_their_capacity() -> None:
    stream = open_stream("sea-abrupt", n=6000)
    from streamal.evaluation.analysts import AnswerTimes

    team = AnswerTimes(capacity=360, median_seconds=60)  # one answer every 10 s; 1 event/s
    tr = run_learner(stream, model="linear", strategy="margin", budget=0.2, seed=1, analysts=team, rate=1.0)
    assert tr.answered is not None and tr.answered <= 6000 / 10 + 1  # never more than the capacity
    assert tr.labels <= 6000 * 360 / 3600 + 20  # the sampler asks what the analysts can answer (plus the seed)
    assert tr.labels >= 0.9 * 6000 * 360 / 3600 - 0.2 * 500  # (less the drift reserve kept at the end)
    fixed = run_learner(stream, model="linear", strategy="margin", budget=0.2, seed=1)
    assert fixed.labels > 2 * tr.labels  # without analysts, the budget alone


def test_capacity_needs_a_rate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--data", "sea-abrupt", "--capacity", "100", "--quiet", "--no-plots"]) == 2
    assert "--capacity" in capsys.readouterr().err
