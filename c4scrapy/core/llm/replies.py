"""Reading a model's reply: the JSON value in it, recovered from tags, fences or chatter.

Bounded: replies over ``MAX_REPLY_CHARS`` or nested deeper than ``MAX_DEPTH`` are errors.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from typing import Any

from c4scrapy.core.llm.secrets import redact_shapes

#: Longest reply parsed (characters): far above what max_tokens lets a model write.
MAX_REPLY_CHARS = 2_000_000
#: Deepest JSON nesting accepted; deeper would exhaust the recursion of json and jsonschema.
MAX_DEPTH = 100
#: Positions of ``[`` / ``{`` tried as the start of the JSON value, per candidate.
MAX_STARTS = 20
#: Characters of the reply quoted in an error message.
EXCERPT_CHARS = 200


class ReplyError(Exception):
    """A chunk failed; ``reason`` is the stats/item key (``invalid_json``, ``timeout``...).

    ``detail`` and the ``reply`` it quotes are kept whole, so that ``render`` redacts the
    secrets before the message is cut; ``message`` redacts token shapes only.
    """

    def __init__(
        self, reason: str, detail: str, reply: str | None = None, limit: int = 300
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail
        self.reply = reply
        self.limit = limit

    def render(self, redact: Callable[[str], str] = redact_shapes) -> str:
        text = redact(self.detail)
        if self.reply is not None:
            text += ": " + excerpt(self.reply, redact)
        return text[: self.limit]

    @property
    def message(self) -> str:
        return self.render()

    def __str__(self) -> str:
        return self.message


_BLOCKS_RE = re.compile(r"<blocks>(.*?)(?:</blocks>|$)", re.DOTALL | re.IGNORECASE)
_FENCE_RE = re.compile(r"```[a-zA-Z0-9_-]*[ \t]*\n?(.*?)(?:```|$)", re.DOTALL)
_START_RE = re.compile(r"[\[{]")
#: A JSON string (to the end of the text when unterminated, so a scan stays linear) or a
#: bracket.
_TOKEN_RE = re.compile(r'"(?:[^"\\]++|\\.)*+(?:"|\Z)|[\[\]{}]', re.DOTALL)
_decoder = json.JSONDecoder()
_NOTHING = object()


def parse_json_reply(text: str | None, finish_reason: str | None = None) -> Any:
    """The JSON value in a model's reply: in ``<blocks>``, a code fence, or with chatter.

    Raises ReplyError: ``empty_reply``, ``max_tokens`` (the reply was cut off) or
    ``invalid_json`` (none found, too large, or nested too deeply).
    """
    if not text or not text.strip():
        reason = "max_tokens" if finish_reason == "length" else "empty_reply"
        raise ReplyError(reason, f"the model returned no content (finish_reason {finish_reason})")
    if len(text) > MAX_REPLY_CHARS:
        raise ReplyError(
            "invalid_json",
            f"the reply is {len(text):,} characters, more than {MAX_REPLY_CHARS:,}",
        )
    candidates = [m.group(1) for m in _BLOCKS_RE.finditer(text)]
    candidates.sort(key=len, reverse=True)
    candidates += [m.group(1) for m in _FENCE_RE.finditer(text)] + [text]
    too_deep = False
    for candidate in candidates:
        value = _first_json(candidate)
        if value is _TOO_DEEP:
            too_deep = True
        elif value is not _NOTHING:
            return value
    if finish_reason == "length":
        raise ReplyError("max_tokens", "the reply was cut off (max_tokens)", text)
    if too_deep:
        raise ReplyError("invalid_json", f"JSON nested deeper than {MAX_DEPTH} levels", text)
    raise ReplyError("invalid_json", "no valid JSON in the reply", text)


def excerpt(text: str, redact: Callable[[str], str] = redact_shapes) -> str:
    """The start of ``text`` on one line, quoted, secrets redacted before it is cut."""
    head = text[: EXCERPT_CHARS * 50]
    return repr(" ".join(redact(head).split())[:EXCERPT_CHARS])


_TOO_DEEP = object()


def _first_json(text: str) -> Any:
    """The first JSON object or array in ``text`` that parses, trailing text ignored."""
    too_deep = False
    for match in itertools.islice(_START_RE.finditer(text), MAX_STARTS):
        start = match.start()
        if _depth_exceeds(text, start, MAX_DEPTH):
            too_deep = True
            continue
        try:
            value, _ = _decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            continue
        return value
    return _TOO_DEEP if too_deep else _NOTHING


def _depth_exceeds(text: str, start: int, limit: int) -> bool:
    """Whether the brackets from ``start`` (strings skipped) nest deeper than ``limit``
    before the value closes; stops at the close or at the limit."""
    depth = 0
    for token in _TOKEN_RE.finditer(text, start):
        char = token.group()
        if char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
            if depth <= 0:
                return False
    return False
