"""The review API in process (FastAPI's test client): every endpoint, auth and error.

Publishing is the one injected part here: a recorder stands in for Kafka's
acknowledged send, so each test can see exactly which messages an answer
wrote; time is a clock the tests move. tests/integration/test_review_page.py
runs the same API against a real broker and a real browser.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from streamal.config import parse_tokens
from streamal.core.pending import PendingItem
from streamal.errors import BrokerError
from streamal.http.app import create_app
from streamal.http.desk import ReviewDesk
from streamal.review.store import ReviewStore
from streamal.service.health import Health

TOKENS = parse_tokens("analyst-1:token-one-1234,analyst-2:token-two-5678,analyst-3:token-three-9012")
NOW = 1_800_000_000.0


class Clock:
    """Time the test moves by hand."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []
        self.fail = False

    def __call__(self, topic: str, key: str, msg: dict[str, Any]) -> None:
        if self.fail:
            raise BrokerError("broker unreachable")
        self.sent.append((topic, key, msg))


def item(event_id: str, reason: str = "uncertainty", score: float = 0.3, queried_at: float = NOW - 30) -> PendingItem:
    return PendingItem(event_id, {"bytes": 512, "proto": "tcp", "vpn": False}, {"source": "ids-7"}, "benign",
                       {"benign": 0.6, "malicious": 0.4}, score, reason, 12, queried_at)


