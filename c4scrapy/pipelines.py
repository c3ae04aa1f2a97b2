"""Item pipelines: link previews and scores, schema extraction, LLM extraction.

See docs/features/previews.rst and docs/features/extraction.rst."""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from c4scrapy._runtime import C4Runtime
from c4scrapy.core.items import PageItem
from c4scrapy.core.previews import apply_scores
from c4scrapy.core.selectors import select
from c4scrapy.previews.service import LinkPreviews

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from typing_extensions import Self

    from c4scrapy.core.llm.strategy import LLMExtractionStrategy, LLMPageResult
    from c4scrapy.core.schema import JsonElementExtractionStrategy

logger = logging.getLogger(__name__)

#: Pages in a row on which a schema's baseSelector matched nothing before a WARNING.
EMPTY_PAGES_WARNING = 5


def _strategy(item: Any, attribute: str) -> Any:
    if not isinstance(item, PageItem) or item.source is None or not item.success:
        return None
    strategy = item.source.config.extraction_strategy
    return strategy if hasattr(strategy, attribute) else None


class LinkPreviewPipeline:
    """Previews and scores the links of every PageItem whose config has a
    ``link_preview_config``; with only ``score_links``, fills each link's ``total_score``
    from its intrinsic score. A failure is logged and recorded in
    ``item.c4["previews_error"]``; the item always continues."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.previews = C4Runtime.enabled_for(crawler).service(LinkPreviews)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, PageItem) or item.source is None or not item.success:
            return item
        config = item.source.config
        try:
            if config.link_preview_config is not None:
                await self.previews.preview_page(item, config)
            elif config.score_links:
                apply_scores(item, None, weights=self.previews.weights)
        except Exception as exc:
            logger.exception(
                "Link previews of %s failed",
                item.url,
                extra={"spider": self.crawler.spider},
            )
            item.c4["previews_error"] = f"{type(exc).__name__}: {exc}"
        return item


class SchemaExtractionPipeline:
    """Schema (JSON CSS / XPath) extraction for every page whose config has one.

    Stats: ``c4/schema/<name>/pages``, ``.../items``, ``.../empty_pages`` (baseSelector
    matched nothing), ``.../empty_fields``, ``c4/schema/seconds``.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.runtime = C4Runtime.of(crawler)
        self._empty_in_a_row: Counter[str] = Counter()
        self._warned: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        strategy: JsonElementExtractionStrategy | None = _strategy(item, "extract_tree")
        if strategy is None or item.source.doc is None:
            return item
        started = time.perf_counter()
        source = item.source
        doc = source.doc
        scopes = select(doc, source.config.css_selector) if source.config.css_selector else None
        counts: Counter[str] = Counter()
        records = strategy.extract_tree(doc, scopes, counts)
        item.extracted_content = json.dumps(records, ensure_ascii=False)
        seconds = time.perf_counter() - started
        item.c4["schema"] = {
            "name": strategy.name,
            "matched": counts["matched"],
            "items": len(records),
            "seconds": round(seconds, 6),
        }
        self._account(strategy.name, counts, len(records), seconds, source.url)
        return item

    def _account(
        self, name: str, counts: Counter[str], records: int, seconds: float, url: str
    ) -> None:
        key = name.replace("/", "_")
        self.runtime.inc(
            {
                f"schema/{key}/pages": 1,
                f"schema/{key}/items": records,
                f"schema/{key}/empty_fields": counts["empty_fields"],
                f"schema/{key}/empty_pages": int(counts["matched"] == 0),
                "schema/seconds": seconds,
            }
        )
        spider = self.crawler.spider
        logger.debug(
            "schema %r on %s: baseSelector matched %d, %d records, %d empty fields",
            name,
            url,
            counts["matched"],
            records,
            counts["empty_fields"],
            extra={"spider": spider},
        )
        if counts["matched"]:
            self._empty_in_a_row[name] = 0
            return
        self._empty_in_a_row[name] += 1
        if self._empty_in_a_row[name] >= EMPTY_PAGES_WARNING and name not in self._warned:
            self._warned.add(name)
            logger.warning(
                "schema %r: baseSelector matched nothing on %d pages in a row (last: %s); "
                "check the selector and css_selector (logged once)",
                name,
                self._empty_in_a_row[name],
                url,
                extra={"spider": spider},
            )


