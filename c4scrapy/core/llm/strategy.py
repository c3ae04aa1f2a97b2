"""``LLMExtractionStrategy`` (Crawl4AI's name): chunk a page, prompt, call, parse and merge."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from c4scrapy.core.chunking import chunk_text
from c4scrapy.core.exceptions import ConfigError
from c4scrapy.core.llm.client import CallResult, LLMCallError, LLMClient
from c4scrapy.core.llm.config import LLMConfig, TokenUsage
from c4scrapy.core.llm.prompts import build_prompt
from c4scrapy.core.llm.replies import ReplyError, parse_json_reply

__all__ = ["LLMConfig", "LLMExtractionStrategy", "LLMPageResult", "TokenUsage"]

logger = logging.getLogger(__name__)

INPUT_FORMATS = ("markdown", "fit_markdown", "html", "cleaned_html", "fit_html")
EXTRACTION_TYPES = ("schema", "block")


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
    retry_delays: list[float] = dataclasses.field(default_factory=list)
    retry_after: int = 0  # retries whose delay was the provider's Retry-After

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
            "retry_delays": self.retry_delays,
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
        return build_prompt(
            url,
            chunk,
            extraction_type=self.extract_type,
            schema=self.schema,
            instruction=self.instruction,
            part=part,
            parts=parts,
        )

    def request_params(self) -> dict[str, Any]:
        """What is sent with every call besides the prompt: the LLMConfig's sampling
        parameters (temperature 0.01 unless set), overridden by ``extra_args``."""
        params = {"temperature": 0.01, **self.llm_config.completion_params(), **self.extra_args}
        if self.force_json_response:
            params.setdefault("response_format", {"type": "json_object"})
        return params

    def parse(self, text: str | None, finish_reason: str | None = None) -> list[Any]:
        """The items in one reply, checked against the schema; raises ReplyError only."""
        try:
            return self._parse(text, finish_reason)
        except RecursionError:
            raise ReplyError("invalid_json", "the reply is nested too deeply to check") from None

    def _parse(self, text: str | None, finish_reason: str | None) -> list[Any]:
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
            raise ReplyError("invalid_json", "expected a JSON list or object", repr(value))
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
            raise ReplyError("schema_mismatch", f"{what}{where}: {error.message}")

    # -- running -------------------------------------------------------------------------------

    async def arun_page(
        self, url: str, text: str, client: LLMClient | None = None
    ) -> LLMPageResult:
        """Extract from one page's input text (markdown or HTML): chunk, call, parse, merge."""
        started = time.monotonic()
        client = client or LLMClient()  # outside a crawl: this page's chunks share one limit
        chunks = self.chunks(text or "")
        params = self.request_params()

        async def one(index: int, chunk: str) -> _Outcome:
            messages = [
                {"role": "user", "content": self.prompt(url, chunk, index + 1, len(chunks))}
            ]
            try:
                call = await client.complete(self.llm_config, messages, **params)
            except LLMCallError as exc:
                failed = _error(index, exc.reason, exc.message)
                return _Outcome(None, failed, None, exc.attempts, exc.delays, exc.retry_after)
            self.usages.append(call.usage)
            self.total_usage.add(call.usage)
            try:
                items: list[Any] | None = self.parse(call.text, call.finish_reason)
                error: dict[str, Any] | None = None
            except ReplyError as exc:
                items, error = None, _error(index, exc.reason, exc.render(client.redact))
            return _Outcome(items, error, call, call.attempts, call.delays, call.retry_after)

        outcomes = await asyncio.gather(*(one(i, c) for i, c in enumerate(chunks)))
        usage = TokenUsage()
        errors = []
        cost: float | None = None
        for outcome in outcomes:
            if outcome.error is not None:
                errors.append(outcome.error)
            if outcome.call is not None:
                usage.add(outcome.call.usage)
                if outcome.call.cost_usd is not None:
                    cost = (cost or 0.0) + outcome.call.cost_usd
        requests = sum(outcome.attempts for outcome in outcomes)
        result = LLMPageResult(
            items=self.merge([outcome.items for outcome in outcomes]),
            chunks=len(chunks),
            failed_chunks=len(errors),
            errors=errors,
            usage=usage,
            requests=requests,
            retries=requests - len(chunks),
            seconds=time.monotonic() - started,
            cost_usd=cost,
            retry_delays=[delay for outcome in outcomes for delay in outcome.delays],
            retry_after=sum(outcome.retry_after for outcome in outcomes),
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


@dataclasses.dataclass
class _Outcome:
    """One chunk's call: its items or error, and what the call took."""

    items: list[Any] | None
    error: dict[str, Any] | None
    call: CallResult | None
    attempts: int
    delays: list[float]
    retry_after: int


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