class Api:
    """The app in process: ``call(path, method, token, body, raw)`` gives ``(status, json)``."""

    def __init__(self, client: TestClient, store: ReviewStore, rec: Recorder, desk: ReviewDesk, clock: Clock) -> None:
        self.client, self.store, self.rec, self.desk, self.clock = client, store, rec, desk, clock

    def call(self, path: str, method: str = "GET", token: str | None = "token-one-1234", body: Any = None,
             raw: bytes | None = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if raw is not None:
            headers["Content-Type"] = "application/json"
        r = self.client.request(method, path, headers=headers, content=raw,
                                json=body if raw is None else None)
        return r.status_code, (orjson.loads(r.content) if r.content else None)


@pytest.fixture
def api() -> Iterator[Api]:
    clock = Clock()
    store = ReviewStore(answers_wanted=1, claim_seconds=0.5, undo_seconds=1.0, clock=clock)
    for i, (reason, score) in enumerate([("uncertainty", 0.3), ("uncertainty", 0.45), ("drift", 0.1),
                                          ("random", 0.2)]):
        store.add_item(item(f"e{i}", reason, score))
    rec = Recorder()
    desk = ReviewDesk(store, rec, labels_topic="labels", review_topic="review", tokens=TOKENS)
    with TestClient(create_app(Health(), CollectorRegistry(), desk)) as client:
        yield Api(client, store, rec, desk, clock)


def test_without_a_valid_token_401_and_nothing_changes(api: Api) -> None:
    store, rec = api.store, api.rec
    for token in (None, "wrong-token-000"):
        assert api.call("/api/review", token=token)[0] == 401
        assert api.call("/api/review/e0/label", "POST", token=token, body={"label": "x"})[0] == 401
        assert api.call("/api/review/e0/claim", "POST", token=token)[0] == 401
        assert api.call("/api/review/stats", token=token)[0] == 401
    assert rec.sent == [] and store.entry("e0").open and store.entry("e0").claimed_by is None
    for probe in ("/healthz", "/metrics"):  # the probes stay open
        assert api.client.get(probe).status_code == 200


def test_queue_is_most_valuable_first_paged_and_filtered(api: Api) -> None:
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
    assert first["key"] is None  # one model: no key
    keyed = item("k1")
    keyed.key = "dmz"
    api.store.add_item(keyed)
    assert api.call("/api/review/k1")[1]["key"] == "dmz"  # a model per kind of event: whose model asked
    assert api.call("/api/review/nope")[0] == 404


def test_an_answer_is_a_label_message_with_its_audit_trail(api: Api) -> None:
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


def test_new_labels_are_allowed_but_make_no_class_until_learned_and_the_order_is_stable(api: Api) -> None:
    rec, desk = api.rec, api.desk
    assert api.call("/api/review/e0/label", "POST", body={"label": "Malicious "})[0] == 200  # a typo
    assert api.call("/api/review/e0/undo", "POST")[0] == 200
    assert api.call("/api/me")[1]["classes"] == ["benign", "malicious"]  # learned ones only, sorted
    desk.allowed_labels = ["malicious", "benign"]
    status, body = api.call("/api/review/e1/label", "POST", body={"label": "other"})
    assert status == 400 and "not allowed" in body["detail"]
    assert api.call("/api/me")[1]["classes"] == ["malicious", "benign"]  # configured: in the configured order
    assert len(rec.sent) == 2


def test_claims_keep_others_off_and_expire(api: Api) -> None:
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


def test_next_pulls_the_most_useful_open_item_decided_when_asked_and_claims_it(api: Api) -> None:
    status, body = api.call("/api/review/next")
    assert status == 200 and body["event_id"] == "e2" and body["claimed_by"] == "analyst-1"  # drift first
    assert api.call("/api/review/next")[1]["event_id"] == "e2"  # asked again: what you hold
    other = "token-two-5678"
    assert api.call("/api/review/next", token=other)[1]["event_id"] == "e1"  # not the one held by analyst-1
    api.store.set_utility("e0", 0.9)  # the pool re-ranked e0: worth more now than e1
    api.call("/api/review/e1/release", "POST", token=other)
    status, body = api.call("/api/review/next", token=other)
    assert body["event_id"] == "e0" and body["utility"] == 0.9 and body["score"] == 0.3
    api.store.apply_withdraw("e1", "the model is sure of it now")
    for event_id in ("e0", "e2", "e3"):
        api.store.apply_drop(event_id)
    assert api.call("/api/review/next") == (204, None)
    assert api.call("/api/review/next", token=None)[0] == 401


def test_skip_requeues_for_others_or_drops_for_everyone(api: Api) -> None:
    rec = api.rec
    assert api.call("/api/review/e0/skip", "POST", body={"requeue": True})[0] == 200
    mine = [i["event_id"] for i in api.call("/api/review?mine=true")[1]["items"]]
    theirs = [i["event_id"] for i in api.call("/api/review?mine=true", token="token-two-5678")[1]["items"]]
    assert "e0" not in mine and "e0" in theirs
    assert api.call("/api/review/e3/skip", "POST", body={"requeue": False})[0] == 200
    (topic, _, msg), = rec.sent
    assert topic == "review" and msg == {"event_id": "e3", "status": "dropped", "annotator": "analyst-1",
                                         "at": msg["at"]}
    assert "e3" not in [i["event_id"] for i in api.call("/api/review", token="token-two-5678")[1]["items"]]
    assert api.call("/api/review/e3/label", "POST", token="token-two-5678", body={"label": "x"})[0] == 409


def test_undo_within_the_window_reopens_the_item(api: Api) -> None:
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


def test_stats_and_agreement_between_annotators(api: Api) -> None:
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


def test_a_broker_failure_is_a_503_and_records_nothing(api: Api) -> None:
    store, rec = api.store, api.rec
    rec.fail = True
    status, body = api.call("/api/review/e0/label", "POST", body={"label": "benign"})
    assert status == 503 and "nothing was recorded" in body["detail"]
    assert store.entry("e0").open


def test_the_page_and_its_assets_are_served_and_documented(api: Api) -> None:
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


def test_many_concurrent_answers_from_one_analyst_count_once(api: Api) -> None:
    import concurrent.futures

    api.store.answers_wanted = 2
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: api.call("/api/review/e0/label", "POST", body={"label": "benign"})[0],
                              range(8)))
    assert codes.count(200) == 1 and codes.count(409) == 7
    entry = api.store.entry("e0")
    assert len(entry.live_answers()) == 1 and entry.open  # one analyst cannot fill a quorum of two alone
    assert len([m for t, _, m in api.rec.sent if t == "labels"]) == 1


