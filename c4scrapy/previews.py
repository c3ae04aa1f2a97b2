"""Link previews: the ``<head>`` of each linked page, fetched once per crawl, and link scores.

``CrawlerRunConfig(link_preview_config=LinkPreviewConfig(...), score_links=True)`` (or
``C4_LINK_PREVIEW_CONFIG`` / ``C4_SCORE_LINKS``, ``-a query=...``, ``request.meta["c4"]``)
turns it on. For each page, ``LinkPreviewPipeline`` (order 100) calls
``LinkPreviews.of(crawler).preview_page(page)``, and the ``site`` spider's query-guided
``parse`` follows ``previewed_links(page)`` (the same work, shared, link by link as it
completes), which:

1. selects links as Crawl4AI does: internal links then external ones (per
   ``include_internal`` / ``include_external``), those matching any ``include_patterns``
   and none of the ``exclude_patterns`` (``fnmatch`` on the whole URL, case-sensitive),
   at most ``max_links`` of them in page order (with a query, those whose text mentions
   it first);
2. skips links that resolve to loopback, private or link-local addresses when the page
   itself is public (``C4_PREVIEW_ALLOW_PRIVATE`` lifts this);
3. gets each selected link's head once per crawl: from the preview cache (an LRU of
   ``C4_PREVIEW_CACHE_SIZE`` results, filled by earlier previews and by the pages the
   crawl itself downloads), by joining a fetch already in flight, or by a new fetch;
4. fills ``head_data``, ``head_extraction_status`` and ``head_extraction_error``, the
   ``contextual_score`` against the query (``c4scrapy.core.scoring.bm25``), and the
   ``total_score`` of every link (``c4scrapy.core.scoring.total``).

A fetch is a GET through ``engine.download_async`` (so robots.txt, per-domain
concurrency, ``DOWNLOAD_DELAY``, AutoThrottle, retries, proxies and a read-only use of
the HTTP cache apply, and nothing enters the scheduler), flagged ``c4_head`` in the log.
It stops as soon as ``</head>`` (or ``<body``) has arrived, after ``C4_PREVIEW_MAX_BYTES``,
or at the response headers when the Content-Type is not HTML. It asks for the first
``C4_PREVIEW_RANGE_BYTES`` only (``Range``); a server that honours byte ranges then sends
no more than that, and the rest of the head, when it is longer, comes in further ranges,
each doubling the total (joined only under an ``If-Range`` validator). A host's first
range grows to its largest head seen so far, in previews or in pages the crawl
downloaded. Redirects are followed here, hop by hop, so that a public page cannot be
redirected to a private address.

``head_extraction_status`` is one of ``valid``, ``below_threshold`` (valid, but the
contextual score is under ``score_threshold``), ``http_error`` (status >= 400 or an
unfollowed redirect), ``not_html``, ``timeout``, ``failed`` (network or other error) and
``skipped`` (not fetched; the reason is in ``head_extraction_error``: ``not_included``,
``include_patterns``, ``exclude_patterns``, ``max_links``, ``private_address``,
``robots_txt`` or ``ignored``). Nothing here ever drops a page.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import time
import weakref
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from scrapy import Request, signals
from scrapy.exceptions import DownloadTimeoutError, IgnoreRequest, StopDownload
from scrapy.http import Response
from scrapy.http.request import NO_CALLBACK
from twisted.internet.error import TimeoutError as TwistedTimeoutError

from c4scrapy import _meta
from c4scrapy._runtime import C4Runtime
from c4scrapy.core.config import CrawlerRunConfig
from c4scrapy.core.head import HEAD_END_RE, head_end, parse_head
from c4scrapy.core.items import PageItem
from c4scrapy.core.scoring.bm25 import contextual_scores, head_document
from c4scrapy.core.scoring.total import ScoreWeights, total_score
from c4scrapy.core.urls import host_of, is_ip_address, is_private_host, normalize_url

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http.headers import Headers
    from typing_extensions import Self

    from c4scrapy.core.config import LinkPreviewConfig

logger = logging.getLogger(__name__)

#: ``page.c4`` key holding a page's preview summary; its presence means "done".
SUMMARY_KEY = "previews"

VALID = "valid"
BELOW_THRESHOLD = "below_threshold"
HTTP_ERROR = "http_error"
NOT_HTML = "not_html"
TIMEOUT = "timeout"
FAILED = "failed"
SKIPPED = "skipped"

_TIMEOUTS = (DownloadTimeoutError, TwistedTimeoutError, asyncio.TimeoutError)
_HTML_TYPES = (b"text/html", b"application/xhtml+xml")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_HOSTS_CACHE_SIZE = 4096
_CONTENT_RANGE = re.compile(rb"bytes\s+(\d+)-\d+/(\d+|\*)", re.IGNORECASE)

Resolver = Callable[[str], Awaitable[list[str]]]


class HeadResult:
    """The outcome of getting one URL's head; shared by every link to that URL."""

    __slots__ = ("bytes_read", "error", "head_data", "status")

    def __init__(
        self,
        status: str,
        head_data: dict[str, Any] | None = None,
        error: str | None = None,
        bytes_read: int = 0,
    ) -> None:
        self.status = status
        self.head_data = head_data
        self.error = error
        self.bytes_read = bytes_read

    def __repr__(self) -> str:
        return f"HeadResult({self.status!r}, error={self.error!r})"


