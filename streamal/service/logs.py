"""Logging for the service: one line per record, third-party noise kept out, per-message warnings throttled.

kafka-python logs every failed connection attempt, often at ERROR; those lines
say nothing the service does not say better in one line of its own, so the
``kafka`` loggers are silenced unless the level is ``DEBUG``.

A flood of bad messages must not become a flood of log lines: a
:class:`Throttled` logger writes the first occurrence of a condition, then at
most one line per ``every`` seconds with how many were not written (the
metrics count each one).

>>> import logging
>>> lines = []
>>> class Catch(logging.Handler):
...     def emit(self, record): lines.append(record.getMessage())
>>> log = logging.getLogger("doctest.throttle"); log.addHandler(Catch()); log.propagate = False
>>> t = Throttled(log, every=60.0, clock=lambda: 0.0)
>>> for i in range(3):
...     t.warning("dead-letter", "dead-lettered offset=%d", i)
>>> lines
['dead-lettered offset=0']
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

__all__ = ["JsonFormatter", "Throttled", "configure_logging"]


class JsonFormatter(logging.Formatter):
    """One JSON object a line, for log pipelines: ``ts``, ``level``, ``logger``, ``message`` (and ``error``).

    >>> record = logging.LogRecord("streamal.service.loop", logging.INFO, "", 0, "assigned partitions=%s",
    ...                            ("e:0",), None)
    >>> JsonFormatter().format(record).split(', "ts"')[0]
    '{"level": "INFO", "logger": "streamal.service.loop", "message": "assigned partitions=e:0"'
    """

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {"level": record.levelname, "logger": record.name, "message": record.getMessage(),
                               "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z"}
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out)


def configure_logging(level: str, fmt: str = "text") -> None:
    """Log lines on stderr (``text``: ``time level logger message``; ``json``: one object a line).

    The kafka client's own logs show only at ``DEBUG``.
    """
    handler = logging.StreamHandler()
    if fmt == "json":
        formatter: logging.Formatter = JsonFormatter()
        formatter.converter = time.gmtime
    else:
        formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    handler.setFormatter(formatter)
    logging.basicConfig(level=level, handlers=[handler], force=True)
    numeric = logging.getLevelName(level)
    kafka = logging.getLogger("kafka")
    # below DEBUG the client's retries stay out of the log; its warnings still reach the handler
    # that explains a failed connection (streamal.service.access)
    debug = numeric == logging.DEBUG
    kafka.setLevel(logging.DEBUG if debug else logging.WARNING)
    kafka.propagate = debug
    if not any(isinstance(h, logging.NullHandler) for h in kafka.handlers):
        kafka.addHandler(logging.NullHandler())


class Throttled:
    """A logger wrapper that writes each kind of condition at most once per ``every`` seconds."""

    def __init__(self, logger: logging.Logger, every: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.logger = logger
        self.every = every
        self.clock = clock
        self._last: dict[str, float] = {}
        self._skipped: dict[str, int] = {}

    def warning(self, kind: str, msg: str, *args: Any) -> None:
        """Log ``msg`` at WARNING unless a ``kind`` line was written less than ``every`` seconds ago."""
        now = self.clock()
        last = self._last.get(kind)
        if last is not None and now - last < self.every:
            self._skipped[kind] = self._skipped.get(kind, 0) + 1
            return
        skipped = self._skipped.pop(kind, 0)
        self._last[kind] = now
        if skipped:
            self.logger.warning(msg + " (and %d more like it since the last line)", *args, skipped)
        else:
            self.logger.warning(msg, *args)
