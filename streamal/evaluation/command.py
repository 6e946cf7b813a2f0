"""``streamal evaluate``: flags in, tables, files, plots and one verdict line per run out.

Every evaluation ends with the buyer's question answered, one line per
strategy and budget: how many labels it saved against labelling everything,
and what that cost (or gained) in accuracy and kappa, beside random sampling
at the same budget. ``--model linear,hat`` runs the whole evaluation once per
model, each in a folder of its own under ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from streamal.errors import ConfigError, DataError
from streamal.evaluation.analysts import AnswerTimes
from streamal.evaluation.evaluate import PeerRunner, evaluate
from streamal.evaluation.report import format_table, write_results
from streamal.evaluation.runs import PASSIVE, RANDOM, STOP, WARM, default_strategy, parse_delay
from streamal.evaluation.streams import Stream, open_stream
from streamal.evaluation.summary import Evaluation, RunSummary

__all__ = ["floats", "run_evaluate", "verdicts"]


def floats(text: str, flag: str) -> list[float]:
    """Comma-separated numbers, or :class:`ConfigError` naming ``flag``."""
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"{flag}: expected numbers separated by commas, got {text!r}") from None


def verdicts(ev: Evaluation) -> list[str]:
    """One line per strategy and budget: labels saved against passive, accuracy and kappa lost or gained.

    >>> from streamal.evaluation.streams import open_stream
    >>> ev = evaluate(open_stream("sea-abrupt", n=400), model="linear", budgets=[0.1], progress=False)
    >>> print(verdicts(ev)[0])   # doctest: +ELLIPSIS
    margin @ 10%: ...% fewer labels than passive (... against 400); accuracy ... points (... against ...), ...
    """
    passive = ev.run(PASSIVE)
    lines = []
    for r in ev.runs:
        if r.budget is None or r.kind == "reference" or r.strategy == RANDOM:
            continue
        saved = 1 - r.labels / passive.labels if passive.labels else 0.0
        rnd = ev.run(RANDOM, r.budget)
        lines.append(
            f"{r.strategy} @ {r.budget:.0%}: {saved:.0%} fewer labels than passive ({r.labels} against "
            f"{passive.labels}); accuracy {100 * (r.accuracy - passive.accuracy):+.1f} points "
            f"({r.accuracy:.3f} against {passive.accuracy:.3f}), kappa {r.kappa - passive.kappa:+.3f}; "
            f"{100 * (r.accuracy - rnd.accuracy):+.1f} points against random at the same budget"
            f"{_against(r)}")
        if r.discovery:  # rare classes: macro-F1 and how soon each was found, beside random's
            found = "; ".join(
                f"{c} ({d['events']} events): {_found(d, 'asked')} (random: "
                f"{_found(rnd.discovery.get(c, {}), 'asked')}), {_found(d, 'predicted')} (random: "
                f"{_found(rnd.discovery.get(c, {}), 'predicted')})" for c, d in r.discovery.items())
            lines.append(f"  {r.strategy} @ {r.budget:.0%}: macro-F1 {r.macro_f1:.3f} against random's "
                         f"{rnd.macro_f1:.3f}; rare classes: {found}")
    return lines


def _found(d: dict[str, int | None], what: str) -> str:
    """"asked after 3 of its events", "never predicted right"..."""
    events = d.get("queried_after" if what == "asked" else "predicted_after")
    verb = "asked" if what == "asked" else "predicted right"
    return f"never {verb}" if events is None else f"{verb} after {events} of its events"


def _against(r: RunSummary) -> str:
    """The paired verdict, headroom closed and data efficiency of a row, as the verdict line's tail."""
    parts = []
    if r.vs_random is not None:
        if r.seeds < 6:
            parts.append(f"{r.seeds} seeds: too few for a paired test (6 or more)")
        else:
            parts.append(f"{r.vs_random} than random over {r.seeds} seeds (Wilcoxon p={r.p_vs_random:.3f})"
                         if r.vs_random != "no difference" else
                         f"no difference from random over {r.seeds} seeds (Wilcoxon p={r.p_vs_random:.3f})")
    if r.headroom_closed is not None:
        parts.append(f"headroom closed {r.headroom_closed:.2f}")
    if r.data_efficiency is not None:
        parts.append(f"data efficiency {r.data_efficiency:.2f}x")
    if r.withdrawn:
        parts.append(f"{r.withdrawn} questions withdrawn")
    return "; " + ", ".join(parts) if parts else ""


