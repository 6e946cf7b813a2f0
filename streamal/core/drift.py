"""Drift monitors: ADWIN on the error of labelled events and on the model's confidence.

Two signals, because labels are scarce and late:

* ``error``: 1/0 for each labelled event, whether the prediction made when it
  was scored was wrong. The direct signal, but it needs labels.
* ``confidence``: the top probability of every scored event. Needs no label,
  so it reacts as soon as the inputs move into regions the model is unsure of.

A model that is still learning grows more confident and makes fewer errors,
and ADWIN would call that a change too. So a detector only raises an alarm
when its change goes the bad way (error up, confidence down), after a warm-up
of ``warmup`` learned labels, and not within ``cooldown`` updates of its last
alarm.

>>> m = DriftMonitor(warmup=0, cooldown=0)
>>> alarms = [m.update_error(i >= 500, n_learned=1000) for i in range(1000)]
>>> any(alarms[:500]), any(alarms[500:])
(False, True)
"""

from __future__ import annotations

from river import drift

__all__ = ["DETECTORS", "DirectionalADWIN", "DriftMonitor"]

DETECTORS = ("error", "confidence")


class DirectionalADWIN:
    """ADWIN that reports a change only in one direction.

    ``worse`` is ``+1`` when a rising mean is bad (error), ``-1`` when a falling
    one is (confidence).
    """

    def __init__(self, worse: int, delta: float = 0.002, cooldown: int = 500) -> None:
        self.worse = worse
        self.delta = delta
        self.cooldown = cooldown
        self._adwin = drift.ADWIN(delta=delta)
        self._since_alarm = cooldown

    def update(self, x: float) -> bool:
        """Add ``x``; ``True`` when a change the bad way was just detected."""
        before = self._adwin.estimation
        self._adwin.update(x)
        self._since_alarm += 1
        if not self._adwin.drift_detected:
            return False
        after = self._adwin.estimation
        if (after - before) * self.worse <= 0 or self._since_alarm < self.cooldown:
            return False
        self._since_alarm = 0
        return True

    @property
    def estimation(self) -> float:
        """The mean over ADWIN's current window."""
        return float(self._adwin.estimation)


class DriftMonitor:
    """The error and confidence detectors, with a warm-up counted in learned labels."""

    def __init__(self, warmup: int = 200, delta: float = 0.002, cooldown: int = 500) -> None:
        self.warmup = warmup
        self.delta = delta
        self.cooldown = cooldown
        self.error = DirectionalADWIN(+1, delta, cooldown=max(1, cooldown // 10))
        self.confidence = DirectionalADWIN(-1, delta, cooldown=cooldown)
        self.alarms = dict.fromkeys(DETECTORS, 0)

    def update_error(self, wrong: bool, n_learned: int) -> bool:
        """Feed whether a labelled event was mispredicted; ``True`` on an alarm."""
        alarm = self.error.update(1.0 if wrong else 0.0) and n_learned >= self.warmup
        if alarm:
            self.alarms["error"] += 1
        return alarm

    def update_confidence(self, confidence: float, n_learned: int) -> bool:
        """Feed the top probability of a scored event; ``True`` on an alarm."""
        if n_learned < self.warmup:
            return False
        alarm = self.confidence.update(confidence)
        if alarm:
            self.alarms["confidence"] += 1
        return alarm
