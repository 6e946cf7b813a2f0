"""The probes and /metrics, served by a real uvicorn over HTTP."""

import urllib.error
import urllib.request

import orjson


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
