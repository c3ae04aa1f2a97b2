"""Structured extraction strategies (Crawl4AI's names), run by c4scrapy's item pipelines.

- ``JsonCssExtractionStrategy`` / ``JsonXPathExtractionStrategy`` (``schema``): records
  described by a schema, no LLM; ``SchemaExtractionPipeline`` runs them.
- ``LLMExtractionStrategy`` with ``LLMConfig`` (``llm``): any litellm provider, chunked;
  ``LLMExtractionPipeline`` runs it. litellm is imported only when one is used.

The result lands in ``PageItem.extracted_content`` as a JSON string (a list), as in
Crawl4AI.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from c4scrapy.core.config import ConfigError

if TYPE_CHECKING:
    from c4scrapy.core.llm.strategy import LLMConfig, LLMExtractionStrategy
    from c4scrapy.core.schema import (
        JsonCssExtractionStrategy,
        JsonElementExtractionStrategy,
        JsonXPathExtractionStrategy,
    )

__all__ = [
    "JsonCssExtractionStrategy",
    "JsonElementExtractionStrategy",
    "JsonXPathExtractionStrategy",
    "LLMConfig",
    "LLMExtractionStrategy",
    "coerce_extraction_strategy",
]

_LAZY = {
    "JsonCssExtractionStrategy": "c4scrapy.core.schema",
    "JsonElementExtractionStrategy": "c4scrapy.core.schema",
    "JsonXPathExtractionStrategy": "c4scrapy.core.schema",
    "LLMConfig": "c4scrapy.core.llm.strategy",
    "LLMExtractionStrategy": "c4scrapy.core.llm.strategy",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)


def coerce_extraction_strategy(value: Any, key: str = "extraction_strategy") -> Any:
    """Validate ``CrawlerRunConfig.extraction_strategy``; build one from a schema.

    Accepts None, a strategy object (anything with ``extract_tree`` or ``arun_page``,
    i.e. c4scrapy's schema and LLM strategies), a schema dict, or a string: a schema's JSON
    text or the path of a schema JSON file (``-s C4_EXTRACTION_STRATEGY=schema.json``).
    """
    from c4scrapy.core.schema import load_schema_strategy

    if value is None or _is_strategy(value):
        return value
    if isinstance(value, str) and value.strip().lower() in ("", "none", "null"):
        return None
    if isinstance(value, (str, Mapping)):
        try:
            return load_schema_strategy(value)
        except ConfigError as exc:
            raise ConfigError(f"{key}: {exc}") from None
    raise ConfigError(
        f"{key}: expected JsonCssExtractionStrategy, JsonXPathExtractionStrategy, "
        f"LLMExtractionStrategy, a schema dict or a schema file, got {type(value).__name__}"
    )


def _is_strategy(value: Any) -> bool:
    return hasattr(value, "extract_tree") or hasattr(value, "arun_page")
