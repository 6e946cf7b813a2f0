import base64
from typing import Any

import orjson
import pytest

from streamal.errors import InvalidEvent, InvalidLabel, InvalidReviewItem, OutputTooLarge
from streamal.wire.labels import Correction, ExternalLabel, Retraction, ReviewAnswer, parse_label, parse_label_message
from streamal.wire.messages import MAX_ABS_NUMBER, parse_event
from streamal.wire.outputs import dead_letter, fit
from streamal.wire.review import Dropped, Withdrawn, dropped_message, parse_review_message


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"features": {"a": 1}}', "'id' is required"),
        (b'{"id": "e", "features": [1]}', "'features' is required and must be an object"),
        (b'{"id": "e", "features": {"a": {"b": {"c": {"d": {"e": 1}}}}}}', "'a.b.c.d' nests deeper than 4 levels"),
        (b'{"id": "e", "features": {"a": {"b": [1, {"c": 1e200}]}}}', "feature 'a.b.1.c' is beyond"),
        (b'{"id": "e", "features": {"a": 1}, "meta": 3}', "'meta' must be an object"),
        (b'{"id": "", "features": {}}', "'id' must have"),
        (b'{"id": "e", "features": {"a": 1}, "label": ""}', "'label' must have"),
    ],
)
def test_invalid_events_say_why(raw: bytes, reason: str) -> None:
    with pytest.raises(InvalidEvent, match=reason):
        parse_event(raw)


def test_limits_on_size_and_feature_count() -> None:
    big = orjson.dumps({"id": "e", "features": {f"f{i}": i for i in range(20)}})
    with pytest.raises(InvalidEvent, match="20 features is over the limit of 10"):
        parse_event(big, max_features=10)
    with pytest.raises(InvalidEvent, match="over the limit of 64"):
        parse_event(big, max_bytes=64)


def test_valid_event_keeps_meta_and_label() -> None:
    e = parse_event(b'{"id": 7, "features": {"a": null, "b": 1.5}, "meta": {"src": "x"}, "label": "bad"}')
    assert (e.id, e.features, e.meta, e.label) == ("7", {"a": None, "b": 1.5}, {"src": "x"}, "bad")


@pytest.mark.parametrize(
    "raw",
    [
        b"{}",
        b'{"event_id": "e"}',
        b'{"event_id": "e", "label": ["x"]}',
        b'{"event_id": "e", "label": "a", "annotator": 3}',
    ],
)
def test_invalid_labels(raw: bytes) -> None:
    with pytest.raises(InvalidLabel):
        parse_label(raw)


def test_dead_letter_keeps_the_bytes_that_fit() -> None:
    dl = orjson.loads(dead_letter(b"\xff\xfe", "t", 0, 5, "not valid JSON", "not_json", limit=10_000))
    assert dl["encoding"] == "base64" and base64.b64decode(dl["value"]) == b"\xff\xfe"
    assert dl["size"] == 2 and dl["truncated"] is False and len(dl["sha256"]) == 64
    dl = orjson.loads(dead_letter(b"{oops", "t", 1, 2, "bad", "not_json", limit=10_000))
    assert dl["value"] == "{oops" and (dl["topic"], dl["partition"], dl["offset"]) == ("t", 1, 2)


@pytest.mark.parametrize("raw", [
    b"\xff" * 800_000,                       # invalid UTF-8: base64 grows it by a third
    b"\x00" * 200_000,                       # NUL bytes: each becomes \u0000 in JSON
    b'{"id": "x", "features": {"a": "' + "é".encode() * 600_000 + b'"}}',
])
def test_a_dead_letter_too_large_is_cut_to_fit_and_says_so(raw: Any) -> None:
    import hashlib

    limit = 1_000_000
    data = dead_letter(raw, "events", 3, 99, "too large", "too_large", limit=limit)
    assert len(data) <= limit
    dl = orjson.loads(data)
    assert dl["truncated"] is True and dl["size"] == len(raw)
    assert dl["sha256"] == hashlib.sha256(raw).hexdigest()
    assert (dl["topic"], dl["partition"], dl["offset"], dl["reason"]) == ("events", 3, 99, "too_large")
    prefix = base64.b64decode(dl["value"]) if dl["encoding"] == "base64" else dl["value"].encode()
    assert raw.startswith(prefix) and len(prefix) > 100_000


