"""The default against random, seed by seed: paired tests, headroom closed, data efficiency.

For each row (stream, budget, latency) the default strategy and random
sampling run on the same ten seeds (or ``--seeds``), passive on three, and
random again at twice and four times the budget (its learning curve). A row
states:

* the default's and random's accuracy (mean over the seeds) and passive's;
* the **paired verdict**: "better" or "worse" when Wilcoxon's signed-rank
  test on the per-seed differences gives p < 0.05, else "no difference";
* the **headroom closed**, ``(default - random) / (passive - random)``;
* the **data efficiency**: the labels random needs to reach the default's
  accuracy (read off its learning curve) over the default's labels;
* the share of the default's queries by reason, and its labels against the budget.

Latencies: labels at once (``0``), 500 events late (``500``), and simulated
analysts on streams of 50,000 events or more (``analysts``: a team answering
900 items an hour, a median answer time of 5 minutes with a long tail, at 10
events a second, pulling the most useful open item from the pool).

    python benchmarks/active_learning.py                       # the whole suite (about 40 minutes on 2 cores)
    python benchmarks/active_learning.py --streams sea-abrupt --latencies 0,500 --seeds 6
    python benchmarks/active_learning.py --table               # the table again from --out/active.json

To measure a change of the default alone, run only its jobs and take the
baselines' runs (random, its curve, passive: they do not depend on the
default's code) from an earlier file, on the same seeds; ``--set`` changes a
setting of the default's runs:

    python benchmarks/active_learning.py --latencies 0,500 --baselines benchmarks/results/active.json \
        --set explore_share=0.1 --out /tmp/variant
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from streamal.core.config import LearnerConfig
from streamal.evaluation.analysts import AnswerTimes
from streamal.evaluation.classes import median_or_never, per_class
from streamal.evaluation.paired import compare, data_efficiency, headroom_closed
from streamal.evaluation.runs import run_learner
from streamal.evaluation.streams import open_stream

DEFAULT = LearnerConfig()
STREAMS = {"sea-abrupt": 10_000, "agrawal-abrupt": 10_000, "hyperplane": 10_000, "rbf-abrupt": 10_000,
           "elec2": 20_000, "outdoor": None, "usenet1": None, "kdd99": 20_000, "phishing": None,
           "imagesegments": None, "security": 20_000, "tickets": 20_000}
#: Imbalanced streams: their rows also compare macro-F1 and the rare classes' discovery delays.
IMBALANCED = ("security", "tickets", "kdd99")
#: Streams long enough for human-like latency (50,000 events or more), and their length.
LONG = {"sea-abrupt": 50_000, "agrawal-abrupt": 50_000, "hyperplane": 50_000, "elec2": None, "kdd99": 50_000}
TEAM = AnswerTimes(capacity=900, median_seconds=300)
RATE = 10.0  # events per second, for the analysts rows
CURVE = (2.0, 4.0)


#: Settings of the default's runs changed by ``--set`` (in each worker process: the jobs' initializer).
OPTIONS: dict[str, Any] = {}


def _set_options(options: dict[str, Any]) -> None:
    OPTIONS.update(options)


def _parse_option(text: str) -> tuple[str, Any]:
    name, _, value = text.partition("=")
    if name not in LearnerConfig.__dataclass_fields__:
        raise SystemExit(f"--set {text}: no setting {name!r} of the learner")
    default = getattr(DEFAULT, name)
    kind = type(default)
    return name, (value.lower() in ("1", "true", "yes") if kind is bool else kind(value) if kind in (int, float)
                  else value)


def job(args: tuple[str, float, str, str, float, int]) -> dict[str, Any]:
    stream, budget, latency, name, factor, seed = args
    n = LONG[stream] if latency == "analysts" else STREAMS[stream]
    s = open_stream(stream, n=n)
    analysts = TEAM if latency == "analysts" else None
    delay = 0 if latency == "analysts" else int(latency)
    started = time.perf_counter()
    tr = run_learner(s, model=DEFAULT.model, strategy=name, budget=budget * factor, delay=delay, seed=seed,
                     analysts=analysts, rate=RATE, options=OPTIONS if name == DEFAULT.strategy else None)
    rare = tr.classes.rare()
    return {"stream": stream, "budget": budget, "latency": latency, "name": name, "factor": factor, "seed": seed,
            "n": tr.n, "accuracy": tr.accuracy, "labels": tr.labels, "withdrawn": tr.withdrawn,
            "macro_f1": per_class(tr.confusion).macro_f1,
            "discovery": {c: tr.classes.discovery(c)[0] for c in rare},
            "reasons": dict(Counter(tr.reasons)),
            "seconds": time.perf_counter() - started}


def jobs(streams: list[str], budgets: list[float], latencies: list[str], seeds: int) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for stream in streams:
        for latency in latencies:
            if latency == "analysts" and stream not in LONG:
                continue
            for b in budgets:
                for seed in range(1, seeds + 1):
                    out.append((stream, b, latency, DEFAULT.strategy, 1.0, seed))
                    out.append((stream, b, latency, "random", 1.0, seed))
                    if latency != "analysts":  # the analysts' capacity caps every budget: no curve
                        out += [(stream, b, latency, "random", f, seed) for f in CURVE]
                    if seed <= 3:
                        out.append((stream, b, latency, "passive", 1.0, seed))
    return out


def rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, float, str], list[dict[str, Any]]] = {}
    for r in results:
        groups.setdefault((r["stream"], r["budget"], r["latency"]), []).append(r)
    out = []
    for (stream, budget, latency), rs in groups.items():
        def runs(name: str, factor: float = 1.0, rs: list[dict[str, Any]] = rs) -> list[dict[str, Any]]:
            return sorted((r for r in rs if r["name"] == name and r["factor"] == factor), key=lambda r: r["seed"])
        default, rnd, passive = runs(DEFAULT.strategy), runs("random"), runs("passive")
        if not default or len(default) != len(rnd) or not passive:
            continue
        d_acc = statistics.fmean(r["accuracy"] for r in default)
        r_acc = statistics.fmean(r["accuracy"] for r in rnd)
        p_acc = statistics.fmean(r["accuracy"] for r in passive)
        d_labels = statistics.fmean(r["labels"] for r in default)
        curve = [(statistics.fmean(r["labels"] for r in rnd), r_acc)]
        for f in CURVE:
            more = runs("random", f)
            if more:
                curve.append((statistics.fmean(r["labels"] for r in more),
                              statistics.fmean(r["accuracy"] for r in more)))
        paired = compare([r["accuracy"] for r in default], [r["accuracy"] for r in rnd])
        reasons: Counter[str] = Counter()
        for r in default:
            reasons.update(r["reasons"])
        n = default[0]["n"]
        imbalanced = {}
        if stream in IMBALANCED:
            f1 = compare([r["macro_f1"] for r in default], [r["macro_f1"] for r in rnd])
            imbalanced = {
                "macro_f1": round(statistics.fmean(r["macro_f1"] for r in default), 4),
                "macro_f1_random": round(statistics.fmean(r["macro_f1"] for r in rnd), 4),
                "macro_f1_verdict": f1.verdict, "macro_f1_p": f1.p,
                "macro_f1_seeds_better": sum(a["macro_f1"] > b["macro_f1"] for a, b in zip(default, rnd, strict=True)),
                "discovery": {c: {"default": median_or_never([r["discovery"].get(c) for r in default]),
                                  "random": median_or_never([r["discovery"].get(c) for r in rnd])}
                              for c in default[0]["discovery"]},
            }
        out.append({
            "stream": stream, "budget": budget, "latency": latency, "seeds": len(default), "n": n,
            "default": round(d_acc, 4), "random": round(r_acc, 4), "passive": round(p_acc, 4),
            "verdict": paired.verdict, "p": paired.p, "difference": paired.mean_difference,
            "headroom_closed": headroom_closed(d_acc, random=r_acc, passive=p_acc),
            "data_efficiency": data_efficiency(d_acc, d_labels, curve) if len(curve) > 1 else None,
            # beyond random's curve the efficiency is a bound: at least (above it) or at most (below it)
            "efficiency_bound": ">=" if d_acc > max(a for _, a in curve) else "<=" if d_acc <= curve[0][1] else "",
            "labels": round(d_labels), "budget_spent": round(d_labels / (budget * n), 3),
            "withdrawn": round(statistics.fmean(r["withdrawn"] for r in default), 1),
            "reasons": {k: round(v / sum(reasons.values()), 3) for k, v in sorted(reasons.items())},
            **imbalanced,
        })
    latency_order = {"0": 0, "500": 1, "analysts": 2}
    out.sort(key=lambda r: (list(STREAMS).index(r["stream"]), latency_order.get(r["latency"], 3), r["budget"]))
    return out


def imbalanced_table(rs: list[dict[str, Any]]) -> str:
    """Macro-F1 against random, seed by seed, and each rare class's discovery delay (events before the first query)."""
    lines = ["| stream | budget | labels come | macro-F1 default | random | vs random (p) | seeds better | "
             "rare classes: events before the first query, default / random |", "|" + "---|" * 8]
    for r in rs:
        if "macro_f1" not in r:
            continue
        lat = {"0": "at once", "500": "500 events late", "analysts": "analysts"}[r["latency"]]
        found = ", ".join(f"{c} {_never(d['default'])} / {_never(d['random'])}" for c, d in r["discovery"].items())
        lines.append(f"| {r['stream']} | {r['budget']:g} | {lat} | {r['macro_f1']:.3f} | {r['macro_f1_random']:.3f} | "
                     f"{r['macro_f1_verdict']} ({r['macro_f1_p']:.2f}) | {r['macro_f1_seeds_better']} of {r['seeds']} "
                     f"| {found} |")
    return "\n".join(lines)


