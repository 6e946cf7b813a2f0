"""Labelled streams by name or path: synthetic drift, river's data sets, real drift data, files.

Every stream yields ``(features, label)`` pairs with string labels, and knows
where its drifts are when it was built with them (for the evaluation's plots
and recovery times).

* synthetic, with a change point at ``n // 2`` (``abrupt``) or a change spread
  over ``n // 10`` events around it (``gradual``): ``sea-abrupt``,
  ``sea-gradual``, ``agrawal-abrupt``, ``agrawal-gradual``,
  ``stagger-abrupt``, ``hyperplane-abrupt``, ``hyperplane-gradual``,
  ``rbf-abrupt``, ``rbf-gradual`` (a new concept drawn with another seed),
  ``hyperplane`` (incremental drift), ``rbf`` (incremental drift of the
  centroids);
* river's bundled data sets: ``phishing``, ``bananas``, ``imagesegments``;
* the real drift data sets (``elec2``, ``outdoor``, ``usenet1``, ``kdd99``),
  read from ``STREAMAL_DATA_DIR`` or ``../shared/data``;
* a CSV file (``--target`` names the label column; default: the last) or a
  JSONL file of events with a ``label`` field.

>>> s = open_stream("sea-abrupt", n=1000)
>>> s.drifts, len(list(s))
([500], 1000)
"""

from __future__ import annotations

import itertools
import math
import os
import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streamal.datasets import Pair, label_text, read_labelled
from streamal.errors import DataError

__all__ = ["REAL_DATASETS", "SYNTHETIC", "Pair", "Stream", "data_dir", "open_stream", "stream_names"]


REAL_DATASETS = {
    "elec2": "elec2.csv.gz",
    "outdoor": "outdoor.csv.gz",
    "usenet1": "usenet1.csv.gz",
    "kdd99": "kdd99_10pct.csv.gz",
}
RIVER_DATASETS = ("phishing", "bananas", "imagesegments")
SYNTHETIC = (
    "sea-abrupt", "sea-gradual", "agrawal-abrupt", "agrawal-gradual",
    "stagger-abrupt", "hyperplane", "hyperplane-abrupt", "hyperplane-gradual", "rbf", "rbf-abrupt", "rbf-gradual",
)
#: Imbalanced streams with classes that appear mid-stream (streamal.evaluation.imbalanced).
IMBALANCED_STREAMS = ("security", "tickets")
DEFAULT_SYNTHETIC_N = 20_000


@dataclass
class Stream:
    """A named, re-iterable stream of ``(features, label)`` pairs.

    ``skipped`` counts, by kind, the rows the last pass over a file left out.
    """

    name: str
    make: Callable[[], Iterable[Pair]]
    n: int | None = None
    drifts: list[int] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)

    def __iter__(self) -> Iterator[Pair]:
        it = iter(self.make())
        return itertools.islice(it, self.n) if self.n is not None else it


def stream_names() -> list[str]:
    """Every stream that can be opened by name."""
    return [*SYNTHETIC, *IMBALANCED_STREAMS, *RIVER_DATASETS, *REAL_DATASETS]


def data_dir() -> Path:
    """Where the real drift data sets are: ``STREAMAL_DATA_DIR``, else ``../shared/data``."""
    env = os.environ.get("STREAMAL_DATA_DIR")
    if env:
        return Path(env)
    for base in (Path.cwd(), Path(__file__).resolve().parent.parent):
        candidate = base.parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return Path.cwd().parent / "shared" / "data"


def _switch(first: Iterable[Pair], second: Iterable[Pair], position: int, width: int, seed: int) -> Iterator[Pair]:
    """Draw from ``first`` before ``position`` and ``second`` after; a sigmoid mix over ``width``.

    Our own few lines: river 0.26.1's ``ConceptDriftStream`` overflows for a
    small ``width`` at a large ``position``.
    """
    rng = random.Random(seed)
    a, b = iter(first), iter(second)
    for t in itertools.count():
        if width <= 1:
            p_second = 1.0 if t >= position else 0.0
        else:
            z = -4.0 * (t - position) / width
            p_second = 0.0 if z > 700 else 1.0 / (1.0 + math.exp(z))
        source = b if rng.random() < p_second else a
        try:
            x, y = next(source)
        except StopIteration:
            return
        yield x, y