def test_review_items_trim_meta_then_classes_and_say_so() -> None:
    msg = {"event_id": "e", "features": {"x": 1}, "meta": {"blob": "m" * 5000},
           "proba": {f"class-{i}": 1.0 / 500 for i in range(500)}}
    out = orjson.loads(fit(msg, limit=12_000))
    assert out["meta"] is None and out["meta_trimmed"]["bytes"] > 5000
    assert "proba_trimmed" not in out
    out = orjson.loads(fit(msg, limit=3000))
    assert len(out["proba"]) == 50 and out["proba_trimmed"] == {"classes": 500}
    with pytest.raises(OutputTooLarge):
        fit({"event_id": "e", "features": {"x": "y" * 5000}}, limit=3000)


@pytest.mark.parametrize("value", ["1e200", "-1e101", "-1e150"])
def test_numbers_that_would_overflow_the_model_are_invalid(value: str) -> None:
    with pytest.raises(InvalidEvent, match="feature 'a'"):
        parse_event(b'{"id": "e", "features": {"a": ' + value.encode() + b"}}")
    with pytest.raises(InvalidLabel, match="feature 'a'"):
        parse_label(b'{"event_id": "e", "label": "x", "features": {"a": ' + value.encode() + b"}}")
    assert parse_event(b'{"id": "e", "features": {"a": %g}}' % MAX_ABS_NUMBER).features["a"] == MAX_ABS_NUMBER


def test_an_event_whose_features_outgrow_an_output_message_is_refused_before_scoring() -> None:
    # 1e15 is 4 bytes in, 18 bytes out: the re-encoded features do not fit
    raw = b'{"id": "big", "features": {' + b",".join(b'"f%d": 1e15' % i for i in range(20_000)) + b"}}"
    assert len(raw) < 400_000
    with pytest.raises(InvalidEvent, match="re-encoded") as info:
        parse_event(raw, max_features=50_000, max_output_bytes=300_000)
    assert info.value.reason == "too_large"
    assert parse_event(raw, max_features=50_000, max_output_bytes=1_000_000).id == "big"


ZEEK_CONN = {
    "id": "CHhAvVGS1DHFjwGM9", "ts": "2026-11-24T10:00:00Z",
    "features": {
        "id": {"orig_h": "10.0.0.5", "orig_p": 51234, "resp_h": "93.184.216.34", "resp_p": 443},
        "proto": "tcp", "service": "ssl", "duration": 1.25, "orig_bytes": 517, "resp_bytes": 4316,
        "conn_state": "SF", "history": "ShADadFf", "tunnel_parents": [],
        "tags": ["egress", "tls"], "ja3": {"hash": "771,4865-4866", "seen": [3, 9, 27, 81]},
    },
}


def test_a_nested_zeek_like_event_is_flattened_to_dotted_names() -> None:
    event = parse_event(orjson.dumps(ZEEK_CONN))
    x = event.features
    assert x["id.resp_p"] == 443 and x["id.orig_h"] == "10.0.0.5" and x["service"] == "ssl"
    assert x["tunnel_parents.len"] == 0 and x["tags.len"] == 2 and x["tags=egress"] is True and x["tags=tls"] is True
    assert x["ja3.hash"] == "771,4865-4866" and x["ja3.seen.len"] == 4
    assert [x[f"ja3.seen.{i}"] for i in range(3)] == [3, 9, 27] and "ja3.seen.3" not in x
    assert all(isinstance(v, bool | int | float | str) for v in x.values())


