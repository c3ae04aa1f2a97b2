"""Splitting LLM input into chunks of about N estimated tokens, cut only at boundaries
(blank lines, then line ends, then spaces; before block tags in HTML), every character kept."""

from __future__ import annotations

import math
import re

LONG_WORD_CHARS = 10
CHARS_PER_TOKEN_IN_LONG_WORDS = 3.5

_BLANK_LINE_RE = re.compile(r"\n[ \t]*\n")
_HTML_BLOCK_RE = re.compile(
    r"(?=<(?:p|div|li|ul|ol|dl|dt|dd|h[1-6]|tr|table|thead|tbody|section|article|main|aside|"
    r"header|footer|nav|pre|blockquote|figure|figcaption|details|summary|hr|br|form)\b)",
    re.IGNORECASE,
)
_WORD_RE = re.compile(r"\S+\s*")


def _cost(text: str, rate: float) -> float:
    return sum(
        rate
        if len(word) <= LONG_WORD_CHARS
        else max(rate, len(word) / CHARS_PER_TOKEN_IN_LONG_WORDS)
        for word in text.split()
    )


def estimate_tokens(text: str, word_token_rate: float = 1.3) -> int:
    """Estimated tokens of ``text`` (see the module docstring)."""
    return math.ceil(round(_cost(text, word_token_rate), 6))


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
    rate = word_token_rate
    overlap = int(chunk_token_threshold * overlap_rate)
    if _cost(text, rate) <= chunk_token_threshold:
        return [text]
    room = max(1.0, chunk_token_threshold - overlap)
    units = [piece for block in _blocks(text, html=html) for piece in _fit(block, room, rate)]
    chunks: list[list[str]] = []
    current: list[str] = []
    size = 0.0
    for unit in units:
        cost = _cost(unit, rate)
        if current and size + cost > chunk_token_threshold:
            chunks.append(current)
            current = _tail(current, overlap, rate)
            size = sum(_cost(u, rate) for u in current)
        current.append(unit)
        size += cost
    if current:
        chunks.append(current)
    return ["".join(chunk) for chunk in chunks]


def _blocks(text: str, *, html: bool) -> list[str]:
    """Pieces whose concatenation is ``text``, cut at paragraph (or HTML block) starts."""
    if html:
        cuts = [m.start() for m in _HTML_BLOCK_RE.finditer(text)]
    else:
        cuts = [m.end() for m in _BLANK_LINE_RE.finditer(text)]
    pieces: list[str] = []
    start = 0
    for cut in cuts:
        if cut > start:
            pieces.append(text[start:cut])
            start = cut
    pieces.append(text[start:])
    return [p for p in pieces if p]


def _fit(block: str, room: float, rate: float) -> list[str]:
    """``block`` as is when it fits in ``room`` tokens, else cut at line ends, then spaces."""
    if _cost(block, rate) <= room:
        return [block]
    lines = block.splitlines(keepends=True)
    if len(lines) > 1:
        out: list[str] = []
        current = ""
        size = 0.0
        for line in lines:
            cost = _cost(line, rate)
            if current and size + cost > room:
                out.extend(_fit(current, room, rate))
                current, size = "", 0.0
            current += line
            size += cost
        if current:
            out.extend(_fit(current, room, rate))
        return out
    lead = block[: len(block) - len(block.lstrip())]
    pieces: list[str] = []
    current = lead
    size = 0.0
    for word in _WORD_RE.findall(block):
        cost = _cost(word, rate)
        if current.strip() and size + cost > room:
            pieces.append(current)
            current, size = "", 0.0
        current += word
        size += cost
    if current:
        pieces.append(current)
    return pieces


def _tail(units: list[str], overlap: int, rate: float) -> list[str]:
    """The end of a chunk to repeat at the start of the next: ``overlap`` tokens at most."""
    if overlap <= 0:
        return []
    tail: list[str] = []
    size = 0.0
    for unit in reversed(units):
        cost = _cost(unit, rate)
        if size + cost <= overlap:
            tail.insert(0, unit)
            size += cost
            continue
        if not tail:
            kept: list[str] = []
            for word in reversed(_WORD_RE.findall(unit)):
                size += _cost(word, rate)
                if size > overlap:
                    break
                kept.insert(0, word)
            if kept:
                tail.insert(0, "".join(kept))
        break
    return tail
