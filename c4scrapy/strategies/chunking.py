"""Splitting LLM input into chunks of about N tokens that keep the text's structure.

Tokens are *estimated*, not counted with a tokenizer: ``tokens = words x word_token_rate``
where words are whitespace-separated runs (Crawl4AI's estimate; 1.3 by default, about
right for English prose with GPT-style tokenizers; markup-heavy HTML has more tokens per
"word", so lower ``chunk_token_threshold`` for HTML input or raise the rate).

The text is cut only at boundaries, in this order of preference: blank lines (markdown
paragraphs, lists, tables, code blocks stay whole), then line ends, then spaces; for HTML
input, before block-level tags (``<p``, ``<li``, ``<h2``, ``<tr``...). Chunks keep every
character of the text, newlines included: without overlap, ``"".join(chunks) == text``.
With ``overlap_rate`` > 0, each chunk after the first starts with the last
``int(threshold x overlap_rate)`` estimated tokens of the previous one (whole blocks when
they fit, else the trailing words of the last block), and every chunk stays within the
threshold.
"""

from __future__ import annotations

import math
import re

_BLANK_LINE_RE = re.compile(r"\n[ \t]*\n")
_HTML_BLOCK_RE = re.compile(
    r"(?=<(?:p|div|li|ul|ol|dl|dt|dd|h[1-6]|tr|table|thead|tbody|section|article|main|aside|"
    r"header|footer|nav|pre|blockquote|figure|figcaption|details|summary|hr|br|form)\b)",
    re.IGNORECASE,
)
_WORD_RE = re.compile(r"\S+\s*")


def estimate_tokens(text: str, word_token_rate: float = 1.3) -> int:
    """Estimated tokens of ``text``: whitespace-separated words x ``word_token_rate``."""
    return math.ceil(len(text.split()) * word_token_rate)


def chunk_text(
    text: str,
    chunk_token_threshold: int,
    overlap_rate: float = 0.0,
    word_token_rate: float = 1.3,
    *,
    html: bool = False,
) -> list[str]:
    """Chunks of at most ~``chunk_token_threshold`` estimated tokens (see the module doc)."""
    if not text.strip():
        return []
    overlap = int(chunk_token_threshold * overlap_rate)
    if len(text.split()) * word_token_rate <= chunk_token_threshold:
        return [text]
    room = max(1.0, chunk_token_threshold - overlap)
    units = [
        piece for block in _blocks(text, html=html) for piece in _fit(block, room, word_token_rate)
    ]
    chunks: list[list[str]] = []
    current: list[str] = []
    size = 0.0
    for unit in units:
        cost = len(unit.split()) * word_token_rate
        if current and size + cost > chunk_token_threshold:
            chunks.append(current)
            current = _tail(current, overlap, word_token_rate)
            size = sum(len(u.split()) * word_token_rate for u in current)
        current.append(unit)
        size += cost
    if current:
        chunks.append(current)
    return ["".join(chunk) for chunk in chunks]


def _blocks(text: str, *, html: bool) -> list[str]:
    """Pieces whose concatenation is ``text``, cut at paragraph (or HTML block) starts."""
    pieces: list[str] = []
    start = 0
    if html:
        cuts = [m.start() for m in _HTML_BLOCK_RE.finditer(text)]
    else:
        cuts = [m.end() for m in _BLANK_LINE_RE.finditer(text)]
    for cut in cuts:
        if cut > start:
            pieces.append(text[start:cut])
            start = cut
    pieces.append(text[start:])
    return [p for p in pieces if p]


def _fit(block: str, room: float, rate: float) -> list[str]:
    """``block`` as is when it fits in ``room`` tokens, else cut at line ends, then spaces."""
    if len(block.split()) * rate <= room:
        return [block]
    lines = block.splitlines(keepends=True)
    if len(lines) > 1:
        out: list[str] = []
        current = ""
        for line in lines:
            if current and len((current + line).split()) * rate > room:
                out.extend(_fit(current, room, rate))
                current = ""
            current += line
        if current:
            out.extend(_fit(current, room, rate))
        return out
    words = _WORD_RE.findall(block)
    lead = block[: len(block) - len(block.lstrip())]
    per_piece = max(1, int(room / rate))
    pieces = ["".join(words[i : i + per_piece]) for i in range(0, len(words), per_piece)]
    if pieces:
        pieces[0] = lead + pieces[0]
    return pieces


def _tail(units: list[str], overlap: int, rate: float) -> list[str]:
    """The end of a chunk to repeat at the start of the next: ``overlap`` tokens at most."""
    if overlap <= 0:
        return []
    tail: list[str] = []
    size = 0.0
    for unit in reversed(units):
        cost = len(unit.split()) * rate
        if size + cost <= overlap:
            tail.insert(0, unit)
            size += cost
            continue
        if not tail:
            words = _WORD_RE.findall(unit)
            keep = int((overlap - size) / rate)
            if keep > 0:
                tail.insert(0, "".join(words[-keep:]))
        break
    return tail
