"""The labels topic's messages: parsed once into typed kinds, and built here when streamal sends one.

A label message is one of four kinds, told apart by its fields:

* :class:`ReviewAnswer`: an analyst's answer through the review API
  (``"source": "review"``, with its ``answer_id``);
* :class:`Retraction`: an answer taken back within its undo window (``retracts``);
* :class:`Correction`: an answer changed after its window (``corrects``);
* :class:`ExternalLabel`: anything else, ground truth or another tool's
  answer, learned at once;

and one message that is not a label: a :class:`Control` (``"control"``), an
operator's command to every replica at the same point of the one ordered log
(a snapshot of the model, a rollback), sent by the admin API.

>>> kind = parse_label_message(b'{"event_id": "e1", "label": "bad", "retracts": "a1", "source": "review"}')
>>> kind
Retraction(event_id='e1', answer_id='a1', annotator=None)
>>> match parse_label_message(b'{"event_id": "e1", "label": "bad", "labeled_at": "2026-11-24T10:00:00Z"}'):
...     case ExternalLabel(label=label):
...         label.labeled_at
1795514400.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streamal.core.domain import Event, Label
from streamal.errors import InvalidLabel
from streamal.wire.messages import check_features, format_ts, label_value, load_object, parse_ts, string_id

__all__ = [
    "CONTROL_ACTIONS",
    "Control",
    "Correction",
    "ExternalLabel",
    "LabelMessage",
    "Retraction",
    "ReviewAnswer",
    "answer_message",
    "control_message",
    "correction_message",
    "event_label_message",
    "parse_label",
    "parse_label_message",
    "retraction_message",
]


@dataclass(frozen=True, slots=True)
class ExternalLabel:
    """A label from outside the review API (an event's own ground truth, another tool): learned at once."""

    label: Label


@dataclass(frozen=True, slots=True)
class ReviewAnswer:
    """An analyst's answer through the review API: counted towards the item's agreement first."""

    label: Label
    answer_id: str | None = None
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class Retraction:
    """An answer taken back within its undo window."""

    event_id: str
    answer_id: str
    annotator: str | None = None


@dataclass(frozen=True, slots=True)
class Correction:
    """An answer changed after its undo window: ``label`` replaces the answer ``corrects``."""

    label: Label
    corrects: str
    answer_id: str | None = None
    comment: str | None = None


#: What a control message may ask of every replica.
CONTROL_ACTIONS = ("snapshot", "rollback", "rebuild", "promote")
#: Most answer ids one rebuild may name.
MAX_EXCLUDED_ANSWERS = 10_000


@dataclass(frozen=True, slots=True)
class Control:
    """An operator's command to every replica, at this point of the labels topic."""

    action: str
    control_id: str
    by: str | None = None
    at: float | None = None
    version: int | None = None  # rollback: the model version to go back to
    replay_labels: bool = True  # rollback: learn the labels learned since that version again
    annotator: str | None = None  # rebuild: leave out this annotator's labels...
    since: float | None = None  # ...given at or after this time...
    answers: tuple[str, ...] = ()  # ...and these answers


LabelMessage = ExternalLabel | ReviewAnswer | Retraction | Correction | Control


def _control(obj: dict[str, Any]) -> Control:
    action = obj.get("control")
    if action not in CONTROL_ACTIONS:
        raise InvalidLabel(f"'control' must be one of {', '.join(CONTROL_ACTIONS)}, got {action!r}")
    control_id = string_id(obj.get("id"), "id", InvalidLabel)
    by, at = obj.get("by"), obj.get("at")
    version = obj.get("version")
    if action == "rollback" and (isinstance(version, bool) or not isinstance(version, int) or version < 0):
        raise InvalidLabel("a rollback needs 'version', the model version to go back to (an integer >= 0)")
    replay = obj.get("replay_labels", True)
    if not isinstance(replay, bool):
        raise InvalidLabel("'replay_labels' must be true or false")
    annotator, since, answers = obj.get("annotator"), obj.get("since"), obj.get("answers") or []
    if action == "rebuild":
        if annotator is not None and not isinstance(annotator, str):
            raise InvalidLabel("'annotator' must be a string")
        if since is not None and (not isinstance(since, str) or parse_ts(since) is None):
            raise InvalidLabel("'since' must be an ISO 8601 time")
        if not isinstance(answers, list) or len(answers) > MAX_EXCLUDED_ANSWERS or not all(
                isinstance(a, str) for a in answers):
            raise InvalidLabel(f"'answers' must be a list of at most {MAX_EXCLUDED_ANSWERS} answer ids")
        if annotator is None and not answers:
            raise InvalidLabel("a rebuild needs 'annotator' (with an optional 'since') or 'answers' to leave out")
    return Control(str(action), control_id, by if isinstance(by, str) else None,
                   parse_ts(at) if isinstance(at, str) else None, version, replay,
                   annotator if isinstance(annotator, str) else None,
                   parse_ts(since) if isinstance(since, str) else None, tuple(answers))


def _optional_text(obj: dict[str, Any], name: str) -> str | None:
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidLabel(f"'{name}' must be a string")
    return str(value)


def parse_label_message(raw: bytes, *, max_bytes: int = 1_048_576, max_features: int = 1000) -> LabelMessage:
    """Parse and check one label message into its kind; raise :class:`InvalidLabel` with the reason."""
    obj = load_object(raw, max_bytes, InvalidLabel)
    if "control" in obj:
        return _control(obj)
    event_id = string_id(obj.get("event_id"), "event_id", InvalidLabel)
    label = label_value(obj.get("label"), InvalidLabel)
    annotator = obj.get("annotator")
    if annotator is not None and not isinstance(annotator, str):
        raise InvalidLabel("'annotator' must be a string")
    labeled_at = obj.get("labeled_at")
    if labeled_at is not None and not isinstance(labeled_at, str):
        raise InvalidLabel("'labeled_at' must be an ISO 8601 string")
    features = obj.get("features")
    if features is not None:
        features = check_features(features, max_features, InvalidLabel)
    retracts = _optional_text(obj, "retracts")
    if retracts is not None:
        return Retraction(event_id, retracts, annotator)
    meta = obj.get("meta")
    if meta is not None and not isinstance(meta, dict):
        raise InvalidLabel("'meta' must be an object")
    parsed = Label(event_id, label, annotator, parse_ts(labeled_at), features, meta)
    answer_id, comment = _optional_text(obj, "answer_id"), _optional_text(obj, "comment")
    corrects = _optional_text(obj, "corrects")
    if corrects is not None:
        return Correction(parsed, corrects, answer_id, comment)
    if obj.get("source") == "review":
        return ReviewAnswer(parsed, answer_id, comment)
    return ExternalLabel(parsed)


def parse_label(raw: bytes, *, max_bytes: int = 1_048_576, max_features: int = 1000) -> Label:
    """The label a message carries, whatever its kind (a retraction's is the answer taken back).

    >>> parse_label(b'{"event_id": "evt-1", "label": "malicious", "annotator": "analyst-1"}').label
    'malicious'
    """
    kind = parse_label_message(raw, max_bytes=max_bytes, max_features=max_features)
    if isinstance(kind, Control):
        raise InvalidLabel(f"a control message ({kind.action}), not a label")
    if isinstance(kind, Retraction):
        obj = load_object(raw, max_bytes, InvalidLabel)
        return Label(kind.event_id, label_value(obj.get("label"), InvalidLabel), kind.annotator)
    return kind.label


# -- what streamal sends -------------------------------------------------------------------------


def event_label_message(event: Event, now: float) -> dict[str, Any]:
    """The label an event brought with it, sent on the labels topic so every replica learns it in one order."""
    return {"event_id": event.id, "label": event.label, "features": event.features,
            "labeled_at": format_ts(event.ts if event.ts is not None else now), "source": "event",
            **({"meta": event.meta} if event.meta else {})}


def answer_message(event_id: str, label: str, annotator: str, at: float, answer_id: str, *,
                   model_version_seen: int, prediction_seen: str | None, proba_seen: dict[str, float],
                   comment: str | None = None) -> dict[str, Any]:
    """An analyst's answer from the review API, with the model version and prediction they saw."""
    msg: dict[str, Any] = {
        "event_id": event_id, "label": label, "annotator": annotator, "labeled_at": format_ts(at),
        "answer_id": answer_id, "source": "review", "model_version_seen": model_version_seen,
        "prediction_seen": prediction_seen, "proba_seen": proba_seen,
    }
    if comment:
        msg["comment"] = comment
    return msg


def correction_message(event_id: str, label: str, annotator: str, at: float, answer_id: str, corrects: str,
                       comment: str | None = None) -> dict[str, Any]:
    """An answer changed after its undo window."""
    msg: dict[str, Any] = {"event_id": event_id, "label": label, "annotator": annotator, "labeled_at": format_ts(at),
                           "answer_id": answer_id, "corrects": corrects, "source": "review"}
    if comment:
        msg["comment"] = comment
    return msg


def retraction_message(event_id: str, label: str, annotator: str, at: float, retracts: str) -> dict[str, Any]:
    """An answer taken back within its undo window (it carries the label taken back)."""
    return {"event_id": event_id, "label": label, "annotator": annotator, "labeled_at": format_ts(at),
            "retracts": retracts, "source": "review"}



def control_message(action: str, control_id: str, by: str, at: float, *, version: int | None = None,
                    replay_labels: bool = True, annotator: str | None = None, since: float | None = None,
                    answers: tuple[str, ...] = ()) -> dict[str, Any]:
    """An operator's command to every replica (the admin API sends it on the labels topic)."""
    msg: dict[str, Any] = {"control": action, "id": control_id, "by": by, "at": format_ts(at)}
    if action == "rollback":
        msg.update(version=version, replay_labels=replay_labels)
    if action == "rebuild":
        msg.update(annotator=annotator, since=format_ts(since) if since is not None else None, answers=list(answers))
    return msg
