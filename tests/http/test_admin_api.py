"""The admin API in process: no tokens no API, its own tokens, control messages on the labels topic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from streamal.config import load_settings, parse_tokens
from streamal.core.config import LearnerConfig
from streamal.core.learner import Learner
from streamal.errors import BrokerError, ConfigError
from streamal.http.admin import AdminDesk
from streamal.http.app import create_app
from streamal.http.desk import ReviewDesk
from streamal.review.store import ReviewStore
from streamal.service.health import Health
from streamal.service.versions import ModelVersions
from streamal.wire.labels import Control, parse_label_message

ADMIN = "admin-token-123456"


def app(tmp_path: Path, tokens: str = f"sre:{ADMIN}",
        fail: bool = False) -> tuple[TestClient, list[tuple[str, str, dict[str, Any]]]]:
    sent: list[tuple[str, str, dict[str, Any]]] = []

    def publish(topic: str, key: str, msg: dict[str, Any]) -> None:
        if fail:
            raise BrokerError("broker unreachable")
        sent.append((topic, key, msg))

    learner = Learner(LearnerConfig(model="linear", seed_size=0))
    learner.warm([({"x": 1.0}, "a"), ({"x": -1.0}, "b")])
    versions = ModelVersions(tmp_path, every=0)
    versions.snapshot(learner, why="test")
    desk = ReviewDesk(ReviewStore(), publish, labels_topic="labels", review_topic="review",
                      tokens=parse_tokens("analyst:review-token-1234"))
    admin = AdminDesk(parse_tokens(tokens), versions, lambda: learner.model_version, publish, "labels", lambda: 5.0)
    return TestClient(create_app(Health(), CollectorRegistry(), desk, admin=admin)), sent


def call(client: TestClient, method: str, path: str, token: str | None = ADMIN,
         body: dict[str, Any] | None = None) -> tuple[int, Any]:
    r = client.request(method, path, headers={"Authorization": f"Bearer {token}"} if token else {}, json=body)
    return r.status_code, (orjson.loads(r.content) if r.content else None)


def test_without_admin_tokens_there_is_no_admin_api(tmp_path: Path) -> None:
    client, _ = app(tmp_path, tokens="")
    assert call(client, "GET", "/api/admin/model/versions")[0] == 404
    assert call(client, "POST", "/api/admin/model/rollback", body={"version": 2})[0] == 404


def test_only_an_admin_token_opens_it_and_a_review_token_does_not(tmp_path: Path) -> None:
    client, sent = app(tmp_path)
    for token in (None, "wrong", "review-token-1234"):
        assert call(client, "GET", "/api/admin/model/versions", token=token)[0] == 401
        assert call(client, "POST", "/api/admin/model/snapshot", token=token)[0] == 401
    assert sent == []
    status, body = call(client, "GET", "/api/admin/model/versions")
    assert status == 200 and body["model_version"] == 2 and [s["version"] for s in body["snapshots"]] == [2]


def test_a_rollback_is_a_control_message_on_the_labels_topic_every_replica_reads(tmp_path: Path) -> None:
    client, sent = app(tmp_path)
    status, body = call(client, "POST", "/api/admin/model/rollback", body={"version": 2, "replay_labels": False})
    assert status == 202 and body["action"] == "rollback"
    [(topic, key, msg)] = sent
    assert topic == "labels" and key == body["control_id"]
    control = parse_label_message(orjson.dumps(msg))
    assert control == Control("rollback", body["control_id"], "sre", 5.0, 2, False)
    assert call(client, "POST", "/api/admin/model/rollback", body={"version": 7})[1]["detail"] == (
        "no snapshot of model version 7; kept: 2")
    assert call(client, "POST", "/api/admin/model/rollback", body={"version": -1})[0] == 422
    assert call(client, "POST", "/api/admin/model/snapshot")[0] == 202 and sent[-1][2]["control"] == "snapshot"


def test_a_rebuild_without_an_annotator_is_a_control_message_too(tmp_path: Path) -> None:
    client, sent = app(tmp_path)
    status, _ = call(client, "POST", "/api/admin/model/rebuild", body={"annotator": "careless", "since": 60.0})
    assert status == 202
    control = parse_label_message(orjson.dumps(sent[-1][2]))
    assert isinstance(control, Control)
    assert (control.action, control.annotator, control.since, control.answers) == ("rebuild", "careless", 60.0, ())
    assert call(client, "POST", "/api/admin/model/rebuild", body={})[0] == 422  # nothing to leave out


def test_promote_without_a_challenger_is_refused(tmp_path: Path) -> None:
    client, sent = app(tmp_path)
    status, body = call(client, "POST", "/api/admin/model/promote")
    assert status == 409 and "STREAMAL_CHALLENGER_MODEL" in body["detail"] and sent == []


def test_kafka_away_means_nothing_changed_and_a_clear_503(tmp_path: Path) -> None:
    client, _ = app(tmp_path, fail=True)
    status, body = call(client, "POST", "/api/admin/model/snapshot")
    assert status == 503 and "nothing changed" in body["detail"]


def test_history_is_served(tmp_path: Path) -> None:
    client, _ = app(tmp_path)
    status, body = call(client, "GET", "/api/admin/model/history")
    assert status == 200 and body["history"][0]["control"] == "snapshot"


def test_an_admin_token_that_is_also_a_review_token_fails_at_start() -> None:
    with pytest.raises(ConfigError, match="STREAMAL_ADMIN_TOKENS: a token is also a review token"):
        load_settings({"review_tokens": "analyst:same-token-1234", "admin_tokens": "sre:same-token-1234"})


@pytest.mark.parametrize("raw", [
    b'{"control": "explode", "id": "c"}', b'{"control": "rollback", "id": "c"}',
    b'{"control": "rollback", "id": "c", "version": "3"}', b'{"control": "rollback", "id": "c", "version": true}',
    b'{"control": "snapshot"}', b'{"control": "rollback", "id": "c", "version": 3, "replay_labels": "no"}',
    b'{"control": "rebuild", "id": "c"}', b'{"control": "rebuild", "id": "c", "annotator": 3}',
    b'{"control": "rebuild", "id": "c", "annotator": "x", "since": "yesterday"}',
    b'{"control": "rebuild", "id": "c", "answers": "a1"}',
])
def test_a_malformed_control_message_is_refused_with_its_reason(raw: bytes) -> None:
    from streamal.errors import InvalidLabel

    with pytest.raises(InvalidLabel):
        parse_label_message(raw)
