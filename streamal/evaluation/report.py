"""What ``streamal evaluate`` leaves behind: a table, ``results.json``, ``results.csv`` and PNG plots.

* ``accuracy_over_time.png``: accuracy over a sliding window, one panel per
  budget, one line per strategy, drift points as dashed lines and the query
  moments of the default strategy as ticks along the bottom;
* ``accuracy_vs_labels.png``: final accuracy against labels used, one line
  per strategy over the budgets, passive and the references as levels.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import orjson

from streamal.evaluation.runs import PASSIVE, RANDOM, Evaluation, RunSummary, Trace

__all__ = ["format_table", "plot", "write_results"]

CSV_FIELDS = (
    "strategy", "budget", "model", "kind", "default", "seeds", "n", "accuracy", "accuracy_std", "kappa",
    "kappa_temporal", "labels", "label_share", "labels_to_95", "accuracy_after_drift", "recovery",
    "decision_us", "seconds",
)


def _fmt_list(values: list[Any], digits: int = 3) -> str:
    if not values:
        return "-"
    return " ".join("never" if v is None else f"{v:.{digits}f}" if isinstance(v, float) else str(v) for v in values)


def format_table(ev: Evaluation) -> str:
    """The results as an aligned text table (Markdown-compatible)."""
    head = ["strategy", "budget", "accuracy", "kappa", "kappa-t", "labels", "labels to 95%",
            "after drift", "recovery (events)", "µs/decision", "seconds"]
    rows = []
    for r in ev.runs:
        name = r.strategy + (" (default)" if r.default else "")
        acc = f"{r.accuracy:.3f}" + (f" ± {r.accuracy_std:.3f}" if r.seeds > 1 else "")
        rows.append([
            name, "-" if r.budget is None else f"{r.budget:g}", acc, f"{r.kappa:.3f}", f"{r.kappa_temporal:+.3f}",
            str(r.labels), "-" if r.labels_to_95 is None else str(r.labels_to_95),
            _fmt_list(r.accuracy_after_drift), _fmt_list(r.recovery),
            "-" if r.kind == "reference" else f"{r.decision_us:.1f}", f"{r.seconds:.1f}",
        ])
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in rows]
    title = (f"{ev.stream}: {ev.n} events, model {ev.model}, label delay {ev.delay} events"
             + (f", drifts at {', '.join(map(str, ev.drifts))}" if ev.drifts else ""))
    return "\n".join([title, "", line, rule, *body])


def write_results(ev: Evaluation, out: Path) -> tuple[Path, Path]:
    """Write ``results.json`` and ``results.csv`` into ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    payload = {
        "stream": ev.stream, "model": ev.model, "n": ev.n, "drifts": ev.drifts, "delay": ev.delay,
        "runs": [r.to_dict() for r in ev.runs],
    }
    json_path = out / "results.json"
    json_path.write_bytes(orjson.dumps(payload, option=orjson.OPT_INDENT_2))
    csv_path = out / "results.csv"
    with csv_path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for r in ev.runs:
            row = r.to_dict()
            row["accuracy_after_drift"] = _fmt_list(r.accuracy_after_drift, 4)
            row["recovery"] = _fmt_list(r.recovery)
            writer.writerow(row)
    return json_path, csv_path


def _rolling(correct: bytearray, window: int, points: int = 600) -> tuple[list[int], list[float]]:
    n = len(correct)
    step = max(1, n // points)
    prefix = [0]
    for c in correct:
        prefix.append(prefix[-1] + c)
    xs, ys = [], []
    for end in range(min(window, n), n + 1, step):
        xs.append(end)
        ys.append((prefix[end] - prefix[end - window]) / window if end >= window else prefix[end] / max(1, end))
    return xs, ys


def _mean_curve(traces: list[Trace], window: int) -> tuple[list[int], list[float]]:
    curves = [_rolling(tr.correct, window) for tr in traces]
    xs = curves[0][0]
    ys = [sum(c[1][i] for c in curves) / len(curves) for i in range(len(xs))]
    return xs, ys


def plot(ev: Evaluation, out: Path) -> list[Path]:
    """Draw the two PNGs into ``out``; return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    window = max(50, min(1000, ev.n // 20))
    budgets = sorted({r.budget for r in ev.runs if r.budget is not None})
    colors = plt.get_cmap("tab10")
    names = list(dict.fromkeys(r.strategy for r in ev.runs if r.budget is not None))
    color_of = {name: colors(i % 10) for i, name in enumerate(names)}
    default = next((r.strategy for r in ev.runs if r.default), None)

    fig, axes = plt.subplots(len(budgets), 1, figsize=(11, 3.6 * len(budgets)), squeeze=False, sharex=True)
    for ax, b in zip(axes[:, 0], budgets, strict=True):
        for key in ((PASSIVE, None), ("no-change", None)):
            if key in ev.traces:
                xs, ys = _mean_curve(ev.traces[key], window)
                ax.plot(xs, ys, color="black" if key[0] == PASSIVE else "grey", lw=1.2,
                        ls="-" if key[0] == PASSIVE else ":", label=key[0])
        for name in names:
            trs = ev.traces.get((name, b))
            if not trs:
                continue
            xs, ys = _mean_curve(trs, window)
            bold = name in (default, RANDOM)
            ax.plot(xs, ys, color=color_of[name], lw=1.8 if bold else 1.0, label=name)
        for d in ev.drifts:
            ax.axvline(d, color="red", ls="--", lw=1.0)
        if default and (default, b) in ev.traces:
            lo = ax.get_ylim()[0]
            q = ev.traces[(default, b)][0].queried
            ax.plot(q, [lo] * len(q), "|", color=color_of.get(default, "C0"), ms=8, alpha=0.4,
                    label=f"queries ({default})")
        ax.set_title(f"{ev.stream}, budget {b:g}: accuracy over the last {window} events"
                     + (" (drifts dashed)" if ev.drifts else ""))
        ax.set_ylabel("accuracy")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=4, loc="lower right")
    axes[-1, 0].set_xlabel("events")
    fig.tight_layout()
    over_time = out / "accuracy_over_time.png"
    fig.savefig(over_time, dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 5))
    for name in names:
        rows: list[RunSummary] = sorted((r for r in ev.runs if r.strategy == name and r.budget is not None),
                                        key=lambda r: r.labels)
        ax.errorbar([r.labels for r in rows], [r.accuracy for r in rows], yerr=[r.accuracy_std for r in rows],
                    marker="o", capsize=3, color=color_of[name], label=name, lw=2 if name == default else 1)
    for r in ev.runs:
        if r.budget is None:
            style = {"passive": ("black", "-"), "no-change": ("grey", ":"), "majority": ("grey", "--")}
            c, ls = style.get(r.strategy, ("grey", "-."))
            ax.axhline(r.accuracy, color=c, ls=ls, lw=1, label=f"{r.strategy} ({r.labels} labels)")
    ax.set_xscale("log")
    ax.set_xlabel("labels used (log scale)")
    ax.set_ylabel("prequential accuracy")
    ax.set_title(f"{ev.stream}: accuracy against labels, model {ev.model}")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    fig.tight_layout()
    vs_labels = out / "accuracy_vs_labels.png"
    fig.savefig(vs_labels, dpi=110)
    plt.close(fig)
    return [over_time, vs_labels]
