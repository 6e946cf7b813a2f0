"""Running the service as a process: logging, the HTTP thread, signals, the clean stop.

SIGTERM and SIGINT set a stop flag; the Kafka loop then flushes, commits and
checkpoints, and the process exits 0. A failure the service cannot recover
from (Kafka unreachable at start, an undeliverable output) exits 1 with one
line saying why.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import uvicorn
from prometheus_client import CollectorRegistry

from streamal.config import Settings
from streamal.http.app import Health, create_app
from streamal.service.loop import Service
from streamal.service.metrics import Metrics

__all__ = ["configure_logging", "serve"]

logger = logging.getLogger(__name__)


def configure_logging(level: str) -> None:
    """``time level logger message`` lines on stderr."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    logging.getLogger("kafka").setLevel(max(logging.WARNING, logging.getLevelName(level)))


class _HttpServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the main thread owns the signals
        pass


def serve(settings: Settings, stop: threading.Event | None = None) -> None:
    """Run the service until SIGTERM/SIGINT (or ``stop``); raises on a fatal error."""
    stop = stop or threading.Event()
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    health = Health()
    service = Service(settings, metrics, health)
    app = create_app(health, registry, service.desk)
    config = uvicorn.Config(
        app, host=settings.http_host, port=settings.http_port, log_level="warning", access_log=False
    )
    http = _HttpServer(config)
    http_thread = threading.Thread(target=http.run, name="http", daemon=True)
    http_thread.start()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        logger.info("signal=%s stopping", signal.Signals(signum).name)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)

    try:
        try:
            service.start()
        except BaseException:
            service.close()
            raise
        logger.info(
            "streamal running bootstrap=%s events=%s model=%s strategy=%s budget=%s http=%s:%d",
            settings.kafka_bootstrap, settings.events_topic, settings.model, settings.strategy,
            settings.budget, settings.http_host, settings.http_port,
        )
        service.run(stop)
    finally:
        http.should_exit = True
        http_thread.join(timeout=5)
    logger.info("stopped cleanly model_version=%d", service.learner.model_version)
