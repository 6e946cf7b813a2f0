import base64

import orjson
import pytest

from streamal.errors import InvalidEvent, InvalidLabel
from streamal.wire.messages import dead_letter, parse_event, parse_label


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"features": {"a": 1}}', "'id' is required"),
        (b'{"id": "e", "features": [1]}', "'features' is required and must be an object"),
        (b'{"id": "e", "features": {"a": {"b": 1}}}', "feature 'a' is an object"),
        (b'{"id": "e", "features": {"a": [1]}}', "feature 'a' is a list"),
        (b'{"id": "e", "features": {"a": 1}, "meta": 3}', "'meta' must be an object"),
        (b'{"id": "", "features": {}}', "'id' must have"),
        (b'{"id": "e", "features": {"a": 1}, "label": ""}', "'label' must have"),
    ],
)
def test_invalid_events_say_why(raw, reason):
    with pytest.raises(InvalidEvent, match=reason):
        parse_event(raw)


def test_limits_on_size_and_feature_count():
    big = orjson.dumps({"id": "e", "features": {f"f{i}": i for i in range(20)}})
    with pytest.raises(InvalidEvent, match="20 features is over the limit of 10"):
        parse_event(big, max_features=10)
    with pytest.raises(InvalidEvent, match="over the limit of 64"):
        parse_event(big, max_bytes=64)


def test_valid_event_keeps_meta_and_label():
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
def test_invalid_labels(raw):
    with pytest.raises(InvalidLabel):
        parse_label(raw)


def test_dead_letter_keeps_the_bytes():
    dl = dead_letter(b"\xff\xfe", "t", 0, 5, "not valid JSON")
    assert dl["encoding"] == "base64" and base64.b64decode(dl["value"]) == b"\xff\xfe"
    assert dead_letter(b"{oops", "t", 1, 2, "bad")["value"] == "{oops"