def _never(v: int | None) -> str:
    return "never" if v is None else str(v)


def table(rs: list[dict[str, Any]]) -> str:
    head = ("| stream | budget | labels come | default | random | passive | vs random (p) | headroom closed "
            "| data efficiency | strategy's share of non-audit queries |")
    lines = [head, "|" + "---|" * 10]
    for r in rs:
        lat = {"0": "at once", "500": "500 events late", "analysts": "analysts"}[r["latency"]]
        own = sum(v for k, v in r["reasons"].items() if k not in ("seed", "explore", "random"))
        non_audit = sum(v for k, v in r["reasons"].items() if k != "random")
        share = f"{own / non_audit:.0%}" if non_audit else "-"
        hc = "-" if r["headroom_closed"] is None else f"{r['headroom_closed']:.2f}"
        bound = {">=": "≥ ", "<=": "≤ "}.get(r.get("efficiency_bound", ""), "")
        de = "-" if r["data_efficiency"] is None else f"{bound}{r['data_efficiency']:.2f}×"
        lines.append(f"| {r['stream']} | {r['budget']:g} | {lat} | {r['default']:.3f} | {r['random']:.3f} | "
                     f"{r['passive']:.3f} | {r['verdict']} ({r['p']:.2f}) | {hc} | {de} | {share} |")
    n = len(rs)
    better = sum(r["verdict"] == "better" for r in rs)
    worse = sum(r["verdict"] == "worse" for r in rs)
    closed = [r["headroom_closed"] for r in rs if r["headroom_closed"] is not None]
    eff = [r["data_efficiency"] for r in rs if r["data_efficiency"] is not None]
    lines.append("")
    lines.append(f"better than random on {better} of {n} rows, worse on {worse}; mean headroom closed "
                 f"{statistics.fmean(closed):.2f} ({len(closed)} rows where passive beats random); median data "
                 f"efficiency {statistics.median(eff):.2f}× ({len(eff)} rows)" if closed and eff else
                 f"better than random on {better} of {n} rows, worse on {worse}")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--streams", default=",".join(STREAMS))
    ap.add_argument("--budgets", default="0.05,0.1")
    ap.add_argument("--latencies", default="0,500,analysts")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"))
    ap.add_argument("--table", action="store_true", help="print the table from --out/active.json and stop")
    ap.add_argument("--baselines", help="an earlier active.json: take random's and passive's runs from it, run "
                                        "only the default's")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="a learner setting for the default's runs (e.g. explore_share=0.1); repeatable")
    a = ap.parse_args()
    options = dict(_parse_option(x) for x in a.set)
    path = Path(a.out) / "active.json"
    if a.table:
        rs = orjson.loads(path.read_bytes())["rows"]
        print(table(rs) + "\n\n" + imbalanced_table(rs))
        return 0
    todo = jobs(a.streams.split(","), [float(b) for b in a.budgets.split(",")], a.latencies.split(","), a.seeds)
    results = []
    if a.baselines:
        wanted = {tuple(j) for j in todo}
        kept = [r for r in orjson.loads(Path(a.baselines).read_bytes())["runs"] if r["name"] != DEFAULT.strategy
                and (r["stream"], r["budget"], r["latency"], r["name"], r["factor"], r["seed"]) in wanted]
        have = {(r["stream"], r["budget"], r["latency"], r["name"], r["factor"], r["seed"]) for r in kept}
        results += kept
        todo = [j for j in todo if j[3] == DEFAULT.strategy or tuple(j) not in have]
        print(f"{len(kept)} baseline runs from {a.baselines}; {len(todo)} to run", file=sys.stderr, flush=True)
    started = time.time()
    with ProcessPoolExecutor(a.workers, initializer=_set_options, initargs=(options,)) as ex:
        for i, r in enumerate(ex.map(job, todo, chunksize=1), 1):
            results.append(r)
            if i % 25 == 0 or i == len(todo):
                print(f"{i}/{len(todo)} runs, {time.time() - started:.0f}s", file=sys.stderr, flush=True)
    rs = rows(results)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps({"rows": rs, "runs": results}, option=orjson.OPT_INDENT_2))
    print(table(rs) + "\n\n" + imbalanced_table(rs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