def test_concurrent_answers_from_several_analysts_fill_the_quorum_once_each(api: Api) -> None:
    import concurrent.futures

    api.store.answers_wanted = 2
    tokens = ["token-one-1234", "token-two-5678"] * 6
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        codes = list(pool.map(lambda t: api.call("/api/review/e1/label", "POST", token=t,
                                                 body={"label": "malicious"})[0], tokens))
    assert codes.count(200) == 2
    entry = api.store.entry("e1")
    assert sorted(a.annotator for a in entry.live_answers()) == ["analyst-1", "analyst-2"]
    assert entry.agreed == "malicious"


def test_three_analysts_racing_for_a_quorum_of_two_are_accepted_twice(api: Api) -> None:
    """Answers on their way count towards the quorum: the third analyst is told the item is taken care of.

    Kafka's acknowledgement is slow here (all three requests are publishing at
    once), the case where counting only recorded answers let all three through.
    """
    import concurrent.futures
    import threading

    api.store.answers_wanted = 2
    publishing = threading.Barrier(2, timeout=5)
    slow = api.rec.__call__

    def publish(topic: str, key: str, msg: dict[str, Any]) -> None:
        try:
            publishing.wait()  # two answers in flight together: the third arrives meanwhile
        except threading.BrokenBarrierError:
            pass
        slow(topic, key, msg)

    api.desk.publish = publish
    tokens = ["token-one-1234", "token-two-5678", "token-three-9012"]
    for i in range(10):
        event_id = f"race-{i}"
        api.store.add_item(item(event_id))
        publishing.reset()
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            codes = list(pool.map(lambda t, e=event_id: api.call(f"/api/review/{e}/label", "POST", token=t,
                                                                  body={"label": "malicious"})[0], tokens))
        assert sorted(codes) == [200, 200, 409], (event_id, codes)
        assert len(api.store.entry(event_id).live_answers()) == 2
    assert sum(m["event_id"].startswith("race-") for _, _, m in api.rec.sent) == 20


def test_what_the_store_hands_out_is_a_copy_the_loop_cannot_change_underneath(api: Api) -> None:
    before = api.store.entry("e0")
    api.store.apply_answer("e0", "benign", "analyst-2", answer_id="x")
    assert before.open and before.answers == () and not api.store.entry("e0").open
    with pytest.raises(AttributeError):
        before.agreed = "benign"  # type: ignore[misc]


def test_the_labels_topic_decides_between_two_replicas_answers_of_one_analyst(api: Api) -> None:
    store = api.store
    store.record_local("e2", "benign", "analyst-1", answer_id="local-1", at=1.0)  # given on this replica
    # another replica published first: its message is the one the topic shows first
    assert store.apply_answer("e2", "malicious", "analyst-1", answer_id="remote-1", at=0.5)
    assert not store.apply_answer("e2", "benign", "analyst-1", answer_id="local-1", at=1.0)
    [only] = store.entry("e2").live_answers()
    assert (only.answer_id, only.label, only.tentative) == ("remote-1", "malicious", False)


def test_a_failed_publish_leaves_the_analyst_free_to_answer_again(api: Api) -> None:
    api.rec.fail = True
    assert api.call("/api/review/e0/label", "POST", body={"label": "benign"})[0] == 503
    api.rec.fail = False
    assert api.call("/api/review/e0/label", "POST", body={"label": "benign"})[0] == 200


def test_a_drop_respects_another_analysts_claim(api: Api) -> None:
    assert api.call("/api/review/e0/claim", "POST")[0] == 200
    status, body = api.call("/api/review/e0/skip", "POST", token="token-two-5678", body={"requeue": False})
    assert status == 409 and "claimed by analyst-1" in body["detail"]
    assert not api.store.entry("e0").dropped and api.rec.sent == []


