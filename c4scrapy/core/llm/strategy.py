"""LLM extraction: ``LLMConfig`` and ``LLMExtractionStrategy`` (Crawl4AI's names), via litellm.

**LLMConfig(provider="openai/gpt-4o", api_token=None, base_url=None, temperature=None,
max_tokens=None, top_p=None, frequency_penalty=None, presence_penalty=None, stop=None,
n=None, backoff_base_delay=None, backoff_max_attempts=None, backoff_exponential_factor=2)**.
``provider`` is any litellm model string (``openai/gpt-4o-mini``, ``anthropic/...``,
``ollama/llama3``, ``openai/<model>`` with ``base_url`` for any OpenAI-compatible server).
``api_token`` is the key itself or ``"env:NAME"`` (read from the environment when a call is
made; a missing variable is an error when the config is built). Without a token, litellm
looks for the provider's usual variable (``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``...). The
token is never logged, never put in an item and hidden from ``repr``. The sampling fields are
sent to the model (``extra_args`` wins over them); the backoff fields override the crawl's
``C4_LLM_*`` settings for this config.

**LLMExtractionStrategy(llm_config, instruction=None, schema=None,
extraction_type="schema", chunk_token_threshold=2048, overlap_rate=0.1,
word_token_rate=1.3, apply_chunking=True, input_format="markdown", extra_args=None,
force_json_response=False, verbose=False)**. For each page:

1. **Input**: the page's ``markdown`` (default), ``fit_markdown`` (needs a content filter on
   the markdown generator; without one the markdown is used and the item says so),
   ``html``/``cleaned_html`` (the page's cleaned_html) or ``fit_html``. All of them follow
   ``css_selector``/``target_elements``, so the model sees only what was selected.
2. **Chunks** of about ``chunk_token_threshold`` estimated tokens, overlapping by
   ``overlap_rate``, cut at paragraph, line or block boundaries, newlines and markdown
   intact (``c4scrapy.core.chunking``). ``apply_chunking=False``: one call.
3. **Prompt** per chunk (Crawl4AI's prompts, with the request block only when there is an
   ``instruction``, the schema as indented JSON, the chunk verbatim): the model answers a
   JSON list inside ``<blocks>...</blocks>``. ``schema`` is a JSON Schema dict (e.g.
   ``Model.model_json_schema()``), its JSON text, or a pydantic model class. With
   ``extraction_type="schema"`` and no schema, the model infers one; ``"block"`` asks for
   ``{index, tags, content}`` blocks.
4. **Calls** through ``litellm.acompletion``, all chunks of a page concurrently, under the
   crawl's shared concurrency limit, retried with exponential backoff on 429, 5xx,
   connection errors and timeouts (``Retry-After`` honoured).
5. **Parsing**: the JSON inside ``<blocks>``, or in a code fence, or at the start of the
   reply with chatter after it, is recovered. A reply that is not JSON, is cut off
   (``finish_reason`` length) or does not validate against ``schema`` (jsonschema) fails
   its chunk with a reason (``invalid_json``, ``max_tokens``, ``empty_reply``,
   ``schema_mismatch``); it never becomes data.
6. **Merge**: the items of every successful chunk, in chunk order; an item identical to one
   of the previous chunk (repeated by the overlap) is kept once.

``arun_page(url, text)`` returns an ``LLMPageResult`` (items, chunk counts, errors, usage);
``usages`` (one ``TokenUsage`` per call), ``total_usage`` and ``show_usage()`` accumulate
on the strategy instance over every page it ran, as in Crawl4AI.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import re
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from c4scrapy.core.chunking import chunk_text
from c4scrapy.core.exceptions import ConfigError

if TYPE_CHECKING:
    from types import ModuleType

logger = logging.getLogger(__name__)

DEFAULT_PROVIDER = "openai/gpt-4o"
INPUT_FORMATS = ("markdown", "fit_markdown", "html", "cleaned_html", "fit_html")
EXTRACTION_TYPES = ("schema", "block")
_ENV_PREFIX = "env:"


# -- configuration -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, repr=False)
class LLMConfig:
    """Which model to call and how (see the module docstring)."""

    provider: str = DEFAULT_PROVIDER
    api_token: str | None = None
    base_url: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    stop: tuple[str, ...] | None = None
    n: int | None = None
    backoff_base_delay: float | None = None
    backoff_max_attempts: int | None = None
    backoff_exponential_factor: float = 2.0

    def __post_init__(self) -> None:
        if not isinstance(self.provider, str) or not self.provider.strip():
            raise ConfigError("LLMConfig.provider: expected a litellm model name")
        if isinstance(self.stop, (list, str)):
            object.__setattr__(
                self, "stop", (self.stop,) if isinstance(self.stop, str) else tuple(self.stop)
            )
        if self.api_token is not None:
            if not isinstance(self.api_token, str):
                raise ConfigError("LLMConfig.api_token: expected a string or 'env:NAME'")
            if self.api_token.startswith(_ENV_PREFIX):
                name = self.api_token[len(_ENV_PREFIX) :]
                if not name or not os.environ.get(name):
                    raise ConfigError(
                        f"LLMConfig.api_token: environment variable {name!r} is not set"
                    )
        for key in ("temperature", "top_p", "backoff_base_delay"):
            value = getattr(self, key)
            if value is not None and (not isinstance(value, (int, float)) or value < 0):
                raise ConfigError(f"LLMConfig.{key}: expected a number >= 0, got {value!r}")
        for key in ("max_tokens", "n", "backoff_max_attempts"):
            value = getattr(self, key)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ConfigError(f"LLMConfig.{key}: expected an integer >= 1, got {value!r}")

    def __repr__(self) -> str:
        token = self.api_token
        shown = None if token is None else token if token.startswith(_ENV_PREFIX) else "***"
        return (
            f"LLMConfig(provider={self.provider!r}, api_token={shown!r}, "
            f"base_url={self.base_url!r})"
        )

    def resolved_token(self) -> str | None:
        token = self.api_token
        if token and token.startswith(_ENV_PREFIX):
            return os.environ.get(token[len(_ENV_PREFIX) :])
        return token

    def completion_params(self) -> dict[str, Any]:
        """The sampling parameters that are set, for litellm."""
        names = ("temperature", "max_tokens", "top_p", "frequency_penalty", "presence_penalty")
        params = {name: getattr(self, name) for name in names if getattr(self, name) is not None}
        if self.stop:
            params["stop"] = list(self.stop)
        if self.n is not None:
            params["n"] = self.n
        return params


@dataclasses.dataclass
class TokenUsage:
    """Token counts of one call, or a sum (Crawl4AI's ``TokenUsage``)."""

    completion_tokens: int = 0
    prompt_tokens: int = 0
    total_tokens: int = 0
    completion_tokens_details: dict[str, Any] = dataclasses.field(default_factory=dict)
    prompt_tokens_details: dict[str, Any] = dataclasses.field(default_factory=dict)

    def add(self, other: TokenUsage) -> None:
        self.completion_tokens += other.completion_tokens
        self.prompt_tokens += other.prompt_tokens
        self.total_tokens += other.total_tokens

    def as_dict(self) -> dict[str, int]:
        return {
            "prompt": self.prompt_tokens,
            "completion": self.completion_tokens,
            "total": self.total_tokens,
        }


# -- prompts -------------------------------------------------------------------------------

_HEADER = (
    "Here is the content from the URL:\n<url>{URL}</url>\n\n"
    "<url_content>\n{HTML}\n</url_content>\n"
)
_PART = (
    "\nThis content is part {PART} of {PARTS} of the page; extract only what is in this part.\n"
)
_REQUEST = "\n<user_request>\n{REQUEST}\n</user_request>\n"
_SCHEMA_TASK = """
<schema_block>
{SCHEMA}
</schema_block>

Please carefully read the URL content{AND_REQUEST}. Extract the requested information from \
the URL content according to the JSON schema in the <schema_block> above.

Extraction instructions:
Return the extracted information as a list of JSON objects, each one matching the schema \
(if the schema describes a list, the list itself must match it), one per item of content, \
in the same order as on the page. Wrap the entire JSON list in <blocks>...</blocks> XML tags.

Quality Reflection:
Before outputting your final answer, double check that the JSON you are returning is \
complete, containing all the information requested, and is valid JSON that could be parsed \
by json.loads() with no errors or omissions. Every object must match the schema.

Avoid Common Mistakes:
- Do NOT add any comments using "//" or "#" in the JSON output. It causes parsing errors.
- Make sure the JSON is properly formatted with curly braces, square brackets, and commas \
in the right places.
- Do not miss the closing </blocks> tag at the end of the JSON output.
- Do not generate Python code showing how to do the task; this is your task: extract the \
information and return it in JSON format.

Result:
Output the final list of JSON objects, wrapped in <blocks>...</blocks> XML tags.
"""
_INFERRED_TASK = """
Please carefully read the URL content{AND_REQUEST}. Analyze the page structure and infer \
the most appropriate JSON schema for the content{FOR_REQUEST}.

Extraction Strategy:
1. First, determine if the page contains repetitive items (like multiple products, \
articles, etc.) or a single content item (like a single article or page).
2. For repetitive items: identify the common pattern and extract each instance as a \
separate JSON object in an array.
3. For single content: extract the key information into one comprehensive JSON object.

Schema Design Guidelines:
- Create meaningful property names that clearly describe the data they contain
- Use nested objects for hierarchical information and arrays for lists of related items
- Only include properties that are actually present in the content
- For dates, prefer ISO format (YYYY-MM-DD)
- Keep property names consistent across all objects

Result:
Output a JSON list of objects (starting with '[' and ending with ']'), wrapped in \
<blocks>...</blocks> XML tags, with no comments before or after.
"""
_BLOCK_TASK = """
Your task is to break down this content into semantically relevant blocks{FOLLOWING}, \
and for each block, generate a JSON object with the following keys:

- index: an integer representing the index of the block in the content
- tags: a list with ONE semantic tag that describes what the block is about
- content: a list of strings containing the text content of the block

Extract the text content exactly as given (clean up whitespace if needed), keep the order \
of the blocks as in the content, and make sure the JSON is complete and parsable.

Please provide your output within <blocks> tags, like this:

<blocks>
[{"index": 0, "tags": ["introduction"], "content": ["The first paragraph."]}]
</blocks>
"""
_PLACEHOLDER_RE = re.compile(
    r"\{(URL|HTML|REQUEST|SCHEMA|PART|PARTS|AND_REQUEST|FOR_REQUEST|FOLLOWING)\}"
)


def _fill(template: str, values: Mapping[str, str]) -> str:
    """Fill placeholders in one pass, so text inside the values is never substituted."""
    return _PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), template)


