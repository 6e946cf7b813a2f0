"""Events in: parse and check what comes in, and the pieces every topic's messages share (limits, times).

Label messages are :mod:`streamal.wire.labels`, review-topic messages
:mod:`streamal.wire.review`, and what streamal sends :mod:`streamal.wire.outputs`.

Parsing is strict and cheap (orjson, then a few type checks; no pydantic on the
hot path). Every refusal is an :class:`~streamal.errors.InvalidEvent` or
:class:`~streamal.errors.InvalidLabel` with a one-line reason, which the
service puts on the dead-letter topic or counts.

>>> e = parse_event(b'{"id": "evt-1", "features": {"port": 22, "proto": "tcp", "vpn": true}}')
>>> e.id, e.features
('evt-1', {'port': 22, 'proto': 'tcp', 'vpn': True})
>>> parse_event(b'{"id": "evt-2", "features": {"dst": {"port": 53}, "tags": ["dns"]}}').features
{'dst.port': 53, 'tags.len': 1, 'tags=dns': True}
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import orjson

from streamal.core.domain import Event, FeatureValue
from streamal.errors import InvalidEvent, InvalidMessage

__all__ = [
    "check_features",
    "encode",
    "format_ts",
    "label_value",
    "load_object",
    "parse_event",
    "parse_ts",
    "string_id",
]

MAX_ID_CHARS = 256
MAX_STRING_CHARS = 4096
MAX_LABEL_CHARS = 256
#: Largest magnitude of a numeric feature. River's models square their inputs:
#: past ~1e154 that overflows (an ``OverflowError`` in the trees, NaN weights for
#: good in ``linear``). 1e100 leaves room for sums of squares over any stream.
MAX_ABS_NUMBER = 1e100
#: How deep nested features may go, how many strings of a list become one-hot features, how many other items.
MAX_DEPTH = 4
MAX_LIST_ITEMS = 16
LIST_PREFIX = 3
#: Re-encoding a JSON number can make it longer (``1e15`` -> ``1000000000000000.0``):
#: at most about this many times. Smaller events cannot outgrow an output message.
REENCODE_GROWTH = 5


def encode(obj: Any) -> bytes:
    """Encode a message as UTF-8 JSON (orjson)."""
    return orjson.dumps(obj)


def load_object(raw: bytes, max_bytes: int, err: type[InvalidMessage]) -> dict[str, Any]:
    if raw is None:
        raise err("empty message (no value)", "not_json")
    if len(raw) > max_bytes:
        raise err(f"message of {len(raw)} bytes is over the limit of {max_bytes}", "too_large")
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise err(f"not valid JSON: {exc}", "not_json") from None
    if not isinstance(obj, dict):
        raise err(f"expected a JSON object, got {type(obj).__name__}", "not_object")
    return obj


def string_id(value: Any, name: str, err: type[InvalidMessage]) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise err(f"'{name}' is required and must be a string", "bad_id")
    text = str(value)
    if not text or len(text) > MAX_ID_CHARS:
        raise err(f"'{name}' must have 1 to {MAX_ID_CHARS} characters", "bad_id")
    return text


def _scalar(value: Any, name: str, err: type[InvalidMessage]) -> FeatureValue:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        if not -MAX_ABS_NUMBER <= value <= MAX_ABS_NUMBER:  # NaN fails both comparisons
            what = "not a finite number" if not math.isfinite(value) else f"beyond ±{MAX_ABS_NUMBER:g}"
            raise err(f"feature {name!r} is {what}", "bad_features")
        return value
    if isinstance(value, str):
        if len(value) > MAX_STRING_CHARS:
            raise err(f"feature {name!r} is over {MAX_STRING_CHARS} characters", "bad_features")
        return value
    raise err(f"feature {name!r} is {type(value).__name__}; a feature value must be a number, boolean, string, "
              "null, an object or a list", "bad_features")


def _flatten(value: Any, name: str, depth: int, out: dict[str, FeatureValue],
             err: type[InvalidMessage]) -> None:
    if isinstance(value, dict):
        if depth + 1 >= MAX_DEPTH:  # its keys would make a name of more than MAX_DEPTH parts
            raise err(f"feature {name!r} nests deeper than {MAX_DEPTH} levels", "bad_features")
        for key, inner in value.items():
            _flatten(inner, f"{name}.{key}", depth + 1, out, err)
    elif isinstance(value, list):
        out[f"{name}.len"] = len(value)
        if value and all(isinstance(v, str) for v in value):
            for v in list(dict.fromkeys(value))[:MAX_LIST_ITEMS]:
                _scalar(v, name, err)
                out[f"{name}={v}"] = True
        else:
            for i, v in enumerate(value[:LIST_PREFIX]):
                if depth + 1 >= MAX_DEPTH:
                    raise err(f"feature {name!r} nests deeper than {MAX_DEPTH} levels", "bad_features")
                _flatten(v, f"{name}.{i}", depth + 1, out, err)
    else:
        out[name] = _scalar(value, name, err)


def check_features(
    features: Any,
    max_features: int,
    err: type[InvalidMessage] = InvalidEvent,
) -> dict[str, FeatureValue]:
    """Check ``features`` and flatten what is nested, as real security events are (Zeek, Suricata, ECS).

    * an object becomes dotted names: ``{"src": {"ip": "10.0.0.1"}}`` is ``src.ip``;
    * a list gives its length (``name.len``); a list of strings then gives one
      boolean per distinct value (``name=value``, the first 16), so a set of
      tags becomes one-hot features; any other list gives its first 3 items
      (``name.0``, ``name.1``, ``name.2``), each flattened in turn;
    * at most 4 levels deep, and at most ``max_features`` features once flat.

    >>> check_features({"src": {"ip": "10.0.0.1", "port": 51234}, "tags": ["dns", "scan"], "sizes": [3, 5]}, 50)
    {'src.ip': '10.0.0.1', 'src.port': 51234, 'tags.len': 2, 'tags=dns': True, 'tags=scan': True, \
'sizes.len': 2, 'sizes.0': 3, 'sizes.1': 5}
    """
    if not isinstance(features, dict):
        raise err("'features' is required and must be an object", "bad_features")
    if len(features) > max_features:
        raise err(f"{len(features)} features is over the limit of {max_features}", "bad_features")
    if all(v is None or isinstance(v, bool | int | float | str) for v in features.values()):
        for name, value in features.items():  # flat already: the common case, checked in place
            _scalar(value, name, err)
        return features
    out: dict[str, FeatureValue] = {}
    for name, value in features.items():
        _flatten(value, name, 0, out, err)
    if len(out) > max_features:
        raise err(f"{len(out)} features once flattened is over the limit of {max_features}", "bad_features")
    return out


def label_value(value: Any, err: type[InvalidMessage]) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise err("'label' must be a string")
    text = str(value)
    if not text.strip() or len(text) > MAX_LABEL_CHARS:
        raise err(f"'label' must have 1 to {MAX_LABEL_CHARS} characters")
    return text


def parse_event(
    raw: bytes, *, max_bytes: int = 1_048_576, max_features: int = 1000, max_output_bytes: int | None = None,
) -> Event:
    """Parse and check one event message; raise :class:`InvalidEvent` with the reason.

    With ``max_output_bytes``, the features must also fit, re-encoded, in one
    output message (a review item carries them to every replica):

    >>> parse_event(b'{"id": "e", "features": {"a": 1e15, "b": 1e15}}', max_output_bytes=40)
    Traceback (most recent call last):
    ...
    streamal.errors.InvalidEvent: the features take 47 bytes once re-encoded, over the 40 an output message may take
    """
    obj = load_object(raw, max_bytes, InvalidEvent)
    event_id = string_id(obj.get("id"), "id", InvalidEvent)
    features = check_features(obj.get("features"), max_features)
    if max_output_bytes is not None and len(raw) * REENCODE_GROWTH > max_output_bytes:
        size = len(orjson.dumps(features))
        if size > max_output_bytes:
            raise InvalidEvent(
                f"the features take {size} bytes once re-encoded, over the {max_output_bytes} "
                "an output message may take", "too_large")
    ts = obj.get("ts")
    if ts is not None and not isinstance(ts, str):
        raise InvalidEvent("'ts' must be an ISO 8601 string")
    meta = obj.get("meta")
    if meta is not None and not isinstance(meta, dict):
        raise InvalidEvent("'meta' must be an object")
    label = obj.get("label")
    if label is not None:
        label = label_value(label, InvalidEvent)
    return Event(id=event_id, features=features, ts=parse_ts(ts), meta=meta, label=label)


def parse_ts(text: str | None) -> float | None:
    """Seconds since the epoch of an ISO 8601 time, or ``None`` if absent or unreadable.

    >>> parse_ts("2026-11-24T10:00:00Z")
    1795514400.0
    """
    if not text:
        return None
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.timestamp()


def format_ts(seconds: float) -> str:
    """ISO 8601 UTC with milliseconds and a ``Z``.

    >>> format_ts(1795514401.2)
    '2026-11-24T10:00:01.200Z'
    """
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
