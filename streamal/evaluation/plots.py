"""The PNG plots of ``streamal evaluate`` (matplotlib, from the ``eval`` extra).

* ``accuracy_over_time.png``: accuracy over a sliding window, one panel per
  budget, one line per strategy, drift points as dashed lines and the query
  moments of the default strategy as ticks along the bottom;
* ``accuracy_vs_labels.png``: final accuracy against labels used, one line
  per strategy over the budgets, passive and the references as levels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from streamal.errors import StreamalError
from streamal.evaluation.measures import prefix_sums
from streamal.evaluation.runs import PASSIVE, RANDOM, Trace
from streamal.evaluation.summary import Evaluation, RunSummary

__all__ = ["PlotsSkipped", "plot"]


class PlotsSkipped(StreamalError):
    """matplotlib is not installed: the results are written, the pictures are not."""


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as exc:
        raise PlotsSkipped("plots skipped: they need matplotlib; pip install 'streamal[eval]' to draw them "
                           "(or pass --no-plots to say you do not want them)") from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _rolling(correct: bytearray, window: int, points: int = 600) -> tuple[list[int], list[float]]:
    n = len(correct)
    step = max(1, n // points)
    prefix = prefix_sums(correct)
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


def _colours(ev: Evaluation, plt: Any) -> tuple[list[str], dict[str, Any], str | None]:
    colors = plt.get_cmap("tab10")
    names = list(dict.fromkeys(r.strategy for r in ev.runs if r.budget is not None))
    return names, {name: colors(i % 10) for i, name in enumerate(names)}, next(
        (r.strategy for r in ev.runs if r.default), None)


def _panel(ax: Any, ev: Evaluation, budget: float, window: int, names: list[str], color_of: dict[str, Any],
           default: str | None) -> None:
    for key in ((PASSIVE, None), ("no-change", None)):
        if key in ev.traces:
            xs, ys = _mean_curve(ev.traces[key], window)
            ax.plot(xs, ys, color="black" if key[0] == PASSIVE else "grey", lw=1.2,
                    ls="-" if key[0] == PASSIVE else ":", label=key[0])
    for name in names:
        trs = ev.traces.get((name, budget))
        if trs:
            xs, ys = _mean_curve(trs, window)
            ax.plot(xs, ys, color=color_of[name], lw=1.8 if name in (default, RANDOM) else 1.0, label=name)
    for d in ev.drifts:
        ax.axvline(d, color="red", ls="--", lw=1.0)
    if default and (default, budget) in ev.traces:
        lo = ax.get_ylim()[0]
        q = ev.traces[(default, budget)][0].queried
        ax.plot(q, [lo] * len(q), "|", color=color_of.get(default, "C0"), ms=8, alpha=0.4,
                label=f"queries ({default})")
    ax.set_title(f"{ev.stream}, budget {budget:g}: accuracy over the last {window} events"
                 + (" (drifts dashed)" if ev.drifts else ""))
    ax.set_ylabel("accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=4, loc="lower right")


def plot_over_time(ev: Evaluation, out: Path) -> Path:
    """``accuracy_over_time.png``: one panel per budget."""
    plt = _pyplot()
    window = max(50, min(1000, ev.n // 20))
    budgets = sorted({r.budget for r in ev.runs if r.budget is not None})
    names, color_of, default = _colours(ev, plt)
    fig, axes = plt.subplots(len(budgets), 1, figsize=(11, 3.6 * len(budgets)), squeeze=False, sharex=True)
    for ax, b in zip(axes[:, 0], budgets, strict=True):
        _panel(ax, ev, b, window, names, color_of, default)
    axes[-1, 0].set_xlabel("events")
    fig.tight_layout()
    path = out / "accuracy_over_time.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_vs_labels(ev: Evaluation, out: Path) -> Path:
    """``accuracy_vs_labels.png``: accuracy against labels used, over the budgets."""
    plt = _pyplot()
    names, color_of, default = _colours(ev, plt)
    fig, ax = plt.subplots(figsize=(8, 5))
    for name in names:
        rows: list[RunSummary] = sorted((r for r in ev.runs if r.strategy == name and r.budget is not None),
                                        key=lambda r: r.labels)
        ax.errorbar([r.labels for r in rows], [r.accuracy for r in rows], yerr=[r.accuracy_std for r in rows],
                    marker="o", capsize=3, color=color_of[name], label=name, lw=2 if name == default else 1)
    style = {"passive": ("black", "-"), "no-change": ("grey", ":"), "majority": ("grey", "--")}
    for r in ev.runs:
        if r.budget is None:
            c, ls = style.get(r.strategy, ("grey", "-."))
            ax.axhline(r.accuracy, color=c, ls=ls, lw=1, label=f"{r.strategy} ({r.labels} labels)")
            if r.strategy == PASSIVE:  # its own point, so the axis reaches every label passive used
                ax.plot([r.labels], [r.accuracy], marker="s", color="black", ms=7)
                ax.annotate(f"passive: {r.labels} labels", (r.labels, r.accuracy), textcoords="offset points",
                            xytext=(-10, 8), ha="right", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("labels used (log scale)")
    ax.set_ylabel("prequential accuracy")
    ax.set_title(f"{ev.stream}: accuracy against labels, model {ev.model}")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = out / "accuracy_vs_labels.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot(ev: Evaluation, out: Path) -> list[Path]:
    """Draw the two PNGs into ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    return [plot_over_time(ev, out), plot_vs_labels(ev, out)]
