"""Configuration: the Crawl4AI-named config objects and the one resolver that layers them.

Layers, lowest first: field defaults < ``C4_*`` settings < the spider's ``c4_config``
(the ``site`` spider builds it from its ``-a`` arguments) < ``request.meta["c4"]``.
Every layer is validated with the same code, and errors name the key that is wrong.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
import typing
from collections.abc import Mapping
from typing import Any

SOCIAL_MEDIA_DOMAINS: tuple[str, ...] = (
    "facebook.com",
    "twitter.com",
    "x.com",
    "linkedin.com",
    "instagram.com",
    "pinterest.com",
    "tiktok.com",
    "snapchat.com",
    "reddit.com",
)


#: Playwright's navigation events, for ``wait_until``.
WAIT_UNTIL = ("commit", "domcontentloaded", "load", "networkidle")


class ConfigError(ValueError):
    """A configuration value is unknown or invalid; the message names the key."""


class CacheMode(enum.Enum):
    """Crawl4AI's cache modes, mapped onto Scrapy's HTTP cache (``HTTPCACHE_ENABLED``)."""

    ENABLED = "enabled"
    DISABLED = "disabled"
    READ_ONLY = "read_only"
    WRITE_ONLY = "write_only"
    BYPASS = "bypass"


class _Config:
    """Shared behaviour of the config dataclasses: typed coercion and validation."""

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], *, source: str = "config") -> Any:
        """Build from a dict of field names; strings are coerced to the field types."""
        return cls().merged(values, source=source)

    def merged(self, values: Mapping[str, Any] | Any, *, source: str = "config") -> Any:
        """A copy with ``values`` (a dict or an instance of this class) laid over it."""
        if isinstance(values, type(self)):
            default = type(values)()
            values = {
                name: getattr(values, name)
                for name in values.field_names()
                if getattr(values, name) != getattr(default, name)
            }
        if not isinstance(values, Mapping):
            raise ConfigError(
                f"{source}: expected a {type(self).__name__} or a dict, got {type(values).__name__}"
            )
        hints = _type_hints(type(self))
        changes: dict[str, Any] = {}
        for key, raw in values.items():
            if key not in hints:
                raise ConfigError(
                    f"{source}: unknown {type(self).__name__} field {key!r}"
                    f"{_did_you_mean(key, hints)}"
                )
            changes[key] = _coerce(raw, hints[key], f"{source}: {key}")
        try:
            return dataclasses.replace(self, **changes)  # type: ignore[type-var]
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (enums by value, nested configs as dicts)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, _Config):
                value = value.to_dict()
            elif isinstance(value, enum.Enum):
                value = value.value
            elif isinstance(value, tuple):
                value = list(value)
            elif value is not None and not isinstance(value, (str, int, float, bool, list, dict)):
                value = repr(value)
            out[f.name] = value
        return out


@dataclasses.dataclass(frozen=True)
class LinkPreviewConfig(_Config):
    """Crawl4AI's ``LinkPreviewConfig``: which links of a page get a ``<head>`` preview
    (``c4scrapy.previews``), and how they are scored.

    - ``include_internal`` / ``include_external``: preview the links to the page's own
      site / to other sites (at least one must be true).
    - ``include_patterns`` / ``exclude_patterns``: shell patterns (``fnmatch``,
      case-sensitive) matched against the whole URL, e.g. ``"*/docs/*"``; a previewed link
      matches one include pattern (when any are given) and no exclude pattern.
    - ``max_links``: at most this many previews per page, internal links first, in page
      order.
    - ``concurrency``: at most this many of one page's previews download at once
      (Scrapy's ``CONCURRENT_REQUESTS_PER_DOMAIN`` and ``DOWNLOAD_DELAY`` apply on top).
    - ``timeout``: seconds per preview download (its ``download_timeout``).
    - ``query``: what the contextual score matches each head against; without one there
      is no contextual score.
    - ``score_threshold`` (0-1): applies to the *contextual* score. Links below it keep
      their ``head_data`` and scores, but ``head_extraction_status`` says
      ``below_threshold`` and the query-guided crawl follows them last. Without a query it
      is ignored, with a warning.
    - ``verbose``: log each page's preview summary at INFO instead of DEBUG.
    """

    include_internal: bool = True
    include_external: bool = False
    include_patterns: tuple[str, ...] | None = None
    exclude_patterns: tuple[str, ...] | None = None
    concurrency: int = 10
    timeout: float = 5.0
    max_links: int = 100
    query: str | None = None
    score_threshold: float | None = None
    verbose: bool = False

    def __post_init__(self) -> None:
        _freeze_lists(self)
        if not (self.include_internal or self.include_external):
            raise ConfigError("include_internal and include_external are both False")
        _check(self.timeout > 0, "timeout", "must be > 0")
        _check(self.max_links > 0, "max_links", "must be > 0")
        _check(self.concurrency > 0, "concurrency", "must be > 0")
        if self.score_threshold is not None:
            _check(0 <= self.score_threshold <= 1, "score_threshold", "must be in [0, 1]")


@dataclasses.dataclass(frozen=True)
class CrawlerRunConfig(_Config):
    """Per-page options, with the names and meaning of Crawl4AI's ``CrawlerRunConfig``."""

    # content selection
    css_selector: str | None = None
    target_elements: tuple[str, ...] | None = None
    excluded_tags: tuple[str, ...] = ()
    excluded_selector: str | None = None
    word_count_threshold: int = 1
    only_text: bool = False
    keep_data_attributes: bool = False
    remove_forms: bool = False
    # links
    exclude_external_links: bool = False
    exclude_social_media_links: bool = False
    exclude_social_media_domains: tuple[str, ...] = SOCIAL_MEDIA_DOMAINS
    exclude_domains: tuple[str, ...] = ()
    internal_domains: tuple[str, ...] = ()
    score_links: bool = False
    link_preview_config: LinkPreviewConfig | None = None
    # media and tables
    exclude_external_images: bool = False
    exclude_all_images: bool = False
    image_score_threshold: int = 2
    image_description_max_words: int = 25
    table_score_threshold: float = 7.0
    # markdown and extraction (objects from c4scrapy.core.markdown / c4scrapy.core.strategies)
    markdown_generator: Any = "default"
    extraction_strategy: Any = None
    # browser (scrapy-playwright)
    browser: bool = False
    wait_until: str = "domcontentloaded"
    wait_for: str | None = None
    wait_for_timeout: int | None = None
    wait_for_images: bool = False
    page_timeout: int = 60000
    screenshot: bool = False
    pdf: bool = False
    capture_mhtml: bool = False
    process_iframes: bool = False
    remove_overlay_elements: bool = False
    # run
    cache_mode: CacheMode = CacheMode.ENABLED
    verbose: bool = True

    def __post_init__(self) -> None:
        _freeze_lists(self)
        _check(self.word_count_threshold >= 0, "word_count_threshold", "must be >= 0")
        _check(self.page_timeout > 0, "page_timeout", "must be > 0 (milliseconds)")
        _check(
            self.wait_until in WAIT_UNTIL,
            "wait_until",
            f"must be one of {', '.join(WAIT_UNTIL)}, got {self.wait_until!r}",
        )
        if self.wait_for_timeout is not None:
            _check(self.wait_for_timeout > 0, "wait_for_timeout", "must be > 0 (milliseconds)")
        _check(
            self.image_description_max_words >= 0, "image_description_max_words", "must be >= 0"
        )
        for name in ("exclude_social_media_domains", "exclude_domains", "internal_domains"):
            for domain in getattr(self, name):
                _check(
                    isinstance(domain, str) and bool(domain.strip(".")) and "/" not in domain,
                    name,
                    f"{domain!r} is not a domain name",
                )
        # Selectors are compiled now so that a typo fails here, not silently per page.
        from c4scrapy.core.selectors import compile_css

        for name in ("css_selector", "excluded_selector"):
            if getattr(self, name):
                _compile(compile_css, getattr(self, name), name)
        for selector in self.target_elements or ():
            _compile(compile_css, selector, "target_elements")
        if isinstance(self.markdown_generator, str):  # from -a / -s / JSON
            name = self.markdown_generator.strip().lower()
            if name in ("none", "null", "false", "off", ""):
                object.__setattr__(self, "markdown_generator", None)
            elif name == "default":
                from c4scrapy.core.markdown import DefaultMarkdownGenerator

                object.__setattr__(self, "markdown_generator", DefaultMarkdownGenerator())
            else:
                raise ConfigError(
                    f"markdown_generator: expected 'default', 'none' or a generator object, "
                    f"got {self.markdown_generator!r}"
                )
        if self.extraction_strategy is not None:
            from c4scrapy.core.strategies import coerce_extraction_strategy

            strategy = coerce_extraction_strategy(self.extraction_strategy)
            object.__setattr__(self, "extraction_strategy", strategy)

    @property
    def query(self) -> str | None:
        return self.link_preview_config.query if self.link_preview_config else None


# --- coercion -------------------------------------------------------------------------

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _coerce(raw: Any, hint: Any, key: str) -> Any:
    """Turn ``raw`` (a typed value, or a string from ``-a``/``-s``) into ``hint``'s type."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if raw is None and type(None) in args:
            return None
        if isinstance(raw, str) and raw.strip().lower() in ("none", "null") and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return _coerce(raw, inner[0], key)
        return raw
    if hint is Any:
        return raw
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
        return tuple(_coerce(item, args[0], f"{key}[{i}]") for i, item in enumerate(raw))
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
    if isinstance(hint, type) and issubclass(hint, _Config):
        if isinstance(raw, hint):
            return raw
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError as exc:
                raise ConfigError(f"{key}: invalid JSON object: {exc}") from None
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{key}: expected a {hint.__name__} or a dict, got {raw!r}")
        return hint.from_mapping(raw, source=key)
    return raw


_HINTS: dict[type, dict[str, Any]] = {}


def _type_hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
        _HINTS[cls] = {f.name: _HINTS[cls][f.name] for f in dataclasses.fields(cls)}
    return _HINTS[cls]


def _freeze_lists(obj: Any) -> None:
    """Accept lists where tuples are declared (Crawl4AI examples pass lists)."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, (list, set, frozenset)):
            object.__setattr__(obj, f.name, tuple(value))
        elif isinstance(value, str) and "tuple" in str(f.type) and f.type != "str":
            object.__setattr__(obj, f.name, (value,))


def _check(ok: bool, key: str, message: str) -> None:
    if not ok:
        raise ConfigError(f"{key}: {message}")


def _compile(compile_fn: Any, selector: str, key: str) -> None:
    from cssselect import SelectorError
    from lxml.etree import XPathError

    try:
        compile_fn(selector)
    except (SelectorError, XPathError) as exc:
        raise ConfigError(f"{key}: invalid CSS selector {selector!r}: {exc}") from None


def _did_you_mean(key: str, names: Mapping[str, Any]) -> str:
    import difflib

    close = difflib.get_close_matches(key, list(names), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


# --- settings ----------------------------------------------------------------------------

#: Settings that are not CrawlerRunConfig fields, with their defaults. Every other
#: ``C4_<FIELD>`` setting is a CrawlerRunConfig field; any other ``C4_`` name is an error.
ENGINE_SETTINGS: dict[str, Any] = {
    "C4_ENABLED": True,
    "C4_EMIT_ITEMS": True,
    "C4_PROGRESS": True,
    # link previews and scores (c4scrapy/previews.py, c4scrapy/core/scoring/)
    "C4_PREVIEW_CACHE_SIZE": 5000,
    "C4_PREVIEW_MAX_BYTES": 65536,
    "C4_PREVIEW_RANGE_BYTES": 8192,
    "C4_PREVIEW_ALLOW_PRIVATE": False,
    "C4_SCORE_WEIGHTS": None,
    # structured extraction (c4scrapy/pipelines.py, c4scrapy/core/llm/strategy.py)
    "C4_LLM_CONCURRENCY": 8,
    "C4_LLM_TIMEOUT": 60.0,
    "C4_LLM_MAX_RETRIES": 2,
    "C4_LLM_BACKOFF_BASE_DELAY": 2.0,
    "C4_LLM_BACKOFF_MAX_DELAY": 60.0,
    # distributed crawls (c4scrapy/contrib/redis.py)
    "C4_REDIS_IDLE_TIMEOUT": 2.0,
    # browser pages (c4scrapy/browser.py)
    "C4_BROWSER_ENABLED": False,
    "C4_BROWSER_EXECUTABLE": None,
    "C4_BROWSER_CAPTURES_DIR": None,
    "C4_BROWSER_BLOCK_RESOURCES": [],
    "C4_BROWSER_CAPTURE_CONCURRENCY": 1,
    "C4_BROWSER_SCREENSHOT_MAX_HEIGHT": 20000,
}

_SETTING_RE = re.compile(r"^C4_[A-Z0-9_]+$")


def config_from_settings(settings: Any) -> CrawlerRunConfig:
    """The settings layer: ``C4_<FIELD>`` for each CrawlerRunConfig field.

    Raises ConfigError naming the setting for unknown ``C4_*`` names and bad values.
    """
    fields = {f"C4_{name.upper()}": name for name in CrawlerRunConfig.field_names()}
    values: dict[str, Any] = {}
    for key in list(settings.keys()) if hasattr(settings, "keys") else list(settings):
        if not isinstance(key, str) or not key.startswith("C4_"):
            continue
        if key in fields:
            values[fields[key]] = settings[key]
        elif key not in ENGINE_SETTINGS and _SETTING_RE.match(key):
            known = list(fields) + list(ENGINE_SETTINGS)
            raise ConfigError(f"unknown setting {key!r}{_did_you_mean(key, dict.fromkeys(known))}")
    try:
        return CrawlerRunConfig.from_mapping(values, source="settings")
    except ConfigError as exc:
        text = str(exc)
        for setting, name in fields.items():
            text = text.replace(f"settings: {name}", f"setting {setting}", 1)
        raise ConfigError(text) from None


def resolve(base: CrawlerRunConfig, override: Any, *, source: str) -> CrawlerRunConfig:
    """Lay one more layer (a CrawlerRunConfig, a dict, JSON text, or None) over ``base``."""
    if override is None or override is True:
        return base
    if isinstance(override, str):
        try:
            override = json.loads(override)
        except ValueError as exc:
            raise ConfigError(f"{source}: invalid JSON: {exc}") from None
    return base.merged(override, source=source)
