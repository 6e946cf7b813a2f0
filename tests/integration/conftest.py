"""Fixtures with real parts: a Tansu broker, the service as a child process, topic readers."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from streamal.errors import StreamalError
from streamal.tools import child
from streamal.tools.embedded import EmbeddedBroker, free_port


def wait_until(condition: Callable[[], object], timeout: float, every: float = 0.1) -> bool:
    """Ask ``condition()`` every ``every`` seconds until it holds or ``timeout`` passes; whether it held."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(every)
    return True


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> float:
    """Seconds until ``condition()`` holds; fails, saying ``what``, after ``timeout``."""
    started = time.monotonic()
    if not wait_until(condition, timeout):
        raise AssertionError(f"{what}: not within {timeout}s")
    return time.monotonic() - started


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker(log_path=tmp_path_factory.mktemp("broker") / "tansu.log") as b:
        yield b


class ServiceProcess(child.ServiceProcess):
    """``streamal run`` in a child process, with its own topics and group (and a test's assertions)."""

    def __init__(self, bootstrap: str, prefix: str, state_dir: Path, log: Path, **settings: str) -> None:
        self.bootstrap = bootstrap
        self.topics = {k: f"{prefix}.{k}" for k in ("events", "review", "labels", "predictions", "deadletter")}
        self.state_dir = state_dir
        defaults = {"kafka_bootstrap": bootstrap, "state_dir": str(state_dir), "group_id": f"{prefix}-group",
                    "session_timeout_ms": "6000", "review_tokens": "analyst:integration-test-token",
                    **{f"{k}_topic": v for k, v in self.topics.items()}}
        super().__init__(log, defaults | settings)  # a test's own settings win
        self.family: list[ServiceProcess] = [self]  # this process and its restarts, for the fixture to stop

    def again(self, **settings: str) -> ServiceProcess:
        """A new process on the same topics and state directory (a restart), with ``settings`` changed."""
        twin = ServiceProcess.__new__(ServiceProcess)
        twin.__dict__.update(self.__dict__)
        twin.port = free_port()
        twin.env = self.env | {"STREAMAL_HTTP_PORT": str(twin.port),
                               **{f"STREAMAL_{k.upper()}": v for k, v in settings.items()}}
        twin.proc = None
        self.family.append(twin)  # (the same list: the fixture kills every restart too, whatever a test does)
        return twin

    def start(self, timeout: float = 60) -> ServiceProcess:
        try:
            super().start(timeout)
        except StreamalError as exc:
            raise AssertionError(f"{exc}\n{self.log.read_text()[-3000:]}") from exc
        return self

    def wait_metric(self, key: str, at_least: float, timeout: float = 30) -> float:
        seen = [0.0]

        def reached() -> bool:
            seen[0] = self.metric(key)
            return seen[0] >= at_least

        if not wait_until(reached, timeout, every=0.2):
            raise AssertionError(f"{key} = {seen[0]} < {at_least} after {timeout}s")
        return seen[0]

    def stop(self, timeout: float = 30) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout)  # a service that does not stop in time fails the test
        return self.proc.returncode


#: The ``make_service`` fixture: ``make_service(name="a", **settings)`` gives a service on this test's topics.
MakeService = Callable[..., ServiceProcess]


@pytest.fixture
def kafka_client() -> str:
    """The service's Kafka client; a module runs against both with ``pytestmark = BOTH_CLIENTS``."""
    return os.environ.get("STREAMAL_KAFKA_CLIENT", "kafka-python")


BOTH_CLIENTS = pytest.mark.parametrize("kafka_client", ["kafka-python", "confluent"])


@pytest.fixture
def make_service(broker: EmbeddedBroker, tmp_path: Path, kafka_client: str) -> Iterator[MakeService]:
    """``make_service(**settings)``: a service on this test's topics; ``name=`` gives a replica its own state."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    started: list[ServiceProcess] = []

    def _make(name: str = "a", **settings: str) -> ServiceProcess:
        settings = {"kafka_client": kafka_client, **settings}
        svc = ServiceProcess(broker.bootstrap, prefix, tmp_path / f"state-{name}", tmp_path / f"service-{name}.log",
                             **settings)
        started.append(svc)
        return svc

    yield _make
    for svc in started:
        for restart in svc.family:
            restart.kill()


@pytest.fixture
def producer(broker: EmbeddedBroker) -> Iterator[KafkaProducer]:
    p = KafkaProducer(bootstrap_servers=broker.bootstrap)
    yield p
    p.close()


def send(producer: KafkaProducer, topic: str, messages: list[Any], key: Callable[[Any], bytes] | None = None) -> None:
    for m in messages:
        value = m if isinstance(m, bytes) else orjson.dumps(m)
        k = key(m) if key else None
        producer.send(topic, key=k, value=value)
    producer.flush()


def read_topic(bootstrap: str, topic: str, expect: int | None = None, timeout: float = 30,
               quiet: float = 2.0, skip_invalid: bool = False, unique: str | None = None,
               **client: object) -> list[dict[str, Any]]:
    """Every message on ``topic``: until ``expect`` are read, or nothing new for ``quiet`` seconds.

    ``unique``: count messages with distinct values of this field towards ``expect`` (duplicates
    are allowed on the output topics, so "3000 messages" need not mean "3000 events");
    ``skip_invalid``: leave out what is not a JSON object (poison a test put there itself);
    ``client``: more consumer settings (TLS, SASL).
    """
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest",
                      **client)
    parts = c.partitions_for_topic(topic) or set()
    c.assign([TopicPartition(topic, p) for p in parts])
    c.seek_to_beginning()
    out: list[dict[str, Any]] = []
    seen: set[object] = set()
    deadline = time.monotonic() + timeout
    last_new = time.monotonic()
    try:
        while time.monotonic() < deadline:
            batch = c.poll(timeout_ms=200)
            for records in batch.values():
                for r in records:
                    try:
                        value = orjson.loads(r.value)
                    except orjson.JSONDecodeError:
                        if not skip_invalid:
                            raise
                        continue
                    if isinstance(value, dict) or not skip_invalid:
                        out.append(value)
                        if unique is not None:
                            seen.add(value.get(unique))
                last_new = time.monotonic()
            if expect is not None and (len(seen) if unique is not None else len(out)) >= expect:
                break
            if expect is None and time.monotonic() - last_new > quiet:
                break
    finally:
        c.close()
    return out


class PrometheusServer:
    """A real Prometheus (Debian's ``prometheus``) scraping ``targets`` every second."""

    def __init__(self, targets: list[str], workdir: Path) -> None:
        import shutil

        binary = shutil.which("prometheus")
        assert binary, "prometheus is missing: `make test` installs it (apt-get install prometheus)"
        self.port = free_port()
        config = workdir / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "scrape_configs:\n"
            f"  - job_name: streamal\n    static_configs: [{{targets: [{', '.join(repr(t) for t in targets)}]}}]\n"
        )
        self.log = workdir / "prometheus.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [binary, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'data'}",
                 f"--web.listen-address=127.0.0.1:{self.port}"],
                stdout=log, stderr=subprocess.STDOUT)

        def ready() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=1) as r:
                    return bool(r.status == 200)
            except OSError:
                return False

        if not wait_until(ready, 30, every=0.2):
            raise AssertionError(f"prometheus not ready:\n{self.log.read_text()[-2000:]}")

    def query(self, promql: str) -> list[dict[str, Any]]:
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(url, timeout=5) as r:
            body = orjson.loads(r.read())
        assert body["status"] == "success", body
        return list(body["data"]["result"])

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
