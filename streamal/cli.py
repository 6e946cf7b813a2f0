"""The ``streamal`` command line: run, demo, evaluate, replay, oracle, model.

Every setting of ``streamal run`` is an environment variable
(``STREAMAL_BUDGET``) and a flag (``--budget``); a flag wins.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from streamal.config import ENV_PREFIX, Settings, default, load_settings
from streamal.core.names import MODEL_NAMES, STRATEGY_NAMES
from streamal.errors import ConfigError, IncompatibleState, StreamalError

if TYPE_CHECKING:
    from streamal.service.access import KafkaAccess

__all__ = ["main"]

logger = logging.getLogger("streamal")


def _count(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _number(text: str) -> float:
    """``text`` as a float, or the argparse error that says what was expected."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _share(text: str) -> float:
    """An argparse type: a number in [0, 1]."""
    value = _number(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def _positive(text: str) -> float:
    """An argparse type: a number above 0."""
    value = _number(text)
    if not value > 0.0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {value}")
    return value


def _choices_text() -> str:
    """The strategies and models, one line each, for ``--help``."""
    from streamal.core.models import MODELS
    from streamal.core.strategies import STRATEGIES

    lines = ["strategies (STREAMAL_STRATEGY, --strategy):"]
    for name, cls in STRATEGIES.items():
        doc = (cls.__doc__ or "").strip().splitlines()[0].rstrip(".").replace("``", "")
        lines.append(f"  {name:34s}{doc}" + ("  [default]" if name == default("strategy") else ""))
    lines.append("models (STREAMAL_MODEL, --model):")
    for model, (_, desc) in MODELS.items():
        lines.append(f"  {model:34s}{desc}" + ("  [default]" if model == default("model") else ""))
    return "\n".join(lines)


def _add_settings_flags(parser: argparse.ArgumentParser) -> None:
    for name, info in Settings.model_fields.items():
        flag = "--" + name.replace("_", "-")
        help_text = f"{info.description} [{ENV_PREFIX}{name.upper()}, default {info.default}]"
        if info.annotation is bool:
            parser.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, default=None,
                                help=help_text)
        else:
            parser.add_argument(flag, dest=name, default=None, help=help_text, metavar=name.upper())


def _settings_from(args: argparse.Namespace) -> Settings:
    given = {name: getattr(args, name, None) for name in Settings.model_fields}
    return load_settings(given)


def _cmd_run(args: argparse.Namespace) -> int:
    from streamal.runtime import configure_logging, serve

    settings = _settings_from(args)
    configure_logging(settings.log_level, settings.log_format)
    serve(settings, reset_model=args.reset_model)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from streamal.runtime import configure_logging
    from streamal.tools.demo import run_demo

    configure_logging("WARNING")
    kafka = _kafka(args) if args.kafka_bootstrap else None
    where = f" on {kafka.describe()}" if kafka else ""
    print(f"streamal demo: {args.events} events of {args.stream}, budget {args.budget:.0%}, "  # noqa: T201
          f"model {args.model}, analyst delay {args.delay}s{where}")
    result = run_demo(events=args.events, stream=args.stream, budget=args.budget, model=args.model,
                      strategy=args.strategy, rate=args.rate, delay=args.delay,
                      error_rate=args.error_rate, state_dir=args.state_dir, kafka=kafka)
    print(result.summary())  # noqa: T201
    return 0 if result.exit_code == 0 and result.events >= args.events else 1


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from streamal.evaluation.command import run_evaluate

    return run_evaluate(args)


_BOOTSTRAP_HELP = (f"Kafka bootstrap servers (default: STREAMAL_KAFKA_BOOTSTRAP, else {default('kafka_bootstrap')}); "
                   "TLS and SASL come from the STREAMAL_KAFKA_* settings, as for the service")


def _kafka(args: argparse.Namespace) -> KafkaAccess:
    """How the tools reach Kafka: the flag's address, the rest of the STREAMAL_KAFKA_* settings."""
    from streamal.config import load_kafka_settings
    from streamal.service.access import KafkaAccess

    return KafkaAccess.from_settings(load_kafka_settings({"kafka_bootstrap": args.kafka_bootstrap}))


