"""What streamal works on: events to score and labels to learn, as the core sees them.

Plain records with times as seconds since the epoch (floats). Turning topic
messages into these, and these into messages, is :mod:`streamal.wire`'s work;
the core never sees JSON or ISO strings.

>>> Event("evt-1", {"port": 22, "proto": "tcp"}, ts=1795514400.0)
Event(id='evt-1', features={'port': 22, 'proto': 'tcp'}, ts=1795514400.0, meta=None, label=None)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Event", "FeatureValue", "Label"]

#: One feature's value as it comes in: a number, a flag, a category (text), or missing.
FeatureValue = float | int | bool | str | None


@dataclass(slots=True)
class Event:
    """An event to score: ``features`` as sent, ``label`` when ground truth came with it."""

    id: str
    features: dict[str, FeatureValue]
    ts: float | None = None
    meta: dict[str, Any] | None = None
    label: str | None = None


@dataclass(slots=True)
class Label:
    """A class for ``event_id`` to learn (with ``features`` when the event was never queried).

    ``meta``: the event's meta, when the label brings its features (it may hold the key of the
    event's model, :mod:`streamal.core.keyed`).
    """

    event_id: str
    label: str
    annotator: str | None = None
    labeled_at: float | None = None
    features: dict[str, FeatureValue] | None = None
    meta: dict[str, Any] | None = None