def test_a_comment_travels_with_the_answer(api: Api) -> None:
    body = {"label": "malicious", "comment": "beaconing every 60 s to a fresh domain"}
    assert api.call("/api/review/e0/label", "POST", body=body)[0] == 200
    [(_, _, msg)] = api.rec.sent
    assert msg["comment"] == "beaconing every 60 s to a fresh domain"
    too_long = {"label": "malicious", "comment": "x" * 5000}
    assert api.call("/api/review/e1/label", "POST", body=too_long)[0] == 422


def test_a_body_over_the_limit_is_refused_before_it_is_read(api: Api) -> None:
    big = b'{"label": "' + b"x" * 200_000 + b'"}'
    r = api.client.post("/api/review/e0/label", content=big,
                        headers={"Authorization": "Bearer token-one-1234", "Content-Type": "application/json"})
    assert r.status_code == 413 and "over the limit" in r.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the body streams in, and is cut off as it goes over
        for _ in range(100):
            yield b"x" * 10_000

    r = api.client.post("/api/review/e0/label", content=chunks(),
                        headers={"Authorization": "Bearer token-one-1234", "Content-Type": "application/json"})
    assert r.status_code == 413
    assert api.rec.sent == []


def test_validation_errors_never_echo_the_input(api: Api) -> None:
    secret_ish = "A" * 50_000
    r = api.client.post("/api/review/e0/label", json={"label": 5, "extra": secret_ish},
                        headers={"Authorization": "Bearer token-one-1234"})
    assert r.status_code == 422
    assert secret_ish[:100] not in r.text and len(r.content) < 2000
    assert {"loc", "msg", "type"} <= set(r.json()["detail"][0])


def test_security_headers_on_every_response(api: Api) -> None:
    for path, token in [("/", None), ("/static/app.js", None), ("/api/review", "token-one-1234"),
                        ("/api/review", "wrong-token-0000"), ("/healthz", None), ("/docs", None), ("/nowhere", None)]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        r = api.client.get(path, headers=headers)
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"], path
        assert "script-src 'self';" in r.headers["content-security-policy"], path
        assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
    assert api.client.get("/api/review", headers={"Authorization": "Bearer token-one-1234"}).headers[
        "cache-control"] == "no-store"


def test_the_docs_work_offline_with_swagger_ui_from_a_python_package(api: Api) -> None:
    import re

    html = api.client.get("/docs").text
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/") for s in sources)  # nothing from another origin
    for source in sources:
        assert api.client.get(source).status_code == 200, source
    assert "<script>" not in html  # no inline script: the CSP stays strict


def test_tokens_are_checked_in_constant_time_over_every_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    import hmac

    from streamal.config import digest

    book = parse_tokens(f"analyst-1:first-token-1,analyst-2:sha256:{digest('second-token-2')},analyst-3:third-tok-3")
    calls: list[int] = []
    real = hmac.compare_digest

    def counted(a: bytes, b: bytes) -> bool:
        calls.append(1)
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counted)
    assert book.who("first-token-1") == "analyst-1" and len(calls) == 3  # no early exit on the first match
    assert book.who("second-token-2") == "analyst-2" and book.who("nope-nope") is None
    assert len(calls) == 9


# -- the analyst's day: claims in the queue, reasons, changes of answer, export, guidelines -------------------


def test_available_hides_what_another_analyst_holds_and_items_say_why_they_were_asked(api: Api) -> None:
    assert api.call("/api/review/e2/claim", "POST", token="token-two-5678")[0] == 200
    _, everyone = api.call("/api/review?mine=true")
    held = next(i for i in everyone["items"] if i["event_id"] == "e2")
    assert held["claimed_by"] == "analyst-2"  # visible in the queue
    _, free = api.call("/api/review?available=true")
    assert "e2" not in [i["event_id"] for i in free["items"]] and free["total"] == 3
    _, own = api.call("/api/review?available=true", token="token-two-5678")
    assert "e2" in [i["event_id"] for i in own["items"]]  # the holder still sees it
    phrases = {i["reason"]: i["reason_text"] for i in everyone["items"]}
    assert phrases["drift"].startswith("Asked after a drift alarm")
    assert phrases["random"].startswith("A random audit sample")


