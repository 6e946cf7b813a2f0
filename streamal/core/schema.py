"""Feature types kept online: a feature whose values change type never reaches the model as a surprise.

Data as users have it is untidy: ``NA``, ``?`` or ``null`` in a numeric
column, a port number sent as ``"22"`` here and ``22`` there, a field that is
a number but means a category (ports, protocol numbers, event codes). River's
trees raise on a string where they split on numbers, so every value goes
through :meth:`Schema.prepare` first. The rules:

* ``None`` and the missing-value words (``NA``, ``N/A``, ``NaN``, ``null``,
  ``None``, ``?``, ``-``, ``""``; any case) are missing: the feature is left out;
* booleans are numbers (0 or 1);
* a declared categorical feature (``STREAMAL_CATEGORICAL``) is always a
  category: ``22`` becomes ``"22"``;
* otherwise a feature's kind is fixed by the first value *learned* (labels
  come in the same order on every replica, so every replica fixes the same
  kinds): a number makes it numeric, a string categorical. After that, a
  string in a numeric feature that reads as a number is that number and any
  other string is missing (counted in :attr:`Schema.mismatches`); a number in
  a categorical feature is the category of its text.

>>> schema = Schema(categorical=["dst_port"])
>>> schema.prepare({"bytes": 512, "proto": "tcp", "vpn": True, "dst_port": 443}, learn=True)
{'bytes': 512, 'proto': 'tcp', 'vpn': 1.0, 'dst_port': '443'}
>>> schema.prepare({"bytes": "NA", "proto": 6, "dst_port": 22.0})
{'proto': '6', 'dst_port': '22'}
>>> schema.prepare({"bytes": "1024"}), schema.prepare({"bytes": "lots"}), schema.mismatches
({'bytes': 1024.0}, {}, 1)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, Literal

__all__ = ["MISSING_WORDS", "Schema"]

#: Strings that mean "no value" (compared lower-cased, trimmed), in features and in data files.
MISSING_WORDS = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "-"})


Kind = Literal["number", "category"]


def _category(value: float | int) -> str:
    """The text of a number used as a category: ``22.0`` and ``22`` are both ``"22"``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


class Schema:
    """The kind of each feature, fixed by the first value learned; see the module doc for the rules."""

    def __init__(self, categorical: Iterable[str] = ()) -> None:
        self.categorical = frozenset(categorical)
        self.kinds: dict[str, Kind] = {}
        self.mismatches = 0

    def prepare(self, features: Mapping[str, Any], *, learn: bool = False) -> dict[str, float | str]:
        """Model-ready features; ``learn`` fixes the kinds of features seen for the first time."""
        out: dict[str, float | str] = {}
        for name, value in features.items():
            if value is None:
                continue
            if value is True or value is False:
                value = 1.0 if value else 0.0
            if name in self.categorical:
                if isinstance(value, str):
                    if value.strip().lower() not in MISSING_WORDS:
                        out[name] = value
                else:
                    out[name] = _category(value)
                continue
            kind = self.kinds.get(name)
            if isinstance(value, str):
                text = self._text(name, value, kind, learn)
                if text is not None:
                    out[name] = text
            elif kind == "category":
                out[name] = _category(value)
            else:
                if kind is None and learn:
                    self.kinds[name] = "number"
                out[name] = value
        return out

    def _text(self, name: str, value: str, kind: str | None, learn: bool) -> float | str | None:
        """A text value of a feature that is not declared categorical: a number, a category, or missing."""
        if value.strip().lower() in MISSING_WORDS:
            return None
        if kind == "number":
            number = _number(value)
            if number is None:
                self.mismatches += 1
            return number
        if kind is None and learn:
            self.kinds[name] = "category"
        return value