class LLMExtractionPipeline:
    """LLM extraction for every page whose config has an ``LLMExtractionStrategy``.

    litellm is imported in a worker thread when the spider opens (if the crawl's config
    has an LLM strategy) or on first use, never at module import and never on the
    reactor thread. ``C4_LLM_CONCURRENCY`` calls at most are in flight across the crawl.

    ``item.c4["llm"]``: ``chunks``, ``failed_chunks``, ``complete``, ``items``, ``errors``
    (``[{chunk, reason, message}]``), ``usage`` (``{prompt, completion, total}``),
    ``requests``, ``retries``, ``retry_delays`` (seconds waited before each retry),
    ``seconds``, ``input_format`` (and ``input_note`` when the requested format was not
    available). ``extracted_content`` is the merged JSON list, or None when every chunk
    failed.

    API keys (every LLMConfig token, and environment variables named like keys) are masked
    in the item, in the messages, and in every log record while the crawl runs (a filter on
    the root logger's handlers).

    Stats: ``c4/llm/pages``, ``c4/llm/pages/partial``, ``c4/llm/pages/failed``,
    ``c4/llm/chunks``, ``c4/llm/requests``, ``c4/llm/retries``, ``c4/llm/retry_after``,
    ``c4/llm/retry_seconds``, ``c4/llm/items``, ``c4/llm/tokens/{prompt,completion,total}``,
    ``c4/llm/errors/<reason>``, ``c4/llm/cost_usd`` (when litellm knows the model's price),
    ``c4/llm/max_concurrent``.
    """

    def __init__(self, crawler: Crawler) -> None:
        from c4scrapy.core.llm.client import LLMClient
        from c4scrapy.core.llm.secrets import RedactingFilter, Redactor

        self.crawler = crawler
        self.runtime = C4Runtime.of(crawler)
        settings = self.runtime.settings
        self.redact = Redactor()
        self.client = LLMClient(
            concurrency=settings.llm_concurrency,
            timeout=settings.llm_timeout,
            max_retries=settings.llm_max_retries,
            base_delay=settings.llm_backoff_base_delay,
            max_delay=settings.llm_backoff_max_delay,
            retry_after_max=settings.llm_retry_after_max,
            redact=self.redact,
        )
        self._learn_token(self.runtime.config.extraction_strategy)
        self._log_filter = RedactingFilter(self.redact)
        self._filtered = list(logging.getLogger().handlers)
        for handler in self._filtered:
            handler.addFilter(self._log_filter)
        self._logged: set[str] = set()
        self._used = False

    def _learn_token(self, strategy: Any) -> None:
        config = getattr(strategy, "llm_config", None)
        if config is not None:
            self.redact.add(config.resolved_token())

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def open_spider(self) -> None:
        strategy = self.runtime.config.extraction_strategy
        if not hasattr(strategy, "arun_page"):
            return
        litellm = await self.client.litellm()
        config = strategy.llm_config
        logger.info(
            "c4scrapy LLM extraction: %s (litellm %s), input %s, concurrency %d",
            config.provider,
            getattr(litellm, "__version__", None) or _version("litellm"),
            strategy.input_format,
            self.client.concurrency,
            extra={"spider": self.crawler.spider},
        )
        if config.api_token is None and not config.base_url:
            try:
                missing = litellm.validate_environment(config.provider).get("missing_keys")
            except Exception:  # noqa: BLE001 (a provider litellm cannot check: no warning)
                missing = None
            if missing:
                logger.warning(
                    "c4scrapy LLM extraction: no API token for %s (litellm expects %s); pass "
                    "-a llm_api_token=env:NAME or LLMConfig(api_token='env:NAME')",
                    config.provider,
                    ", ".join(missing),
                    extra={"spider": self.crawler.spider},
                )

    async def process_item(self, item: Any) -> Any:
        strategy: LLMExtractionStrategy | None = _strategy(item, "arun_page")
        if strategy is None:
            return item
        self._used = True
        self._learn_token(strategy)
        text, used_format, note = _llm_input(item, strategy.input_format)
        try:
            result = await strategy.arun_page(item.source.url, text, client=self.client)
        except Exception as exc:  # a bug or a broken install never drops the page
            logger.exception("LLM extraction of %s failed", item.source.url)
            error = self.redact(f"{type(exc).__name__}: {exc}")[:500]
            item.c4["llm"] = {"error": error, "complete": False}
            self.runtime.inc({"llm/pages/failed": 1, "llm/errors/internal_error": 1})
            return item
        if result.chunks and result.failed_chunks == result.chunks:
            item.extracted_content = None  # nothing came back: no data, not an empty list
        else:
            item.extracted_content = json.dumps(result.items, ensure_ascii=False)
        report = result.as_dict()
        report["input_format"] = used_format
        if note:
            report["input_note"] = note
            self._log_once("input:" + note, logging.WARNING, "LLM input: %s", note)
        item.c4["llm"] = report
        self._account(result, item.source.url)
        return item

    def _account(self, result: LLMPageResult, url: str) -> None:
        counts: dict[str, Any] = {
            "llm/pages": 1,
            "llm/chunks": result.chunks,
            "llm/requests": result.requests,
            "llm/retries": result.retries,
            "llm/retry_after": result.retry_after,
            "llm/retry_seconds": sum(result.retry_delays),
            "llm/items": len(result.items),
            "llm/tokens/prompt": result.usage.prompt_tokens,
            "llm/tokens/completion": result.usage.completion_tokens,
            "llm/tokens/total": result.usage.total_tokens,
        }
        if result.cost_usd:
            counts["llm/cost_usd"] = result.cost_usd
        if result.failed_chunks:
            counts[
                "llm/pages/failed"
                if result.failed_chunks == result.chunks
                else "llm/pages/partial"
            ] = 1
        errors = Counter(f"llm/errors/{error['reason']}" for error in result.errors)
        counts.update(errors)
        self.runtime.inc(counts)
        stats = self.crawler.stats
        if stats is not None:
            stats.max_value("c4/llm/max_concurrent", self.client.max_in_flight)
        for error in result.errors:
            self._log_once(
                "error:" + error["reason"],
                logging.WARNING,
                "LLM extraction failed for a chunk of %s (%s): %s (further %s errors are "
                "counted in stats, not logged)",
                url,
                error["reason"],
                error["message"],
                error["reason"],
            )

    def _log_once(self, key: str, level: int, message: str, *args: Any) -> None:
        if key in self._logged:
            logger.debug(message, *args, extra={"spider": self.crawler.spider})
            return
        self._logged.add(key)
        logger.log(level, message, *args, extra={"spider": self.crawler.spider})

    def close_spider(self) -> None:
        try:
            self._log_totals()
        finally:
            for handler in self._filtered:
                handler.removeFilter(self._log_filter)

    def _log_totals(self) -> None:
        if not self._used or self.crawler.stats is None:
            return
        get = self.crawler.stats.get_value
        logger.info(
            "c4scrapy LLM extraction: %d pages, %d requests, tokens: %d prompt, %d completion,"
            " %d total",
            get("c4/llm/pages", 0),
            get("c4/llm/requests", 0),
            get("c4/llm/tokens/prompt", 0),
            get("c4/llm/tokens/completion", 0),
            get("c4/llm/tokens/total", 0),
            extra={"spider": self.crawler.spider},
        )


def _llm_input(item: PageItem, input_format: str) -> tuple[str, str, str | None]:
    """(text, format used, note) for the strategy's input_format."""
    if input_format == "fit_markdown":
        if item.fit_markdown is not None:
            return item.fit_markdown, "fit_markdown", None
        note = (
            "fit_markdown needs a content filter on the markdown generator "
            "(DefaultMarkdownGenerator(content_filter=PruningContentFilter())); "
            "the markdown was used"
        )
        return item.markdown or "", "markdown", note
    if input_format == "fit_html":
        if item.fit_html is not None:
            return item.fit_html, "fit_html", None
        return item.cleaned_html or "", "cleaned_html", "fit_html needs a content filter"
    if input_format in ("html", "cleaned_html"):
        return item.cleaned_html or "", input_format, None
    return item.markdown or "", "markdown", None


def _version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None
