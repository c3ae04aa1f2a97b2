"""The model calls: litellm imported lazily and offline, retries with backoff and Retry-After."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import email.utils
import logging
import math
import os
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from c4scrapy.core.exceptions import ConfigError
from c4scrapy.core.llm.config import TokenUsage
from c4scrapy.core.llm.secrets import Redactor

if TYPE_CHECKING:
    from types import ModuleType

    from c4scrapy.core.llm.config import LLMConfig

logger = logging.getLogger(__name__)

#: Characters of a provider's error kept in a message.
MAX_ERROR_CHARS = 500

_litellm: ModuleType | None = None
_import_lock = threading.Lock()

_LITELLM_LOGGERS = ("LiteLLM", "LiteLLM Proxy", "LiteLLM Router")
#: Loggers quietened unless the user set their level: litellm's, and the OpenAI client's,
#: which logs every prompt in full at DEBUG (Scrapy's default LOG_LEVEL).
_QUIET_LOGGERS = {**dict.fromkeys(_LITELLM_LOGGERS, logging.WARNING), "openai": logging.INFO}


def import_litellm() -> ModuleType:
    """Import litellm once, offline (local model cost map) and quiet; takes ~2.5 s.

    Its loggers are set to WARNING before the import (which logs at DEBUG while it builds
    its HTTP clients), the OpenAI client's to INFO (unless you set their levels), and
    litellm's own stdout/stderr handler is removed, so what they log goes through
    ``logging`` (Scrapy's log) once. Call it from a thread (``asyncio.to_thread``)
    inside a running crawl: it blocks.
    """
    global _litellm
    with _import_lock:
        if _litellm is None:
            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            for name, level in _QUIET_LOGGERS.items():
                if logging.getLogger(name).level == logging.NOTSET:
                    logging.getLogger(name).setLevel(level)
            import litellm

            with contextlib.suppress(ImportError):
                # imported by the OpenAI client on its first call otherwise: seconds on the
                # reactor thread, counted against that call's timeout
                import openai.resources  # noqa: F401
            litellm.suppress_debug_info = True
            for name in _LITELLM_LOGGERS:
                logging.getLogger(name).handlers.clear()
            _litellm = litellm
    return _litellm


# -- failures --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Failure:
    """How a failed call is reported and retried."""

    reason: str  # the stats/item key: rate_limited, server_error, timeout, auth_error...
    retryable: bool
    retry_after: float | None = None  # seconds the provider asked for (Retry-After)


def classify_failure(exc: BaseException, now: float | None = None) -> Failure:
    """The reason, whether to retry, and the provider's Retry-After for a failed call."""
    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)) or name in (
        "Timeout",
        "APITimeoutError",
    ):
        return Failure("timeout", True)
    if status == 429 or name == "RateLimitError":
        return Failure("rate_limited", True, retry_after(exc, now))
    if isinstance(status, int) and status >= 500:
        return Failure("server_error", True, retry_after(exc, now))
    if name == "APIConnectionError":
        return Failure("connection_error", True)
    if name in ("ServiceUnavailableError", "InternalServerError"):
        return Failure("server_error", True, retry_after(exc, now))
    if status in (401, 403) or name in ("AuthenticationError", "PermissionDeniedError"):
        return Failure("auth_error", False)
    if name == "ContextWindowExceededError":
        return Failure("context_window_exceeded", False)
    return Failure("provider_error", False)


def retry_after(exc: BaseException, now: float | None = None) -> float | None:
    """Seconds from the ``Retry-After`` (or ``retry-after-ms``) header of a failed call.

    litellm keeps the provider's real headers in ``litellm_response_headers`` (its
    ``response`` is a stand-in without them); the OpenAI client's errors in
    ``response.headers``. Seconds or an HTTP date; None when absent or unreadable.
    """
    sources = (
        getattr(exc, "litellm_response_headers", None),
        getattr(getattr(exc, "response", None), "headers", None),
        getattr(exc, "headers", None),
    )
    for headers in sources:
        if not isinstance(headers, Mapping) and not hasattr(headers, "get"):
            continue
        seconds = retry_after_seconds(headers, now)
        if seconds is not None:
            return seconds
    return None


