"""Text helpers shared by every scorer and filter: one tokenizer, one word count."""

from __future__ import annotations

import re
import unicodedata

_WORD_RE = re.compile("\\w+(?:['\u2019]\\w+)*", re.UNICODE)
_SPACE_RE = re.compile(r"\s+")

#: Very common English words that carry no topic; dropped by ``tokenize`` for scoring.
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "this",
        "to",
        "was",
        "were",
        "will",
        "with",
    ]
)


def tokenize(text: str, *, stopwords: frozenset[str] = STOPWORDS) -> list[str]:
    """Lowercased (casefolded, NFKC) word tokens without punctuation or stopwords.

    ``"Asyncio's Event-Loop!"`` -> ``["asyncio's", "event", "loop"]``. Underscored and
    numeric tokens are kept (``"asyncio.run_forever"`` -> ``["asyncio", "run_forever"]``).
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    return [w for w in _WORD_RE.findall(text) if w not in stopwords]


def word_count(text: str) -> int:
    return len(_WORD_RE.findall(text))


def collapse_whitespace(text: str) -> str:
    return _SPACE_RE.sub(" ", text).strip()


def truncate_words(text: str, max_words: int) -> str:
    words = text.split()
    if len(words) <= max_words:
        return " ".join(words)
    return " ".join(words[:max_words]) + " …"
