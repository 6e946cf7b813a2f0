"""``streamal demo``: the whole loop on one machine, with live progress and a summary.

An embedded broker (Tansu), the service (``streamal run`` in a child
process, as in production), a drifting synthetic stream replayed to the
events topic, and a simulated analyst (the oracle) answering review items
after a delay. Progress is read from the service's own ``/metrics``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from streamal.config import default
from streamal.errors import StreamalError
from streamal.evaluation.streams import open_stream
from streamal.service.access import KafkaAccess
from streamal.tools.child import ServiceProcess, service_error
from streamal.tools.embedded import EmbeddedBroker
from streamal.tools.oracle import Oracle
from streamal.tools.replay import replay

__all__ = ["DemoResult", "run_demo"]

logger = logging.getLogger(__name__)


@dataclass
class DemoResult:
    """What the demo measured at its end, from the service's metrics."""

    events: int = 0
    invalid: int = 0
    queries: dict[str, int] = field(default_factory=dict)
    labels: dict[str, int] = field(default_factory=dict)
    accuracy: dict[str, float] = field(default_factory=dict)
    drift_alarms: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    exit_code: int | None = None

    @classmethod
    def from_metrics(cls, m: dict[str, float]) -> DemoResult:
        """Read the summary figures out of a scrape."""
        def by(prefix: str, key: str) -> dict[str, int]:
            return {k.split(f'{key}="')[1].rstrip('"}'): int(v) for k, v in m.items()
                    if k.startswith(prefix + "{")}
        return cls(
            events=int(m.get('streamal_events_total{outcome="scored"}', 0)),
            invalid=int(m.get('streamal_events_total{outcome="invalid"}', 0)),
            queries=by("streamal_queries_total", "reason"),
            labels=by("streamal_labels_total", "outcome"),
            accuracy={k.split('estimate="')[1].split('"')[0]: v for k, v in m.items()
                      if k.startswith("streamal_accuracy{") and 'model="champion"' in k},
            drift_alarms=by("streamal_drift_alarms_total", "detector"),
        )

    def chosen_share(self) -> float:
        """The share of non-audit queries the strategy, drift or novelty chose (not the seed or exploration)."""
        non_audit = sum(v for k, v in self.queries.items() if k != "random")
        chosen = sum(v for k, v in self.queries.items() if k not in ("seed", "explore", "random"))
        return chosen / non_audit if non_audit else 0.0

    def summary(self) -> str:
        """The closing table."""
        q = sum(self.queries.values())
        rate = q / self.events if self.events else 0.0
        lines = [
            "── streamal demo summary ──",
            f"events scored     {self.events:>8}   invalid {self.invalid}",
            f"queries           {q:>8}   ({rate:.1%} of events) "
            + " ".join(f"{k}={v}" for k, v in sorted(self.queries.items())),
            f"chosen            {self.chosen_share():>8.0%}   of non-audit queries: strategy, drift, novelty",
            "labels            " + " ".join(f"{k}={v}" for k, v in sorted(self.labels.items())),
            "accuracy          " + " ".join(f"{k}={v:.3f}" for k, v in sorted(self.accuracy.items())),
            "drift alarms      " + " ".join(f"{k}={v}" for k, v in sorted(self.drift_alarms.items())),
            f"seconds           {self.seconds:>8.1f}   service exit code {self.exit_code}",
        ]
        return "\n".join(lines)


def run_demo(
    *,
    events: int = 20_000,
    stream: str = "agrawal-abrupt",
    budget: float = default("budget"),
    model: str = default("model"),
    strategy: str = default("strategy"),
    rate: float | None = None,
    delay: float = 1.0,
    error_rate: float = 0.0,
    state_dir: str | None = None,
    log_path: str | None = None,
    progress: bool = True,
    kafka: KafkaAccess | None = None,
) -> DemoResult:
    """Run the demo to its end and return what it measured.

    With ``kafka``, the demo uses that cluster (its default ``streamal.*`` topics,
    with the TLS and SASL settings of ``kafka`` for every client, the service's
    too through the inherited ``STREAMAL_KAFKA_*`` environment); without, it
    starts an embedded broker and talks to it in plain text.
    """
    started = time.monotonic()
    rate = rate if rate is not None else max(100.0, events / 40.0)
    state = Path(state_dir or tempfile.mkdtemp(prefix="streamal-demo-"))
    state.mkdir(parents=True, exist_ok=True)
    log_file = Path(log_path) if log_path else state / "service.log"
    with contextlib.ExitStack() as stack:
        if kafka is None:
            broker = stack.enter_context(EmbeddedBroker())
            kafka = KafkaAccess(broker.bootstrap)
            # the embedded broker speaks plain text, whatever the shell's Kafka settings say
            env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMAL_KAFKA_")}
        else:
            env = dict(os.environ)
        service = ServiceProcess(log_file, {"kafka_bootstrap": kafka.bootstrap, "state_dir": str(state),
                                           "budget": str(budget), "model": model, "strategy": strategy,
                                           "session_timeout_ms": "6000"}, base_env=env)
        stop = threading.Event()
        truth: dict[str, str] = {}
        threads: list[threading.Thread] = []
        try:
            service.start(timeout=60)
            oracle = Oracle(truth, kafka, delay=delay, error_rate=error_rate)
            source = open_stream(stream, n=events)

            def _replay() -> None:
                replay(source, kafka, default("events_topic"), total=events, rate=rate,
                       truth=truth.__setitem__, progress=False, stop=stop)

            threads = [threading.Thread(target=oracle.run, args=(stop,), daemon=True, name="oracle"),
                       threading.Thread(target=_replay, daemon=True, name="replay")]
            for t in threads:
                t.start()
            _follow(service, events, delay, progress)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=10)
            final = _safe_scrape(service)
            exit_code = service.stop()
    result = DemoResult.from_metrics(final)
    result.exit_code = exit_code
    result.seconds = time.monotonic() - started
    return result


def _safe_scrape(service: ServiceProcess) -> dict[str, float]:
    try:
        return service.metrics()
    except OSError:
        return {}


def _follow(service: ServiceProcess, events: int, delay: float, progress: bool) -> None:
    """Print live progress until every event is scored and the backlog has drained."""
    from tqdm import tqdm

    bar = tqdm(total=events, unit="ev", desc="scored", disable=not progress, mininterval=0.5)
    done_at: float | None = None
    try:
        while True:
            if not service.alive:
                code = service.proc.returncode if service.proc is not None else None
                raise StreamalError(f"the service exited with code {code}: {service_error(service.log)} "
                                    f"(log: {service.log})")
            m = _safe_scrape(service)
            d = DemoResult.from_metrics(m)
            bar.n = d.events
            bar.set_postfix(
                queries=sum(d.queries.values()),
                labels=d.labels.get("learned", 0),
                acc=f"{d.accuracy.get('queried', 0):.3f}",
                drift=sum(d.drift_alarms.values()),
                refresh=False,
            )
            bar.refresh()
            if d.events >= events:
                done_at = done_at or time.monotonic()
                backlog = m.get("streamal_review_backlog", 0)
                if backlog == 0 or time.monotonic() - done_at > delay + 10:
                    return
            time.sleep(0.5)
    finally:
        bar.close()
