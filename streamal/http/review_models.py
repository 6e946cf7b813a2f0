"""The review API's request and response bodies (what ``/docs`` shows, and what the routes return)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from streamal.wire.messages import MAX_LABEL_CHARS

MAX_COMMENT_CHARS = 1000

__all__ = [
    "AnswerOut", "AnswerRow", "AnswersOut", "ClaimOut", "GuidelinesOut", "ItemOut", "LabelBody", "MeOut",
    "QueueOut", "ReleaseOut", "SkipBody", "SkipOut", "StatsOut", "UndoOut",
]


class LabelBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field(min_length=1, max_length=MAX_LABEL_CHARS, description="The class of this event.")
    comment: str | None = Field(None, max_length=MAX_COMMENT_CHARS,
                                description="A note for the other analysts and the auditors (carried on the label).")


class SkipBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    requeue: bool = Field(True, description="True: back to the queue for the others; false: dropped for everyone.")


class ItemOut(BaseModel):
    event_id: str
    features: dict[str, Any]
    meta: dict[str, Any] | None
    prediction: str | None
    proba: dict[str, float]
    score: float
    utility: float = Field(description="What answering it is worth to the model now (the queue's order); "
                                       "the score when asked until the pool re-ranks it.")
    reason: str
    reason_text: str = Field(description="Why the item was asked, in a phrase for the analyst.")
    explanation: dict[str, Any] | None = Field(
        None, description="What drove the prediction: a linear model's largest terms, a tree's path.")
    model_version: int
    key: str | None = Field(None, description="With a model per kind of event (STREAMAL_MODEL_KEY): whose model "
                                              "asked (\"\" the shared one); absent otherwise.")
    queried_at: str | None
    age_seconds: float | None
    answers: int
    answers_wanted: int
    claimed_by: str | None


class QueueOut(BaseModel):
    items: list[ItemOut]
    total: int
    limit: int
    offset: int


class AnswerOut(BaseModel):
    event_id: str
    label: str
    annotator: str
    answer_id: str
    labeled_at: str
    undo_until: str


class AnswerRow(BaseModel):
    """One answer in "my answers" and the auditors' export."""

    event_id: str
    answer_id: str
    annotator: str
    label: str
    answered_at: str
    comment: str | None
    status: str = Field(description="recorded, pending (not read back from Kafka yet) or retracted.")
    corrects: str | None = Field(description="The answer this one replaced after its undo window.")
    why: str | None = Field(None, description="Why it was retracted, when not by its analyst (a rebuild left it "
                                              "out of the model).")
    item_label: str | None = Field(description="The item's agreed label (None while it is open).")
    reason: str
    prediction_seen: str | None
    model_version_seen: int
    queried_at: str | None
    can_undo: bool
    can_change: bool


class AnswersOut(BaseModel):
    answers: list[AnswerRow]


class MeOut(BaseModel):
    annotator: str
    answered: int
    open: int
    classes: list[str]
    undoable: str | None = Field(description="Your latest answer still in its undo window (an event id).")


class StatsOut(BaseModel):
    open: int
    answered: int
    dropped: int
    withdrawn: int
    open_by_reason: dict[str, int]
    by_annotator: dict[str, int]
    median_answer_seconds: float | None
    agreement: dict[str, float] = Field(description="Each analyst's share of answers that agree with the item's label.")
    fleiss_kappa: float | None
    cohen_kappa: dict[str, float | None] = Field(description="Agreement of each pair of analysts, 'a|b'.")


class GuidelinesOut(BaseModel):
    html: str


class ClaimOut(BaseModel):
    event_id: str
    claimed_by: str
    claimed_until: str


class ReleaseOut(BaseModel):
    event_id: str
    released: bool


class SkipOut(BaseModel):
    event_id: str
    requeued: bool


class UndoOut(BaseModel):
    event_id: str
    undone: str
