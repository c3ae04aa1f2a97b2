"""Stable where users stand: the names users import, type in settings and read in meta.

Each list is what users relied on when it was written: names may be added, never removed
or renamed (add new ones here once they are documented)."""

from __future__ import annotations

import importlib

import pytest
from scrapy.spiderloader import SpiderLoader
from scrapy.utils.misc import load_object
from scrapy.utils.project import get_project_settings

import c4scrapy
from c4scrapy import _meta
from c4scrapy.core.config import CrawlerRunConfig
from c4scrapy.settings import C4Settings

PUBLIC_NAMES = {
    "Addon",
    "BM25ContentFilter",
    "CacheMode",
    "ConfigError",
    "CrawlerRunConfig",
    "DefaultMarkdownGenerator",
    "JsonCssExtractionStrategy",
    "JsonXPathExtractionStrategy",
    "LLMConfig",
    "LLMExtractionStrategy",
    "LinkPreviewConfig",
    "PageItem",
    "PruningContentFilter",
    "__version__",
    "extract_page",
}

#: The C4_* settings that are not CrawlerRunConfig fields (each field is C4_<FIELD> too).
ENGINE_SETTINGS = {
    "C4_BROWSER_BLOCK_RESOURCES",
    "C4_BROWSER_CAPTURES_DIR",
    "C4_BROWSER_CAPTURE_CONCURRENCY",
    "C4_BROWSER_ENABLED",
    "C4_BROWSER_EXECUTABLE",
    "C4_BROWSER_SCREENSHOT_MAX_HEIGHT",
    "C4_EMIT_ITEMS",
    "C4_ENABLED",
    "C4_LLM_BACKOFF_BASE_DELAY",
    "C4_LLM_BACKOFF_MAX_DELAY",
    "C4_LLM_CONCURRENCY",
    "C4_LLM_MAX_RETRIES",
    "C4_LLM_TIMEOUT",
    "C4_PREVIEW_ALLOW_PRIVATE",
    "C4_PREVIEW_CACHE_SIZE",
    "C4_PREVIEW_MAX_BYTES",
    "C4_PREVIEW_RANGE_BYTES",
    "C4_PROGRESS",
    "C4_REDIS_IDLE_TIMEOUT",
    "C4_SCORE_WEIGHTS",
}

CONFIG_FIELDS = {
    "browser",
    "cache_mode",
    "capture_mhtml",
    "css_selector",
    "excluded_selector",
    "excluded_tags",
    "exclude_all_images",
    "exclude_domains",
    "exclude_external_images",
    "exclude_external_links",
    "exclude_social_media_domains",
    "exclude_social_media_links",
    "extraction_strategy",
    "image_description_max_words",
    "image_score_threshold",
    "internal_domains",
    "keep_data_attributes",
    "link_preview_config",
    "markdown_generator",
    "only_text",
    "page_timeout",
    "pdf",
    "process_iframes",
    "remove_forms",
    "remove_overlay_elements",
    "score_links",
    "screenshot",
    "table_score_threshold",
    "target_elements",
    "verbose",
    "wait_for",
    "wait_for_images",
    "wait_for_timeout",
    "wait_until",
    "word_count_threshold",
}


def test_public_names_are_kept():
    assert set(c4scrapy.__all__) >= PUBLIC_NAMES
    for name in c4scrapy.__all__:
        assert getattr(c4scrapy, name) is not None
    assert sorted(c4scrapy.__all__) == list(c4scrapy.__all__)


def test_settings_and_fields_are_kept():
    assert set(C4Settings.names()) >= ENGINE_SETTINGS
    assert set(CrawlerRunConfig.field_names()) >= CONFIG_FIELDS


def test_the_addon_line_and_the_meta_keys():
    assert load_object("c4scrapy.Addon") is c4scrapy.Addon
    assert (_meta.CONFIG, _meta.PAGE) == ("c4", "c4_page")


def test_the_site_spider_is_found_by_scrapy_crawl_site(monkeypatch):
    monkeypatch.setenv("SCRAPY_SETTINGS_MODULE", "spiders.settings")
    settings = get_project_settings()
    assert settings.getdict("ADDONS") == {"c4scrapy.Addon": 100}
    assert SpiderLoader.from_settings(settings).load("site").name == "site"


@pytest.mark.parametrize("module", ["c4scrapy.__main__", "c4scrapy.contrib.redis"])
def test_entry_modules_import(module):
    importlib.import_module(module)