def retry_after_seconds(headers: Any, now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date)."""
    try:
        milliseconds = headers.get("retry-after-ms")
        value = headers.get("retry-after")
    except Exception:  # noqa: BLE001 (headers of an unknown kind: none)
        return None
    try:
        if milliseconds is not None:
            return _non_negative(float(milliseconds) / 1000)
    except (TypeError, ValueError):
        pass
    if value is None:
        return None
    value = str(value).strip()
    try:
        return _non_negative(float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _non_negative(seconds: float) -> float | None:
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


# -- calls -----------------------------------------------------------------------------------


@dataclasses.dataclass
class CallResult:
    text: str | None
    finish_reason: str | None
    usage: TokenUsage
    attempts: int
    cost_usd: float | None
    delays: list[float] = dataclasses.field(default_factory=list)
    retry_after: int = 0  # retries whose delay came from the provider's Retry-After


class LLMCallError(Exception):
    """A call failed for good; ``message`` has its secrets masked."""

    def __init__(
        self,
        reason: str,
        message: str,
        attempts: int,
        delays: list[float] | None = None,
        retry_after: int = 0,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.attempts = attempts
        self.delays = delays or []
        self.retry_after = retry_after


class LLMClient:
    """Calls ``litellm.acompletion`` within the crawl's limits.

    One instance per crawl (the pipeline's) shares one semaphore of ``concurrency`` calls
    across every page and chunk. A call that fails with 429, 5xx, a connection error or a
    timeout (``timeout`` seconds per attempt) is retried up to ``max_retries`` times after
    ``base_delay x factor**attempt`` seconds (at most ``max_delay``), or after the
    provider's ``Retry-After`` (at most ``retry_after_max``), without holding a
    concurrency slot while it waits. litellm's and the OpenAI client's own retries are off.
    Every message it writes is masked by ``redact`` (which learns each token it sends and
    the key-like environment variables litellm may read).
    """

    def __init__(
        self,
        concurrency: int = 8,
        timeout: float = 60.0,
        max_retries: int = 2,
        base_delay: float = 2.0,
        max_delay: float = 60.0,
        retry_after_max: float = 60.0,
        redact: Redactor | None = None,
    ) -> None:
        if concurrency < 1:
            raise ConfigError(f"C4_LLM_CONCURRENCY: must be >= 1, got {concurrency}")
        self.concurrency = concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.retry_after_max = retry_after_max
        self.redact = redact if redact is not None else Redactor()
        self.redact.add_environment(os.environ)
        self.in_flight = 0
        self.max_in_flight = 0
        self._semaphore: asyncio.Semaphore | None = None
        self._litellm_task: asyncio.Future[ModuleType] | None = None

    async def litellm(self) -> ModuleType:
        """litellm, imported in a worker thread the first time so the loop never blocks."""
        if _litellm is not None:
            return _litellm
        if self._litellm_task is None:
            self._litellm_task = asyncio.ensure_future(asyncio.to_thread(import_litellm))
        return await self._litellm_task

    def delay(self, config: LLMConfig, attempt: int, failure: Failure) -> float:
        """Seconds to wait before retry number ``attempt`` after ``failure``."""
        if failure.retry_after is not None:
            return min(self.retry_after_max, failure.retry_after)
        base = self.base_delay if config.backoff_base_delay is None else config.backoff_base_delay
        return min(self.max_delay, base * config.backoff_exponential_factor ** (attempt - 1))

    async def complete(
        self, config: LLMConfig, messages: list[dict[str, str]], **params: Any
    ) -> CallResult:
        litellm = await self.litellm()
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.concurrency)
        token = config.resolved_token()
        self.redact.add(token)
        max_attempts = config.backoff_max_attempts or (self.max_retries + 1)
        kwargs: dict[str, Any] = {
            "model": config.provider,
            "messages": messages,
            "api_key": token,
            "timeout": self.timeout,
            "num_retries": 0,
            "max_retries": 0,
            "drop_params": True,
            **params,
        }
        if config.base_url:
            kwargs["api_base"] = config.base_url
        delays: list[float] = []
        honoured = 0
        attempt = 0
        while True:
            attempt += 1
            try:
                async with self._semaphore:
                    self.in_flight += 1
                    self.max_in_flight = max(self.max_in_flight, self.in_flight)
                    try:
                        response = await asyncio.wait_for(
                            litellm.acompletion(**kwargs), self.timeout + 1.0
                        )
                    finally:
                        self.in_flight -= 1
            except Exception as exc:  # noqa: BLE001 (every failure is classified and reported)
                failure = classify_failure(exc)
                if not failure.retryable or attempt >= max_attempts:
                    message = self.redact(f"{type(exc).__name__}: {exc}")[:MAX_ERROR_CHARS]
                    raise LLMCallError(
                        failure.reason, message, attempt, delays, honoured
                    ) from None
                wait = self.delay(config, attempt, failure)
                delays.append(round(wait, 3))
                honoured += failure.retry_after is not None
                logger.debug(
                    "LLM call failed (%s), retry %d in %.2fs%s",
                    failure.reason,
                    attempt,
                    wait,
                    " (Retry-After)" if failure.retry_after is not None else "",
                )
                await asyncio.sleep(wait)
                continue
            result = _call_result(litellm, response, attempt)
            result.delays, result.retry_after = delays, honoured
            return result


_UNPRICED: set[str] = set()


def _call_result(litellm: Any, response: Any, attempts: int) -> CallResult:
    choice = response.choices[0] if response.choices else None
    text = getattr(getattr(choice, "message", None), "content", None)
    usage_obj = getattr(response, "usage", None)
    usage = TokenUsage(
        completion_tokens=int(getattr(usage_obj, "completion_tokens", 0) or 0),
        prompt_tokens=int(getattr(usage_obj, "prompt_tokens", 0) or 0),
        total_tokens=int(getattr(usage_obj, "total_tokens", 0) or 0),
        completion_tokens_details=_details(getattr(usage_obj, "completion_tokens_details", None)),
        prompt_tokens_details=_details(getattr(usage_obj, "prompt_tokens_details", None)),
    )
    cost = None
    try:
        cost = float(litellm.completion_cost(completion_response=response))
    except Exception as exc:  # noqa: BLE001 (no price for this model: cost unknown, not 0)
        model = str(getattr(response, "model", ""))
        if model not in _UNPRICED:
            _UNPRICED.add(model)
            logger.debug("no price for model %r, no cost_usd: %s", model, exc)
    return CallResult(text, getattr(choice, "finish_reason", None), usage, attempts, cost)


def _details(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if hasattr(value, "model_dump"):
        value = value.model_dump()
    elif not isinstance(value, dict):
        value = dict(getattr(value, "__dict__", {}))
    return {k: v for k, v in value.items() if v is not None}
