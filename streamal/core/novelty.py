"""Novelty: events unlike anything labelled so far, which a confident model would never ask about.

A new attack technique arrives in a region of feature space no label has
ever come from. The model extrapolates, often confidently ("benign"), so
uncertainty sampling never asks about it and only the random audit finds it,
late. :class:`NoveltyWatch` keeps, per feature, what the labelled (or asked)
events covered: for numbers the range of their values (on a signed log scale,
so heavy-tailed byte counts are not all novel), for strings the values seen.
An event is novel when a value falls outside that cover: a number beyond the
range by more than ``margin`` of its width (and by a factor of 2 at least),
any other number where a feature has only ever had one value through
``steady`` covered events (a flag or a counter that was always 0: in
intrusion data the signature of an attack, ``wrong_fragment`` 1 where it was
always 0), or a string value never labelled.
:meth:`NoveltyWatch.novel` names those features, which is also the
explanation shown to the analyst ("unlike anything labelled so far: bytes_out").

Asking about a novel event widens the cover at once (the question is on its
way: its label will cover it), so a new region costs one question, not one
per event, and the next question goes to the next new region.

>>> w = NoveltyWatch(min_covered=3, steady=3)
>>> for v in (10.0, 200.0, 3000.0):
...     w.cover({"bytes": v, "port": "443"})
>>> w.novel({"bytes": 500.0, "port": "443"}), w.novel({"bytes": 9e6, "port": "3333"})
([], ['bytes', 'port'])
>>> w.cover({"bytes": 9e6, "port": "3333"}); w.novel({"bytes": 8e6, "port": "3333"})
[]
>>> w = NoveltyWatch(min_covered=3, steady=3)
>>> for v in (10.0, 200.0, 3000.0):
...     w.cover({"bytes": v, "fragments": 0})
>>> w.novel({"bytes": 12.0, "fragments": 1})     # always 0 until now
['fragments']
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["NoveltyWatch", "alike"]

#: Distinct string values remembered per feature (beyond it, a feature's strings no longer count as novel).
MAX_VALUES = 10_000
#: The least distance beyond a covered range, on the log scale, that counts as novel: a factor of 2, so a
#: count covered from 0 to 3 is novel from 8 on (a factor of e, the earlier bar, waited for 10: the first
#: refund frauds of the tickets stream, with 6 to 10 refund words, passed as billing).
MIN_SLACK = math.log(2.0)


def _scale(v: float) -> float:
    """Signed log: heavy tails (bytes, durations) become ranges a few units wide."""
    return math.copysign(math.log1p(abs(v)), v)


class NoveltyWatch:
    """What the labelled events covered, per feature; which features of an event fall outside it.

    Parameters
    ----------
    margin
        How far beyond a numeric feature's covered range (a share of its width, at least ``MIN_SLACK``,
        a factor of 2, on the log scale) a value must be to count as novel.
    min_covered
        Events covered before anything counts as novel (a few labels do not make a cover).
    steady
        Events a numeric feature must have kept one value through before any other value of it counts as
        novel (a flag that was 0 in the first few events only says little).
    """

    def __init__(self, margin: float = 0.5, min_covered: int = 20, steady: int = 200) -> None:
        self.margin = margin
        self.min_covered = min_covered
        self.steady = steady
        self.covered = 0
        self._ranges: dict[str, list[float]] = {}  # name -> [low, high, events covered] on the log scale
        self._values: dict[str, set[str]] = {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        # a watch saved before the counts and `steady` were kept: its ranges are taken as established
        self.__dict__.update(state)
        self.__dict__.setdefault("steady", 200)
        for r in self._ranges.values():
            if len(r) == 2:
                r.append(float(self.steady))

    def cover(self, x: Mapping[str, Any]) -> None:
        """``x`` is labelled, or asked about (its label will be): widen the cover to it."""
        self.covered += 1
        for name, value in x.items():
            if value is None:
                continue
            if isinstance(value, str):
                seen = self._values.setdefault(name, set())
                if len(seen) < MAX_VALUES:
                    seen.add(value)
                continue
            v = _scale(float(value))
            r = self._ranges.get(name)
            if r is None:
                self._ranges[name] = [v, v, 1.0]
                continue
            r[2] += 1.0
            if v < r[0]:
                r[0] = v
            elif v > r[1]:
                r[1] = v

    def novel(self, x: Mapping[str, Any]) -> list[str]:
        """The features of ``x`` outside what was covered (none while the cover is too thin). Pure."""
        if self.covered < self.min_covered:
            return []
        out = []
        for name, value in x.items():
            if value is None:
                continue
            if isinstance(value, str):
                seen = self._values.get(name)
                if seen is not None and value not in seen and len(seen) < MAX_VALUES:
                    out.append(name)
                continue
            r = self._ranges.get(name)
            if r is None:
                continue
            v = _scale(float(value))
            if r[0] == r[1]:  # one value only so far: any other is new, once enough events had it
                if v != r[0] and r[2] >= self.steady:
                    out.append(name)
                continue
            slack = max(MIN_SLACK, self.margin * (r[1] - r[0]))
            if v < r[0] - slack or v > r[1] + slack:
                out.append(name)
        return out


def alike(x: Mapping[str, Any], example: Mapping[str, Any], width: float = 1.0) -> bool:
    """Whether ``x`` is close to ``example`` on every feature they share: numbers within ``width`` on the log
    scale (a factor of about e), strings equal. How the look-alikes of a new class's first example are found.

    >>> alike({"bytes": 3e7, "port": "443"}, {"bytes": 5e7, "port": "443"}), alike({"bytes": 900.0}, {"bytes": 5e7})
    (True, False)
    """
    shared = 0
    for name, v0 in example.items():
        v = x.get(name)
        if v is None or v0 is None:
            continue
        shared += 1
        if isinstance(v0, str) or isinstance(v, str):
            if v != v0:
                return False
        elif abs(_scale(float(v)) - _scale(float(v0))) > width:
            return False
    return shared > 0
