"""The analysts' review API (``/api/...``).

Every answer given here is a message on the labels topic, published and
acknowledged by Kafka before the request returns; the review store is then
updated from it (and again, idempotently, when the service reads it back).
Drops are messages on the review topic. Nothing is written anywhere else.

Auth: ``Authorization: Bearer <token>``, tokens from ``STREAMAL_REVIEW_TOKENS``;
the token names the annotator recorded on the label, whatever the client says.
"""

from __future__ import annotations

import csv
import io
import time
import uuid
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, HTTPException, Query, Response

from streamal.core.names import REASON_PHRASES
from streamal.errors import BrokerError
from streamal.http.deps import Analyst, Desk
from streamal.http.desk import ReviewDesk
from streamal.http.review_models import (
    AnswerOut,
    AnswerRow,
    AnswersOut,
    ClaimOut,
    GuidelinesOut,
    ItemOut,
    LabelBody,
    MeOut,
    QueueOut,
    ReleaseOut,
    SkipBody,
    SkipOut,
    StatsOut,
    UndoOut,
)
from streamal.review.store import Answer, AnswerView, ItemView, ReviewStore
from streamal.wire.labels import answer_message, correction_message, retraction_message
from streamal.wire.messages import format_ts
from streamal.wire.review import dropped_message

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["review"])


def _phrase(reason: str) -> str:
    return next((text for name, text in REASON_PHRASES.items() if name == reason), reason)


def _item(entry: ItemView, store: ReviewStore, now: float) -> ItemOut:
    it = entry.item
    return ItemOut(
        event_id=it.event_id, features=it.features, meta=it.meta, prediction=it.prediction, proba=it.proba,
        score=it.score, utility=round(entry.priority, 6), reason=it.reason, reason_text=_phrase(it.reason),
        explanation=it.explanation, model_version=it.model_version, key=it.key,
        queried_at=format_ts(it.queried_at) if it.queried_at is not None else None,
        age_seconds=round(now - it.queried_at, 3) if it.queried_at is not None else None,
        answers=len(entry.live_answers()), answers_wanted=store.answers_wanted, claimed_by=entry.claimed_by,
    )


#: The columns of the answers export, in order.
ANSWER_FIELDS = ("event_id", "answer_id", "annotator", "label", "answered_at", "comment", "status", "why", "corrects",
                 "item_label", "reason", "prediction_seen", "model_version_seen", "queried_at")


def _answer_row(row: AnswerView) -> AnswerRow:
    it, answer, entry = row.item.item, row.answer, row.item
    status = "retracted" if answer.retracted else "pending" if answer.tentative else "recorded"
    return AnswerRow(
        event_id=it.event_id, answer_id=answer.answer_id, annotator=answer.annotator, label=answer.label,
        answered_at=format_ts(answer.at), comment=answer.comment, status=status, why=answer.why,
        corrects=answer.corrects,
        item_label=entry.agreed, reason=it.reason, prediction_seen=it.prediction, model_version_seen=it.model_version,
        queried_at=format_ts(it.queried_at) if it.queried_at is not None else None,
        can_undo=row.can_undo, can_change=row.can_change,
    )


