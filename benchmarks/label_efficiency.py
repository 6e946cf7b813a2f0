"""Label efficiency: the default strategy against random, passive and the peers, on every drift stream.

For each synthetic drifting stream and each real data set in ../shared/data,
at each budget, over several seeds, it prints:

* the accuracy of the default strategy, of ``random`` at the same budget and
  of ``passive`` (every label), with the standard deviation over the seeds;
* the share of the random-to-passive gap the default closes;
* whether the default beats random by more than the spread of the two;
* the best scikit-activeml stream strategy at the same budget and model
  (when ``streamal[compare]`` is installed) and river's EntropySampler;
* recovery after each abrupt drift, default against random (events);
* kappa-temporal of the default, and the no-change accuracy;
* every strategy's decision cost per event (µs), measured in the same run.

    python benchmarks/label_efficiency.py                 # everything (tens of minutes on 2 cores)
    python benchmarks/label_efficiency.py --streams sea-abrupt,elec2 --budgets 0.1 --seeds 3

Results also go to ``--out`` (one results.json per stream) for the README table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import orjson

from streamal.evaluation.evaluate import evaluate
from streamal.evaluation.peers import available_peers
from streamal.evaluation.runs import default_strategy
from streamal.evaluation.streams import open_stream
from streamal.evaluation.summary import Evaluation, gap_closed

STREAMS = ["sea-abrupt", "sea-gradual", "agrawal-abrupt", "agrawal-gradual", "hyperplane", "rbf",
           "elec2", "outdoor", "usenet1", "kdd99"]
LIMITS = {"kdd99": 20_000}
#: scikit-activeml's PAL enumerates label combinations over the classes: 70 ms per event on outdoor's 40
#: classes, so it is left out where there are more than a few classes.
MANY_CLASSES = {"outdoor", "kdd99"}
OURS = ["variable-uncertainty", "split", "randomized-variable-uncertainty", "margin", "entropy", "pal"]


def one(stream: str, budgets: list[float], seeds: int, model: str, n: int, peers: bool, out: Path) -> Evaluation:
    limit = LIMITS.get(stream, n if stream in ("sea-abrupt", "sea-gradual", "agrawal-abrupt", "agrawal-gradual",
                                               "hyperplane", "rbf") else None)
    strategies = [default_strategy(), *[s for s in OURS if s != default_strategy()]]
    chosen_peers = available_peers() if peers else None
    if chosen_peers and stream in MANY_CLASSES:
        chosen_peers.pop("skactiveml:pal", None)
    ev = evaluate(open_stream(stream, n=limit), model=model, strategies=strategies, budgets=budgets, seeds=seeds,
                  peers=chosen_peers, progress=False)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stream}.json").write_bytes(orjson.dumps(
        {"stream": stream, "n": ev.n, "drifts": ev.drifts, "runs": [r.to_dict() for r in ev.runs]},
        option=orjson.OPT_INDENT_2))
    return ev


def report(ev: Evaluation, budgets: list[float]) -> list[str]:
    default = default_strategy()
    lines = []
    for b in budgets:
        d, r, p = ev.run(default, b), ev.run("random", b), ev.run("passive")
        closed = gap_closed(ev, default, b)
        beats = d.accuracy - r.accuracy > d.accuracy_std + r.accuracy_std
        sk = [row for row in ev.runs if row.budget == b and row.strategy.startswith("skactiveml:")]
        best_sk = max(sk, key=lambda row: row.accuracy) if sk else None
        ours_best = max((row for row in ev.runs if row.budget == b and row.kind == "strategy"),
                        key=lambda row: row.accuracy)
        rec_d = "/".join("never" if v is None else str(v) for v in d.recovery) or "-"
        rec_r = "/".join("never" if v is None else str(v) for v in r.recovery) or "-"
        sk_text = f"{best_sk.strategy[11:]} {best_sk.accuracy:.3f}±{best_sk.accuracy_std:.3f}" if best_sk else "-"
        lines.append(
            f"| {ev.stream} | {b:g} | {d.accuracy:.3f}±{d.accuracy_std:.3f} | {r.accuracy:.3f}±{r.accuracy_std:.3f} "
            f"| {p.accuracy:.3f} | {closed:+.0%} | {'yes' if beats else 'no'} | {sk_text} "
            f"| {'yes' if best_sk is None or d.accuracy >= best_sk.accuracy else 'no'} "
            f"| {ours_best.strategy} {ours_best.accuracy:.3f} | {rec_d} vs {rec_r} | {d.kappa_temporal:+.2f} "
            f"| {ev.run('no-change').accuracy:.3f} |")
    return lines


def costs(evs: list[Evaluation]) -> list[str]:
    per: dict[str, list[float]] = {}
    for ev in evs:
        for row in ev.runs:
            if row.kind != "reference":
                per.setdefault(row.strategy, []).append(row.decision_us)
    return [f"| {name} | {statistics.median(v):.1f} | {max(v):.1f} |" for name, v in sorted(per.items())]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--streams", default=",".join(STREAMS))
    ap.add_argument("--budgets", default="0.05,0.1")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--model", default="hat")
    ap.add_argument("--n", type=int, default=10_000, help="events of each synthetic stream")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default="benchmarks/results")
    args = ap.parse_args()
    streams = [s for s in args.streams.split(",") if s]
    budgets = [float(b) for b in args.budgets.split(",")]
    started = time.perf_counter()
    print(f"label efficiency: model {args.model}, budgets {budgets}, {args.seeds} seeds, default strategy "
          f"{default_strategy()!r}; {len(streams)} streams on {args.jobs} processes", file=sys.stderr)
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = {s: pool.submit(one, s, budgets, args.seeds, args.model, args.n, not args.no_peers, Path(args.out))
                   for s in streams}
        evs = []
        for s, f in futures.items():
            evs.append(f.result())
            print(f"  done {s} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    print("| stream | budget | default | random | passive | gap closed | beats random | best scikit-activeml "
          "| default ≥ it | best of ours | recovery default vs random | κ-temporal | no-change |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for ev in evs:
        print("\n".join(report(ev, budgets)))
    print("\n| strategy | µs per decision (median over runs) | max |\n|---|---|---|")
    print("\n".join(costs(evs)))
    print(f"\n({time.perf_counter() - started:.0f} s in all)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