# -- parsing -------------------------------------------------------------------------------


class ReplyError(Exception):
    """A chunk failed; ``reason`` is the stats/item key (``invalid_json``, ``timeout``...)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


_BLOCKS_RE = re.compile(r"<blocks>(.*?)(?:</blocks>|$)", re.DOTALL | re.IGNORECASE)
_FENCE_RE = re.compile(r"```[a-zA-Z0-9_-]*[ \t]*\n?(.*?)(?:```|$)", re.DOTALL)
_decoder = json.JSONDecoder()


def parse_json_reply(text: str | None, finish_reason: str | None = None) -> Any:
    """The JSON value in a model's reply: in ``<blocks>``, a code fence, or with chatter.

    Raises ReplyError: ``empty_reply``, ``max_tokens`` (the reply was cut off) or
    ``invalid_json``.
    """
    if not text or not text.strip():
        reason = "max_tokens" if finish_reason == "length" else "empty_reply"
        raise ReplyError(reason, f"the model returned no content (finish_reason {finish_reason})")
    candidates = [m.group(1) for m in _BLOCKS_RE.finditer(text)]
    candidates.sort(key=len, reverse=True)
    candidates += [m.group(1) for m in _FENCE_RE.finditer(text)] + [text]
    for candidate in candidates:
        value = _first_json(candidate)
        if value is not _NOTHING:
            return value
    excerpt = " ".join(text.split())[:200]
    if finish_reason == "length":
        raise ReplyError("max_tokens", f"the reply was cut off (max_tokens): {excerpt!r}")
    raise ReplyError("invalid_json", f"no valid JSON in the reply: {excerpt!r}")


_NOTHING = object()


def _first_json(text: str) -> Any:
    """The first JSON object or array in ``text`` that parses, trailing text ignored."""
    starts = [m.start() for m in re.finditer(r"[\[{]", text)][:20]
    for start in starts:
        try:
            value, _ = _decoder.raw_decode(text, start)
        except ValueError:
            continue
        return value
    return _NOTHING


# -- the network part ------------------------------------------------------------------------

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


@dataclasses.dataclass
class CallResult:
    text: str | None
    finish_reason: str | None
    usage: TokenUsage
    attempts: int
    cost_usd: float | None


class LLMCallError(Exception):
    def __init__(self, reason: str, message: str, attempts: int) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.attempts = attempts


class LLMClient:
    """Calls ``litellm.acompletion`` within the crawl's limits.

    One instance per crawl (the pipeline's) shares one semaphore of ``concurrency`` calls
    across every page and chunk. A call that fails with 429, 5xx, a connection error or a
    timeout (``timeout`` seconds per attempt) is retried up to ``max_retries`` times after
    ``base_delay x factor**attempt`` seconds (at most ``max_delay``; a ``Retry-After``
    header wins), without holding a concurrency slot while it waits. litellm's and the
    OpenAI client's own retries are turned off, so these are the only ones.
    """

    def __init__(
        self,
        concurrency: int = 8,
        timeout: float = 60.0,
        max_retries: int = 2,
        base_delay: float = 2.0,
        max_delay: float = 60.0,
    ) -> None:
        if concurrency < 1:
            raise ConfigError(f"C4_LLM_CONCURRENCY: must be >= 1, got {concurrency}")
        self.concurrency = concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self.base_delay = base_delay
        self.max_delay = max_delay
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

    async def complete(
        self, config: LLMConfig, messages: list[dict[str, str]], **params: Any
    ) -> CallResult:
        litellm = await self.litellm()
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.concurrency)
        token = config.resolved_token()
        max_attempts = config.backoff_max_attempts or (self.max_retries + 1)
        base_delay = (
            self.base_delay if config.backoff_base_delay is None else config.backoff_base_delay
        )
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
                reason, retryable, retry_after = _classify(exc)
                message = _scrub(f"{type(exc).__name__}: {exc}", token)
                if not retryable or attempt >= max_attempts:
                    raise LLMCallError(reason, message, attempt) from None
                delay = base_delay * config.backoff_exponential_factor ** (attempt - 1)
                delay = min(self.max_delay, delay if retry_after is None else retry_after)
                logger.debug("LLM call failed (%s), retry %d in %.2fs", reason, attempt, delay)
                await asyncio.sleep(delay)
                continue
            return _call_result(litellm, response, attempt)


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


def _classify(exc: BaseException) -> tuple[str, bool, float | None]:
    """(reason, retryable, Retry-After seconds) for a failed call."""
    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)) or name in (
        "Timeout",
        "APITimeoutError",
    ):
        return "timeout", True, None
    retry_after = None
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is not None:
        try:
            retry_after = float(headers.get("retry-after"))
        except (TypeError, ValueError):
            retry_after = None
    if status == 429 or name == "RateLimitError":
        return "rate_limited", True, retry_after
    if isinstance(status, int) and status >= 500:
        return "server_error", True, retry_after
    if name in ("APIConnectionError", "ServiceUnavailableError", "InternalServerError"):
        return "connection_error" if name == "APIConnectionError" else "server_error", True, None
    if status in (401, 403) or name in ("AuthenticationError", "PermissionDeniedError"):
        return "auth_error", False, None
    if name == "ContextWindowExceededError":
        return "context_window_exceeded", False, None
    return "provider_error", False, None


def _scrub(message: str, token: str | None) -> str:
    if token and len(token) >= 4:
        message = message.replace(token, "***")
    return message[:500]


# -- the strategy ----------------------------------------------------------------------------


@dataclasses.dataclass
class LLMPageResult:
    """One page's LLM extraction: merged items, and what happened to every chunk."""

    items: list[Any]
    chunks: int
    failed_chunks: int
    errors: list[dict[str, Any]]
    usage: TokenUsage
    requests: int
    retries: int
    seconds: float
    cost_usd: float | None = None

    @property
    def complete(self) -> bool:
        return self.failed_chunks == 0

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "chunks": self.chunks,
            "failed_chunks": self.failed_chunks,
            "complete": self.complete,
            "items": len(self.items),
            "errors": self.errors,
            "usage": self.usage.as_dict(),
            "requests": self.requests,
            "retries": self.retries,
            "seconds": round(self.seconds, 3),
        }
        if self.cost_usd is not None:
            out["cost_usd"] = self.cost_usd
        return out