def test_a_change_of_answer_after_the_undo_window_is_a_correcting_label(api: Api) -> None:
    assert api.call("/api/review/e0/label", "POST", body={"label": "benign"})[0] == 200
    first = api.rec.sent[-1][2]
    status, body = api.call("/api/review/e0/correct", "POST", body={"label": "malicious"})
    assert status == 409 and "undo it" in body["detail"]  # still undoable: undo is the way
    api.clock.now += 5
    assert api.call("/api/review/e0/correct", "POST", body={"label": "benign"})[0] == 400  # no change
    status, body = api.call("/api/review/e0/correct", "POST",
                            body={"label": "malicious", "comment": "the payload is a known exploit"})
    assert status == 200
    topic, key, msg = api.rec.sent[-1]
    assert (topic, key, msg["label"], msg["corrects"], msg["comment"]) == (
        "labels", "e0", "malicious", first["answer_id"], "the payload is a known exploit")
    assert api.call("/api/review/e0/correct", "POST", token="token-two-5678",
                    body={"label": "benign"})[0] == 409  # only your own answers


def test_my_answers_and_the_export_for_auditors(api: Api) -> None:
    api.call("/api/review/e0/label", "POST", body={"label": "benign", "comment": "=HYPERLINK(\"x\")"})
    api.call("/api/review/e1/label", "POST", token="token-two-5678", body={"label": "malicious"})
    _, mine = api.call("/api/review/answers?mine=true")
    assert [(a["event_id"], a["label"], a["can_undo"]) for a in mine["answers"]] == [("e0", "benign", True)]
    _, every = api.call("/api/review/answers")
    assert {a["annotator"] for a in every["answers"]} == {"analyst-1", "analyst-2"}

    r = api.client.get("/api/review/answers?format=jsonl", headers={"Authorization": "Bearer token-one-1234"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    assert "attachment" in r.headers["content-disposition"]
    assert sorted(orjson.loads(line)["event_id"] for line in r.content.splitlines()) == ["e0", "e1"]

    r = api.client.get("/api/review/answers?format=csv", headers={"Authorization": "Bearer token-one-1234"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = r.text.splitlines()
    assert lines[0].startswith("event_id,answer_id,annotator,label,answered_at,comment")
    assert "'=HYPERLINK" in r.text  # a formula is neutralised for spreadsheets
    assert api.client.get("/api/review/answers?format=xml",
                          headers={"Authorization": "Bearer token-one-1234"}).status_code == 422
    assert api.client.get("/api/review/answers?format=csv").status_code == 401


def test_guidelines_are_rendered_without_raw_html() -> None:
    from streamal.review.guidelines import render_guidelines

    store = ReviewStore(clock=Clock())
    html = render_guidelines("# Rules\n\n<img src=x onerror=alert(1)> [x](javascript:alert(1))")
    desk = ReviewDesk(store, Recorder(), labels_topic="l", review_topic="r", tokens=TOKENS, guidelines_html=html)
    with TestClient(create_app(Health(), CollectorRegistry(), desk)) as client:
        body = client.get("/api/review/guidelines", headers={"Authorization": "Bearer token-one-1234"}).json()
    assert body["html"].startswith("<h1>Rules</h1>")
    assert "<img" not in body["html"] and 'href="javascript:' not in body["html"]


def test_a_missing_guidelines_file_fails_at_start_naming_the_setting(tmp_path: Path) -> None:
    from streamal.config import load_settings
    from streamal.errors import ConfigError

    with pytest.raises(ConfigError, match="STREAMAL_REVIEW_GUIDELINES: cannot read"):
        load_settings({"review_guidelines": str(tmp_path / "none.md")})
