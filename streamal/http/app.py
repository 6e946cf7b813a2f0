"""The HTTP app: probes, ``/metrics``, and with a review desk the review API and page (FastAPI).

``create_app`` builds the app from its parts (a factory, so tests serve it
alone); what the routes need is put on ``app.state`` and read by the
dependencies of :mod:`streamal.http.deps`. The service runs it with uvicorn
beside the Kafka loop.
"""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from streamal import __version__
from streamal.http import admin as admin_routes
from streamal.http import probes, review_routes, security
from streamal.http.admin import AdminDesk
from streamal.http.desk import ReviewDesk
from streamal.review.store import ReviewConflict, UnknownItem
from streamal.service.health import Health

__all__ = ["STATIC", "create_app"]

STATIC = Path(__file__).parent / "static"


def create_app(health: Health, registry: CollectorRegistry, desk: ReviewDesk | None = None, *,
               max_body: int = 65_536, admin: AdminDesk | None = None) -> FastAPI:
    """The FastAPI app: ``/healthz``, ``/readyz``, ``/metrics``, ``/docs``; with a ``desk`` the review API and page.

    With an ``admin`` desk that has tokens, the admin API too (:mod:`streamal.http.admin`).
    """
    app = FastAPI(title="streamal", version=__version__, summary="Streaming active learning over Kafka.",
                  docs_url=None, redoc_url=None)
    app.state.health = health
    app.state.desk = desk
    app.state.admin = admin
    security.install(app, max_body=max_body)
    app.include_router(probes.router)
    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> FileResponse:
        """The API documentation, with Swagger UI's files from a Python package: it works offline."""
        return FileResponse(STATIC / "docs.html")

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    if desk is not None:
        _add_review(app)
    if admin is not None and admin.tokens:
        app.include_router(admin_routes.router)
    return app


def _add_review(app: FastAPI) -> None:
    app.include_router(review_routes.router)

    @app.exception_handler(UnknownItem)
    def _unknown(request: Request, exc: UnknownItem) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(ReviewConflict)
    def _conflict(request: Request, exc: ReviewConflict) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")
