"""What the probes report: set by the service loop, read by the HTTP threads.

>>> health = Health()
>>> health.ready, health.detail
(False, 'starting')
>>> health.set_ready(True, "joined group streamal")
>>> health.ready
True
"""

from __future__ import annotations

import threading

__all__ = ["Health"]


class Health:
    """Readiness with a one-line reason (liveness is the HTTP server answering at all)."""

    def __init__(self) -> None:
        self._ready = threading.Event()
        self.detail = "starting"

    @property
    def ready(self) -> bool:
        """True once the service has loaded its state, caught up and joined its group."""
        return self._ready.is_set()

    def set_ready(self, ready: bool, detail: str) -> None:
        """Mark the service (not) ready, with a one-line reason."""
        self.detail = detail
        if ready:
            self._ready.set()
        else:
            self._ready.clear()
