"""The probes and /metrics, served by a real uvicorn over HTTP."""

import threading
import time
import urllib.error
import urllib.request

import orjson
import pytest
import uvicorn
from prometheus_client import CollectorRegistry

from streamal.api import Health, create_app
from streamal.embedded import free_port
from streamal.metrics import Metrics


@pytest.fixture
def served():
    registry = CollectorRegistry()
    Metrics(registry)
    health = Health()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(health, registry), host="127.0.0.1", port=port,
                                          log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield health, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_probes_and_metrics(served):
    health, base = served
    assert get(base + "/healthz") == (200, b'{"status":"ok"}')
    code, body = get(base + "/readyz")
    assert code == 503 and orjson.loads(body)["ready"] is False
    health.set_ready(True, "joined")
    assert get(base + "/readyz")[0] == 200
    text = get(base + "/metrics")[1].decode()
    for line in ('streamal_events_total{outcome="scored"} 0.0', 'streamal_labels_total{outcome="unknown"} 0.0',
                 'streamal_accuracy{estimate="queried"} 0.0', "streamal_review_backlog 0.0"):
        assert line in text
