"""c4scrapy: Crawl4AI's page extraction for every page of a Scrapy crawl."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from c4scrapy.core.config import CacheMode, CrawlerRunConfig, LinkPreviewConfig
from c4scrapy.core.exceptions import ConfigError
from c4scrapy.core.items import PageItem
from c4scrapy.core.llm.strategy import LLMConfig, LLMExtractionStrategy
from c4scrapy.core.markdown import (
    BM25ContentFilter,
    DefaultMarkdownGenerator,
    MainContentFilter,
    MarkdownGenerationResult,
    PruningContentFilter,
)
from c4scrapy.core.page import extract_page
from c4scrapy.core.schema import (
    JsonCssExtractionStrategy,
    JsonXPathExtractionStrategy,
    NoExtractionStrategy,
)

if TYPE_CHECKING:
    from c4scrapy.addon import Addon
    from c4scrapy.previews import previewed_links

__version__ = "0.1.0"

__all__ = [
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
    "MainContentFilter",
    "MarkdownGenerationResult",
    "NoExtractionStrategy",
    "PageItem",
    "PruningContentFilter",
    "__version__",
    "extract_page",
    "previewed_links",
]


def __getattr__(name: str) -> Any:
    # The Scrapy-side names import Scrapy (~0.3 s): only when first asked for, so that the
    # core (extract_page, the CLI) never pays for it.
    if name == "Addon":
        from c4scrapy.addon import Addon

        return Addon
    if name == "previewed_links":
        from c4scrapy.previews import previewed_links

        return previewed_links
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
