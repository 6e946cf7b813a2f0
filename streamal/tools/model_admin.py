"""``streamal model ...``: the admin API's client, for SREs (list, snapshot, rollback, history).

Talks to one running replica over HTTP (``--url``) with the token in
``STREAMAL_ADMIN_TOKEN``; what changes the model reaches every replica through
the labels topic (:mod:`streamal.http.admin`). Errors come back as one line
naming what to do (a wrong token, an unknown version, a replica not reachable).
"""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request
from typing import Any

import orjson

from streamal.errors import ConfigError, StreamalError

__all__ = ["AdminClient", "format_history", "format_versions"]


class AdminClient:
    """The admin API of one replica at ``url``."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.token = token if token is not None else os.environ.get("STREAMAL_ADMIN_TOKEN", "")
        if not self.token:
            raise ConfigError("STREAMAL_ADMIN_TOKEN: set it to one of the service's STREAMAL_ADMIN_TOKENS")
        self.timeout = timeout

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = orjson.dumps(body) if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method, headers={  # noqa: S310
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:  # noqa: S310 - the SRE's own URL
                out: dict[str, Any] = orjson.loads(resp.read())
                return out
        except urllib.error.HTTPError as exc:
            detail = _detail(exc)
            if exc.code == 404 and "snapshot" not in detail:
                detail = "no admin API there: is STREAMAL_ADMIN_TOKENS set on the service?"
            raise StreamalError(f"{self.url}{path}: {exc.code} {detail}") from None
        except OSError as exc:
            raise StreamalError(f"cannot reach {self.url}: {exc}") from None

    def versions(self) -> dict[str, Any]:
        return self._call("GET", "/api/admin/model/versions")

    def snapshot(self) -> dict[str, Any]:
        return self._call("POST", "/api/admin/model/snapshot")

    def rollback(self, version: int, *, replay_labels: bool = True) -> dict[str, Any]:
        return self._call("POST", "/api/admin/model/rollback", {"version": version, "replay_labels": replay_labels})

    def promote(self) -> dict[str, Any]:
        return self._call("POST", "/api/admin/model/promote")

    def rebuild(self, *, annotator: str | None = None, since: float | None = None,
                answers: list[str] | None = None) -> dict[str, Any]:
        return self._call("POST", "/api/admin/model/rebuild",
                          {"annotator": annotator, "since": since, "answers": answers or []})

    def history(self, limit: int = 50) -> dict[str, Any]:
        return self._call("GET", f"/api/admin/model/history?limit={limit}")


def _detail(exc: urllib.error.HTTPError) -> str:
    try:
        return str(orjson.loads(exc.read()).get("detail"))
    except (orjson.JSONDecodeError, AttributeError):
        return exc.reason or ""


def _when(at: Any) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(float(at))) if isinstance(at, int | float) else "-"


def format_versions(answer: dict[str, Any]) -> str:
    """The ``list`` table."""
    lines = [f"model version now: {answer['model_version']} ({answer.get('model')}"
             + (f", challenger {answer['challenger']})" if answer.get("challenger") else ")"),
             "", f"{'version':>9}  {'taken (UTC)':<19}  size"]
    for s in answer["snapshots"]:
        lines.append(f"{s['version']:>9}  {_when(s['taken_at']):<19}  {s['bytes'] / 1024:.0f} KiB")
    if not answer["snapshots"]:
        lines.append("(no snapshot yet: `streamal model snapshot`, or wait for STREAMAL_SNAPSHOT_EVERY labels)")
    return "\n".join(lines)


def format_history(answer: dict[str, Any]) -> str:
    """The ``history`` lines, newest first."""
    lines = [f"model version now: {answer['model_version']}"]
    for h in answer["history"]:
        if h.get("kind") == "labels":
            who = ", ".join(f"{k} {v}" for k, v in sorted(h["annotators"].items()))
            lines.append(f"  v{h['from']}..v{h['to']}  {h['labels']} labels learned ({who})")
        elif h.get("control") == "rollback":
            what = f"{h['replayed']} labels learned again" if h.get("replayed") else f"{h.get('dropped', 0)} dropped"
            lines.append(f"  v{h['v']}  rollback from v{h['from']} to v{h['to']}, {what}, by {h.get('by') or '-'} "
                         f"at {_when(h.get('at'))}")
        elif h.get("control") == "rebuild":
            what = f"annotator {h['annotator']}" if h.get("annotator") else f"{len(h.get('answers') or [])} answers"
            lines.append(f"  v{h['v']}  rebuild from v{h['base']} without {h['excluded']} labels ({what}), "
                         f"{h['replayed']} learned again, by {h.get('by') or '-'} at {_when(h.get('at'))}")
        elif h.get("control") == "promote":
            lines.append(f"  v{h['v']}  promote: {h['model']} serves, {h['challenger']} is the challenger, by "
                         f"{h.get('by') or '-'} at {_when(h.get('at'))}")
        elif h.get("control") == "snapshot":
            lines.append(f"  v{h['v']}  snapshot ({h.get('why')}{', by ' + h['by'] if h.get('by') else ''}) "
                         f"at {_when(h.get('at'))}")
    return "\n".join(lines)