def _cmd_replay(args: argparse.Namespace) -> int:
    from streamal.evaluation.streams import open_stream
    from streamal.runtime import configure_logging
    from streamal.tools.replay import TruthWriter, replay

    configure_logging("INFO")
    stream = open_stream(args.data, target=args.target, n=args.events, seed=args.seed)
    truth = TruthWriter(args.truth) if args.truth else None
    try:
        sent = replay(stream, _kafka(args), args.topic, total=stream.n, rate=args.rate,
                      with_labels=args.with_labels, truth=truth, id_prefix=args.id_prefix)
    finally:
        if truth is not None:
            truth.close()
    print(f"sent {sent} events to {args.topic}")  # noqa: T201
    return 0


def _cmd_oracle(args: argparse.Namespace) -> int:
    import signal

    from streamal.runtime import configure_logging
    from streamal.tools.oracle import Oracle, TruthFile

    configure_logging("INFO")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    oracle = Oracle(TruthFile(args.truth), _kafka(args), review_topic=args.review_topic,
                    labels_topic=args.labels_topic, delay=args.delay, error_rate=args.error_rate,
                    annotator=args.annotator, group_id=args.group_id)
    oracle.run(stop)
    print(f"answered {oracle.answered} review items ({oracle.missing} without ground truth)")  # noqa: T201
    return 0


