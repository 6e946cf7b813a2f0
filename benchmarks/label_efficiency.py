"""Label efficiency: the default against random, passive, every single strategy and the peers.

On drifting synthetic streams, the real drift sets in ../shared/data and
river's real data sets, at two budgets, with labels at once and 500 events
late, over several seeds, one row per (stream, budget, delay) stating:

* the default's accuracy (mean ± standard deviation over the seeds), random's
  at the same budget, passive's (every label);
* whether the default **beats random** by more than the two spreads added,
  and whether **any** strategy does (ours or a peer): where none does, a
  row shows no room for choosing well at that budget and delay (with labels
  500 events late, labelling everything often scores barely above random);
* the **best single strategy** of ours and whether the default is within the
  seed spread of it (the two spreads added);
* the best **peer** (river's EntropySampler; scikit-activeml's stream
  strategies when ``streamal[compare]`` is installed) and whether the
  default reaches it (within the spreads);
* the **budget spent**: the default's labels against ``budget * events``;
* the **stopping rule**: the labels ``margin+stop`` saves, and whether its
  accuracy stays within the spread;
* **calibration** (Brier score and ECE over every event) of the previous
  default (``hat`` with ``uncertainty``) and of the default now.

    python benchmarks/label_efficiency.py                    # the whole suite (about an hour on 2 cores)
    python benchmarks/label_efficiency.py --streams sea-abrupt,elec2 --seeds 3 --delays 0
    python benchmarks/label_efficiency.py --only adaptive      # one strategy again, merged into rows.json

Everything goes to ``--out/rows.json`` too; ``--table`` re-prints the table from it.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from streamal.core.config import LearnerConfig
from streamal.evaluation.peers import available_peers
from streamal.evaluation.runs import run_learner
from streamal.evaluation.streams import open_stream

DEFAULT = LearnerConfig()
STREAMS = {"sea-abrupt": 10_000, "agrawal-abrupt": 10_000, "hyperplane": 10_000, "rbf-abrupt": 10_000,
           "elec2": 20_000, "outdoor": None, "usenet1": None, "kdd99": 20_000, "phishing": None,
           "imagesegments": None}
OURS = ["margin", "uncertainty", "split", "pal", "adaptive", "random"]
PEERS = ["river:entropy", "skactiveml:variable-uncertainty", "skactiveml:split"]


def job(args: tuple[str, float, int, str, int]) -> dict[str, Any]:
    stream, budget, delay, name, seed = args
    s = open_stream(stream, n=STREAMS[stream])
    started = time.perf_counter()
    if name.startswith(("river:", "skactiveml:")):
        peers = available_peers()
        if name not in peers:
            return {}
        tr = peers[name](s, model=DEFAULT.model, budget=budget, delay=delay, seed=seed)
    elif name == "before":  # the default of the previous release: hat with uncertainty
        tr = run_learner(s, model="hat", strategy="uncertainty", budget=budget, delay=delay, seed=seed)
    else:
        tr = run_learner(s, model=DEFAULT.model, strategy=name, budget=budget, delay=delay, seed=seed)
    return {"stream": stream, "budget": budget, "delay": delay, "name": name, "seed": seed, "n": tr.n,
            "accuracy": tr.accuracy, "labels": tr.labels, "brier": tr.calibration.brier(),
            "ece": tr.calibration.ece(), "seconds": time.perf_counter() - started}


def _stat(rows: list[dict[str, Any]], key: str = "accuracy") -> tuple[float, float]:
    values = [r[key] for r in rows]
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def _beats(rows: list[dict[str, Any]], r: float, rs: float) -> bool:
    """Whether these runs' mean accuracy is above random's ``r`` by more than the two spreads added."""
    a, s = _stat(rows)
    return a - r > s + rs


def table(results: list[dict[str, Any]]) -> list[str]:
    cells: dict[tuple[str, float, int], dict[str, list[dict[str, Any]]]] = {}
    for row in results:
        if row:
            cells.setdefault((row["stream"], row["budget"], row["delay"]), {}).setdefault(row["name"], []).append(row)
    tally = {"beats random": 0, "any strategy beats random": 0, "the default beats random where any does": 0,
             "within the best single": 0, "reaches the best peer": 0, "rows": 0}
    lines = [
        "| stream | budget | delay | default | random | passive | beats random | any does | best single | within it "
        "| best peer | reaches it | budget spent | stop: labels saved, accuracy | Brier, ECE before → now |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (stream, budget, delay), runs in cells.items():
        d, ds = _stat(runs[DEFAULT.strategy])
        r, rs = _stat(runs["random"])
        p, _ = _stat(runs["passive"])
        best = max(OURS, key=lambda k: _stat(runs[k])[0])
        b, bs = _stat(runs[best])
        peers = [k for k in PEERS if k in runs]
        peer = max(peers, key=lambda k: _stat(runs[k])[0]) if peers else None
        pa, ps = _stat(runs[peer]) if peer else (0.0, 0.0)
        spent = _stat(runs[DEFAULT.strategy], "labels")[0] / (budget * runs[DEFAULT.strategy][0]["n"])
        stop, ss = _stat(runs[DEFAULT.strategy + "+stop"])
        saved = 1 - _stat(runs[DEFAULT.strategy + "+stop"], "labels")[0] / _stat(runs[DEFAULT.strategy], "labels")[0]
        before = runs["before"]
        beats = _beats(runs[DEFAULT.strategy], r, rs)
        within = b - d <= bs + ds
        reaches = peer is None or pa - d <= ps + ds
        room = [k for k in [*OURS, *peers] if k != "random" and _beats(runs[k], r, rs)]
        tally["rows"] += 1
        tally["beats random"] += beats
        tally["any strategy beats random"] += bool(room)
        tally["the default beats random where any does"] += beats and bool(room)
        tally["within the best single"] += within
        tally["reaches the best peer"] += reaches
        lines.append(
            f"| {stream} | {budget:g} | {delay} | {d:.3f}±{ds:.3f} | {r:.3f}±{rs:.3f} | {p:.3f} "
            f"| {'yes' if beats else 'no'} | {'yes' if room else 'no'} "
            f"| {best} {b:.3f}±{bs:.3f} | {'yes' if within else 'no'} "
            f"| {(peer or '-').split(':')[-1] if peer else '-'} {pa:.3f}±{ps:.3f} "
            f"| {'yes' if reaches else 'no'} | {spent:.0%} "
            f"| {saved:.0%}, {stop:.3f}±{ss:.3f} {'(within)' if abs(stop - d) <= ss + ds else '(outside)'} "
            f"| {_stat(before, 'brier')[0]:.3f}, {_stat(before, 'ece')[0]:.3f} → "
            f"{_stat(runs[DEFAULT.strategy], 'brier')[0]:.3f}, {_stat(runs[DEFAULT.strategy], 'ece')[0]:.3f} |")
    n = tally.pop("rows")
    lines.append("")
    winnable = tally["any strategy beats random"]
    lines.append("; ".join(
        f"{k}: {v} of {winnable if k.endswith('where any does') else n} rows" for k, v in tally.items()))
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--streams", default=",".join(STREAMS))
    ap.add_argument("--budgets", default="0.05,0.1")
    ap.add_argument("--delays", default="0,500")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default="benchmarks/results")
    ap.add_argument("--table", action="store_true", help="print the table from --out/rows.json, run nothing")
    ap.add_argument("--only", default="", help="run only these names (comma-separated) and merge their runs "
                                                "into --out/rows.json in place of the old ones")
    args = ap.parse_args()
    out = Path(args.out)
    if args.table:
        print("\n".join(table(orjson.loads((out / "rows.json").read_bytes()))))
        return 0
    streams = [s for s in args.streams.split(",") if s]
    budgets = [float(b) for b in args.budgets.split(",")]
    delays = [int(d) for d in args.delays.split(",")]
    names = [*OURS, DEFAULT.strategy + "+stop", "before", *PEERS]
    only = [n for n in args.only.split(",") if n]
    if only:
        names = [n for n in only if n != "passive"]
    jobs = [(s, b, d, n, 42 + i) for s, b, d, n, i in itertools.product(streams, budgets, delays, names,
                                                                       range(args.seeds))]
    if not only or "passive" in only:
        jobs += [(s, 1.0, d, "passive", 42) for s, d in itertools.product(streams, delays)]
    jobs = [(s, b if n != "passive" else 1.0, d, n, seed) for s, b, d, n, seed in jobs]
    started = time.perf_counter()
    print(f"label efficiency: model {DEFAULT.model}, default strategy {DEFAULT.strategy!r}, {len(jobs)} runs "
          f"on {args.jobs} processes", file=sys.stderr)
    results: list[dict[str, Any]] = []
    with ProcessPoolExecutor(args.jobs) as pool:
        for i, r in enumerate(pool.map(job, jobs, chunksize=2), 1):
            results.append(r)
            if i % 50 == 0:
                print(f"  {i}/{len(jobs)} runs ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    # passive has one seed at budget 1: copy it into every budget's cell
    passive = [r for r in results if r and r["name"] == "passive"]
    results = [r for r in results if r and r["name"] != "passive"]
    for r in passive:
        results += [{**r, "budget": b} for b in budgets]
    if only:  # the other names' runs as they were
        ran = {(r["stream"], r["budget"], r["delay"], r["name"]) for r in results}
        old = orjson.loads((out / "rows.json").read_bytes())
        results = [r for r in old if r and (r["stream"], r["budget"], r["delay"], r["name"]) not in ran] + results
    out.mkdir(parents=True, exist_ok=True)
    (out / "rows.json").write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    print("\n".join(table(results)))
    print(f"\n({time.perf_counter() - started:.0f} s in all)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
