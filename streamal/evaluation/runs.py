"""Runs: one pass of a stream through the learner (or a reference), with a simulated analyst.

Each *run* is one strategy at one budget: every event is scored (test), then,
if the learner queried it, its true label is handed back ``delay`` events
later (train), exactly as the Kafka service would receive it. Prequential
accuracy is over *all* events, queried or not. ``passive`` (a label for every
event) and the references ``no-change`` and ``majority`` run here too.
"""

from __future__ import annotations

import heapq
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from streamal.core.calibration import CalibrationMeter
from streamal.core.config import LearnerConfig
from streamal.core.domain import Event, Label
from streamal.core.learner import Learner
from streamal.core.names import model_name, strategy_name
from streamal.errors import ConfigError
from streamal.evaluation.analysts import Analysts, AnswerTimes
from streamal.evaluation.classes import ClassTracker
from streamal.evaluation.streams import Pair

__all__ = [
    "BASELINES",
    "PASSIVE",
    "RANDOM",
    "REFERENCES",
    "STOP",
    "WARM",
    "DelayedOracle",
    "Tick",
    "Trace",
    "default_strategy",
    "parse_delay",
    "run_learner",
    "run_reference",
    "ticked",
]

#: A progress callback: told how many more events were done.
Tick = Callable[[int], object]

PASSIVE, RANDOM = "passive", "random"
#: A strategy name with this suffix runs with the stopping rule on.
STOP = "+stop"
#: A strategy name with this suffix learns the labelled history first (``evaluate --warm``).
WARM = "+warm"
BASELINES = (PASSIVE, RANDOM)
REFERENCES = ("no-change", "majority")


def default_strategy() -> str:
    """The strategy the service runs when ``STREAMAL_STRATEGY`` is not set."""
    return LearnerConfig().strategy


def parse_delay(text: str | float, rate: float | None = None) -> int:
    """A label delay in events: a count (``"500"``) or a duration (``"30s"``, ``"5m"``, ``"2h"``) at ``rate`` events/s.

    >>> parse_delay("250"), parse_delay("2m", rate=10), parse_delay(0)
    (250, 1200, 0)
    >>> parse_delay("30s")
    Traceback (most recent call last):
    ...
    streamal.errors.ConfigError: --delay: a duration ('30s') needs --rate (events per second) to become events
    """
    s = str(text).strip().lower()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(s|m|h)?", s)
    if not m:
        raise ConfigError(f"--delay: expected events (500) or a duration (30s, 5m, 2h), got {text!r}")
    value, unit = float(m.group(1)), m.group(2)
    if unit is None:
        return int(value)
    if rate is None:
        raise ConfigError(f"--delay: a duration ({text!r}) needs --rate (events per second) to become events")
    seconds = value * {"s": 1, "m": 60, "h": 3600}[unit]
    return round(seconds * rate)


@dataclass
class Trace:
    """What one run did: per event, right or wrong, and which events were queried."""

    strategy: str
    budget: float | None
    seed: int
    correct: bytearray = field(default_factory=bytearray)
    queried: list[int] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # of each query, in order
    classes: ClassTracker = field(default_factory=ClassTracker)
    labels: int = 0
    seconds: float = 0.0
    decision_seconds: float = 0.0
    withdrawn: int = 0  # questions the simulated analysts' pool withdrew (their queries refunded)
    answered: int | None = None  # questions the simulated analysts answered (None: every one, after the delay)
    calibration: CalibrationMeter = field(default_factory=lambda: CalibrationMeter(window=10**9))

    @property
    def n(self) -> int:
        return len(self.correct)

    @property
    def confusion(self) -> Counter[tuple[str, str]]:
        """``{(truth, prediction): events}`` (a prediction of ``""``: none yet)."""
        return self.classes.confusion

    @property
    def accuracy(self) -> float:
        return sum(self.correct) / self.n if self.n else 0.0

    def record(self, truth: str, prediction: str | None, proba: Mapping[str, float] | None = None) -> None:
        """One event's prediction (and its probabilities, for the calibration) against the truth."""
        ok = prediction == truth
        self.correct.append(1 if ok else 0)
        self.classes.record(truth, prediction)
        if proba:
            self.calibration.update(proba, truth)