def _strategies(args: argparse.Namespace) -> list[str] | None:
    strategies = [s.strip() for s in args.strategy.split(",") if s.strip()] if args.strategy else None
    for flag, suffix in ((args.stopping, STOP), (args.warm, WARM)):
        if flag:
            strategies = [*(strategies or [default_strategy()])]
            strategies += [s + suffix for s in strategies if not s.endswith(suffix)]
    return strategies


def _peers(args: argparse.Namespace) -> dict[str, PeerRunner] | None:
    if not args.peers:
        return None
    from streamal.evaluation.peers import available_peers

    peers = available_peers()
    if not any(name.startswith("skactiveml:") for name in peers):
        print("note: scikit-activeml is not installed (pip install 'streamal[compare]'); "  # noqa: T201
              "comparing with river's EntropySampler only", file=sys.stderr)
    return peers


def _open(args: argparse.Namespace) -> Stream:
    drift_at = [int(v) for v in floats(args.drift_at, "--drift-at")] if args.drift_at else None
    try:
        return open_stream(args.data, target=args.target, n=args.limit, seed=args.stream_seed, sep=args.sep,
                           drift_at=drift_at)
    except DataError as exc:
        if "neither a file nor a known stream" in str(exc) or "expected a .csv" in str(exc):
            raise ConfigError(f"--data: {exc}") from None  # a wrong argument, not a failure while running
        raise


def run_evaluate(args: argparse.Namespace) -> int:
    """The ``streamal evaluate`` command; returns the exit code."""
    stream = _open(args)
    models = [m.strip() for m in args.model.split(",") if m.strip()]
    delay = parse_delay(args.delay, args.rate)
    analysts = None
    if args.capacity is not None:
        if args.rate is None:
            raise ConfigError("--capacity: simulated analysts work in time; give the stream's --rate (events/s)")
        analysts = AnswerTimes(args.capacity, parse_delay(args.answer_time, 1.0))
    options = {"audit_share": args.audit_share} if args.audit_share is not None else None
    peers = _peers(args)
    for model in models:
        ev = evaluate(stream, model=model, strategies=_strategies(args), budgets=floats(args.budget, "--budget"),
                      delay=delay, seeds=args.seeds, seed=args.seed, options=options, peers=peers,
                      analysts=analysts, rate=args.rate or 1.0,
                      progress=not args.quiet, warm=args.warm)
        out = Path(args.out) / model if len(models) > 1 else Path(args.out)
        json_path, csv_path = write_results(ev, out)
        pngs, skipped = [], None
        if not args.no_plots:
            from streamal.evaluation.plots import PlotsSkipped, plot

            try:
                pngs = plot(ev, out)
            except PlotsSkipped as exc:
                skipped = str(exc)
        print(format_table(ev))  # noqa: T201
        print("\n" + "\n".join(verdicts(ev)))  # noqa: T201
        print(f"\nwrote {json_path}, {csv_path}" + "".join(f", {p}" for p in pngs) + "\n")  # noqa: T201
        if skipped:
            print(f"note: {skipped}", file=sys.stderr)  # noqa: T201
    if stream.skipped:
        print("note: skipped " + ", ".join(f"{v} {k}" for k, v in sorted(stream.skipped.items()))  # noqa: T201
              + f" of {args.data}", file=sys.stderr)
    if len({truth for truth, _ in ev.traces[("no-change", None)][0].confusion}) == 1:
        print(f"warning: {args.data} has a single class: every strategy is right by default",  # noqa: T201
              file=sys.stderr)
    return 0
