"""Keeping API keys out of every text c4scrapy writes: messages, items, stats and log records."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Mapping

#: Shown instead of a secret.
MASK = "***"
#: Values shorter than this are not treated as secrets (they would mask ordinary words).
MIN_SECRET_CHARS = 8
#: Environment variables whose values are secrets: litellm's ``<PROVIDER>_API_KEY`` and the
#: like.
SECRET_ENV_RE = re.compile(
    r"(API_?KEY|API_?TOKEN|ACCESS_?KEY|SECRET|TOKEN|PASSWORD|_KEY)$", re.IGNORECASE
)
#: Token shapes masked even when the value is not known: HTTP bearer credentials and
#: ``api_key=...`` / ``"api_key": "..."`` assignments (values with a digit in them).
_SHAPES_RE = re.compile(
    r"(?P<scheme>\bBearer\s+)(?=[^\s\"',;&}<>]*\d)[^\s\"',;&}<>]{8,}"
    r"|(?P<key>\b(?:api[_-]?key|x-api-key|api[_-]?token|access[_-]?token|secret[_-]?key)"
    r"[\"']?\s*[:=]\s*[\"']?)(?=[^\s\"',;&}<>]*\d)[^\s\"',;&}<>]{8,}",
    re.IGNORECASE,
)


def redact_shapes(text: str) -> str:
    """``text`` with every token-shaped string masked."""
    return _SHAPES_RE.sub(_mask_shape, text)


def _mask_shape(match: re.Match[str]) -> str:
    return (match.group("scheme") or match.group("key") or "") + MASK


class Redactor:
    """Masks known secret values (and token shapes) in text; safe to share across threads.

    ``add`` registers a value; ``add_environment`` every value of an environment variable
    named like a key (``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``, ``MY_TOKEN``...).
    """

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: frozenset[str] = frozenset()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        if not isinstance(secret, str):
            return
        secret = secret.strip()
        if len(secret) < MIN_SECRET_CHARS or secret in self._secrets:
            return
        with self._lock:
            self._secrets = self._secrets | {secret}
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))

    def add_environment(self, environ: Mapping[str, str]) -> None:
        for name, value in environ.items():
            if SECRET_ENV_RE.search(name):
                self.add(value)

    def __contains__(self, secret: object) -> bool:
        return secret in self._secrets

    def known(self, text: str) -> str:
        """``text`` with the known secrets masked (fast: one pass of one pattern)."""
        pattern = self._pattern
        return text if pattern is None else pattern.sub(MASK, text)

    def __call__(self, text: str) -> str:
        return redact_shapes(self.known(text))


#: Loggers whose records are also searched for token shapes (the others, Scrapy's item
#: dumps among them, for the known secrets only: a shape search costs ~0.1 s per MB).
SHAPE_LOGGERS = ("c4scrapy", "LiteLLM", "litellm", "openai", "httpx", "httpcore")


class RedactingFilter(logging.Filter):
    """A logging filter (for handlers) that masks secrets in each record's final text.

    The message is formatted once, masked, and stored back (``args`` cleared); a
    traceback is formatted, masked and kept as ``exc_text``, which formatters reuse.
    Records of ``SHAPE_LOGGERS`` get token shapes masked too.
    """

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 (a broken record: the handler reports it)
            return True
        redact = self.redact if record.name.startswith(SHAPE_LOGGERS) else self.redact.known
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True
