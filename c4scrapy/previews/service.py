"""The per-crawl preview service: each URL's head once per crawl (an LRU cache, fetches in
flight shared), each page's previews run once, followed link by link as they finish."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from scrapy import signals

from c4scrapy import _meta
from c4scrapy._runtime import C4Runtime
from c4scrapy.core.head import head_end
from c4scrapy.core.previews import (
    SKIPPED,
    SUMMARY_KEY,
    TIMEOUT,
    VALID,
    HeadResult,
    score_links,
    select_links,
    set_result,
)
from c4scrapy.core.urls import host_of, normalize_url
from c4scrapy.guard import AddressGuard
from c4scrapy.previews.fetch import HeadFetcher

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

    from c4scrapy.core.config import CrawlerRunConfig
    from c4scrapy.core.items import PageItem
    from c4scrapy.core.scoring.total import ScoreWeights

logger = logging.getLogger(__name__)


class _PageRun:
    """One page's previews in progress: its links become final (fetched and scored) one
    by one, in ``done``; ``changed`` wakes whoever follows them."""

    def __init__(self) -> None:
        self.done: list[dict[str, Any]] = []
        self.changed = asyncio.Event()
        self.task: asyncio.Future[None] | None = None

    def finish(self, links: Sequence[dict[str, Any]]) -> None:
        self.done.extend(links)
        self.changed.set()


class LinkPreviews:
    """The crawl's preview service (``LinkPreviews.of(crawler)``), with stats under
    ``c4/previews/``."""

    def __init__(self, runtime: C4Runtime) -> None:
        crawler = runtime.crawler
        self.crawler = crawler
        self.runtime = runtime
        self.cache_size = runtime.settings.preview_cache_size
        self.cache_bytes = runtime.settings.preview_cache_mib * 1024 * 1024
        self.page_timeout = runtime.settings.preview_page_timeout
        self.weights: ScoreWeights = runtime.settings.score_weights
        self.guard = runtime.service(AddressGuard)
        self.fetcher = HeadFetcher(runtime, self._inc)
        self._results: OrderedDict[str, HeadResult] = OrderedDict()
        self._sizes: dict[str, int] = {}  # each cached result's memory
        self._cached_bytes = 0
        self._inflight: dict[str, asyncio.Future[HeadResult]] = {}
        self._waiters: Counter[str] = Counter()
        self._pages: dict[int, _PageRun] = {}
        self._warned: set[str] = set()
        self._recording = self.runtime.config.link_preview_config is not None
        crawler.signals.connect(self._response_received, signal=signals.response_received)

    @classmethod
    def of(cls, crawler: Crawler) -> LinkPreviews:
        """The crawl's preview service."""
        return C4Runtime.of(crawler).service(cls)

    # -- pages ---------------------------------------------------------------------------

    async def preview_page(self, page: PageItem, config: CrawlerRunConfig | None = None) -> None:
        """Preview and score the links of ``page`` once (later calls wait for the first).

        ``config`` defaults to the page's own (``page.source.config``).
        """
        run = self._start(page, config)
        if run is not None and run.task is not None:
            await asyncio.shield(run.task)

    async def previewed_links(
        self, page: PageItem, config: CrawlerRunConfig | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Every link of ``page``, each as soon as its preview is final and it is scored
        (links that need no fetch first), so that a slow link does not hold up the rest."""
        run = self._start(page, config)
        given: set[int] = set()
        if run is not None:
            seen = 0
            while True:
                if seen < len(run.done):
                    link = run.done[seen]
                    seen += 1
                    if id(link) not in given:
                        given.add(id(link))
                        yield link
                    continue
                if run.task is None or run.task.done():
                    break
                run.changed.clear()
                await run.changed.wait()
        for link in page.all_links():  # done before, nothing to preview, or it failed
            if id(link) not in given:
                yield link

    def _start(self, page: PageItem, config: CrawlerRunConfig | None) -> _PageRun | None:
        if SUMMARY_KEY in page.c4:
            return None
        run = self._pages.get(id(page))
        if run is None:
            if config is None:
                if page.source is None:
                    return None
                config = page.source.config
            if config.link_preview_config is None or not page.success:
                return None
            run = self._pages[id(page)] = _PageRun()
            run.task = asyncio.ensure_future(self._preview_page(page, config, run))

            def finished(_: Any) -> None:
                self._pages.pop(id(page), None)
                run.changed.set()

            run.task.add_done_callback(finished)
        return run

    async def _preview_page(self, page: PageItem, config: CrawlerRunConfig, run: _PageRun) -> None:
        preview = config.link_preview_config
        assert preview is not None
        self._recording = True
        started = time.perf_counter()
        query, threshold = preview.query, preview.score_threshold
        if threshold is not None and not query:
            self._warn_once(
                "threshold",
                "score_threshold applies to the contextual score, which needs a query: ignored",
            )

        def finish(links: Sequence[dict[str, Any]]) -> None:
            score_links(links, query, threshold, self.weights)
            run.finish(links)

        selected, skipped = select_links(page.links, preview)
        for link, reason in skipped:
            set_result(link, HeadResult(SKIPPED, error=reason))
        finish([link for link, _ in skipped])
        guard = await self.guard.guards(page.redirected_url or page.url)
        semaphore = asyncio.Semaphore(preview.concurrency)

        async def one(link: dict[str, Any]) -> None:
            if guard and not await self.guard.is_public(host_of(link["href"])):
                result = HeadResult(SKIPPED, error="private_address")
            else:
                result = await self._head(link["href"], preview.timeout, semaphore)
            set_result(link, result)
            finish([link])

        tasks = [asyncio.ensure_future(one(link)) for link in selected]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.page_timeout)
            if pending:
                late = [link for link, t in zip(selected, tasks, strict=True) if t in pending]
                self._out_of_time(page, late)
                finish(late)
                for task in pending:
                    task.cancel()  # a fetch another page waits for goes on

        statuses = Counter(link["head_extraction_status"] for link in selected)
        reasons = Counter(reason for _, reason in skipped)
        reasons.update(
            link["head_extraction_error"]
            for link in selected
            if link["head_extraction_status"] == SKIPPED
        )
        self._inc({"pages": 1, **{f"skipped/{r}": n for r, n in reasons.items()}})
        seconds = round(time.perf_counter() - started, 6)
        page.c4[SUMMARY_KEY] = {
            "selected": len(selected),
            "status": dict(statuses),
            "seconds": seconds,
        }
        logger.log(
            logging.INFO if preview.verbose else logging.DEBUG,
            "Previewed %d of %d links of %s in %.2f s: %s",
            len(selected),
            len(selected) + len(skipped),
            page.url,
            seconds,
            dict(statuses),
            extra={"spider": self.crawler.spider},
        )

    def _out_of_time(self, page: PageItem, late: Sequence[dict[str, Any]]) -> None:
        """Give up on the links still waiting when the page's deadline passes."""
        error = f"the page's previews took over C4_PREVIEW_PAGE_TIMEOUT ({self.page_timeout:g} s)"
        for link in late:
            set_result(link, HeadResult(TIMEOUT, error=error))
        self._inc({"page_timeout/pages": 1, "page_timeout/links": len(late)})
        self._warn_once(
            "page_timeout",
            f"{len(late)} previews of {page.url} were still waiting after "
            f"C4_PREVIEW_PAGE_TIMEOUT ({self.page_timeout:g} s): marked {TIMEOUT}; further "
            "pages are counted in c4/previews/page_timeout/pages",
        )

    # -- one head, once per crawl ---------------------------------------------------------

    async def _head(self, url: str, timeout: float, semaphore: asyncio.Semaphore) -> HeadResult:
        self._inc({"requested": 1})
        result = self._cached(url)
        if result is not None:
            return result
        inflight = self._inflight.get(url)
        if inflight is None:
            async with semaphore:  # this page's share of the downloads: concurrency
                result = self._cached(url)
                if result is not None:
                    return result
                inflight = self._inflight.get(url)
                if inflight is None:
                    inflight = self._inflight[url] = asyncio.ensure_future(
                        self._fetch(url, timeout)
                    )
                    inflight.add_done_callback(lambda _: self._inflight.pop(url, None))
                    self._inc({"fetched": 1})
                    return await self._wait(url, inflight)
        self._inc({"shared_inflight": 1})
        return await self._wait(url, inflight)

    async def _wait(self, url: str, inflight: asyncio.Future[HeadResult]) -> HeadResult:
        """Wait for a fetch; when the last page waiting for it gives up (its deadline),
        cancel the download."""
        self._waiters[url] += 1
        try:
            return await asyncio.shield(inflight)
        finally:
            self._waiters[url] -= 1
            if not self._waiters[url]:
                del self._waiters[url]
                if not inflight.done():
                    inflight.cancel()
                    self._inc({"cancelled": 1})

    def _cached(self, url: str) -> HeadResult | None:
        result = self._results.get(url)
        if result is not None:
            self._results.move_to_end(url)
            self._inc({"from_cache": 1})
        return result

    def _store(self, url: str, result: HeadResult) -> None:
        """Cache ``result``, the least recently used ones leaving while the cache holds
        more than ``C4_PREVIEW_CACHE_SIZE`` results or ``C4_PREVIEW_CACHE_MIB`` of them."""
        size = result.memory()
        self._cached_bytes += size - self._sizes.get(url, 0)
        self._sizes[url] = size
        self._results[url] = result
        self._results.move_to_end(url)
        while len(self._results) > self.cache_size or (
            self._cached_bytes > self.cache_bytes and len(self._results) > 1
        ):
            gone, _ = self._results.popitem(last=False)
            self._cached_bytes -= self._sizes.pop(gone)
            self._inc({"evicted": 1})

    async def _fetch(self, url: str, timeout: float) -> HeadResult:
        result = await self.fetcher.fetch(url, timeout)
        self._store(url, result)
        final = (result.head_data or {}).get("redirected_url")
        final_key = normalize_url(final, final) if final else None
        if final_key and final_key not in self._results:
            head = dict(result.head_data or {}, redirected_url=None)
            self._store(final_key, HeadResult(result.status, head, result.error))
        counts = {f"head_status/{result.status}": 1, "bytes": result.bytes_read}
        if result.status not in (VALID, SKIPPED):
            counts["failed"] = 1
            self._warn_once(
                "failed",
                f"Link preview of {url} failed: {result.status} ({result.error}); further "
                "failures are counted in c4/previews/failed and logged at DEBUG",
            )
        self._inc(counts)
        logger.debug(
            "Head preview of %s: %s%s (%d bytes read)",
            url,
            result.status,
            f" ({result.error})" if result.error else "",
            result.bytes_read,
            extra={"spider": self.crawler.spider},
        )
        return result

    def _response_received(self, response: Response, request: Request) -> None:
        """A page the crawl downloaded provides its own head: no preview request needed."""
        if (
            not self._recording
            or _meta.HEAD in request.meta
            or _meta.FAILURE_FLAG in response.flags
            or not self.runtime.applies_to(request)
        ):
            return
        final = normalize_url(response.url, response.url)
        if final is None or 300 <= response.status < 400:
            return
        end = head_end(response.body) if response.status < 300 else None
        if end is not None:
            self.fetcher.learn_head_size(host_of(final), end)
        requested = normalize_url(_meta.requested_url(request), response.url)
        for url in dict.fromkeys((final, requested)):
            if url is not None and url not in self._results:
                self._store(url, self.fetcher.result(response, url))
        self._inc({"own_heads": 1})

    # -- helpers -------------------------------------------------------------------------

    def _inc(self, counts: Mapping[str, int]) -> None:
        self.runtime.inc(dict(counts), prefix="c4/previews/")

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            logger.warning(message, extra={"spider": self.crawler.spider})
