"""What ``streamal evaluate`` leaves behind as text: a table, ``results.json`` and ``results.csv``.

The plots are :mod:`streamal.evaluation.plots`.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import orjson

from streamal.evaluation.summary import Evaluation

__all__ = ["format_table", "write_results"]

CSV_FIELDS = (
    "strategy", "budget", "model", "kind", "default", "seeds", "n", "accuracy", "accuracy_std", "kappa",
    "kappa_temporal", "macro_f1", "balanced_accuracy", "vs_random", "p_vs_random", "headroom_closed",
    "data_efficiency", "labels", "label_share", "labels_to_95", "accuracy_after_drift", "recovery",
    "brier", "ece", "decision_us", "seconds",
)


def _fmt_list(values: list[Any], digits: int = 3) -> str:
    if not values:
        return "-"
    return " ".join("never" if v is None else f"{v:.{digits}f}" if isinstance(v, float) else str(v) for v in values)


def format_table(ev: Evaluation) -> str:
    """The results as an aligned text table (Markdown-compatible)."""
    head = ["strategy", "budget", "accuracy", "macro-F1", "bal. acc", "kappa", "kappa-t", "labels", "labels to 95%",
            "after drift", "recovery (events)", "Brier", "ECE", "µs/decision", "seconds"]
    rows = []
    for r in ev.runs:
        name = r.strategy + (" (default)" if r.default else "")
        acc = f"{r.accuracy:.3f}" + (f" ± {r.accuracy_std:.3f}" if r.seeds > 1 else "")
        rows.append([
            name, "-" if r.budget is None else f"{r.budget:g}", acc, f"{r.macro_f1:.3f}", f"{r.balanced_accuracy:.3f}",
            f"{r.kappa:.3f}", f"{r.kappa_temporal:+.3f}",
            str(r.labels), "-" if r.labels_to_95 is None else str(r.labels_to_95),
            _fmt_list(r.accuracy_after_drift), _fmt_list(r.recovery),
            "-" if r.brier is None else f"{r.brier:.3f}", "-" if r.ece is None else f"{r.ece:.3f}",
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
