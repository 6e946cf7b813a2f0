"""The probes and /metrics, in process."""

from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from streamal.http.app import create_app
from streamal.service.health import Health
from streamal.service.metrics import Metrics


def test_probes_and_metrics() -> None:
    registry = CollectorRegistry()
    Metrics(registry)
    health = Health()
    with TestClient(create_app(health, registry)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        r = client.get("/readyz")
        assert r.status_code == 503 and r.json() == {"ready": False, "detail": "starting"}
        health.set_ready(True, "joined")
        assert client.get("/readyz").status_code == 200
        r = client.get("/metrics", follow_redirects=False)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    for line in ('streamal_events_total{outcome="scored"} 0.0', 'streamal_labels_total{outcome="unknown"} 0.0',
                 "streamal_review_backlog 0.0"):
        assert line in r.text
    assert "_created" not in r.text  # no creation-time series next to every counter
