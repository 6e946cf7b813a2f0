"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from streamal.http.deps import HealthDep

__all__ = ["router"]

router = APIRouter(tags=["probes"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process is up and serving."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(health: HealthDep) -> JSONResponse:
    """Readiness: state loaded, side topics read, consumer group joined (503 until then)."""
    code = 200 if health.ready else 503
    return JSONResponse({"ready": health.ready, "detail": health.detail}, status_code=code)
