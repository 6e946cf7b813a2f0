"""The admin API (``/api/admin/...``): the model's versions, snapshots, rollbacks and history.

Served only when ``STREAMAL_ADMIN_TOKENS`` gives at least one token (no admin
token configured, no admin API: every path answers 404). The tokens are the
review tokens' format and never the same tokens. What changes the model goes
to every replica as a control message on the labels topic, the one ordered
log they all read, so every replica applies it at the same point; the answer
is 202 once Kafka has acknowledged it. ``streamal model ...`` is its client.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from streamal.errors import BrokerError
from streamal.http.deps import token_owner
from streamal.http.desk import Publish
from streamal.service.versions import ModelVersions
from streamal.tokens import TokenBook
from streamal.wire.labels import MAX_EXCLUDED_ANSWERS, control_message

__all__ = ["AdminDesk", "router"]

router = APIRouter(prefix="/api/admin", tags=["admin"])
_bearer = HTTPBearer(auto_error=False, description="An admin token from STREAMAL_ADMIN_TOKENS.")


@dataclass
class AdminDesk:
    """What the admin routes need: the tokens, the replica's versions, the live model version, a publisher."""

    tokens: TokenBook
    versions: ModelVersions
    model_version: Callable[[], int]
    publish: Publish
    labels_topic: str
    clock: Callable[[], float]
    models: Callable[[], tuple[str, str | None]] = lambda: ("", None)  # (champion, challenger) kinds now


def _desk(request: Request) -> AdminDesk:
    desk: AdminDesk = request.app.state.admin
    return desk


Desk = Annotated[AdminDesk, Depends(_desk)]


def _admin(desk: Desk, cred: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> str:
    return token_owner(desk.tokens, cred, "admin")


Admin = Annotated[str, Depends(_admin)]


class SnapshotOut(BaseModel):
    version: int
    taken_at: float
    bytes: int


class VersionsOut(BaseModel):
    model_version: int = Field(description="This replica's model version now.")
    model: str = Field(description="The model serving (the champion).")
    challenger: str | None = Field(description="The challenger beside it, if any.")
    snapshots: list[SnapshotOut]


class RollbackBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=0, description="The model version to go back to (a kept snapshot).")
    replay_labels: bool = Field(True, description="Learn the labels learned since again (undo the model, keep the "
                                                  "answers); false drops them from the model.")


class RebuildBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    annotator: str | None = Field(None, max_length=256, description="Leave out this annotator's labels...")
    since: float | None = Field(None, description="...given at or after this time (seconds since the epoch)...")
    answers: list[str] = Field(default_factory=list, max_length=MAX_EXCLUDED_ANSWERS,
                               description="...and these answers (answer ids).")


class ControlOut(BaseModel):
    control_id: str
    action: str
    accepted: bool = True


def _send(desk: AdminDesk, msg: dict[str, Any]) -> None:
    try:
        desk.publish(desk.labels_topic, str(msg["id"]), msg)
    except BrokerError as exc:
        raise HTTPException(503, f"could not publish the control message to Kafka, nothing changed: {exc}") from exc


@router.get("/model/versions", response_model=VersionsOut)
def versions(who: Admin, desk: Desk) -> VersionsOut:
    """This replica's model version and the snapshots it keeps, oldest first."""
    model, challenger = desk.models()
    return VersionsOut(model_version=desk.model_version(), model=model, challenger=challenger,
                       snapshots=[SnapshotOut(**s.to_dict()) for s in desk.versions.snapshots()])


@router.post("/model/snapshot", response_model=ControlOut, status_code=202)
def snapshot(who: Admin, desk: Desk) -> ControlOut:
    """Every replica keeps its model as it is when it reads this point of the labels topic."""
    control_id = uuid.uuid4().hex
    _send(desk, control_message("snapshot", control_id, who, desk.clock()))
    return ControlOut(control_id=control_id, action="snapshot")


@router.post("/model/rollback", response_model=ControlOut, status_code=202)
def rollback(body: RollbackBody, who: Admin, desk: Desk) -> ControlOut:
    """Every replica puts the model of ``version`` back at the same point of the labels topic."""
    if not desk.versions.has(body.version):
        kept = ", ".join(str(s.version) for s in desk.versions.snapshots()) or "none"
        raise HTTPException(404, f"no snapshot of model version {body.version}; kept: {kept}")
    control_id = uuid.uuid4().hex
    _send(desk, control_message("rollback", control_id, who, desk.clock(), version=body.version,
                                replay_labels=body.replay_labels))
    return ControlOut(control_id=control_id, action="rollback")


@router.post("/model/promote", response_model=ControlOut, status_code=202)
def promote(who: Admin, desk: Desk) -> ControlOut:
    """Every replica makes the challenger the champion (and the champion the challenger) at the same point."""
    if desk.models()[1] is None:
        raise HTTPException(409, "there is no challenger to promote: set STREAMAL_CHALLENGER_MODEL")
    control_id = uuid.uuid4().hex
    _send(desk, control_message("promote", control_id, who, desk.clock()))
    return ControlOut(control_id=control_id, action="promote")


@router.post("/model/rebuild", response_model=ControlOut, status_code=202)
def rebuild(body: RebuildBody, who: Admin, desk: Desk) -> ControlOut:
    """Every replica learns its labels again without those left out, from the newest snapshot before them.

    The answers left out are marked retracted in the review store, and the export says why.
    """
    if body.annotator is None and not body.answers:
        raise HTTPException(422, "say what to leave out: an annotator (with an optional since) or answer ids")
    control_id = uuid.uuid4().hex
    _send(desk, control_message("rebuild", control_id, who, desk.clock(), annotator=body.annotator,
                                since=body.since, answers=tuple(body.answers)))
    return ControlOut(control_id=control_id, action="rebuild")


@router.get("/model/history")
def history(who: Admin, desk: Desk, limit: Annotated[int, Query(ge=1, le=10_000)] = 200) -> dict[str, Any]:
    """What changed the model, newest first: runs of labels learned (by whom), snapshots, rollbacks."""
    return {"model_version": desk.model_version(), "history": desk.versions.history(limit)}
