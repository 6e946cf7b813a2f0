"""The review API over HTTP (a real uvicorn): every endpoint, auth and error.

Publishing is the one injected part here: a recorder stands in for Kafka's
acknowledged send, so each test can see exactly which messages an answer
wrote. tests/integration/test_review_page.py runs the same API against a
real broker and a real browser.
"""

import threading
import time
import urllib.error
import urllib.request

import orjson
import pytest
import uvicorn
from prometheus_client import CollectorRegistry

from streamal.core.pending import PendingItem
from streamal.errors import BrokerError
from streamal.http.app import create_app
from streamal.http.review_routes import ReviewDesk
from streamal.review.store import ReviewStore
from streamal.service.health import Health
from streamal.tools.embedded import free_port

TOKENS = {"token-one-1234": "analyst-1", "token-two-5678": "analyst-2"}


class Recorder:
    def __init__(self):
        self.sent = []
        self.fail = False

    def __call__(self, topic, key, msg):
        if self.fail:
            raise BrokerError("broker unreachable")
        self.sent.append((topic, key, msg))


def item(event_id, reason="uncertainty", score=0.3, queried_at=None):
    return PendingItem(event_id, {"bytes": 512, "proto": "tcp", "vpn": False}, {"source": "ids-7"}, "benign",
                       {"benign": 0.6, "malicious": 0.4}, score, reason, 12,
                       time.time() - 30 if queried_at is None else queried_at)


@pytest.fixture
def review():
    store = ReviewStore(answers_wanted=1, claim_seconds=0.5, undo_seconds=1.0)
    for i, (reason, score) in enumerate([("uncertainty", 0.3), ("uncertainty", 0.45), ("drift", 0.1),
                                          ("random", 0.2)]):
        store.add_item(item(f"e{i}", reason, score))
    rec = Recorder()
    desk = ReviewDesk(store, rec, labels_topic="labels", review_topic="review", tokens=TOKENS)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(Health(), CollectorRegistry(), desk), host="127.0.0.1",
                                          port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", store, rec, desk
    server.should_exit = True
    thread.join(5)