def test_flattening_is_bounded() -> None:
    many = {"tags": [f"t{i}" for i in range(100)]}
    assert len(parse_event(orjson.dumps({"id": "e", "features": many})).features) == 1 + 16
    wide = {"o": {f"k{i}": i for i in range(60)}}
    with pytest.raises(InvalidEvent, match="once flattened is over the limit of 50"):
        parse_event(orjson.dumps({"id": "e", "features": wide}), max_features=50)


@pytest.mark.parametrize(("fields", "kind"), [
    ({"source": "review", "answer_id": "a1", "comment": "port 22"}, ReviewAnswer),
    ({"source": "review", "retracts": "a1"}, Retraction),
    ({"source": "review", "answer_id": "a2", "corrects": "a1"}, Correction),
    ({"source": "event", "features": {"x": 1}}, ExternalLabel),
    ({}, ExternalLabel),
])
def test_each_label_message_is_parsed_once_into_its_kind(fields: dict[str, Any], kind: Any) -> None:
    msg = parse_label_message(orjson.dumps({"event_id": "e1", "label": "bad", "annotator": "analyst-1",
                                            "labeled_at": "2026-11-24T10:00:00Z", **fields}))
    assert type(msg) is kind
    if isinstance(msg, ExternalLabel | ReviewAnswer | Correction):
        assert msg.label.labeled_at == 1795514400.0 and msg.label.annotator == "analyst-1"


@pytest.mark.parametrize("raw", [b"[1]", b"{not json", b'{"event_id": 3}', b'{"event_id": "e", "features": 7}',
                                 b'{"event_id": "e", "features": {}, "proba": [1]}',
                                 b'{"event_id": "e", "features": {}, "score": "high"}'])
def test_a_review_topic_message_that_is_no_kind_is_refused_with_its_reason(raw: bytes) -> None:
    with pytest.raises(InvalidReviewItem):
        parse_review_message(raw)


def test_drops_and_withdrawals_on_the_review_topic_are_their_own_kinds() -> None:
    assert parse_review_message(orjson.dumps(dropped_message("e1", "analyst-1", 0.0))) == Dropped("e1", "analyst-1")
    assert parse_review_message(b'{"event_id": "e1", "status": "withdrawn"}') == Withdrawn("e1", "withdrawn")


def test_the_key_of_a_model_per_kind_of_event_travels_on_the_review_item_the_prediction_and_labels() -> None:
    from streamal.core.domain import Event
    from streamal.core.learner import Decision
    from streamal.core.pending import PendingItem
    from streamal.wire.labels import event_label_message
    from streamal.wire.outputs import prediction_message
    from streamal.wire.review import encode, review_item_message

    item = PendingItem("e1", {"x": 1.0}, {"sensor": "dmz"}, "ok", {"ok": 1.0}, 0.5, "uncertainty", 3, None,
                       key="dmz")
    back = parse_review_message(encode(review_item_message(item)))
    assert isinstance(back, PendingItem) and back.key == "dmz"
    no_key = PendingItem("e2", {"x": 1.0}, None, "ok", {"ok": 1.0}, 0.5, "uncertainty", 3, None)
    assert "key" not in review_item_message(no_key)
    assert prediction_message(Decision("e1", "ok", {"ok": 1.0}, None, 3, key=""))["key"] == ""
    assert "key" not in prediction_message(Decision("e1", "ok", {"ok": 1.0}, None, 3))
    label = parse_label(encode(event_label_message(Event("e3", {"x": 1.0}, meta={"sensor": "lan"}, label="bad"),
                                                   0.0)))
    assert label.meta == {"sensor": "lan"} and label.features == {"x": 1.0}
    with pytest.raises(InvalidLabel, match="'meta' must be an object"):
        parse_label(orjson.dumps({"event_id": "e4", "label": "bad", "features": {"x": 1}, "meta": [1]}))
