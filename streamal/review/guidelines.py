"""The labelling guidelines: a Markdown file the analysts read on the review page.

Rendered once at start with markdown-it-py, CommonMark with raw HTML turned
off: a ``<script>`` in the file is shown as text, and links with a
``javascript:`` address are not made links. The page's CSP allows no inline
script either way.

>>> render_guidelines("# Labels\\n\\n*malicious*: a scan or an exploit. <script>alert(1)</script>")
'<h1>Labels</h1>\\n<p><em>malicious</em>: a scan or an exploit. &lt;script&gt;alert(1)&lt;/script&gt;</p>\\n'
"""

from __future__ import annotations

from pathlib import Path

from markdown_it import MarkdownIt

__all__ = ["MAX_GUIDELINES_BYTES", "load_guidelines", "render_guidelines"]

#: The largest guidelines file read.
MAX_GUIDELINES_BYTES = 1_000_000


def render_guidelines(text: str) -> str:
    """``text`` (Markdown) as HTML, raw HTML escaped."""
    html: str = MarkdownIt("commonmark", {"html": False}).render(text)
    return html


def load_guidelines(path: Path | None) -> str:
    """The guidelines file as HTML (empty without one); ``ValueError`` if it cannot be read."""
    if path is None:
        return ""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    if len(data) > MAX_GUIDELINES_BYTES:
        raise ValueError(f"{path} is {len(data)} bytes, over the limit of {MAX_GUIDELINES_BYTES}")
    return render_guidelines(data.decode("utf-8", errors="replace"))