# --- the pure part: which links, what to write on them ---------------------------------


def select_links(
    links: Mapping[str, list[dict[str, Any]]], config: LinkPreviewConfig
) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], str]]]:
    """``(selected, [(link, reason), ...])``: which links get a preview, and why not.

    Candidates are the internal links, then the external ones, that pass the include
    flags and patterns. When there are more than ``max_links`` and a query is set, those
    whose text or title mention query terms go first (page order otherwise), so the
    previews are spent where the query points; without a query it is page order, as in
    Crawl4AI.
    """
    candidates: list[dict[str, Any]] = []
    skipped: list[tuple[dict[str, Any], str]] = []
    for kind, included in (
        ("internal", config.include_internal),
        ("external", config.include_external),
    ):
        for link in links.get(kind, ()):
            href = link["href"]
            if not included:
                skipped.append((link, "not_included"))
            elif config.include_patterns and not any(
                fnmatchcase(href, p) for p in config.include_patterns
            ):
                skipped.append((link, "include_patterns"))
            elif config.exclude_patterns and any(
                fnmatchcase(href, p) for p in config.exclude_patterns
            ):
                skipped.append((link, "exclude_patterns"))
            else:
                candidates.append(link)
    if len(candidates) <= config.max_links:
        return candidates, skipped
    order = list(range(len(candidates)))
    if config.query:
        texts = [f"{link.get('text') or ''} {link.get('title') or ''}" for link in candidates]
        mentions = contextual_scores(config.query, texts)
        order.sort(key=lambda i: -mentions[i])
    chosen = set(order[: config.max_links])
    selected = [link for i, link in enumerate(candidates) if i in chosen]
    skipped.extend((link, "max_links") for i, link in enumerate(candidates) if i not in chosen)
    return selected, skipped


def apply_scores(
    page: PageItem,
    query: str | None,
    score_threshold: float | None = None,
    weights: ScoreWeights | None = None,
) -> None:
    """Contextual scores of the valid previews, the threshold flag, and every link's total."""
    score_links(page.all_links(), query, score_threshold, weights)


def score_links(
    links: Sequence[dict[str, Any]],
    query: str | None,
    score_threshold: float | None = None,
    weights: ScoreWeights | None = None,
) -> None:
    """``apply_scores`` for some links: each link's scores depend on that link alone."""
    weights = weights or ScoreWeights()
    if query:
        valid = [link for link in links if link.get("head_extraction_status") == VALID]
        scores = contextual_scores(query, [head_document(link["head_data"]) for link in valid])
        for link, score in zip(valid, scores, strict=True):
            link["contextual_score"] = score
            if score_threshold is not None and score < score_threshold:
                link["head_extraction_status"] = BELOW_THRESHOLD
    for link in links:
        if "total_score" in link:
            link["total_score"] = total_score(
                link.get("intrinsic_score"), link.get("contextual_score"), weights
            )


def link_priorities(
    links: Sequence[Mapping[str, Any]], query: str | None, weights: ScoreWeights | None = None
) -> list[int]:
    """Scrapy request priorities for ``links``: 100 x the total score, best first.

    A link without a preview (not selected, or its fetch failed) has no contextual
    score, and its ``total_score`` falls back to the bare intrinsic score, which is on
    another scale than ``0.7 * intrinsic + 3 * contextual``. For the priority, its
    contextual part is estimated from its own text and title instead, so that previewed
    and other links compare fairly. Links below ``score_threshold`` come last.
    """
    weights = weights or ScoreWeights()
    missing = [i for i, link in enumerate(links) if link.get("contextual_score") is None]
    estimates = dict.fromkeys(missing, 0.0)
    if query and missing:
        texts = [f"{links[i].get('text') or ''} {links[i].get('title') or ''}" for i in missing]
        estimates.update(zip(missing, contextual_scores(query, texts), strict=True))
    priorities = []
    for i, link in enumerate(links):
        contextual = link.get("contextual_score")
        if contextual is None and query:
            contextual = estimates[i]
        total = total_score(link.get("intrinsic_score"), contextual, weights)
        priority = round(total * 100) if total is not None else 0
        if link.get("head_extraction_status") == BELOW_THRESHOLD:
            priority -= 1000
        priorities.append(priority)
    return priorities


