"""Crash points: the test seam that kills the process at a named step (``STREAMAL_CRASH_AT``).

The crash tests prove that a crash at any step of handling an event loses
nothing. Each step is a place in the code that calls :meth:`CrashPoints.reached`;
``STREAMAL_CRASH_AT=STEP[:N]`` makes the process kill itself with SIGKILL
(no clean-up, as ``kill -9`` does) the ``N``-th time (default 1) it gets there:

=============  ==============================================================
``handled``    an event scored, its outputs not yet handed to the producer
``sent``       its outputs handed to the producer, not yet acknowledged
``flushed``    offsets computed from the acknowledged outputs, not committed
``committed``  offsets committed, the state not yet saved
``saving``     in the middle of writing a checkpoint (its temporary file open)
=============  ==============================================================

Unset (the default, and always in production) every point is a no-op.

>>> CrashPoints.parse("sent:3")
CrashPoints(step='sent', times=3)
>>> CrashPoints.parse("sleeping")
Traceback (most recent call last):
...
ValueError: unknown step 'sleeping': one of handled, sent, flushed, committed, saving (STEP or STEP:N)
"""

from __future__ import annotations

import logging
import os
import signal
from dataclasses import dataclass, field

__all__ = ["NO_CRASHES", "STEPS", "CrashPoints"]

logger = logging.getLogger(__name__)

STEPS = ("handled", "sent", "flushed", "committed", "saving")


@dataclass
class CrashPoints:
    """Kill this process at ``step`` the ``times``-th time it is reached (``step=None``: never)."""

    step: str | None = None
    times: int = 1
    _count: int = field(default=0, repr=False)

    @classmethod
    def parse(cls, spec: str) -> CrashPoints:
        """``STEP`` or ``STEP:N`` (the empty string: no crash); ``ValueError`` saying what is wrong."""
        if not spec:
            return cls()
        step, _, times = spec.partition(":")
        if step not in STEPS:
            raise ValueError(f"unknown step {step!r}: one of {', '.join(STEPS)} (STEP or STEP:N)")
        try:
            n = int(times) if times else 1
        except ValueError:
            raise ValueError(f"{times!r} is not a count (STEP or STEP:N)") from None
        if n < 1:
            raise ValueError(f"the count must be 1 or more, got {n}")
        return cls(step, n)

    def reached(self, step: str) -> None:
        """The process is at ``step``: kill it there if this is the crash asked for."""
        if step != self.step:
            return
        self._count += 1
        if self._count >= self.times:
            logger.warning("crash point %s reached (STREAMAL_CRASH_AT): killing the process", step)
            for handler in logging.getLogger().handlers:
                handler.flush()
            os.kill(os.getpid(), signal.SIGKILL)


#: The points of a process that is not being crash-tested: every one a no-op.
NO_CRASHES = CrashPoints()
