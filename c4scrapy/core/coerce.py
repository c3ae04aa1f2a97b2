"""Values from text: ``-a``, ``-s`` and JSON strings turned into a field's declared type."""

from __future__ import annotations

import dataclasses
import difflib
import enum
import json
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from c4scrapy.core.exceptions import ConfigError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def did_you_mean(key: str, names: Iterable[str], prefix: str = "") -> str:
    """``" (did you mean 'x'?)"`` for the closest of ``names``, or ``""``."""
    close = difflib.get_close_matches(key, sorted(names), n=1)
    return f" (did you mean {prefix + close[0]!r}?)" if close else ""


def coerce(raw: Any, hint: Any, key: str) -> Any:
    """Turn ``raw`` (a typed value, or a string from ``-a``/``-s``) into ``hint``'s type.

    A nested config class (anything with ``from_mapping``) is built from a dict or JSON.
    Raises ConfigError naming ``key``.
    """
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if raw is None and type(None) in args:
            return None
        if isinstance(raw, str) and raw.strip().lower() in ("none", "null") and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return coerce(raw, inner[0], key)
        if any(typing.get_origin(a) is typing.Literal for a in inner):
            return _first_that_fits(raw, inner, key)
        return raw
    if hint is Any:
        return raw
    if origin is typing.Literal:
        for value in args:
            if raw == value or (isinstance(raw, str) and raw.strip().lower() == str(value)):
                return value
        raise ConfigError(f"{key}: expected {' or '.join(map(repr, args))}, got {raw!r}")
    if hint is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int) and raw in (0, 1):
            return bool(raw)
        if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE
        raise ConfigError(f"{key}: expected true or false, got {raw!r}")
    if hint in (int, float):
        if isinstance(raw, bool):
            raise ConfigError(f"{key}: expected a number, got {raw!r}")
        if isinstance(raw, (int, float)) and (hint is float or float(raw).is_integer()):
            return hint(raw)
        if isinstance(raw, str):
            try:
                return hint(raw.strip())
            except ValueError:
                pass
        raise ConfigError(
            f"{key}: expected {'an integer' if hint is int else 'a number'}, got {raw!r}"
        )
    if hint is str:
        if isinstance(raw, str):
            return raw
        raise ConfigError(f"{key}: expected a string, got {raw!r}")
    if origin is tuple:
        raw = as_list(raw, key)
        return tuple(coerce(item, args[0], f"{key}[{i}]") for i, item in enumerate(raw))
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        if isinstance(raw, hint):
            return raw
        if isinstance(raw, str):
            name = raw.strip().split(".")[-1]
            for member in hint:
                if name.lower() in (member.name.lower(), str(member.value).lower()):
                    return member
        choices = ", ".join(m.name for m in hint)
        raise ConfigError(f"{key}: expected one of {choices}, got {raw!r}")
    if isinstance(hint, type) and hasattr(hint, "from_mapping"):
        if isinstance(raw, hint):
            return raw
        raw = as_object(raw, key)
        return hint.from_mapping(raw, source=key)
    return raw


def _first_that_fits(raw: Any, hints: list[Any], key: str) -> Any:
    """``raw`` as the first of ``hints`` it can be (``bool | Literal["auto"]``)."""
    problems = []
    for hint in hints:
        try:
            return coerce(raw, hint, key)
        except ConfigError as exc:
            problems.append(str(exc).removeprefix(f"{key}: expected ").split(", got")[0])
    raise ConfigError(f"{key}: expected {' or '.join(problems)}, got {raw!r}")


def as_list(raw: Any, key: str) -> list[Any]:
    """A list from a list, a JSON list (``'["a", "b"]'``) or comma-separated text."""
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("["):
            try:
                raw = json.loads(text)
            except ValueError as exc:
                raise ConfigError(f"{key}: invalid JSON list: {exc}") from None
        else:
            raw = [part.strip() for part in text.split(",") if part.strip()]
    if not isinstance(raw, (list, tuple, set, frozenset)):
        raise ConfigError(f"{key}: expected a list, got {raw!r}")
    return list(raw)


def as_object(raw: Any, key: str) -> Mapping[str, Any]:
    """A dict from a dict or a JSON object's text."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise ConfigError(f"{key}: invalid JSON object: {exc}") from None
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{key}: expected a JSON object, got {raw!r}")
    return raw


_HINTS: dict[type, dict[str, Any]] = {}


def field_types(cls: type) -> dict[str, Any]:
    """A dataclass's field names and their resolved types (memoised per class)."""
    if cls not in _HINTS:
        hints = typing.get_type_hints(cls)
        _HINTS[cls] = {f.name: hints[f.name] for f in dataclasses.fields(cls)}
    return _HINTS[cls]
