"""Running the service as a process: the parts put together, the HTTP thread, signals, the clean stop.

This is where the Kafka service (:mod:`streamal.service`) and the HTTP
surface (:mod:`streamal.http`) meet: the review store and the health flags
are made here and handed to both, so neither imports the other.

Start-up fails fast and plainly: the HTTP port is bound before anything else
(a port in use is one line and exit code 2), and Kafka must answer within
``STREAMAL_KAFKA_CONNECT_TIMEOUT``. SIGTERM and SIGINT set a stop flag; the
loop then flushes, commits and checkpoints, and the process exits 0. A
failure the service cannot recover from (the broker gone, the disk full)
exits 1 with one line saying why.
"""

from __future__ import annotations

import errno
import logging
import signal
import socket
import threading
import time
from types import FrameType
from typing import Any

import uvicorn
from prometheus_client import CollectorRegistry

from streamal.config import Settings, TokenBook
from streamal.errors import BrokerError, ConfigError, StreamalError
from streamal.http.admin import AdminDesk
from streamal.http.app import create_app
from streamal.http.desk import ReviewDesk
from streamal.review.guidelines import load_guidelines
from streamal.review.store import ReviewStore
from streamal.service.health import Health
from streamal.service.logs import configure_logging
from streamal.service.loop import RunningService
from streamal.service.metrics import Metrics
from streamal.service.start import Service
from streamal.service.versions import ModelVersions

__all__ = ["bind_http", "configure_logging", "serve", "token_warnings"]

logger = logging.getLogger(__name__)


class _HttpServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the main thread owns the signals
        pass


def bind_http(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` for the HTTP server; :class:`ConfigError` naming the setting if taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(f"STREAMAL_HTTP_PORT: port {port} on {host} is already in use") from None
        raise ConfigError(f"STREAMAL_HTTP_HOST/STREAMAL_HTTP_PORT: cannot listen on {host}:{port}: "
                          f"{exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


def token_warnings(tokens: TokenBook) -> list[str]:
    """What to say loudly at start about the review API's tokens (nothing when they look right).

    >>> from streamal.config import parse_tokens
    >>> token_warnings(parse_tokens(""))[0][:43]
    'the review API has no tokens (STREAMAL_REVI'
    >>> token_warnings(parse_tokens("analyst-1:change-me-demo-token-1"))[0][:40]
    'example review tokens are in use (analys'
    """
    if not tokens:
        return ["the review API has no tokens (STREAMAL_REVIEW_TOKENS): every /api call answers 401 and the "
                "review page cannot sign in; give analyst:token pairs, or @/path/to/a/file of them"]
    if tokens.examples:
        return [f"example review tokens are in use ({', '.join(tokens.examples)}): anyone who has read the "
                "example file can answer review items; give tokens of your own in STREAMAL_REVIEW_TOKENS"]
    return []


def serve(settings: Settings, stop: threading.Event | None = None, *, reset_model: bool = False) -> None:
    """Run the service until SIGTERM/SIGINT (or ``stop``); raises on a fatal error."""
    stop = stop or threading.Event()
    for warning in token_warnings(settings.tokens):
        logger.warning(warning)
    sock = bind_http(settings.http_host, settings.http_port)
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    health = Health()
    learning = settings.learner_config()
    review = ReviewStore(answers_wanted=settings.review_answers, claim_seconds=settings.review_claim_seconds,
                         undo_seconds=settings.review_undo_seconds, max_items=learning.max_pending)
    versions = ModelVersions(settings.state_dir, every=settings.snapshot_every, keep=settings.snapshot_keep)
    service = Service(settings, metrics, health, review, reset_model=reset_model, versions=versions)
    live: list[RunningService] = []  # the running service, once started (the admin API reads its model version)
    for who in settings.tokens.names():
        metrics.review_answers.labels(annotator=who)
    desk = ReviewDesk(review, _not_connected_yet, labels_topic=settings.labels_topic,
                      review_topic=settings.review_topic, tokens=settings.tokens,
                      allowed_labels=settings.allowed_labels,
                      on_answer=lambda who: metrics.review_answers.labels(annotator=who).inc(),
                      guidelines_html=load_guidelines(settings.review_guidelines))
    def models() -> tuple[str, str | None]:
        config = live[0].learner.config if live else learning
        return config.model, config.challenger or None

    admin = AdminDesk(settings.admin, versions, lambda: live[0].learner.model_version if live else 0,
                      lambda topic, key, msg: desk.publish(topic, key, msg), settings.labels_topic, time.time,
                      models)
    app = create_app(health, registry, desk, max_body=settings.http_max_body_bytes, admin=admin)
    http = _HttpServer(uvicorn.Config(app, log_level="warning", access_log=False))
    http_thread = threading.Thread(target=http.run, kwargs={"sockets": [sock]}, name="http", daemon=True)
    http_thread.start()
    deadline = time.monotonic() + 10.0
    while not http.started:
        if not http_thread.is_alive() or time.monotonic() > deadline:
            raise StreamalError(f"the HTTP server did not start on {settings.http_host}:{settings.http_port}")
        time.sleep(0.01)

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        logger.info("signal=%s stopping", signal.Signals(signum).name)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)

    try:
        running = service.start()  # if it fails, it closes what it opened
        live.append(running)
        desk.publish = running.publish_acked
        logger.info(
            "streamal running bootstrap=%s events=%s model=%s strategy=%s budget=%s http=%s:%d",
            settings.kafka_bootstrap, settings.events_topic, learning.model, learning.strategy,
            learning.budget, settings.http_host, settings.http_port,
        )
        running.run(stop)
    finally:
        http.should_exit = True
        http_thread.join(timeout=5)
        sock.close()
    logger.info("stopped cleanly model_version=%d", running.learner.model_version)


def _not_connected_yet(topic: str, key: str, msg: dict[str, Any]) -> None:
    """The review API's publisher until the service has reached Kafka."""
    raise BrokerError("the service is not connected to Kafka yet")
