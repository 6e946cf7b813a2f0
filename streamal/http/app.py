"""The HTTP surface: health, readiness and metrics (FastAPI).

``create_app`` builds the app from its parts so tests can serve it alone;
the service runs it with uvicorn beside the Kafka loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry, make_asgi_app

from streamal import __version__
from streamal.service.health import Health

if TYPE_CHECKING:
    from streamal.http.review_routes import ReviewDesk

__all__ = ["create_app"]


def create_app(health: Health, registry: CollectorRegistry, desk: ReviewDesk | None = None) -> FastAPI:
    """The FastAPI app: ``/healthz``, ``/readyz``, ``/metrics``, and with a ``desk`` the review API and page."""
    app = FastAPI(title="streamal", version=__version__, summary="Streaming active learning over Kafka.")

    @app.get("/healthz", tags=["probes"])
    def healthz() -> dict[str, str]:
        """Liveness: the process is up and serving."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["probes"])
    def readyz() -> JSONResponse:
        """Readiness: state loaded and consumer group joined (503 until then)."""
        code = 200 if health.ready else 503
        return JSONResponse({"ready": health.ready, "detail": health.detail}, status_code=code)

    app.mount("/metrics", make_asgi_app(registry=registry))
    if desk is not None:
        from streamal.http.review_routes import mount_review

        mount_review(app, desk)
    return app