def call(url, method="GET", token="token-one-1234", body=None, raw=None):
    data = raw if raw is not None else (orjson.dumps(body) if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, orjson.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, orjson.loads(e.read() or b"null")


def test_without_a_valid_token_401_and_nothing_changes(review):
    url, store, rec, _ = review
    for token in (None, "wrong-token-000"):
        assert call(url + "/api/review", token=token)[0] == 401
        assert call(url + "/api/review/e0/label", "POST", token=token, body={"label": "x"})[0] == 401
        assert call(url + "/api/review/e0/claim", "POST", token=token)[0] == 401
        assert call(url + "/api/review/stats", token=token)[0] == 401
    assert rec.sent == [] and store.entry("e0").open and store.entry("e0").claimed_by is None
    for probe in ("/healthz", "/metrics"):  # the probes stay open
        with urllib.request.urlopen(url + probe) as r:
            assert r.status == 200


def test_queue_is_most_valuable_first_paged_and_filtered(review):
    url, *_ = review
    status, body = call(url + "/api/review")
    assert status == 200 and body["total"] == 4
    assert [i["event_id"] for i in body["items"]] == ["e2", "e1", "e0", "e3"]  # drift first, then by score
    first = body["items"][0]
    assert first["features"] == {"bytes": 512, "proto": "tcp", "vpn": False} and first["meta"] == {"source": "ids-7"}
    assert first["prediction"] == "benign" and first["proba"]["malicious"] == 0.4 and first["reason"] == "drift"
    assert 25 < first["age_seconds"] < 120
    assert [i["event_id"] for i in call(url + "/api/review?limit=2&offset=1")[1]["items"]] == ["e1", "e0"]
    assert [i["event_id"] for i in call(url + "/api/review?reason=random")[1]["items"]] == ["e3"]
    assert call(url + "/api/review?reason=bogus")[0] == 422
    assert call(url + "/api/review/e1")[1]["event_id"] == "e1"
    assert call(url + "/api/review/nope")[0] == 404


def test_an_answer_is_a_label_message_with_its_audit_trail(review):
    url, store, rec, _ = review
    status, body = call(url + "/api/review/e1/label", "POST", body={"label": "malicious", "annotator": "someone"})
    assert status == 422  # unknown fields are refused: the annotator is the token's, never the client's
    status, body = call(url + "/api/review/e1/label", "POST", body={"label": "malicious"})
    assert status == 200 and body["annotator"] == "analyst-1"
    (topic, key, msg), = rec.sent
    assert topic == "labels" and key == "e1"
    assert msg["label"] == "malicious" and msg["annotator"] == "analyst-1" and msg["labeled_at"].endswith("Z")
    assert msg["model_version_seen"] == 12 and msg["prediction_seen"] == "benign" and msg["answer_id"]
    assert not store.entry("e1").open
    assert "e1" not in [i["event_id"] for i in call(url + "/api/review")[1]["items"]]
    status, body = call(url + "/api/review/e1/label", "POST", token="token-two-5678", body={"label": "benign"})
    assert status == 409 and "already answered" in body["detail"]
    assert call(url + "/api/review/nope/label", "POST", body={"label": "x"})[0] == 404
    assert call(url + "/api/review/e0/label", "POST", raw=b"{not json")[0] == 422
    assert call(url + "/api/review/e0/label", "POST", body={"label": ""})[0] == 422
    assert call(url + "/api/review/e0/label", "POST", body={"label": "   "})[0] == 422
    assert len(rec.sent) == 1


def test_new_labels_are_allowed_unless_the_set_is_fixed(review):
    url, store, rec, desk = review
    assert call(url + "/api/review/e0/label", "POST", body={"label": "brand-new-class"})[0] == 200
    assert "brand-new-class" in call(url + "/api/me")[1]["classes"]
    desk.allowed_labels = ["benign", "malicious"]
    status, body = call(url + "/api/review/e1/label", "POST", body={"label": "other"})
    assert status == 400 and "not allowed" in body["detail"]
    assert call(url + "/api/me")[1]["classes"] == ["benign", "malicious"]
    assert len(rec.sent) == 1


def test_claims_keep_others_off_and_expire(review):
    url, store, rec, _ = review
    status, body = call(url + "/api/review/e0/claim", "POST")
    assert status == 200 and body["claimed_by"] == "analyst-1"
    other = "token-two-5678"
    assert call(url + "/api/review/e0/claim", "POST", token=other)[0] == 409
    assert call(url + "/api/review/e0/label", "POST", token=other, body={"label": "benign"})[0] == 409
    assert call(url + "/api/review/e0/release", "POST", token=other)[0] == 409
    assert call(url + "/api/review/e0/release", "POST")[0] == 200
    assert call(url + "/api/review/e0/claim", "POST", token=other)[0] == 200
    time.sleep(0.7)  # the claim of 0.5 s runs out: really released
    assert call(url + "/api/review/e0")[1]["claimed_by"] is None
    assert call(url + "/api/review/e0/claim", "POST")[0] == 200
    assert call(url + "/api/review/nope/claim", "POST")[0] == 404


def test_skip_requeues_for_others_or_drops_for_everyone(review):
    url, store, rec, _ = review
    assert call(url + "/api/review/e0/skip", "POST", body={"requeue": True})[0] == 200
    mine = [i["event_id"] for i in call(url + "/api/review?mine=true")[1]["items"]]
    theirs = [i["event_id"] for i in call(url + "/api/review?mine=true", token="token-two-5678")[1]["items"]]
    assert "e0" not in mine and "e0" in theirs
    assert call(url + "/api/review/e3/skip", "POST", body={"requeue": False})[0] == 200
    (topic, key, msg), = rec.sent
    assert topic == "review" and msg == {"event_id": "e3", "status": "dropped", "annotator": "analyst-1",
                                         "at": msg["at"]}
    assert "e3" not in [i["event_id"] for i in call(url + "/api/review", token="token-two-5678")[1]["items"]]
    assert call(url + "/api/review/e3/label", "POST", token="token-two-5678", body={"label": "x"})[0] == 409


def test_undo_within_the_window_reopens_the_item(review):
    url, store, rec, _ = review
    call(url + "/api/review/e0/label", "POST", body={"label": "malicious"})
    answer_id = rec.sent[-1][2]["answer_id"]
    assert call(url + "/api/me")[1]["undoable"] == "e0"
    assert call(url + "/api/review/e0/undo", "POST", token="token-two-5678")[0] == 409  # not theirs
    status, body = call(url + "/api/review/e0/undo", "POST")
    assert status == 200 and body["undone"] == answer_id
    topic, _, msg = rec.sent[-1]
    assert topic == "labels" and msg["retracts"] == answer_id and msg["annotator"] == "analyst-1"
    assert store.entry("e0").open
    call(url + "/api/review/e0/label", "POST", body={"label": "benign"})
    time.sleep(1.2)  # past the undo window of 1 s
    status, body = call(url + "/api/review/e0/undo", "POST")
    assert status == 409 and "undo window" in body["detail"]


def test_stats_and_agreement_between_annotators(review):
    url, store, rec, _ = review
    store.answers_wanted = 2
    for event_id, one, two in [("e0", "malicious", "malicious"), ("e1", "benign", "benign"),
                               ("e2", "malicious", "benign")]:
        assert call(url + f"/api/review/{event_id}/label", "POST", body={"label": one})[0] == 200
        two_says = call(url + f"/api/review/{event_id}/label", "POST", token="token-two-5678", body={"label": two})
        assert two_says[0] == 200
    status, stats = call(url + "/api/review/stats")
    assert status == 200
    assert stats["answered"] == 3 and stats["open"] == 1 and stats["open_by_reason"] == {"random": 1}
    assert stats["by_annotator"] == {"analyst-1": 3, "analyst-2": 3}
    assert 25 < stats["median_answer_seconds"] < 120
    assert stats["agreement"]["analyst-1"] == 1.0  # ties go to the first answer
    assert stats["agreement"]["analyst-2"] == pytest.approx(2 / 3)
    assert stats["fleiss_kappa"] is not None and stats["fleiss_kappa"] < 1
    assert stats["cohen_kappa"]["analyst-1|analyst-2"] == pytest.approx(0.4)


def test_a_broker_failure_is_a_503_and_records_nothing(review):
    url, store, rec, _ = review
    rec.fail = True
    status, body = call(url + "/api/review/e0/label", "POST", body={"label": "benign"})
    assert status == 503 and "nothing was recorded" in body["detail"]
    assert store.entry("e0").open


def test_the_page_and_its_assets_are_served_and_documented(review):
    url, *_ = review
    with urllib.request.urlopen(url + "/") as r:
        html = r.read().decode()
    assert "streamal" in html and "/static/app.js" in html
    for asset in ("/static/app.js", "/static/style.css"):
        with urllib.request.urlopen(url + asset) as r:
            assert r.status == 200 and len(r.read()) > 1000
    with urllib.request.urlopen(url + "/openapi.json") as r:
        paths = orjson.loads(r.read())["paths"]
    for path in ("/api/review", "/api/review/{event_id}/label", "/api/review/{event_id}/claim",
                 "/api/review/{event_id}/release", "/api/review/{event_id}/skip", "/api/review/{event_id}/undo",
                 "/api/review/stats"):
        assert path in paths
