"""The Crawl4AI-named config values and their per-field checks.

How layers (settings, ``-a``, ``request.meta["c4"]``) are read and laid over each other is
``c4scrapy.core.layers``."""

from __future__ import annotations

import dataclasses
import enum
import functools
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from cssselect import SelectorError
from lxml.etree import XPathError

from c4scrapy.core.coerce import coerce, did_you_mean, field_types
from c4scrapy.core.exceptions import ConfigError
from c4scrapy.core.markdown import DefaultMarkdownGenerator
from c4scrapy.core.selectors import compile_css

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "SOCIAL_MEDIA_DOMAINS",
    "WAIT_UNTIL",
    "CacheMode",
    "ConfigError",
    "CrawlerRunConfig",
    "LinkPreviewConfig",
]

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


_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9:_.-]*")

#: Playwright's navigation events, for ``wait_until``.
WAIT_UNTIL = ("commit", "domcontentloaded", "load", "networkidle")


class CacheMode(enum.Enum):
    """Crawl4AI's cache modes, mapped onto Scrapy's HTTP cache (``HTTPCACHE_ENABLED``)."""

    ENABLED = "enabled"
    DISABLED = "disabled"
    READ_ONLY = "read_only"
    WRITE_ONLY = "write_only"
    BYPASS = "bypass"


_C = TypeVar("_C", bound="_Config")


class _Config:
    """Shared behaviour of the config dataclasses: building from text, and layering.

    An instance remembers which fields its caller gave (``set_fields``): laid over another
    config, it applies exactly those, even where they equal the default.
    """

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], *, source: str = "config") -> Self:
        """Build from a dict of field names; strings are coerced to the field types."""
        return cls().merged(values, source=source)

    @property
    def set_fields(self) -> frozenset[str]:
        """The fields given when this value was built (or laid over it since)."""
        return self.__dict__.get("_set_fields", frozenset())

    def merged(self, values: Mapping[str, Any] | _Config, *, source: str = "config") -> Self:
        """A copy with ``values`` (a dict, or an instance's ``set_fields``) laid over it."""
        if isinstance(values, type(self)):
            values = {name: getattr(values, name) for name in values.set_fields}
        if not isinstance(values, Mapping):
            raise ConfigError(
                f"{source}: expected a {type(self).__name__} or a dict, got {type(values).__name__}"
            )
        hints = field_types(type(self))
        changes: dict[str, Any] = {}
        for key, raw in values.items():
            if key not in hints:
                raise ConfigError(
                    f"{source}: unknown {type(self).__name__} field {key!r}"
                    f"{did_you_mean(key, hints)}"
                )
            label = f"{source} {key}" if source.startswith("-") else f"{source}: {key}"
            changes[key] = coerce(raw, hints[key], label)
        try:
            result = dataclasses.replace(self, **changes)  # type: ignore[type-var]
        except ConfigError as exc:
            raise ConfigError(
                f"{source} {exc}" if source.startswith("-") else f"{source}: {exc}"
            ) from None
        object.__setattr__(result, "_set_fields", self.set_fields | changes.keys())
        return result

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


def _records_set_fields(cls: type[_C]) -> type[_C]:
    """Wrap a config dataclass's ``__init__`` so that the instance knows its given fields."""
    init = cls.__init__
    names = cls.field_names()

    @functools.wraps(init)
    def __init__(self: _C, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        object.__setattr__(self, "_set_fields", frozenset(names[: len(args)]) | kwargs.keys())

    cls.__init__ = __init__  # type: ignore[method-assign,assignment]
    return cls


@_records_set_fields
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


@_records_set_fields
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
    # markdown and extraction (a generator from c4scrapy.core.markdown, a strategy object)
    markdown_generator: Any = dataclasses.field(default_factory=DefaultMarkdownGenerator)
    extraction_strategy: Any = None
    # browser (scrapy-playwright); "auto": HTTP first, Chromium when the page needs it
    browser: bool | Literal["auto"] = False
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
            self.browser in (True, False, "auto"),
            "browser",
            f'must be true, false or "auto", got {self.browser!r}',
        )
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
        for tag in self.excluded_tags:
            _check(
                isinstance(tag, str) and _TAG_NAME.fullmatch(tag) is not None,
                "excluded_tags",
                f"{tag!r} is not a tag name",
            )
        for name in ("exclude_social_media_domains", "exclude_domains", "internal_domains"):
            for domain in getattr(self, name):
                _check(
                    isinstance(domain, str) and bool(domain.strip(".")) and "/" not in domain,
                    name,
                    f"{domain!r} is not a domain name",
                )
        # Selectors are compiled now so that a typo fails here, not silently per page.
        for name in ("css_selector", "excluded_selector"):
            if getattr(self, name):
                _compile(getattr(self, name), name)
        for selector in self.target_elements or ():
            _compile(selector, "target_elements")
        generator = self.markdown_generator
        if generator is not None and not callable(getattr(generator, "generate", None)):
            raise ConfigError(
                "markdown_generator: expected a markdown generator (DefaultMarkdownGenerator) "
                f"or None, got {generator!r}"
            )
        strategy = self.extraction_strategy
        if type(strategy).__name__ == "NoExtractionStrategy":  # Crawl4AI's name for None
            object.__setattr__(self, "extraction_strategy", None)
            strategy = None
        if strategy is not None and not (
            hasattr(strategy, "extract_tree") or hasattr(strategy, "arun_page")
        ):
            raise ConfigError(
                "extraction_strategy: expected JsonCssExtractionStrategy, "
                "JsonXPathExtractionStrategy or LLMExtractionStrategy (a schema dict or file "
                f"is accepted in settings, -a and request.meta), got {type(strategy).__name__}"
            )

    @property
    def query(self) -> str | None:
        return self.link_preview_config.query if self.link_preview_config else None


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


def _compile(selector: str, key: str) -> None:
    try:
        compile_css(selector)
    except (SelectorError, XPathError) as exc:
        raise ConfigError(f"{key}: invalid CSS selector {selector!r}: {exc}") from None
