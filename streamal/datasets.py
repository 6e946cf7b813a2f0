"""Labelled data sets: CSV (a label column) and JSONL (events with a ``label``), read as users have them.

Used by ``streamal evaluate`` to replay a file and by ``streamal run
--seed-labels`` to learn a labelled history before the stream. Untidy input
is expected: a byte-order mark, a separator that is not a comma (sniffed, or
given), missing-value words, ragged rows and empty targets (skipped and
counted in ``skipped``); a JSONL syntax error names its line.
"""

from __future__ import annotations

import csv
import gzip
import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from streamal.core.schema import MISSING_WORDS
from streamal.errors import DataError

__all__ = ["Pair", "label_text", "read_labelled"]

Pair = tuple[dict[str, Any], str]


def label_text(y: Any) -> str:
    """A label as text: ``True`` is ``"1"``, ``2.0`` is ``"2"``."""
    if isinstance(y, bool):
        return "1" if y else "0"
    if isinstance(y, float) and y.is_integer():
        return str(int(y))
    return str(y)


def _typed(value: str) -> Any:
    """A CSV cell as a number where it reads as one, ``None`` where it says "missing", else the text."""
    text = value.strip()
    if text.lower() in MISSING_WORDS:
        return None
    try:
        number = float(text)
    except ValueError:
        return value
    return number if math.isfinite(number) else None


def _open_text(path: Path) -> IO[str]:
    # utf-8-sig: a byte-order mark at the start of the file is not part of the first column's name
    if path.suffix == ".gz":
        return gzip.open(path, "rt", newline="", encoding="utf-8-sig")
    return path.open("r", newline="", encoding="utf-8-sig")


def _dialect(path: Path, sep: str | None) -> str:
    """The field separator: ``sep`` if given, else sniffed from the first lines (comma, semicolon, tab, pipe)."""
    if sep:
        return "\t" if sep in ("\\t", "tab") else sep
    with _open_text(path) as fh:
        sample = fh.read(65536)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _csv_pairs(path: Path, target: str | None, sep: str | None, skipped: Counter[str]) -> Iterator[Pair]:
    skipped.clear()
    try:
        delimiter = _dialect(path, sep)
        with _open_text(path) as fh:
            reader = csv.reader(fh, delimiter=delimiter)
            header = [h.strip() for h in next(reader)]
            col = header[-1] if target is None else target
            if col not in header:
                raise DataError(f"{path}: no column {col!r} (columns: {', '.join(header)}); "
                                "name the label column with --target, and the separator with --sep")
            idx = header.index(col)
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if len(row) != len(header):
                    skipped["ragged rows"] += 1
                    continue
                value = _typed(row[idx])
                if value is None:
                    skipped["empty targets"] += 1
                    continue
                x = {h: _typed(v) for i, (h, v) in enumerate(zip(header, row, strict=True)) if i != idx}
                yield x, label_text(value)
    except StopIteration:  # no header line
        raise DataError(f"{path} is empty: expected a header line, then one labelled row per line") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"cannot read {path}: not UTF-8 text ({exc.reason} at byte {exc.start}); "
                        "is it a CSV file?") from None
    except (OSError, csv.Error) as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc


def _jsonl_pairs(path: Path, target: str | None, skipped: Counter[str]) -> Iterator[Pair]:
    skipped.clear()
    key = target or "label"
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    obj = orjson.loads(line.removeprefix(b"\xef\xbb\xbf") if lineno == 1 else line)
                except orjson.JSONDecodeError as exc:
                    raise DataError(f"{path}:{lineno}: not valid JSON: {exc}") from None
                if not isinstance(obj, dict) or not isinstance(obj.get("features"), dict):
                    raise DataError(f"{path}:{lineno}: expected an event with 'features' and {key!r}")
                y = obj.get(key)
                if y is None or (isinstance(y, str) and y.strip().lower() in MISSING_WORDS):
                    skipped["empty targets"] += 1
                    continue
                yield obj["features"], label_text(y)
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc


def read_labelled(path: Path, *, target: str | None = None, sep: str | None = None,
                  skipped: Counter[str] | None = None) -> Iterator[Pair]:
    """``(features, label)`` pairs of a CSV or JSONL file; ``skipped`` counts what was left out, by kind."""
    skipped = Counter() if skipped is None else skipped
    name = path.name.lower()
    if name.endswith((".jsonl", ".jsonl.gz", ".ndjson")):
        return _jsonl_pairs(path, target, skipped)
    if name.endswith((".csv", ".csv.gz", ".tsv", ".txt")):
        return _csv_pairs(path, target, sep, skipped)
    raise DataError(f"{path}: expected a .csv, .csv.gz, .tsv or .jsonl file")
