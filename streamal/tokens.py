"""The review API's bearer tokens: who each belongs to, kept only as SHA-256 digests.

``STREAMAL_REVIEW_TOKENS`` is parsed here (at start, by the settings) into a
:class:`TokenBook`, which the HTTP layer asks who presented a token.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from pathlib import Path

__all__ = ["TokenBook", "digest", "parse_tokens"]

_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")


class TokenBook:
    """The review API's bearer tokens, kept as SHA-256 digests and checked in constant time.

    A presented token is hashed and compared with every known digest by
    :func:`hmac.compare_digest` (no early exit), so the time a check takes
    says nothing about how close a guess was, and the plain tokens need not
    be kept anywhere: a token file may list ``analyst:sha256:<hex digest>``.

    >>> book = parse_tokens("analyst-1:s3cret-token-1, analyst-2:sha256:" + digest("s3cret-token-2"))
    >>> book.who("s3cret-token-1"), book.who("s3cret-token-2"), book.who("guess")
    ('analyst-1', 'analyst-2', None)
    >>> book.names()
    ['analyst-1', 'analyst-2']
    """

    def __init__(self, entries: Mapping[str, str] | None = None, examples: list[str] | None = None) -> None:
        self._digests = [(bytes.fromhex(d), name) for d, name in (entries or {}).items()]
        self.examples = sorted(examples or [])  # annotators whose tokens are the documentation's placeholders

    def who(self, token: str) -> str | None:
        """The annotator ``token`` belongs to, or ``None``; every entry is compared, in constant time."""
        presented = hashlib.sha256(token.encode()).digest()
        found = None
        for known, name in self._digests:
            if hmac.compare_digest(presented, known):
                found = name
        return found

    def names(self) -> list[str]:
        """The annotators, sorted."""
        return sorted({name for _, name in self._digests})

    def digests(self) -> set[bytes]:
        """The tokens' digests (to tell two books apart without any token)."""
        return {d for d, _ in self._digests}

    def __bool__(self) -> bool:
        return bool(self._digests)


def digest(token: str) -> str:
    """The SHA-256 hex digest of a token, as a token file may list it (``analyst:sha256:<digest>``)."""
    return hashlib.sha256(token.encode()).hexdigest()


def parse_tokens(spec: str) -> TokenBook:
    """``"annotator:token,..."`` (or ``"@file"`` with one pair a line; ``#`` comments) as a :class:`TokenBook`.

    A token is 8 characters or more; ``sha256:<64 hex>`` gives its digest instead of the token.
    """
    text = spec.strip()
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            text = path.read_text()
        except OSError as exc:
            raise ValueError(f"cannot read the token file {path}: {exc.strerror}") from None
    out: dict[str, str] = {}
    examples = []
    lines = [line for line in text.splitlines() if not line.strip().startswith("#")]  # comments may hold commas
    for raw in re.split(r"[,\n]", "\n".join(lines)):
        pair = raw.strip()
        if not pair:
            continue
        name, sep, token = pair.partition(":")
        name, token = name.strip(), token.strip()
        if not sep or not _NAME.fullmatch(name):
            raise ValueError(f"expected 'annotator:token' pairs, got {pair.split(':')[0]!r}...")
        if token.startswith("sha256:"):
            hexed = token.removeprefix("sha256:").lower()
            if not re.fullmatch(r"[0-9a-f]{64}", hexed):
                raise ValueError(f"the digest of {name!r} is not 64 hexadecimal characters")
        elif len(token) < 8:
            raise ValueError(f"the token of {name!r} is shorter than 8 characters")
        else:
            if token.startswith("change-me"):
                examples.append(name)
            hexed = digest(token)
        if hexed in out:
            raise ValueError(f"two annotators share one token ({out[hexed]!r} and {name!r})")
        out[hexed] = name
    return TokenBook(out, examples)