class DelayedOracle:
    """Hands labels back ``delay`` events after they were asked for."""

    def __init__(self, delay: int) -> None:
        self.delay = delay
        self._heap: list[tuple[int, int, str, str, dict[str, Any]]] = []
        self._seq = 0

    def ask(self, t: int, event_id: str, label: str, x: dict[str, Any]) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (t + self.delay, self._seq, event_id, label, x))

    def due(self, t: int) -> Iterable[tuple[str, str, dict[str, Any]]]:
        while self._heap and self._heap[0][0] <= t:
            _, _, event_id, label, x = heapq.heappop(self._heap)
            yield event_id, label, x


def ticked(stream: Iterable[Pair], tick: Tick | None) -> Iterator[tuple[int, Pair]]:
    """``enumerate(stream)``, reporting progress to ``tick`` every 1000 events and the rest at the end."""
    n = 0
    for n, pair in enumerate(stream, 1):
        yield n - 1, pair
        if tick is not None and n % 1000 == 0:
            tick(1000)
    if tick is not None:
        tick(n % 1000)


def run_learner(
    stream: Iterable[tuple[dict[str, Any], str]], *, model: str, strategy: str, budget: float, delay: int = 0,
    seed: int = 42, options: dict[str, Any] | None = None, tick: Tick | None = None,
    history: Iterable[tuple[dict[str, Any], str]] = (), analysts: AnswerTimes | None = None, rate: float = 1.0,
) -> Trace:
    """One run of the :class:`~streamal.core.learner.Learner` over ``stream``.

    ``strategy`` may be ``passive``: every event's label is learned (after the same delay), no sampler;
    a ``+stop`` suffix turns the stopping rule on, a ``+warm`` suffix learns ``history`` first.
    ``analysts`` (with the stream's ``rate`` in events per second) answer instead of a fixed ``delay``:
    a capacity and a long-tailed answer time, pulling from the pool (:mod:`streamal.evaluation.analysts`).
    """
    passive = strategy == PASSIVE
    base = strategy.removesuffix(WARM).removesuffix(STOP)
    extra = {**(options or {}), **({"stopping": True} if STOP in strategy else {})}
    if analysts is not None and not passive:
        extra.setdefault("capacity", analysts.capacity)  # the service asks what its analysts can answer
    learner = Learner(LearnerConfig(model=model_name(model), strategy="random" if passive else strategy_name(base),
                                    budget=budget, seed=seed, **extra))
    if strategy.endswith(WARM):
        learner.warm(history)
    learner.timer = time.perf_counter  # the learner times its own decisions
    trace = Trace(strategy, None if passive else budget, seed)
    oracle = DelayedOracle(delay)
    team = None if analysts is None or passive else Analysts(
        learner, every=rate * 3600.0 / analysts.capacity, median=rate * analysts.median_seconds,
        sigma=analysts.sigma, seed=seed)
    answers = oracle.due if team is None else team.due
    started = time.perf_counter()
    for t, (x, y) in ticked(stream, tick):
        for event_id, label, lx in answers(t):
            learner.learn(Label(event_id, label, features=lx if passive else None), now=t / rate)
        event_id = str(t)
        decision = learner.score(Event(event_id, x, label=y if passive else None), now=t / rate)
        trace.record(y, decision.prediction, decision.proba)
        if passive:
            trace.labels += 1
            if delay == 0:
                learner.learn(Label(event_id, y, features=x), now=t / rate)
            else:
                oracle.ask(t, event_id, y, x)
        elif decision.query is not None:
            trace.queried.append(t)
            trace.reasons.append(decision.query.reason)
            trace.classes.queried(y)
            trace.labels += 1
            if team is not None:
                team.ask(t, event_id, y, x, decision.query.reason, decision.query.score)
            elif delay == 0:
                learner.learn(Label(event_id, y), now=t / rate)
            else:
                oracle.ask(t, event_id, y, x)
    trace.seconds = time.perf_counter() - started
    trace.decision_seconds = learner.decision_seconds
    if team is not None:  # asked, then withdrawn unanswered: no label was spent on it
        trace.labels -= team.withdrawn
        trace.withdrawn = team.withdrawn
        trace.answered = team.pulled
    return trace


def run_reference(stream: Iterable[tuple[dict[str, Any], str]], kind: str) -> Trace:
    """The ``no-change`` or ``majority`` reference: it sees every label, at once."""
    trace = Trace(kind, None, 0)
    started = time.perf_counter()
    last: str | None = None
    counts: Counter[str] = Counter()
    for _, y in stream:
        if kind == "no-change":
            trace.record(y, last)
        else:
            trace.record(y, counts.most_common(1)[0][0] if counts else None)
            counts[y] += 1
        last = y
        trace.labels += 1
    trace.seconds = time.perf_counter() - started
    return trace
