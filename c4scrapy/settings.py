"""Every ``C4_*`` setting that is not a CrawlerRunConfig field, read, typed and checked once.

``C4Settings.from_settings(crawler.settings)`` runs at start-up (``C4Runtime``), and at
add-on time for the browser settings; a bad value raises ConfigError naming the setting.
The ``C4_<FIELD>`` settings of CrawlerRunConfig fields are read by
``c4scrapy.core.layers.config_from_settings``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from c4scrapy.core.coerce import coerce, field_types
from c4scrapy.core.exceptions import ConfigError
from c4scrapy.core.scoring.total import ScoreWeights

#: Playwright resource types ``C4_BROWSER_BLOCK_RESOURCES`` may name ("document" would
#: abort the page itself).
BLOCKABLE_RESOURCES = frozenset(
    {"stylesheet", "image", "media", "font", "script", "texttrack", "xhr", "fetch", "other"}
    | {"eventsource", "websocket", "manifest"}
)


def _at_least(lowest: float) -> Callable[[Any], str | None]:
    def check(value: float | None) -> str | None:
        if value is None or value >= lowest:
            return None
        kind = "an integer" if isinstance(value, int) else "a number"
        return f"expected {kind} >= {lowest:g}, got {value!r}"

    return check


def _blockable(value: tuple[str, ...]) -> str | None:
    unknown = set(value) - BLOCKABLE_RESOURCES
    if unknown:
        return (
            f"unknown resource type(s) {sorted(unknown)}; "
            f"choose from {sorted(BLOCKABLE_RESOURCES)}"
        )
    return None


def _schemes(value: tuple[str, ...]) -> str | None:
    if not value:
        return "expected at least one URL scheme, e.g. http,https"
    bad = [scheme for scheme in value if scheme != scheme.lower() or not scheme.isascii()]
    return f"schemes are lowercase ASCII names, got {bad}" if bad else None


def _setting(default: Any, check: Callable[[Any], str | None] | None = None) -> Any:
    return dataclasses.field(default=default, metadata={"check": check})


@dataclasses.dataclass(frozen=True)
class C4Settings:
    """One attribute per setting: ``C4_PREVIEW_MAX_BYTES`` is ``preview_max_bytes``."""

    #: Old setting names still read: old attribute -> the attribute it sets.
    ALIASES: ClassVar[dict[str, str]] = {"preview_allow_private": "allow_private_addresses"}

    enabled: bool = True
    emit_items: bool = True
    progress: bool = True
    # link previews and scores
    preview_cache_size: int = _setting(5000, _at_least(1))
    preview_cache_mib: int = _setting(128, _at_least(1))
    preview_max_bytes: int = _setting(65536, _at_least(1024))
    preview_range_bytes: int = _setting(8192, _at_least(0))
    preview_page_timeout: float = _setting(30.0, _at_least(0.001))
    score_weights: Any = None
    # the private-address guard (previews and the crawl's own redirects)
    allow_private_addresses: bool = False
    # the site spider
    start_url_schemes: tuple[str, ...] = _setting(("http", "https"), _schemes)
    # structured extraction
    llm_concurrency: int = _setting(8, _at_least(1))
    llm_timeout: float = _setting(60.0, _at_least(0.001))
    llm_max_retries: int = _setting(2, _at_least(0))
    llm_backoff_base_delay: float = _setting(2.0, _at_least(0))
    llm_backoff_max_delay: float = _setting(60.0, _at_least(0))
    llm_retry_after_max: float = _setting(60.0, _at_least(0))
    # distributed crawls (c4scrapy.contrib.redis)
    redis_idle_timeout: float = _setting(2.0, _at_least(0.001))
    # browser pages
    browser_enabled: bool = False
    browser_executable: str | None = None
    browser_captures_dir: str | None = None
    browser_block_resources: tuple[str, ...] = _setting((), _blockable)
    # 8: on 2 cores and 24 GB, 1 and 2 left pages queueing for a slot (11-16 s and 6-8 s
    # median); 8 gave as many pages/s as 4 or more, for ~0.2 GB more Chromium memory
    # (bench/browser.py --capture-concurrency 1,2,4,8)
    browser_capture_concurrency: int = _setting(8, _at_least(1))
    browser_screenshot_max_height: int = _setting(20000, _at_least(0))
    # browser="auto": pages per host without a signal rendered to learn whether the host's
    # pages change in the browser
    browser_auto_probes: int = _setting(2, _at_least(0))
    # what one response may cost, and spider traps (the site spider)
    max_page_bytes: int = _setting(16 * 1024 * 1024, _at_least(0))
    trap_max_url_length: int = _setting(2048, _at_least(0))
    trap_max_path_segments: int = _setting(20, _at_least(0))
    trap_max_segment_repeats: int = _setting(3, _at_least(0))
    follow_duplicates: bool = False
    # extraction off the reactor's thread (c4scrapy.processes): worker processes (None:
    # one per usable CPU; 0: in the crawl process), the seconds one page may take, and the
    # peak memory after which a worker is replaced
    extract_processes: int | None = _setting(None, _at_least(0))
    extract_timeout: float = _setting(60.0, _at_least(0))
    extract_max_rss_mib: int = _setting(1024, _at_least(0))

    @staticmethod
    def setting_name(attribute: str) -> str:
        return f"C4_{attribute.upper()}"

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Every setting name this class reads."""
        names = [cls.setting_name(f.name) for f in dataclasses.fields(cls)]
        return (*names, *map(cls.setting_name, cls.ALIASES))

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> C4Settings:
        """Read, coerce and check every setting; ConfigError names the first bad one."""
        types = field_types(cls)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            name = cls.setting_name(f.name)
            raw = settings.get(name)
            for old, new in cls.ALIASES.items():
                if new == f.name and raw is None:
                    name = cls.setting_name(old)
                    raw = settings.get(name)
            if raw is None:
                continue
            key = f"setting {name}"
            value = coerce(raw, types[f.name], key)
            check = f.metadata.get("check")
            problem = check(value) if check is not None else None
            if problem:
                raise ConfigError(f"{key}: {problem}")
            values[f.name] = value
        self = cls(**values)
        if self.preview_range_bytes > self.preview_max_bytes:
            raise ConfigError(
                "setting C4_PREVIEW_RANGE_BYTES: must be 0 (off) or <= C4_PREVIEW_MAX_BYTES"
            )
        object.__setattr__(self, "score_weights", ScoreWeights.from_setting(self.score_weights))
        return self