def _cmd_model(args: argparse.Namespace) -> int:
    from streamal.tools.model_admin import AdminClient, format_history, format_versions
    from streamal.wire.messages import parse_ts

    client = AdminClient(args.url)
    if args.action == "list":
        print(format_versions(client.versions()))  # noqa: T201
    elif args.action == "snapshot":
        out = client.snapshot()
        print(f"snapshot asked of every replica (control {out['control_id']})")  # noqa: T201
    elif args.action == "rollback":
        out = client.rollback(args.version, replay_labels=not args.no_replay_labels)
        what = "dropping the labels learned since" if args.no_replay_labels else "learning the labels since again"
        print(f"rollback to version {args.version} sent to every replica, {what} "  # noqa: T201
              f"(control {out['control_id']}); `streamal model history` shows it once applied")
    elif args.action == "promote":
        out = client.promote()
        print(f"promotion sent to every replica (control {out['control_id']}): the challenger serves once "  # noqa: T201
              "applied; set STREAMAL_MODEL and STREAMAL_CHALLENGER_MODEL to match before the next restart")
    elif args.action == "rebuild":
        annotator = None
        for item in args.exclude or []:
            key, _, value = item.partition("=")
            if key != "annotator" or not value:
                raise ConfigError(f"--exclude: expected annotator=NAME, got {item!r}")
            annotator = value
        since = parse_ts(args.since) if args.since else None
        if args.since and since is None:
            raise ConfigError(f"--since: expected an ISO 8601 time (2026-12-07T09:00:00Z), got {args.since!r}")
        out = client.rebuild(annotator=annotator, since=since, answers=args.answer)
        print(f"rebuild sent to every replica (control {out['control_id']}); "  # noqa: T201
              "`streamal model history` shows it once applied")
    else:
        print(format_history(client.history(args.limit)))  # noqa: T201
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand."""
    from streamal import __version__

    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog="streamal", description=__doc__, formatter_class=raw)
    parser.add_argument("--version", action="version", version=f"streamal {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the service (Kafka consumer, learner, HTTP)", formatter_class=raw,
                         description="Run the service. Every flag is also an environment variable "
                         "STREAMAL_<NAME>; a flag wins.", epilog=_choices_text())
    run.add_argument("--reset-model", action="store_true",
                     help="start a fresh model: keep the old checkpoint aside and learn the review and labels "
                     "topics again from their beginning (needed to change the model or the strategy)")
    _add_settings_flags(run)
    run.set_defaults(func=_cmd_run)

    demo = sub.add_parser("demo", help="embedded broker + service + drifting stream + simulated analyst")
    demo.add_argument("--events", type=_count, default=20_000, help="events to replay, then stop (default 20000)")
    demo.add_argument("--stream", default="agrawal-abrupt", help="stream name (default agrawal-abrupt)")
    demo.add_argument("--budget", type=_share, default=default("budget"),
                      help=f"label budget (default {default('budget')})")
    demo.add_argument("--model", default=default("model"), choices=MODEL_NAMES,
                      help=f"model name (default {default('model')})")
    demo.add_argument("--strategy", default=default("strategy"), choices=STRATEGY_NAMES, metavar="STRATEGY",
                      help=f"strategy name (default {default('strategy')}; see streamal run --help)")
    demo.add_argument("--rate", type=_positive, default=None, help="events per second (default: events/40)")
    demo.add_argument("--delay", type=float, default=1.0, help="analyst delay in seconds (default 1)")
    demo.add_argument("--error-rate", type=_share, default=0.0, help="share of wrong analyst answers (default 0)")
    demo.add_argument("--state-dir", default=None, help="checkpoint directory (default: a temporary one)")
    demo.add_argument("--kafka-bootstrap", default=None,
                      help="use this Kafka cluster (its streamal.* topics) instead of an embedded broker; "
                           "TLS and SASL come from the STREAMAL_KAFKA_* settings")
    demo.set_defaults(func=_cmd_demo)

    ev = sub.add_parser("evaluate", help="replay a stream through the learner offline: strategies, baselines, plots",
                        description="Replay a stream through the learner the service runs (no Kafka), with a "
                        "simulated analyst, for several strategies and budgets, always with the passive and "
                        "random baselines and the no-change and majority references.", formatter_class=raw,
                        epilog=_choices_text())
    ev.add_argument("--data", required=True,
                    help="a stream name (e.g. sea-abrupt, agrawal-gradual, hyperplane, rbf, elec2, kdd99, phishing), "
                    "a CSV file (with --target) or a JSONL file of events with a 'label' field")
    ev.add_argument("--target", default=None, help="label column of a CSV (default: the last column)")
    ev.add_argument("--model", default=default("model"),
                    help=f"model(s), comma-separated to compare them (default {default('model')}; see below)")
    ev.add_argument("--strategy", default=None,
                    help="strategy name(s), comma-separated (default: the service's default)")
    ev.add_argument("--budget", default="0.05", help="label budget(s), comma-separated (default 0.05)")
    ev.add_argument("--delay", default="0", help="label delay: events (500) or a duration (30s, 5m, 2h) with --rate")
    ev.add_argument("--rate", type=_positive, default=None,
                    help="events per second: needed to turn a --delay duration into events")
    ev.add_argument("--capacity", type=_positive, default=None,
                    help="simulated analysts answering at most this many items an hour, pulling the most useful "
                    "open item from the pool (needs --rate; replaces --delay)")
    ev.add_argument("--answer-time", default="5m",
                    help="with --capacity: the median time one answer takes (30s, 5m, 2h), with a long tail "
                    "(default 5m)")
    ev.add_argument("--seeds", type=_count, default=1, help="repeat each randomised run over this many seeds")
    ev.add_argument("--seed", type=int, default=42, help="first learner seed")
    ev.add_argument("--stream-seed", type=int, default=42, help="seed of synthetic streams")
    ev.add_argument("--limit", type=_count, default=None, help="events to use (synthetic streams: default 20000)")
    ev.add_argument("--sep", default=None, help="CSV separator (default: sniffed from the file: , ; tab or |)")
    ev.add_argument("--drift-at", default=None,
                    help="positions of known drifts in a file, comma-separated (e.g. 8000,14000), for the recovery "
                    "columns")
    ev.add_argument("--audit-share", type=_share, default=None,
                    help="share of the budget spent on the random audit (default 0.1)")
    ev.add_argument("--warm", type=int, default=0,
                    help="the first N events are a labelled history: STRATEGY+warm runs learn it first, the others "
                    "start cold; no run is scored on them")
    ev.add_argument("--stopping", action="store_true",
                    help="also run each strategy with the stopping rule (STRATEGY+stop): labels saved, accuracy kept")
    ev.add_argument("--peers", action="store_true",
                    help="also run river's EntropySampler and scikit-activeml's stream strategies when installed")
    ev.add_argument("--out", default="evaluation", help="output directory (default ./evaluation)")
    ev.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    ev.add_argument("--quiet", action="store_true", help="no progress bar")
    ev.set_defaults(func=_cmd_evaluate)

    rp = sub.add_parser("replay", help="publish a data set or synthetic stream to the events topic")
    rp.add_argument("--data", required=True, help="stream name, or a CSV/JSONL file")
    rp.add_argument("--target", default=None, help="label column of a CSV (default: the last)")
    rp.add_argument("--events", type=_count, default=None, help="stop after this many events")
    rp.add_argument("--rate", type=_positive, default=None, help="events per second (default: as fast as possible)")
    rp.add_argument("--with-labels", action="store_true", help="send the label inside each event")
    rp.add_argument("--truth", default=None, help="write the ground truth to this JSONL file (for the oracle)")
    rp.add_argument("--id-prefix", default="evt", help="event ids are PREFIX-N (default evt)")
    rp.add_argument("--seed", type=int, default=42, help="seed of synthetic streams")
    rp.add_argument("--kafka-bootstrap", default=None, help=_BOOTSTRAP_HELP)
    rp.add_argument("--topic", default=default("events_topic"),
                    help=f"topic to publish to (default {default('events_topic')})")
    rp.set_defaults(func=_cmd_replay)

    model = sub.add_parser("model", help="the model's versions: list, snapshot, rollback, history (admin API)",
                           description="Talk to a running service's admin API (STREAMAL_ADMIN_TOKENS on the "
                           "service; your token in STREAMAL_ADMIN_TOKEN). A snapshot or a rollback reaches every "
                           "replica at the same point of the labels topic.")
    model.add_argument("--url", default="http://127.0.0.1:8000", help="a replica's HTTP address")
    actions = model.add_subparsers(dest="action", required=True, help="what to do")
    actions.add_parser("list", help="this replica's model version and the snapshots kept")
    actions.add_parser("snapshot", help="every replica keeps its model as it is now")
    rb = actions.add_parser("rollback", help="every replica goes back to a kept model version")
    rb.add_argument("version", type=int, help="the model version (see `streamal model list`)")
    rb.add_argument("--no-replay-labels", action="store_true",
                    help="drop the labels learned since from the model (default: learn them again, each with its "
                    "answer as it stands now: undo the model, keep the answers)")
    actions.add_parser("promote", help="every replica makes the challenger the champion (STREAMAL_CHALLENGER_MODEL)")
    rebuild = actions.add_parser("rebuild", help="every replica learns again without some labels (a bad annotator)")
    rebuild.add_argument("--exclude", action="append", metavar="annotator=NAME",
                         help="leave out this annotator's labels")
    rebuild.add_argument("--since", default=None, help="only those given at or after this ISO 8601 time")
    rebuild.add_argument("--answer", action="append", default=[], metavar="ANSWER_ID",
                         help="leave out this answer (repeatable)")
    hist = actions.add_parser("history", help="what changed the model: labels learned (by whom), snapshots, rollbacks")
    hist.add_argument("--limit", type=_count, default=50, help="lines, newest first (default 50)")
    model.set_defaults(func=_cmd_model)

    oc = sub.add_parser("oracle", help="answer review items from a ground-truth file, after a delay")
    oc.add_argument("--truth", required=True, help="JSONL file of {event_id, label} lines (read as it grows)")
    oc.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    oc.add_argument("--error-rate", type=_share, default=0.0, help="share of wrong answers (default 0)")
    oc.add_argument("--annotator", default="oracle", help="annotator name on the labels (default oracle)")
    oc.add_argument("--group-id", default="streamal-oracle",
                    help="the oracle's consumer group: a restart goes on where it stopped (default streamal-oracle)")
    oc.add_argument("--kafka-bootstrap", default=None, help=_BOOTSTRAP_HELP)
    oc.add_argument("--review-topic", default=default("review_topic"),
                    help=f"topic the review items are read from (default {default('review_topic')})")
    oc.add_argument("--labels-topic", default=default("labels_topic"),
                    help=f"topic the answers go to (default {default('labels_topic')})")
    oc.set_defaults(func=_cmd_oracle)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``streamal`` command; returns the exit code."""
    args: Any = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except StreamalError as exc:
        code = 2 if isinstance(exc, ConfigError | IncompatibleState) else 1
        json_logs = (getattr(args, "log_format", None) or os.environ.get(ENV_PREFIX + "LOG_FORMAT", "")) == "json"
        if json_logs:  # a log pipeline reads the last word as it reads the rest
            line = orjson.dumps({"level": "CRITICAL", "logger": f"streamal.{args.command}", "message": str(exc),
                                 "exit_code": code}).decode()
            print(line, file=sys.stderr)  # noqa: T201
        else:
            print(f"streamal {args.command}: error: {exc}", file=sys.stderr)  # noqa: T201
        return code
    except KeyboardInterrupt:
        return 130
