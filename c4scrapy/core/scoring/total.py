"""The total link score from the intrinsic and contextual ones (``C4_SCORE_WEIGHTS``). See
docs/features/previews.rst."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from c4scrapy.core.exceptions import ConfigError


@dataclasses.dataclass(frozen=True)
class ScoreWeights:
    intrinsic: float = 0.7
    contextual: float = 0.3

    def __post_init__(self) -> None:
        for name in ("intrinsic", "contextual"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(f"C4_SCORE_WEIGHTS: {name} must be a number >= 0")
        total = self.intrinsic + self.contextual
        if total <= 0:
            raise ConfigError("C4_SCORE_WEIGHTS: the weights must not both be 0")
        object.__setattr__(self, "intrinsic", self.intrinsic / total)
        object.__setattr__(self, "contextual", self.contextual / total)

    @classmethod
    def from_setting(cls, value: Any) -> ScoreWeights:
        """From ``C4_SCORE_WEIGHTS``: a dict, its JSON, or None for the defaults."""
        if value is None or value == "":
            return cls()
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise ConfigError(f"C4_SCORE_WEIGHTS: invalid JSON: {exc}") from None
        if not isinstance(value, Mapping):
            raise ConfigError(
                f'C4_SCORE_WEIGHTS: expected {{"intrinsic": W, "contextual": W}}, got {value!r}'
            )
        unknown = set(value) - {"intrinsic", "contextual"}
        if unknown:
            raise ConfigError(f"C4_SCORE_WEIGHTS: unknown keys {sorted(unknown)}")
        return cls(**{k: _number(v, k) for k, v in value.items()})


DEFAULT_WEIGHTS = ScoreWeights()


def total_score(
    intrinsic: float | None, contextual: float | None, weights: ScoreWeights = DEFAULT_WEIGHTS
) -> float | None:
    if intrinsic is None and contextual is None:
        return None
    if contextual is None:
        total = intrinsic
    elif intrinsic is None:
        total = 10.0 * contextual
    else:
        total = weights.intrinsic * intrinsic + weights.contextual * 10.0 * contextual
    return round(min(10.0, max(0.0, float(total or 0.0))), 3)


def _number(value: Any, key: str) -> float:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise ConfigError(f"C4_SCORE_WEIGHTS: {key} must be a number >= 0, got {value!r}")
