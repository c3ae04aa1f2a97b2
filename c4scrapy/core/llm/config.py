"""``LLMConfig`` (which model, how to call it) and ``TokenUsage`` (Crawl4AI's names)."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from c4scrapy.core.exceptions import ConfigError

DEFAULT_PROVIDER = "openai/gpt-4o"
_ENV_PREFIX = "env:"


@dataclasses.dataclass(frozen=True, repr=False)
class LLMConfig:
    """Which model to call and how: a litellm ``provider``, the key (``api_token``: the
    key, or ``"env:NAME"`` read at call time; hidden from ``repr``), ``base_url``, sampling
    parameters sent with every call, and backoff overrides for the crawl's settings."""

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
