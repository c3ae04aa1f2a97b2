"""``C4Settings.from_settings``: every non-field ``C4_*`` setting, its default, its text form
(``-s NAME=VALUE``) and each bad value, which stops the crawl at start-up naming the setting."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler

from c4scrapy import ConfigError
from c4scrapy.core.scoring.total import ScoreWeights
from c4scrapy.middlewares import C4DownloaderMiddleware, C4SpiderMiddleware
from c4scrapy.settings import C4Settings

#: attribute: (default, a text value as ``-s`` gives it, what it reads as)
DEFAULTS: dict[str, tuple[Any, str, Any]] = {
    "enabled": (True, "false", False),
    "emit_items": (True, "0", False),
    "progress": (True, "off", False),
    "preview_cache_size": (5000, "10", 10),
    "preview_cache_mib": (128, "16", 16),
    "preview_max_bytes": (65536, "16384", 16384),
    "preview_range_bytes": (8192, "0", 0),
    "preview_page_timeout": (30.0, "5", 5.0),
    "allow_private_addresses": (False, "yes", True),
    "start_url_schemes": (("http", "https"), "http,https,file", ("http", "https", "file")),
    "llm_retry_after_max": (60.0, "3", 3.0),
    "max_page_bytes": (16 * 1024 * 1024, "0", 0),
    "trap_max_url_length": (2048, "4096", 4096),
    "trap_max_path_segments": (20, "0", 0),
    "trap_max_segment_repeats": (3, "5", 5),
    "follow_duplicates": (False, "true", True),
    "extract_processes": (None, "0", 0),
    "extract_timeout": (60.0, "0", 0.0),
    "extract_max_rss_mib": (1024, "0", 0),
    "score_weights": (ScoreWeights(), '{"intrinsic": 1, "contextual": 3}', ScoreWeights(1, 3)),
    "llm_concurrency": (8, "2", 2),
    "llm_timeout": (60.0, "1.5", 1.5),
    "llm_max_retries": (2, "0", 0),
    "llm_backoff_base_delay": (2.0, "0", 0.0),
    "llm_backoff_max_delay": (60.0, "5", 5.0),
    "redis_idle_timeout": (2.0, "0.5", 0.5),
    "browser_enabled": (False, "true", True),
    "browser_executable": (None, "/usr/bin/chromium", "/usr/bin/chromium"),
    "browser_captures_dir": (None, "/tmp/caps", "/tmp/caps"),
    "browser_block_resources": ((), "image,font", ("image", "font")),
    "browser_capture_concurrency": (8, "3", 3),
    "browser_screenshot_max_height": (20000, "0", 0),
    "browser_auto_probes": (2, "0", 0),
}

#: (setting, bad value, the message's words after "setting NAME: ")
BAD: list[tuple[str, Any, str]] = [
    ("C4_ENABLED", "maybe", "expected true or false, got 'maybe'"),
    ("C4_EMIT_ITEMS", 2, "expected true or false, got 2"),
    ("C4_PROGRESS", "sometimes", "expected true or false"),
    ("C4_PREVIEW_CACHE_SIZE", "many", "expected an integer, got 'many'"),
    ("C4_PREVIEW_CACHE_SIZE", 0, "expected an integer >= 1, got 0"),
    ("C4_PREVIEW_CACHE_MIB", 0, "expected an integer >= 1, got 0"),
    ("C4_PREVIEW_MAX_BYTES", "1000", "expected an integer >= 1024, got 1000"),
    ("C4_PREVIEW_MAX_BYTES", 2.5, "expected an integer, got 2.5"),
    ("C4_PREVIEW_RANGE_BYTES", -1, "expected an integer >= 0, got -1"),
    ("C4_PREVIEW_RANGE_BYTES", 1 << 20, "must be 0 (off) or <= C4_PREVIEW_MAX_BYTES"),
    ("C4_PREVIEW_ALLOW_PRIVATE", "please", "expected true or false"),
    ("C4_ALLOW_PRIVATE_ADDRESSES", "please", "expected true or false"),
    ("C4_PREVIEW_PAGE_TIMEOUT", "0", "expected a number >= 0.001, got 0.0"),
    ("C4_START_URL_SCHEMES", "", "expected at least one URL scheme"),
    ("C4_LLM_RETRY_AFTER_MAX", "-1", "expected a number >= 0, got -1.0"),
    ("C4_MAX_PAGE_BYTES", "big", "expected an integer, got 'big'"),
    ("C4_TRAP_MAX_URL_LENGTH", "-1", "expected an integer >= 0, got -1"),
    ("C4_TRAP_MAX_PATH_SEGMENTS", "x", "expected an integer, got 'x'"),
    ("C4_TRAP_MAX_SEGMENT_REPEATS", "-3", "expected an integer >= 0, got -3"),
    ("C4_FOLLOW_DUPLICATES", "often", "expected true or false"),
    ("C4_EXTRACT_PROCESSES", "-1", "expected an integer >= 0, got -1"),
    ("C4_EXTRACT_PROCESSES", "two", "expected an integer, got 'two'"),
    ("C4_EXTRACT_TIMEOUT", "-1", "expected a number >= 0, got -1.0"),
    ("C4_EXTRACT_MAX_RSS_MIB", "1.5", "expected an integer, got '1.5'"),
    ("C4_LLM_CONCURRENCY", "0", "expected an integer >= 1, got 0"),
    ("C4_LLM_TIMEOUT", "0", "expected a number >= 0.001, got 0.0"),
    ("C4_LLM_TIMEOUT", True, "expected a number, got True"),
    ("C4_LLM_MAX_RETRIES", "-1", "expected an integer >= 0, got -1"),
    ("C4_LLM_BACKOFF_BASE_DELAY", "soon", "expected a number, got 'soon'"),
    ("C4_LLM_BACKOFF_MAX_DELAY", -2, "expected a number >= 0, got -2.0"),
    ("C4_REDIS_IDLE_TIMEOUT", "0", "expected a number >= 0.001, got 0.0"),
    ("C4_BROWSER_ENABLED", "sure", "expected true or false"),
    ("C4_BROWSER_EXECUTABLE", 42, "expected a string, got 42"),
    ("C4_BROWSER_CAPTURES_DIR", ["a"], "expected a string"),
    ("C4_BROWSER_BLOCK_RESOURCES", "document", "unknown resource type(s) ['document']"),
    ("C4_BROWSER_CAPTURE_CONCURRENCY", "0", "expected an integer >= 1, got 0"),
    ("C4_BROWSER_SCREENSHOT_MAX_HEIGHT", "-5", "expected an integer >= 0, got -5"),
    ("C4_BROWSER_AUTO_PROBES", "-1", "expected an integer >= 0, got -1"),
]

#: C4_SCORE_WEIGHTS checks its own shape (its messages start with the setting's name).
BAD_WEIGHTS: list[tuple[Any, str]] = [
    ("{", "C4_SCORE_WEIGHTS: invalid JSON"),
    ("[1, 2]", "C4_SCORE_WEIGHTS: expected"),
    ({"intrinsic": -1, "contextual": 1}, "C4_SCORE_WEIGHTS: intrinsic must be a number >= 0"),
    ({"intrinsic": 0, "contextual": 0}, "C4_SCORE_WEIGHTS: the weights must not both be 0"),
    ({"intrinsic": 1, "context": 1}, "C4_SCORE_WEIGHTS: unknown keys ['context']"),
]


def _read(settings: dict[str, Any]) -> C4Settings:
    return C4Settings.from_settings(get_crawler(settings_dict=settings).settings)


def test_the_tables_cover_every_setting():
    attributes = {f.name for f in dataclasses.fields(C4Settings)}
    assert set(DEFAULTS) == attributes, "add a row to DEFAULTS (and BAD) for each new setting"
    checked = {name for name, _, _ in BAD} | {"C4_SCORE_WEIGHTS"}
    unchecked = {C4Settings.setting_name(a) for a in attributes} - checked
    assert unchecked == set(), "add a BAD row for each setting"


@pytest.mark.parametrize("attribute", sorted(DEFAULTS))
def test_default(attribute):
    assert getattr(_read({}), attribute) == DEFAULTS[attribute][0]


@pytest.mark.parametrize("attribute", sorted(DEFAULTS))
def test_text_value_is_coerced(attribute):
    _, text, expected = DEFAULTS[attribute]
    name = C4Settings.setting_name(attribute)
    assert getattr(_read({name: text}), attribute) == expected


def test_typed_values_pass_through():
    c4 = _read({"C4_PREVIEW_CACHE_SIZE": 7, "C4_BROWSER_BLOCK_RESOURCES": ["media"]})
    assert (c4.preview_cache_size, c4.browser_block_resources) == (7, ("media",))
    assert _read({"C4_SCORE_WEIGHTS": {"intrinsic": 1, "contextual": 1}}).score_weights == (
        ScoreWeights(0.5, 0.5)
    )
    assert C4Settings.names() == (
        *(C4Settings.setting_name(f.name) for f in dataclasses.fields(C4Settings)),
        "C4_PREVIEW_ALLOW_PRIVATE",  # the old name of C4_ALLOW_PRIVATE_ADDRESSES
    )
    assert _read({"C4_PREVIEW_ALLOW_PRIVATE": True}).allow_private_addresses is True


@pytest.mark.parametrize(("name", "value", "message"), BAD)
def test_bad_value_names_the_setting(name, value, message):
    with pytest.raises(ConfigError) as info:
        _read({name: value})
    assert str(info.value).startswith(f"setting {name}: ")
    assert message in str(info.value)


@pytest.mark.parametrize(("value", "message"), BAD_WEIGHTS)
def test_bad_score_weights(value, message):
    with pytest.raises(ConfigError, match="^" + message.replace("[", r"\[")):
        _read({"C4_SCORE_WEIGHTS": value})


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"C4_WORD_COUNT_THRESHOLD": "ten"},
            "setting C4_WORD_COUNT_THRESHOLD: expected an integer",
        ),
        (
            {"C4_EXCLUDE_EXTERNAL_LINK": True},
            "unknown setting 'C4_EXCLUDE_EXTERNAL_LINK' (did you mean 'C4_EXCLUDE_EXTERNAL_LINKS'?)",
        ),
        ({"C4_PREVIEW_MAX_BYTES": "1k"}, "setting C4_PREVIEW_MAX_BYTES: expected an integer"),
        ({"C4_SCORE_WEIGHTS": '{"intrinsic": -1}'}, "C4_SCORE_WEIGHTS: intrinsic must be"),
    ],
)
@pytest.mark.parametrize("component", [C4DownloaderMiddleware, C4SpiderMiddleware])
def test_a_bad_setting_stops_the_crawl_at_start_up(settings, message, component):
    """The first component built (at engine start, before any request) raises."""
    crawler = get_crawler(settings_dict=settings)
    with pytest.raises(ConfigError) as info:
        build_from_crawler(component, crawler)
    assert message in str(info.value)
