"""Spider ``-a`` arguments -> the spider layer of the config (``spider.c4_config``).

Any CrawlerRunConfig field is accepted by name (``-a css_selector=main``,
``-a exclude_domains=ads.com,tracker.net``), plus these shortcuts:

- ``query``: previews of internal links, scored against the query, and ``score_links``;
- ``link_preview``: LinkPreviewConfig fields as JSON (``'{"include_external": true}'``);
- ``schema``: a JSON CSS/XPath schema (a file path or JSON text; ``-a schema_type=css|xpath``
  when the schema has no ``type`` key and the guess is wrong) -> schema extraction;
- ``llm_provider`` and other ``llm_<name>`` arguments (``llm_instruction``, ``llm_base_url``,
  ``llm_schema=FILE``, ``llm_input_format``, ``llm_api_token=env:NAME``...) -> LLM
  extraction (``c4scrapy.core.llm.strategy.LLMExtractionStrategy.from_args``).
"""

from __future__ import annotations

import json
from typing import Any

from c4scrapy.core.config import ConfigError, CrawlerRunConfig, LinkPreviewConfig


def spider_config(args: dict[str, Any]) -> dict[str, Any]:
    """Validate and convert ``-a`` values; raises ConfigError naming the argument."""
    args = dict(args)
    overrides: dict[str, Any] = {}
    query = args.pop("query", None)
    preview = args.pop("link_preview", None)
    strategy = _extraction_strategy(args)
    if strategy is not None:
        overrides["extraction_strategy"] = strategy
        fit_input = str(getattr(strategy, "input_format", "")).startswith("fit_")
        if fit_input and "markdown_generator" not in args:
            overrides["markdown_generator"] = _filtering_generator(query)
    if query is not None or preview is not None:
        fields: dict[str, Any] = {}
        if preview is not None:
            try:
                fields = json.loads(preview) if isinstance(preview, str) else dict(preview)
            except ValueError as exc:
                raise ConfigError(f"-a link_preview: invalid JSON: {exc}") from None
            if not isinstance(fields, dict):
                raise ConfigError("-a link_preview: expected a JSON object")
        if query:
            fields.setdefault("query", query)
        overrides["link_preview_config"] = LinkPreviewConfig.from_mapping(
            fields, source="-a link_preview"
        )
        overrides["score_links"] = True
    names = set(CrawlerRunConfig.field_names())
    for key, value in args.items():
        if key not in names:
            import difflib

            close = difflib.get_close_matches(key, sorted(names), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"unknown spider argument -a {key}{hint}")
        overrides[key] = value
    CrawlerRunConfig.from_mapping(overrides, source="-a")  # validate now, at start-up
    return overrides


def _extraction_strategy(args: dict[str, Any]) -> Any:
    """``-a schema=...`` or ``-a llm_*=...`` (popped from ``args``) -> a strategy or None."""
    schema = args.pop("schema", None)
    schema_type = args.pop("schema_type", None)
    llm = {key[4:]: args.pop(key) for key in list(args) if key.startswith("llm_")}
    if schema is not None and llm:
        raise ConfigError("-a schema and -a llm_*: choose one extraction strategy")
    if schema is not None:
        from c4scrapy.core.schema import load_schema_strategy

        try:
            return load_schema_strategy(schema, schema_type)
        except ConfigError as exc:
            raise ConfigError(f"-a {exc}") from None
    if schema_type is not None:
        raise ConfigError("-a schema_type: needs -a schema")
    if llm:
        from c4scrapy.core.llm.strategy import LLMExtractionStrategy

        return LLMExtractionStrategy.from_args(llm)
    return None


def _filtering_generator(query: str | None) -> Any:
    """``-a llm_input_format=fit_markdown``: BM25 on the query if there is one, else pruning."""
    from c4scrapy.core.markdown import (
        BM25ContentFilter,
        DefaultMarkdownGenerator,
        PruningContentFilter,
    )

    content_filter = BM25ContentFilter() if query else PruningContentFilter()
    return DefaultMarkdownGenerator(content_filter=content_filter)