def _set_result(link: dict[str, Any], result: HeadResult) -> None:
    link["head_data"] = _copy_head(result.head_data)
    link["head_extraction_status"] = result.status
    link["head_extraction_error"] = result.error


def _copy_head(head: dict[str, Any] | None) -> dict[str, Any] | None:
    """A copy per link, so that changing one item never changes another."""
    if head is None:
        return None
    copy = dict(head)
    copy["meta"] = dict(head["meta"])
    copy["link"] = {rel: [dict(e) for e in entries] for rel, entries in head["link"].items()}
    if head["jsonld"]:
        import copy as copy_module

        copy["jsonld"] = copy_module.deepcopy(head["jsonld"])
    else:
        copy["jsonld"] = []
    return copy


# --- the service ------------------------------------------------------------------------


class _Scan:
    __slots__ = ("received", "tail")

    def __init__(self) -> None:
        self.received = 0
        self.tail = b""


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
    """The per-crawler preview service (``LinkPreviews.of(crawler)``): cache, in-flight
    fetches, the download signals that stop a fetch after the head, and stats under
    ``c4/previews/``."""

    def __init__(self, runtime: C4Runtime, *, resolver: Resolver | None = None) -> None:
        crawler = runtime.crawler
        settings = crawler.settings
        self.crawler = crawler
        self.runtime = runtime
        self.cache_size = runtime.settings.preview_cache_size
        self.max_bytes = runtime.settings.preview_max_bytes
        self.range_bytes = runtime.settings.preview_range_bytes
        self.allow_private = runtime.settings.preview_allow_private
        self.weights: ScoreWeights = runtime.settings.score_weights
        self.max_redirects = (
            settings.getint("REDIRECT_MAX_TIMES") if settings.getbool("REDIRECT_ENABLED") else 0
        )
        self.dns_timeout = settings.getfloat("DNS_TIMEOUT", 60.0)
        self.resolve: Resolver = resolver or resolve_host
        self._results: OrderedDict[str, HeadResult] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[HeadResult]] = {}
        self._pages: dict[int, _PageRun] = {}
        self._scans: weakref.WeakKeyDictionary[Request, _Scan] = weakref.WeakKeyDictionary()
        self._bytes: dict[str, int] = {}
        self._private: OrderedDict[str, bool] = OrderedDict()
        self._windows: OrderedDict[str, int] = OrderedDict()
        self._warned: set[str] = set()
        self._recording = self.runtime.config.link_preview_config is not None
        crawler.signals.connect(self._headers_received, signal=signals.headers_received)
        crawler.signals.connect(self._bytes_received, signal=signals.bytes_received)
        crawler.signals.connect(
            self._reached_downloader, signal=signals.request_reached_downloader
        )
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
            _set_result(link, HeadResult(SKIPPED, error=reason))
        finish([link for link, _ in skipped])
        guard = await self.guards(page.redirected_url or page.url)
        semaphore = asyncio.Semaphore(preview.concurrency)

        async def one(link: dict[str, Any]) -> None:
            if guard and await self.is_private(host_of(link["href"])):
                result = HeadResult(SKIPPED, error="private_address")
            else:
                result = await self._head(link["href"], preview.timeout, semaphore)
            _set_result(link, result)
            finish([link])

        await asyncio.gather(*(one(link) for link in selected))

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
                    return await asyncio.shield(inflight)
        self._inc({"shared_inflight": 1})
        return await asyncio.shield(inflight)

    def _cached(self, url: str) -> HeadResult | None:
        result = self._results.get(url)
        if result is not None:
            self._results.move_to_end(url)
            self._inc({"from_cache": 1})
        return result

    def _store(self, url: str, result: HeadResult) -> None:
        self._results[url] = result
        self._results.move_to_end(url)
        while len(self._results) > self.cache_size:
            self._results.popitem(last=False)
            self._inc({"evicted": 1})

    async def _fetch(self, url: str, timeout: float) -> HeadResult:
        key = url
        self._bytes[key] = 0
        try:
            result = await self._follow(url, timeout, key)
        except Exception as exc:  # a preview never breaks the page
            logger.debug("Preview of %s failed", url, exc_info=True)
            result = HeadResult(FAILED, error=f"{type(exc).__name__}: {exc}")
        result.bytes_read = self._bytes.pop(key, 0)
        self._store(key, result)
        final = (result.head_data or {}).get("redirected_url")
        final_key = normalize_url(final, final) if final else None
        if final_key and final_key not in self._results:
            head = dict(result.head_data or {}, redirected_url=None)
            self._store(final_key, HeadResult(result.status, head, result.error))
        counts = {f"head_status/{result.status}": 1, "bytes": result.bytes_read}
        if result.status not in (VALID, SKIPPED):
            counts["failed"] = 1
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

    async def _follow(self, url: str, timeout: float, key: str) -> HeadResult:
        for _ in range(self.max_redirects + 1):
            try:
                response = await self._get(url, timeout, key)
            except IgnoreRequest as exc:
                message = str(exc) or type(exc).__name__
                if "robots.txt" in message:
                    return HeadResult(SKIPPED, error="robots_txt")
                return HeadResult(SKIPPED, error=f"ignored: {message}")
            except _TIMEOUTS:
                return HeadResult(TIMEOUT, error=f"no complete head within {timeout:g} s")
            location = response.headers.get(b"Location")
            if response.status not in _REDIRECTS or not location or not self.max_redirects:
                return self._result(response, key)
            target = normalize_url(location.decode("latin-1"), response.url)
            if target is None:
                return HeadResult(HTTP_ERROR, error=f"HTTP {response.status} to a non-web URL")
            if await self.guards(url) and await self.is_private(host_of(target)):
                return HeadResult(SKIPPED, error="private_address")
            url = target
        return HeadResult(HTTP_ERROR, error=f"more than {self.max_redirects} redirects")

    async def _get(self, url: str, timeout: float, key: str) -> Response:
        """The start of ``url``, up to its head: in byte ranges when the server honours
        them (the first one as large as this host's heads needed so far), else one GET
        that the download signals stop after the head."""
        engine = self.crawler.engine
        assert engine is not None
        host = host_of(url)
        window = self._windows.get(host, self.range_bytes)
        response = await engine.download_async(self._request(url, timeout, key, 0, window))
        if response.status == 416 and window:  # e.g. an empty resource
            return await engine.download_async(self._request(url, timeout, key))
        if response.status != 206:
            return response
        self._inc({"ranged": 1})
        body = response.body
        validator = _validator(response)
        while (end := head_end(body)) is None:
            start, total = _content_range(response)
            if start != 0 or len(body) >= min(total or self.max_bytes, self.max_bytes):
                break
            if validator is None:  # the pieces could come from different versions
                return await engine.download_async(self._request(url, timeout, key))
            size = min(len(body), self.max_bytes - len(body))  # each piece doubles the total
            more = await engine.download_async(
                self._request(url, timeout, key, len(body), size, if_range=validator)
            )
            self._inc({"range_continuations": 1})
            if more.status == 200:  # the page changed since the first piece: start over
                return more
            if more.status != 206 or _content_range(more)[0] != len(body):
                break
            body += more.body
        if end is not None:
            self._learn_head_size(host, end)
        return response.replace(body=body)

    def _learn_head_size(self, host: str, end: int) -> None:
        """Size this host's first byte range to the largest head seen there."""
        if not self.range_bytes:
            return
        window = max(self.range_bytes, 1 << (end - 1).bit_length())
        if window > self._windows.get(host, 0):
            self._windows[host] = min(window, self.max_bytes)
        self._windows.move_to_end(host)
        if len(self._windows) > _HOSTS_CACHE_SIZE:
            self._windows.popitem(last=False)

    def _request(
        self,
        url: str,
        timeout: float,
        key: str,
        start: int = 0,
        size: int = 0,
        *,
        if_range: bytes | None = None,
    ) -> Request:
        headers = {
            "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5",
            "Accept-Encoding": "identity",
        }
        if size:
            headers["Range"] = f"bytes={start}-{start + size - 1}"
        if if_range:
            headers["If-Range"] = if_range.decode("latin-1")
        return Request(
            url,
            callback=NO_CALLBACK,
            headers=headers,
            meta={
                _meta.HEAD: key,
                "playwright": False,
                "download_timeout": timeout,
                "dont_redirect": True,
                "allow_offsite": True,
            },
            flags=[_meta.HEAD_FLAG],
            dont_filter=True,
        )

    def _result(self, response: Response, key: str) -> HeadResult:
        """What a response (a preview's, or a page the crawl downloaded) says about a head."""
        status = response.status
        if status >= 300:
            suffix = " (redirect not followed)" if status < 400 else ""
            return HeadResult(HTTP_ERROR, error=f"HTTP {status}{suffix}")
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1")
        if not _meta.is_html(response):
            return HeadResult(NOT_HTML, error=f"Content-Type: {content_type or 'unknown'}")
        head = parse_head(response.body, response.url, content_type or None)
        final = normalize_url(response.url, response.url)
        head["redirected_url"] = response.url if final != key else None
        return HeadResult(VALID, head)

    # -- SSRF guard ----------------------------------------------------------------------

    async def guards(self, url: str) -> bool:
        """Whether links found on (or redirects from) ``url`` must not reach private
        addresses: true for a public ``url`` unless ``C4_PREVIEW_ALLOW_PRIVATE``."""
        return not self.allow_private and not await self.is_private(host_of(url))

    async def is_private(self, host: str) -> bool:
        """True if ``host`` is, or resolves to, a loopback/private/link-local address."""
        if not host:
            return False
        known = self._private.get(host)
        if known is not None:
            return known
        if is_private_host(host):
            private = True
        elif is_ip_address(host):
            private = False
        else:
            try:
                addresses = await asyncio.wait_for(self.resolve(host), self.dns_timeout)
            except (OSError, asyncio.TimeoutError):
                addresses = []  # the download fails on its own, with a DNS error
            private = any(is_private_host(address) for address in addresses)
        self._private[host] = private
        if len(self._private) > _HOSTS_CACHE_SIZE:
            self._private.popitem(last=False)
        return private

    # -- signals -------------------------------------------------------------------------

    def _headers_received(self, headers: Headers, request: Request) -> None:
        if _meta.HEAD not in request.meta:
            return
        content_type = (headers.get(b"Content-Type") or b"").lower()
        if content_type and not content_type.lstrip().startswith(_HTML_TYPES):
            raise StopDownload(fail=False)

    def _bytes_received(self, data: bytes, request: Request) -> None:
        key = request.meta.get(_meta.HEAD)
        if key is None:
            return
        if key in self._bytes:
            self._bytes[key] += len(data)
        scan = self._scans.get(request)
        if scan is None:
            scan = self._scans[request] = _Scan()
        scan.received += len(data)
        window = scan.tail + data
        if scan.received >= self.max_bytes or HEAD_END_RE.search(window):
            raise StopDownload(fail=False)
        scan.tail = window[-8:]

    def _reached_downloader(self, request: Request) -> None:
        if _meta.HEAD in request.meta:
            # Read the HTTP cache (a cached full page costs nothing), never write to it:
            # a truncated head response would be served to the crawl as the page itself.
            request.meta["_dont_cache"] = True

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
            self._learn_head_size(host_of(final), end)
        requested = normalize_url(_meta.requested_url(request), response.url)
        for url in dict.fromkeys((final, requested)):
            if url is not None and url not in self._results:
                self._store(url, self._result(response, url))
        self._inc({"own_heads": 1})

    # -- helpers -------------------------------------------------------------------------

    def _inc(self, counts: Mapping[str, int]) -> None:
        self.runtime.inc(dict(counts), prefix="c4/previews/")

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            logger.warning(message, extra={"spider": self.crawler.spider})


class LinkPreviewPipeline:
    """Item pipeline (order 100): previews and scores the links of every PageItem whose
    config has a ``link_preview_config``; with only ``score_links``, fills each link's
    ``total_score`` from its intrinsic score. A failure is logged and recorded in
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


async def resolve_host(host: str) -> list[str]:
    """Every address ``host`` resolves to, without blocking the event loop."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _validator(response: Response) -> bytes | None:
    """What ``If-Range`` can send to make sure every piece comes from one version."""
    etag = response.headers.get(b"ETag")
    if etag and not etag.startswith(b"W/"):
        return etag
    return response.headers.get(b"Last-Modified")


def _content_range(response: Response) -> tuple[int | None, int | None]:
    """``(first byte, total size)`` of a 206 response (None when unknown)."""
    match = _CONTENT_RANGE.match(response.headers.get(b"Content-Range") or b"")
    if match is None:
        return None, None
    total = match.group(2)
    return int(match.group(1)), int(total) if total.isdigit() else None
