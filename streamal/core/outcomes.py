"""What the learner hands back: a decision per event, an outcome per label, a snapshot for the metrics.

Plain records, kept apart from :mod:`streamal.core.learner` (which re-exports them) so that module holds
the learner's behaviour and this one the shapes of what it says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from streamal.core.names import Estimate, Outcome
from streamal.core.pending import PendingItem
from streamal.core.sampling import Query

__all__ = ["Decision", "LearnResult", "LearnerStats"]


@dataclass(slots=True)
class Decision:
    """What the learner made of one event."""

    event_id: str
    prediction: str | None
    proba: dict[str, float]
    query: Query | None
    model_version: int
    alarms: list[str] = field(default_factory=list)
    item: PendingItem | None = None
    key: str | None = None  # with a model per key (STREAMAL_MODEL_KEY): whose model scored it ("" the shared one)


@dataclass(slots=True)
class LearnResult:
    """What the learner made of one label: ``outcome`` is one of :data:`OUTCOMES`."""

    outcome: Outcome
    correct: bool | None = None
    reason: str | None = None  # of the queried event (as read back from the review topic)
    delay: float | None = None
    alarms: list[str] = field(default_factory=list)
    error: str | None = None
    features: dict[str, Any] | None = None  # what was learned (for the journal of learned labels), when learned
    key: str | None = None  # with a model per key: whose model learned it ("" the shared one)


@dataclass(frozen=True, slots=True)
class ChallengerStats:
    """The challenger's figures beside the champion's (:class:`~streamal.core.challenger.Challenger`)."""

    model: str
    accuracy: dict[Estimate, float]
    accuracy_labels: dict[Estimate, int]
    brier: float
    ece: float
    lead: float  # its accuracy minus the champion's, on the same recent labels


@dataclass(frozen=True, slots=True)
class LearnerStats:
    """A snapshot of what the learner knows, for the metrics (taken on the loop's thread)."""

    model_version: int
    backlog: int
    evicted: int
    accuracy: dict[Estimate, float]
    accuracy_labels: dict[Estimate, int]
    spent_run: float
    spent_recent: float
    threshold: float
    oldest_queried_at: float | None
    classes: int
    brier: float
    ece: float
    schema_mismatches: int
    saturated: bool
    stop_agreement: float | None
    audit_by_class: dict[str, tuple[float, float, int]] = field(default_factory=dict)
    challenger: ChallengerStats | None = None
    model: str = ""  # the champion's kind (linear, hat, ...)
