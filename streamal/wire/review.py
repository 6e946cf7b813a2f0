"""The review topic's messages: items asked, drops and withdrawals, parsed once into typed kinds and built here.

A review-topic message is one of three kinds: a :class:`~streamal.core.pending.PendingItem`
(a question asked), :class:`Dropped` (an analyst dropped it for everyone) or
:class:`Withdrawn` (the service that asked took it back).

>>> from streamal.core.pending import PendingItem
>>> item = PendingItem("e1", {"port": 22}, None, "ok", {"ok": 0.7}, 0.3, "uncertainty", 4, 1795514400.0)
>>> parse_review_message(encode(review_item_message(item))) == item
True
>>> parse_review_message(encode(withdrawn_message("e1", "the model knows now")))
Withdrawn(event_id='e1', why='the model knows now')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streamal.core.pending import PendingItem
from streamal.errors import InvalidMessage, InvalidReviewItem
from streamal.wire.messages import check_features, encode, format_ts, load_object, parse_ts

__all__ = [
    "Dropped",
    "ReviewMessage",
    "Withdrawn",
    "dropped_message",
    "encode",
    "parse_review_item",
    "parse_review_message",
    "review_item_message",
    "withdrawn_message",
]


@dataclass(frozen=True, slots=True)
class Dropped:
    """An analyst dropped the item: nobody is asked for it any more."""

    event_id: str
    annotator: str | None = None


@dataclass(frozen=True, slots=True)
class Withdrawn:
    """The service took the question back (the model answered it for itself, or it expired)."""

    event_id: str
    why: str


ReviewMessage = PendingItem | Dropped | Withdrawn


def parse_review_message(raw: bytes, *, max_bytes: int = 1_048_576, max_features: int = 1000) -> ReviewMessage:
    """Parse one review-topic message into its kind; :class:`InvalidReviewItem` with the reason if it is none."""
    msg = load_object(raw, max_bytes, InvalidReviewItem)
    status, event_id = msg.get("status"), msg.get("event_id")
    if status == "dropped" and isinstance(event_id, str):
        annotator = msg.get("annotator")
        return Dropped(event_id, annotator if isinstance(annotator, str) else None)
    if status == "withdrawn" and isinstance(event_id, str):
        return Withdrawn(event_id, str(msg.get("why") or "withdrawn"))
    return parse_review_item(msg, max_features)


def parse_review_item(msg: dict[str, Any], max_features: int = 1000) -> PendingItem:
    """A question asked, from its review-topic message; :class:`InvalidReviewItem` if it is not one."""
    event_id = msg.get("event_id")
    if not isinstance(event_id, str) or not event_id:
        raise InvalidReviewItem("review item without an 'event_id'", "bad_id")
    try:
        features = check_features(msg.get("features"), max_features, InvalidReviewItem)
        proba = msg.get("proba") or {}
        if not isinstance(proba, dict):
            raise InvalidReviewItem("review item 'proba' is not an object")
        queried_at = msg.get("queried_at")
        return PendingItem(
            event_id=event_id,
            features=features,
            meta=msg.get("meta") if isinstance(msg.get("meta"), dict) else None,
            prediction=msg.get("prediction") if isinstance(msg.get("prediction"), str) else None,
            proba={str(k): float(v) for k, v in proba.items()},
            score=float(msg.get("score") or 0.0),
            reason=str(msg.get("reason") or "uncertainty"),
            model_version=int(msg.get("model_version") or 0),
            queried_at=parse_ts(queried_at) if isinstance(queried_at, str) else None,
            explanation=msg.get("explanation") if isinstance(msg.get("explanation"), dict) else None,
            key=msg.get("key") if isinstance(msg.get("key"), str) else None,
        )
    except InvalidMessage:
        raise
    except (TypeError, ValueError) as exc:
        raise InvalidReviewItem(f"review item {event_id!r}: {exc}") from exc


def review_item_message(item: PendingItem) -> dict[str, Any]:
    """The review-topic message of a question asked (docs/contract.md's shape)."""
    return {
        "event_id": item.event_id,
        "features": item.features,
        "meta": item.meta,
        "prediction": item.prediction,
        "proba": item.proba,
        "score": item.score,
        "reason": item.reason,
        "model_version": item.model_version,
        "queried_at": format_ts(item.queried_at) if item.queried_at is not None else None,
        **({"explanation": item.explanation} if item.explanation else {}),
        **({"key": item.key} if item.key is not None else {}),
    }


def dropped_message(event_id: str, annotator: str, at: float) -> dict[str, Any]:
    """An analyst dropped the item for everyone."""
    return {"event_id": event_id, "status": "dropped", "annotator": annotator, "at": format_ts(at)}


def withdrawn_message(event_id: str, why: str) -> dict[str, Any]:
    """The service took its question back, and why."""
    return {"event_id": event_id, "status": "withdrawn", "why": why}
