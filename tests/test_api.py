from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from streamal.api import Health, create_app
from streamal.metrics import Metrics


def test_probes_and_metrics():
    registry = CollectorRegistry()
    Metrics(registry)
    health = Health()
    client = TestClient(create_app(health, registry))
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json()["ready"] is False
    health.set_ready(True, "joined")
    assert client.get("/readyz").status_code == 200
    text = client.get("/metrics/").text
    for line in ('streamal_events_total{outcome="scored"} 0.0', 'streamal_labels_total{outcome="unknown"} 0.0',
                 'streamal_accuracy{estimate="queried"} 0.0', "streamal_review_backlog 0.0"):
        assert line in text