def _csv_cell(value: Any) -> Any:
    """A cell a spreadsheet will not run: text starting with = + - @ gets a leading apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def _allowed(desk: ReviewDesk, label: str) -> str:
    value = label.strip()
    if not value:
        raise HTTPException(422, "the label is empty")
    if desk.allowed_labels and value not in desk.allowed_labels:
        raise HTTPException(400, f"label {value!r} is not allowed; use one of {', '.join(desk.allowed_labels)}")
    return value


def _comment(body: LabelBody) -> str | None:
    return body.comment.strip() if body.comment and body.comment.strip() else None


def _publish(desk: ReviewDesk, topic: str, key: str, msg: dict[str, Any]) -> None:
    try:
        desk.publish(topic, key, msg)
    except BrokerError as exc:
        raise HTTPException(503, f"could not publish to Kafka, nothing was recorded: {exc}") from exc


# -- routes ------------------------------------------------------------------------------------


@router.get("/me", response_model=MeOut)
def me(who: Analyst, desk: Desk) -> MeOut:
    """Who the token belongs to, what they answered, the queue size and the classes."""
    stats = desk.store.stats()
    last = desk.store.last_undoable(who)
    return MeOut(annotator=who, answered=stats["by_annotator"].get(who, 0), open=stats["open"],
                 classes=desk.classes(), undoable=last[0] if last else None)


@router.get("/review", response_model=QueueOut)
def queue(who: Analyst, desk: Desk,
          reason: Annotated[str | None, Query(pattern="^(seed|uncertainty|drift|explore|random|novelty)$")] = None,
          limit: Annotated[int, Query(ge=1, le=500)] = 50, offset: Annotated[int, Query(ge=0)] = 0,
          mine: bool = False, available: bool = False) -> QueueOut:
    """Open items, most valuable first (drift first, then score).

    ``mine``: hide what you skipped or answered; ``available``: hide what another analyst holds.
    """
    entries, total = desk.store.open_items(reason=reason, annotator=who if mine or available else None,
                                           available=available, limit=limit, offset=offset)
    now = desk.clock()
    return QueueOut(items=[_item(e, desk.store, now) for e in entries], total=total, limit=limit, offset=offset)


@router.get("/review/stats", response_model=StatsOut)
def stats(who: Analyst, desk: Desk) -> StatsOut:
    """Open, answered, by reason, by annotator, median answer time, agreement between annotators."""
    return StatsOut(**desk.store.stats())


@router.get("/review/guidelines", response_model=GuidelinesOut)
def guidelines(who: Analyst, desk: Desk) -> GuidelinesOut:
    """The labelling guidelines (``STREAMAL_REVIEW_GUIDELINES``) as HTML, from Markdown with raw HTML disabled."""
    return GuidelinesOut(html=desk.guidelines_html)


@router.get("/review/answers", response_model=None)
def answers(who: Analyst, desk: Desk,
            format: Annotated[str, Query(pattern="^(json|jsonl|csv)$")] = "json",
            mine: bool = False, limit: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
            ) -> AnswersOut | Response:
    """Every answer kept, newest first, retracted and corrected ones too: for auditors (``jsonl``, ``csv``).

    ``mine``: only yours, each with whether it can still be undone or changed (the page's "my answers").
    """
    now = desk.clock()
    rows = [_answer_row(r) for r in desk.store.answers(annotator=who if mine else None, limit=limit)]
    if format == "json":
        return AnswersOut(answers=rows)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    if format == "jsonl":
        body = b"".join(orjson.dumps(r.model_dump()) + b"\n" for r in rows)
        return Response(body, media_type="application/x-ndjson",
                        headers={"Content-Disposition": f'attachment; filename="streamal-answers-{stamp}.jsonl"'})
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(ANSWER_FIELDS), extrasaction="ignore")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: _csv_cell(getattr(r, k)) for k in ANSWER_FIELDS})
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="streamal-answers-{stamp}.csv"'})


@router.get("/review/next", response_model=ItemOut, responses={204: {"description": "no open item for you now"}})
def next_item(who: Analyst, desk: Desk) -> ItemOut | Response:
    """The most useful open item you may answer now, claimed for you (204 when there is none).

    Decided when you ask: the queue is re-ranked as the model learns, and
    questions the model has answered for itself are withdrawn.
    """
    entry = desk.store.next_for(who)
    if entry is None:
        return Response(status_code=204)
    return _item(entry, desk.store, desk.clock())


@router.get("/review/{event_id}", response_model=ItemOut)
def item(event_id: str, who: Analyst, desk: Desk) -> ItemOut:
    """One item."""
    return _item(desk.store.entry(event_id), desk.store, desk.clock())


@router.post("/review/{event_id}/claim", response_model=ClaimOut)
def claim(event_id: str, who: Analyst, desk: Desk) -> ClaimOut:
    """Claim an item so nobody else answers it meanwhile; the claim expires by itself."""
    until = desk.store.claim(event_id, who)
    return ClaimOut(event_id=event_id, claimed_by=who, claimed_until=format_ts(until))


@router.post("/review/{event_id}/release", response_model=ReleaseOut)
def release(event_id: str, who: Analyst, desk: Desk) -> ReleaseOut:
    """Give a claimed item back."""
    desk.store.release(event_id, who)
    return ReleaseOut(event_id=event_id, released=True)


@router.post("/review/{event_id}/skip", response_model=SkipOut)
def skip(event_id: str, who: Analyst, desk: Desk, body: SkipBody | None = None) -> SkipOut:
    """Skip an item: back to the queue for the others (``requeue``), or dropped for everyone."""
    requeue = body.requeue if body is not None else True
    if requeue:
        desk.store.skip(event_id, who)
    else:
        desk.store.check_droppable(event_id, who)  # a drop respects another analyst's claim, as a skip does
        _publish(desk, desk.review_topic, event_id, dropped_message(event_id, who, desk.clock()))
        desk.store.apply_drop(event_id)
    return SkipOut(event_id=event_id, requeued=requeue)


@router.post("/review/{event_id}/label", response_model=AnswerOut)
def label(event_id: str, body: LabelBody, who: Analyst, desk: Desk) -> AnswerOut:
    """Answer an item. The label message records who, when, and the model version and prediction seen."""
    value = _allowed(desk, body.label)
    entry = desk.store.reserve(event_id, who)  # atomic: a second answer of the same analyst is refused now
    now = desk.clock()
    answer_id = uuid.uuid4().hex
    labeled_at = format_ts(now)
    comment = _comment(body)
    msg = answer_message(event_id, value, who, now, answer_id, model_version_seen=entry.item.model_version,
                         prediction_seen=entry.item.prediction, proba_seen=entry.item.proba, comment=comment)
    try:
        _publish(desk, desk.labels_topic, event_id, msg)
    except HTTPException:
        desk.store.unreserve(event_id, who)  # nothing was recorded: the analyst may answer again
        raise
    desk.store.record_local(event_id, value, who, answer_id=answer_id, at=now, comment=comment)
    desk.on_answer(who)
    return AnswerOut(event_id=event_id, label=value, annotator=who, answer_id=answer_id,
                     labeled_at=labeled_at, undo_until=format_ts(now + desk.store.undo_seconds))


@router.post("/review/{event_id}/correct", response_model=AnswerOut)
def correct(event_id: str, body: LabelBody, who: Analyst, desk: Desk) -> AnswerOut:
    """Change your answer after its undo window: a new label that ``corrects`` the old one.

    The item's label is counted again; if the model had learned the old one, it learns the new one too.
    """
    value = _allowed(desk, body.label)
    old = desk.store.correctable(event_id, who)
    if old.label == value:
        raise HTTPException(400, f"your answer is already {value!r}")
    now = desk.clock()
    answer_id = uuid.uuid4().hex
    comment = _comment(body)
    _publish(desk, desk.labels_topic, event_id,
             correction_message(event_id, value, who, now, answer_id, old.answer_id, comment))
    desk.store.record_correction(event_id, old.answer_id, Answer(answer_id, who, value, now, tentative=True,
                                                                 comment=comment, corrects=old.answer_id))
    return AnswerOut(event_id=event_id, label=value, annotator=who, answer_id=answer_id,
                     labeled_at=format_ts(now), undo_until=format_ts(now))


@router.post("/review/{event_id}/undo", response_model=UndoOut)
def undo(event_id: str, who: Analyst, desk: Desk) -> UndoOut:
    """Take back your answer within the undo window (a correcting label message); the item opens again."""
    answer = desk.store.undoable(event_id, who)
    _publish(desk, desk.labels_topic, event_id,
             retraction_message(event_id, answer.label, who, desk.clock(), answer.answer_id))
    desk.store.apply_retraction(event_id, answer.answer_id)
    return UndoOut(event_id=event_id, undone=answer.answer_id)
