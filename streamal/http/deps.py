"""Dependencies of the HTTP routes, declared once: each reads what ``create_app`` put on ``app.state``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from streamal.http.desk import ReviewDesk
from streamal.service.health import Health
from streamal.tokens import TokenBook

__all__ = ["Analyst", "Desk", "HealthDep", "token_owner"]

_bearer = HTTPBearer(auto_error=False, description="A review token from STREAMAL_REVIEW_TOKENS.")


def _desk(request: Request) -> ReviewDesk:
    desk: ReviewDesk = request.app.state.desk
    return desk


def _health(request: Request) -> Health:
    health: Health = request.app.state.health
    return health


Desk = Annotated[ReviewDesk, Depends(_desk)]
HealthDep = Annotated[Health, Depends(_health)]


def token_owner(tokens: TokenBook, cred: HTTPAuthorizationCredentials | None, kind: str) -> str:
    """Whose the bearer token is in ``tokens``; 401 naming the ``kind`` of token wanted when it is none."""
    name = tokens.who(cred.credentials) if cred is not None else None
    if name is None:
        raise HTTPException(401, f"a valid {kind} token is required (Authorization: Bearer <token>)",
                            headers={"WWW-Authenticate": "Bearer"})
    return name


def _annotator(desk: Desk, cred: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> str:
    return token_owner(desk.tokens, cred, "review")


#: The annotator the bearer token belongs to (401 without a valid one).
Analyst = Annotated[str, Depends(_annotator)]