class LLMExtractionStrategy:
    """Structured or block extraction by an LLM, chunked (see the module docstring)."""

    def __init__(
        self,
        llm_config: LLMConfig | None = None,
        instruction: str | None = None,
        schema: Mapping[str, Any] | str | type | None = None,
        extraction_type: str = "schema",
        chunk_token_threshold: int = 2048,
        overlap_rate: float = 0.1,
        word_token_rate: float = 1.3,
        apply_chunking: bool = True,
        input_format: str = "markdown",
        extra_args: Mapping[str, Any] | None = None,
        force_json_response: bool = False,
        verbose: bool = False,
        **kwargs: Any,
    ) -> None:
        if kwargs:
            key = min(kwargs)
            hint = (
                " (use llm_config=LLMConfig(...))"
                if key in ("provider", "api_token", "base_url", "llmConfig")
                else ""
            )
            raise ConfigError(f"LLMExtractionStrategy: unknown argument {key!r}{hint}")
        if llm_config is None:
            llm_config = LLMConfig()
        if not isinstance(llm_config, LLMConfig):
            raise ConfigError("LLMExtractionStrategy.llm_config: expected an LLMConfig")
        self.llm_config = llm_config
        self.instruction = instruction or None
        self.schema = _as_json_schema(schema)
        if extraction_type not in EXTRACTION_TYPES:
            raise ConfigError(
                "LLMExtractionStrategy.extraction_type: expected schema or block, "
                f"got {extraction_type!r}"
            )
        self.extract_type = "schema" if self.schema is not None else extraction_type
        if input_format not in INPUT_FORMATS:
            raise ConfigError(
                f"LLMExtractionStrategy.input_format: expected one of {', '.join(INPUT_FORMATS)}, "
                f"got {input_format!r}"
            )
        self.input_format = input_format
        if not isinstance(chunk_token_threshold, int) or chunk_token_threshold < 16:
            raise ConfigError(
                "LLMExtractionStrategy.chunk_token_threshold: expected an integer >= 16"
            )
        if not 0 <= overlap_rate < 0.5:
            raise ConfigError("LLMExtractionStrategy.overlap_rate: expected a number in [0, 0.5)")
        if not word_token_rate > 0:
            raise ConfigError("LLMExtractionStrategy.word_token_rate: expected a number > 0")
        self.chunk_token_threshold = chunk_token_threshold
        self.overlap_rate = float(overlap_rate)
        self.word_token_rate = float(word_token_rate)
        self.apply_chunking = bool(apply_chunking)
        self.extra_args = dict(extra_args or {})
        for key in ("api_key", "api_base", "base_url", "model", "messages"):
            if key in self.extra_args:
                raise ConfigError(
                    f"LLMExtractionStrategy.extra_args: {key!r} belongs in LLMConfig"
                )
        self.force_json_response = bool(force_json_response)
        self.verbose = bool(verbose)
        self.usages: list[TokenUsage] = []
        self.total_usage = TokenUsage()
        self._validator: Any = None

    @property
    def extraction_type(self) -> str:
        return self.extract_type

    def __repr__(self) -> str:
        return (
            f"LLMExtractionStrategy(provider={self.llm_config.provider!r}, "
            f"extraction_type={self.extract_type!r}, input_format={self.input_format!r})"
        )

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["usages"] = []
        state["total_usage"] = TokenUsage()
        state["_validator"] = None
        return state

    # -- pure parts --------------------------------------------------------------------------

    def chunks(self, text: str) -> list[str]:
        if not self.apply_chunking:
            return [text] if text.strip() else []
        return chunk_text(
            text,
            self.chunk_token_threshold,
            self.overlap_rate,
            self.word_token_rate,
            html=self.input_format in ("html", "cleaned_html", "fit_html"),
        )

    def prompt(self, url: str, chunk: str, part: int = 1, parts: int = 1) -> str:
        values = {
            "URL": url,
            "HTML": chunk,
            "REQUEST": self.instruction or "",
            "SCHEMA": json.dumps(self.schema, indent=2, ensure_ascii=False),
            "PART": str(part),
            "PARTS": str(parts),
        }
        prompt = _HEADER + (_PART if parts > 1 else "")
        if self.extract_type == "block":
            values["FOLLOWING"] = (
                ", following the user's request below" if self.instruction else ""
            )
            prompt += (_REQUEST if self.instruction else "") + _BLOCK_TASK
        elif self.schema is not None:
            values["AND_REQUEST"] = " and the user's request" if self.instruction else ""
            prompt += (_REQUEST if self.instruction else "") + _SCHEMA_TASK
        else:
            values["AND_REQUEST"] = " and the user's request" if self.instruction else ""
            values["FOR_REQUEST"] = " and the request" if self.instruction else ""
            prompt += (_REQUEST if self.instruction else "") + _INFERRED_TASK
        return _fill(prompt, values)

    def parse(self, text: str | None, finish_reason: str | None = None) -> list[Any]:
        """The items in one reply, checked against the schema; raises ReplyError."""
        value = parse_json_reply(text, finish_reason)
        if self.force_json_response and isinstance(value, dict) and len(value) == 1:
            (only,) = value.values()
            if isinstance(only, list):
                value = only
        schema = self.schema
        if schema is not None and schema.get("type") == "array":
            self._validate(value, "the reply")
            return list(value)
        if isinstance(value, dict):
            if schema is not None and self._is_valid(value):
                items: list[Any] = [value]
            elif len(value) == 1 and isinstance(next(iter(value.values())), list):
                items = next(iter(value.values()))
            else:
                items = [value]
        elif isinstance(value, list):
            items = value
        else:
            raise ReplyError(
                "invalid_json", f"expected a JSON list or object, got {value!r}"[:200]
            )
        if self.extract_type == "block" or schema is None:
            bad = next((i for i, item in enumerate(items) if not isinstance(item, dict)), None)
            if bad is not None:
                raise ReplyError("schema_mismatch", f"item {bad}: expected a JSON object")
        else:
            for i, item in enumerate(items):
                self._validate(item, f"item {i}")
        return items

    def merge(self, results: list[list[Any] | None]) -> list[Any]:
        """Items of every chunk in order; overlap duplicates of the previous chunk once."""
        merged: list[Any] = []
        previous: set[str] = set()
        for items in results:
            if items is None:
                previous = set()
                continue
            keys = set()
            for item in items:
                key = json.dumps(item, sort_keys=True, ensure_ascii=False)
                keys.add(key)
                if self.overlap_rate > 0 and key in previous:
                    continue
                merged.append(item)
            previous = keys
        return merged

    def _validator_for_schema(self) -> Any:
        if self._validator is None:
            import jsonschema

            cls = jsonschema.validators.validator_for(self.schema)
            self._validator = cls(self.schema)
        return self._validator

    def _is_valid(self, value: Any) -> bool:
        return bool(self._validator_for_schema().is_valid(value))

    def _validate(self, value: Any, what: str) -> None:
        error = next(iter(self._validator_for_schema().iter_errors(value)), None)
        if error is not None:
            path = "/".join(str(p) for p in error.absolute_path)
            where = f" at {path}" if path else ""
            raise ReplyError("schema_mismatch", f"{what}{where}: {error.message}"[:300])

    # -- running -------------------------------------------------------------------------------

    async def arun_page(
        self, url: str, text: str, client: LLMClient | None = None
    ) -> LLMPageResult:
        """Extract from one page's input text (markdown or HTML): chunk, call, parse, merge."""
        started = time.monotonic()
        client = client or LLMClient()  # outside a crawl: this page's chunks share one limit
        chunks = self.chunks(text or "")
        params = {**self._sampling(), **self.extra_args}
        if self.force_json_response:
            params.setdefault("response_format", {"type": "json_object"})

        async def one(
            index: int, chunk: str
        ) -> tuple[list[Any] | None, dict[str, Any] | None, CallResult | None, int]:
            messages = [
                {"role": "user", "content": self.prompt(url, chunk, index + 1, len(chunks))}
            ]
            try:
                call = await client.complete(self.llm_config, messages, **params)
            except LLMCallError as exc:
                return None, _error(index, exc.reason, exc.message), None, exc.attempts
            self._record_usage(call.usage)
            try:
                return self.parse(call.text, call.finish_reason), None, call, call.attempts
            except ReplyError as exc:
                return None, _error(index, exc.reason, exc.message), call, call.attempts

        outcomes = await asyncio.gather(*(one(i, c) for i, c in enumerate(chunks)))
        usage = TokenUsage()
        errors = []
        requests = 0
        cost: float | None = None
        for _, error, call, attempts in outcomes:
            requests += attempts
            if error is not None:
                errors.append(error)
            if call is not None:
                usage.add(call.usage)
                if call.cost_usd is not None:
                    cost = (cost or 0.0) + call.cost_usd
        result = LLMPageResult(
            items=self.merge([items for items, *_ in outcomes]),
            chunks=len(chunks),
            failed_chunks=len(errors),
            errors=errors,
            usage=usage,
            requests=requests,
            retries=requests - len(chunks),
            seconds=time.monotonic() - started,
            cost_usd=cost,
        )
        if self.verbose:
            logger.info(
                "LLM extraction of %s: %d items from %d chunks (%d failed), %d tokens",
                url,
                len(result.items),
                result.chunks,
                result.failed_chunks,
                usage.total_tokens,
            )
        return result

    async def arun(self, url: str, sections: list[str]) -> list[Any]:
        """Crawl4AI's signature: the merged items (failed chunks are logged, not returned)."""
        result = await self.arun_page(url, "\n\n".join(sections))
        for error in result.errors:
            logger.warning(
                "LLM extraction of %s, chunk %d: %s", url, error["chunk"], error["message"]
            )
        return result.items

    def run(self, url: str, sections: list[str]) -> list[Any]:
        return asyncio.run(self.arun(url, sections))

    def show_usage(self) -> None:
        """Print the total token usage and one line per call (Crawl4AI's report)."""
        total = self.total_usage
        print("\n=== Token Usage Summary ===")
        print(f"{'Type':<15} {'Count':>12}")
        print("-" * 30)
        print(f"{'Completion':<15} {total.completion_tokens:>12,}")
        print(f"{'Prompt':<15} {total.prompt_tokens:>12,}")
        print(f"{'Total':<15} {total.total_tokens:>12,}")
        print("\n=== Usage History ===")
        print(f"{'Request #':<10} {'Completion':>12} {'Prompt':>12} {'Total':>12}")
        print("-" * 48)
        for i, usage in enumerate(self.usages, 1):
            print(
                f"{i:<10} {usage.completion_tokens:>12,} {usage.prompt_tokens:>12,} "
                f"{usage.total_tokens:>12,}"
            )

    def _record_usage(self, usage: TokenUsage) -> None:
        self.usages.append(usage)
        self.total_usage.add(usage)

    def _sampling(self) -> dict[str, Any]:
        params = self.llm_config.completion_params()
        params.setdefault("temperature", 0.01)
        return params


def _as_json_schema(schema: Any) -> dict[str, Any] | None:
    if schema is None:
        return None
    if isinstance(schema, type) and hasattr(schema, "model_json_schema"):
        schema = schema.model_json_schema()
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except ValueError as exc:
            raise ConfigError(f"LLMExtractionStrategy.schema: invalid JSON: {exc}") from None
    if not isinstance(schema, Mapping):
        raise ConfigError("LLMExtractionStrategy.schema: expected a JSON Schema object")
    return dict(schema)


def _error(index: int, reason: str, message: str) -> dict[str, Any]:
    return {"chunk": index, "reason": reason, "message": message}
