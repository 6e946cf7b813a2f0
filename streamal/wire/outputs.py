"""What streamal sends, encoded within a size bound, so that no output can be refused by the broker.

A broker refuses a message over its ``message.max.bytes`` (about 1 MB by
default), and a producer that cannot deliver an output must not commit the
input it came from, so an oversized output would stop the service on the same
input after every restart. Every output is therefore cut to fit here:

* a **review item** or **prediction** drops a large ``meta`` first (and says
  so in ``meta_trimmed``), then keeps only the most probable classes in
  ``proba`` (``proba_trimmed``); its features always fit, because an event
  whose features would not is refused when it is parsed
  (:func:`~streamal.wire.messages.parse_event` with ``max_output_bytes``);
* a **dead letter** always carries the reason, the original size, a SHA-256 of
  the raw bytes and where they came from; the bytes themselves whole when they
  fit, else a prefix (``truncated``).

>>> msg = {"event_id": "e1", "features": {"x": 1}, "meta": {"note": "y" * 500}, "proba": {"a": 1.0}}
>>> out = orjson.loads(fit(msg, limit=200))
>>> out["meta"], out["meta_trimmed"]
(None, {'bytes': 511})
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import orjson

from streamal.core.outcomes import Decision
from streamal.errors import OutputTooLarge

__all__ = ["FEATURES_HEADROOM", "KEEP_CLASSES", "dead_letter", "fit", "prediction_message"]

#: Room a review item needs besides its features (ids, the kept classes, times).
FEATURES_HEADROOM = 32_768
#: Classes a trimmed ``proba`` keeps, the most probable first.
KEEP_CLASSES = 50
#: Room a dead letter needs besides the raw bytes (reason, hash, where from).
_DEAD_LETTER_HEADROOM = 8_192
#: Worst growth of raw bytes as a JSON string (a control byte becomes ``\\u0000``).
_JSON_GROWTH = 6


def fit(msg: dict[str, Any], limit: int) -> bytes:
    """Encode ``msg`` in ``limit`` bytes, leaving out ``explanation``, then ``meta``, then most of ``proba``.

    Raises :class:`~streamal.errors.OutputTooLarge` if it cannot fit even then.
    """
    data = orjson.dumps(msg)
    if len(data) <= limit:
        return data
    msg = dict(msg)
    if msg.get("explanation") is not None:  # the least needed part of a review item goes first
        msg["explanation"] = None
        data = orjson.dumps(msg)
        if len(data) <= limit:
            return data
    if msg.get("meta") is not None:
        msg["meta_trimmed"] = {"bytes": len(orjson.dumps(msg["meta"]))}
        msg["meta"] = None
        data = orjson.dumps(msg)
        if len(data) <= limit:
            return data
    proba = msg.get("proba")
    if isinstance(proba, dict) and len(proba) > KEEP_CLASSES:
        top = sorted(proba.items(), key=lambda kv: kv[1], reverse=True)[:KEEP_CLASSES]
        msg["proba"] = dict(top)
        msg["proba_trimmed"] = {"classes": len(proba)}
        data = orjson.dumps(msg)
        if len(data) <= limit:
            return data
    raise OutputTooLarge(f"a message of {len(data)} bytes does not fit in {limit} even trimmed")


def _as_text(raw: bytes) -> tuple[str, str]:
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), "base64"


def dead_letter(
    raw: bytes | None, topic: str, partition: int, offset: int, error: str, reason: str, limit: int,
) -> bytes:
    """The encoded dead-letter record of a refused message, at most ``limit`` bytes.

    >>> rec = orjson.loads(dead_letter(b"\\xff" * 50_000, "ev", 0, 7, "not valid JSON", "not_json", limit=20_000))
    >>> rec["size"], rec["truncated"], rec["encoding"], len(base64.b64decode(rec["value"]))
    (50000, True, 'base64', 1968)
    """
    record: dict[str, Any] = {"topic": topic, "partition": partition, "offset": offset, "error": error[:2000],
                              "reason": reason}
    if raw is None:
        record.update(value=None, encoding=None, size=0)
        return orjson.dumps(record)
    record.update(size=len(raw), sha256=hashlib.sha256(raw).hexdigest())
    value, encoding = _as_text(raw)
    data = orjson.dumps({**record, "value": value, "encoding": encoding, "truncated": False})
    if len(data) <= limit:
        return data
    keep = max(0, (limit - _DEAD_LETTER_HEADROOM) // _JSON_GROWTH)
    prefix = raw[:keep]
    for cut in range(4):  # do not split a UTF-8 character, if it is UTF-8 at all
        try:
            value, encoding = prefix[: len(prefix) - cut].decode("utf-8"), "utf-8"
            break
        except UnicodeDecodeError:
            continue
    else:
        value, encoding = base64.b64encode(prefix).decode("ascii"), "base64"
    return orjson.dumps({**record, "value": value, "encoding": encoding, "truncated": True})


def prediction_message(decision: Decision) -> dict[str, Any]:
    """The predictions-topic message of one scored event (docs/contract.md's shape)."""
    return {
        "event_id": decision.event_id,
        "prediction": decision.prediction,
        "proba": decision.proba,
        "model_version": decision.model_version,
        "queried": decision.query is not None,
        **({"key": decision.key} if decision.key is not None else {}),
    }