def _river(gen: Iterable[tuple[dict[str, Any], Any]]) -> Iterator[Pair]:
    for x, y in gen:
        yield {str(k): v for k, v in x.items()}, label_text(y)


def _synthetic(name: str, n: int, seed: int) -> Stream:
    from river.datasets import synth

    kind, _, shape = name.partition("-")
    position = n // 2
    width = 1 if shape == "abrupt" else max(2, n // 10)

    def pair(make_a: Callable[[], Any], make_b: Callable[[], Any]) -> Callable[[], Iterator[Pair]]:
        return lambda: _switch(_river(make_a()), _river(make_b()), position, width, seed)

    if kind == "sea":
        make = pair(lambda: synth.SEA(variant=0, seed=seed), lambda: synth.SEA(variant=2, seed=seed + 1))
    elif kind == "agrawal":
        make = pair(lambda: synth.Agrawal(classification_function=0, seed=seed),
                    lambda: synth.Agrawal(classification_function=2, seed=seed + 1))
    elif kind == "stagger":
        make = pair(lambda: synth.STAGGER(classification_function=0, seed=seed),
                    lambda: synth.STAGGER(classification_function=2, seed=seed + 1))
    elif kind == "hyperplane" and shape:
        make = pair(lambda: synth.Hyperplane(seed=seed, n_features=10, noise_percentage=0.05),
                    lambda: synth.Hyperplane(seed=seed + 7, n_features=10, noise_percentage=0.05))
    elif kind == "rbf" and shape:
        make = pair(lambda: synth.RandomRBF(seed_model=seed, seed_sample=seed + 1, n_classes=3, n_features=10,
                                            n_centroids=30),
                    lambda: synth.RandomRBF(seed_model=seed + 7, seed_sample=seed + 2, n_classes=3, n_features=10,
                                            n_centroids=30))
    elif kind == "hyperplane":
        return Stream(name, lambda: _river(synth.Hyperplane(seed=seed, n_features=10, n_drift_features=4,
                                                           mag_change=0.001, noise_percentage=0.05)), n, [])
    elif kind == "rbf":
        return Stream(name, lambda: _river(synth.RandomRBFDrift(seed_model=seed, seed_sample=seed + 1,
                                                              n_classes=3, n_features=10, n_centroids=30,
                                                              change_speed=0.001, n_drift_centroids=15)), n, [])
    else:  # pragma: no cover - names are checked by the caller
        raise DataError(f"unknown synthetic stream {name!r}")
    return Stream(name, make, n, [position])


def open_stream(spec: str, *, target: str | None = None, n: int | None = None, seed: int = 42,
                sep: str | None = None, drift_at: list[int] | None = None) -> Stream:
    """Open a stream by name (see :func:`stream_names`) or by path to a CSV/JSONL file.

    For a file: ``sep`` is the CSV separator (sniffed when not given) and ``drift_at`` the
    positions of known drifts (so the evaluation measures the recovery after each).
    """
    key = spec.lower()
    if key in IMBALANCED_STREAMS:
        from streamal.evaluation.imbalanced import IMBALANCED

        return IMBALANCED[key](n or DEFAULT_SYNTHETIC_N, seed)
    if key in SYNTHETIC:
        return _synthetic(key, n or DEFAULT_SYNTHETIC_N, seed)
    if key in RIVER_DATASETS:
        from river import datasets

        cls = {"phishing": datasets.Phishing, "bananas": datasets.Bananas,
               "imagesegments": datasets.ImageSegments}[key]
        return Stream(key, lambda: _river(cls()), n, [])
    if key in REAL_DATASETS:
        path = data_dir() / REAL_DATASETS[key]
        if not path.exists():
            raise DataError(f"data set {key!r} not found at {path}; set STREAMAL_DATA_DIR to its folder")
        counts: Counter[str] = Counter()
        return Stream(key, lambda: read_labelled(path, target="class", sep=",", skipped=counts), n, [], counts)
    path = Path(spec)
    if not path.exists():
        raise DataError(f"{spec!r} is neither a file nor a known stream ({', '.join(stream_names())})")
    skipped: Counter[str] = Counter()
    read_labelled(path, target=target, sep=sep)  # refuses an unknown kind of file now, not at the first read
    return Stream(path.name, lambda: read_labelled(path, target=target, sep=sep, skipped=skipped), n,
                  sorted(drift_at or []), skipped)
