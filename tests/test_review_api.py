"""The review API in process (FastAPI's test client): every endpoint, auth and error.

Publishing is the one injected part here: a recorder stands in for Kafka's
acknowledged send, so each test can see exactly which messages an answer
wrote; time is a clock the tests move. tests/integration/test_review_page.py
runs the same API against a real broker and a real browser.
"""

import orjson
import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from streamal.core.pending import PendingItem
from streamal.errors import BrokerError
from streamal.http.app import create_app
from streamal.http.desk import ReviewDesk
from streamal.review.store import ReviewStore
from streamal.service.health import Health

TOKENS = {"token-one-1234": "analyst-1", "token-two-5678": "analyst-2"}
NOW = 1_800_000_000.0


class Clock:
    """Time the test moves by hand."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Recorder:
    def __init__(self):
        self.sent = []
        self.fail = False

    def __call__(self, topic, key, msg):
        if self.fail:
            raise BrokerError("broker unreachable")
        self.sent.append((topic, key, msg))


def item(event_id, reason="uncertainty", score=0.3, queried_at=NOW - 30):
    return PendingItem(event_id, {"bytes": 512, "proto": "tcp", "vpn": False}, {"source": "ids-7"}, "benign",
                       {"benign": 0.6, "malicious": 0.4}, score, reason, 12, queried_at)


class Api:
    """The app in process: ``call(path, method, token, body, raw)`` gives ``(status, json)``."""

    def __init__(self, client, store, rec, desk, clock):
        self.client, self.store, self.rec, self.desk, self.clock = client, store, rec, desk, clock

    def call(self, path, method="GET", token="token-one-1234", body=None, raw=None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if raw is not None:
            headers["Content-Type"] = "application/json"
        r = self.client.request(method, path, headers=headers, content=raw,
                                json=body if raw is None else None)
        return r.status_code, (orjson.loads(r.content) if r.content else None)


@pytest.fixture
def api():
    clock = Clock()
    store = ReviewStore(answers_wanted=1, claim_seconds=0.5, undo_seconds=1.0, clock=clock)
    for i, (reason, score) in enumerate([("uncertainty", 0.3), ("uncertainty", 0.45), ("drift", 0.1),
                                          ("random", 0.2)]):
        store.add_item(item(f"e{i}", reason, score))
    rec = Recorder()
    desk = ReviewDesk(store, rec, labels_topic="labels", review_topic="review", tokens=TOKENS)
    with TestClient(create_app(Health(), CollectorRegistry(), desk)) as client:
        yield Api(client, store, rec, desk, clock)


def test_without_a_valid_token_401_and_nothing_changes(api):
    store, rec = api.store, api.rec
    for token in (None, "wrong-token-000"):
        assert api.call("/api/review", token=token)[0] == 401
        assert api.call("/api/review/e0/label", "POST", token=token, body={"label": "x"})[0] == 401
        assert api.call("/api/review/e0/claim", "POST", token=token)[0] == 401
        assert api.call("/api/review/stats", token=token)[0] == 401
    assert rec.sent == [] and store.entry("e0").open and store.entry("e0").claimed_by is None
    for probe in ("/healthz", "/metrics"):  # the probes stay open
        assert api.client.get(probe).status_code == 200


def test_queue_is_most_valuable_first_paged_and_filtered(api):
    status, body = api.call("/api/review")
    assert status == 200 and body["total"] == 4
    assert [i["event_id"] for i in body["items"]] == ["e2", "e1", "e0", "e3"]  # drift first, then by score
    first = body["items"][0]
    assert first["features"] == {"bytes": 512, "proto": "tcp", "vpn": False} and first["meta"] == {"source": "ids-7"}
    assert first["prediction"] == "benign" and first["proba"]["malicious"] == 0.4 and first["reason"] == "drift"
    assert first["age_seconds"] == 30.0
    assert [i["event_id"] for i in api.call("/api/review?limit=2&offset=1")[1]["items"]] == ["e1", "e0"]
    assert [i["event_id"] for i in api.call("/api/review?reason=random")[1]["items"]] == ["e3"]
    assert api.call("/api/review?reason=bogus")[0] == 422
    assert api.call("/api/review/e1")[1]["event_id"] == "e1"
    assert api.call("/api/review/nope")[0] == 404


def test_an_answer_is_a_label_message_with_its_audit_trail(api):
    store, rec = api.store, api.rec
    status, body = api.call("/api/review/e1/label", "POST", body={"label": "malicious", "annotator": "someone"})
    assert status == 422  # unknown fields are refused: the annotator is the token's, never the client's
    status, body = api.call("/api/review/e1/label", "POST", body={"label": "malicious"})
    assert status == 200 and body["annotator"] == "analyst-1"
    (topic, key, msg), = rec.sent
    assert topic == "labels" and key == "e1"
    assert msg["label"] == "malicious" and msg["annotator"] == "analyst-1" and msg["labeled_at"].endswith("Z")
    assert msg["model_version_seen"] == 12 and msg["prediction_seen"] == "benign" and msg["answer_id"]
    assert not store.entry("e1").open
    assert "e1" not in [i["event_id"] for i in api.call("/api/review")[1]["items"]]
    status, body = api.call("/api/review/e1/label", "POST", token="token-two-5678", body={"label": "benign"})
    assert status == 409 and "already answered" in body["detail"]
    assert api.call("/api/review/nope/label", "POST", body={"label": "x"})[0] == 404
    assert api.call("/api/review/e0/label", "POST", raw=b"{not json")[0] == 422
    assert api.call("/api/review/e0/label", "POST", body={"label": ""})[0] == 422
    assert api.call("/api/review/e0/label", "POST", body={"label": "   "})[0] == 422
    assert len(rec.sent) == 1


def test_new_labels_are_allowed_unless_the_set_is_fixed(api):
    rec, desk = api.rec, api.desk
    assert api.call("/api/review/e0/label", "POST", body={"label": "brand-new-class"})[0] == 200
    assert "brand-new-class" in api.call("/api/me")[1]["classes"]
    desk.allowed_labels = ["benign", "malicious"]
    status, body = api.call("/api/review/e1/label", "POST", body={"label": "other"})
    assert status == 400 and "not allowed" in body["detail"]
    assert api.call("/api/me")[1]["classes"] == ["benign", "malicious"]
    assert len(rec.sent) == 1


def test_claims_keep_others_off_and_expire(api):
    status, body = api.call("/api/review/e0/claim", "POST")
    assert status == 200 and body["claimed_by"] == "analyst-1"
    other = "token-two-5678"
    assert api.call("/api/review/e0/claim", "POST", token=other)[0] == 409
    assert api.call("/api/review/e0/label", "POST", token=other, body={"label": "benign"})[0] == 409
    assert api.call("/api/review/e0/release", "POST", token=other)[0] == 409
    assert api.call("/api/review/e0/release", "POST")[0] == 200
    assert api.call("/api/review/e0/claim", "POST", token=other)[0] == 200
    api.clock.now += 0.7  # the claim of 0.5 s runs out: really released
    assert api.call("/api/review/e0")[1]["claimed_by"] is None
    assert api.call("/api/review/e0/claim", "POST")[0] == 200
    assert api.call("/api/review/nope/claim", "POST")[0] == 404


def test_skip_requeues_for_others_or_drops_for_everyone(api):
    rec = api.rec
    assert api.call("/api/review/e0/skip", "POST", body={"requeue": True})[0] == 200
    mine = [i["event_id"] for i in api.call("/api/review?mine=true")[1]["items"]]
    theirs = [i["event_id"] for i in api.call("/api/review?mine=true", token="token-two-5678")[1]["items"]]
    assert "e0" not in mine and "e0" in theirs
    assert api.call("/api/review/e3/skip", "POST", body={"requeue": False})[0] == 200
    (topic, key, msg), = rec.sent
    assert topic == "review" and msg == {"event_id": "e3", "status": "dropped", "annotator": "analyst-1",
                                         "at": msg["at"]}
    assert "e3" not in [i["event_id"] for i in api.call("/api/review", token="token-two-5678")[1]["items"]]
    assert api.call("/api/review/e3/label", "POST", token="token-two-5678", body={"label": "x"})[0] == 409


def test_undo_within_the_window_reopens_the_item(api):
    store, rec = api.store, api.rec
    api.call("/api/review/e0/label", "POST", body={"label": "malicious"})
    answer_id = rec.sent[-1][2]["answer_id"]
    assert api.call("/api/me")[1]["undoable"] == "e0"
    assert api.call("/api/review/e0/undo", "POST", token="token-two-5678")[0] == 409  # not theirs
    status, body = api.call("/api/review/e0/undo", "POST")
    assert status == 200 and body["undone"] == answer_id
    topic, _, msg = rec.sent[-1]
    assert topic == "labels" and msg["retracts"] == answer_id and msg["annotator"] == "analyst-1"
    assert store.entry("e0").open
    api.call("/api/review/e0/label", "POST", body={"label": "benign"})
    api.clock.now += 1.2  # past the undo window of 1 s
    status, body = api.call("/api/review/e0/undo", "POST")
    assert status == 409 and "undo window" in body["detail"]


def test_stats_and_agreement_between_annotators(api):
    store = api.store
    store.answers_wanted = 2
    for event_id, one, two in [("e0", "malicious", "malicious"), ("e1", "benign", "benign"),
                               ("e2", "malicious", "benign")]:
        assert api.call(f"/api/review/{event_id}/label", "POST", body={"label": one})[0] == 200
        two_says = api.call(f"/api/review/{event_id}/label", "POST", token="token-two-5678", body={"label": two})
        assert two_says[0] == 200
    status, stats = api.call("/api/review/stats")
    assert status == 200
    assert stats["answered"] == 3 and stats["open"] == 1 and stats["open_by_reason"] == {"random": 1}
    assert stats["by_annotator"] == {"analyst-1": 3, "analyst-2": 3}
    assert stats["median_answer_seconds"] == 30.0
    assert stats["agreement"]["analyst-1"] == 1.0  # ties go to the first answer
    assert stats["agreement"]["analyst-2"] == pytest.approx(2 / 3)
    assert stats["fleiss_kappa"] is not None and stats["fleiss_kappa"] < 1
    assert stats["cohen_kappa"]["analyst-1|analyst-2"] == pytest.approx(0.4)


def test_a_broker_failure_is_a_503_and_records_nothing(api):
    store, rec = api.store, api.rec
    rec.fail = True
    status, body = api.call("/api/review/e0/label", "POST", body={"label": "benign"})
    assert status == 503 and "nothing was recorded" in body["detail"]
    assert store.entry("e0").open


def test_the_page_and_its_assets_are_served_and_documented(api):
    html = api.client.get("/").text
    assert "streamal" in html and "/static/app.js" in html
    for asset in ("/static/app.js", "/static/style.css"):
        r = api.client.get(asset)
        assert r.status_code == 200 and len(r.content) > 1000
    paths = api.client.get("/openapi.json").json()["paths"]
    for path in ("/api/review", "/api/review/{event_id}/label", "/api/review/{event_id}/claim",
                 "/api/review/{event_id}/release", "/api/review/{event_id}/skip", "/api/review/{event_id}/undo",
                 "/api/review/stats"):
        assert path in paths
