"""The Scrapy shell around the core: a downloader middleware that prepares requests and turns
failures into stand-in responses, and a spider middleware that makes every PageItem.

See docs/usage/existing-project.rst."""

from __future__ import annotations

import logging
from collections import Counter
from functools import partial
from typing import TYPE_CHECKING, Any

from scrapy import Request, signals
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response

from c4scrapy import _meta
from c4scrapy._runtime import C4Runtime
from c4scrapy.core.config import CacheMode, CrawlerRunConfig
from c4scrapy.core.exceptions import ConfigError
from c4scrapy.core.items import PageItem
from c4scrapy.core.page import extract_page, unparsable_markup
from c4scrapy.core.urls import SiteRules, host_of
from c4scrapy.guard import AddressGuard
from c4scrapy.jobdir import JobJournal
from c4scrapy.processes import ExtractionProcesses

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable

    from scrapy.crawler import Crawler
    from typing_extensions import Self

    from c4scrapy.settings import C4Settings

logger = logging.getLogger(__name__)


class RedirectToRequested(IgnoreRequest):
    """A redirect to a URL the crawl has already requested (a redirect loop, an empty
    ``Location``, a page already crawled), which Scrapy's duplicate filter drops silently."""


class C4DownloaderMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.runtime = C4Runtime.enabled_for(crawler)
        self.runtime.service(JobJournal)  # now: before the scheduler opens the JOBDIR
        self.processes = self.runtime.service(ExtractionProcesses)
        crawler.signals.connect(self._request_dropped, signal=signals.request_dropped)
        if self.processes.enabled:
            crawler.signals.connect(self.processes.start, signal=signals.spider_opened)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_request(self, request: Request) -> Response | None:
        if not self.runtime.applies_to(request):
            return None
        if request.meta.get(_meta.REDIRECT_DROPPED):
            reason = f"redirected to {request.url}, which this crawl has already requested"
            return self._stand_in(request, RedirectToRequested(reason))
        try:
            config = self.runtime.config_for(request)
        except ConfigError:
            return None  # recorded on the PageItem by the spider middleware
        if config.cache_mode in (CacheMode.BYPASS, CacheMode.DISABLED):
            request.meta.setdefault("dont_cache", True)
        if config.browser == "auto":
            render = request.meta.get(_meta.RENDER)
            if render is None:
                from c4scrapy.browser.auto import AutoRender

                why = self.runtime.service(AutoRender).before(request, config)
                if why is not None:
                    render = request.meta[_meta.RENDER] = {"mode": "browser", "reason": why}
            if render is None or render.get("mode") != "browser":
                return None
            # the HTTP cache keys both ways alike: it would answer with the HTTP page
            request.meta.setdefault("dont_cache", True)
        if config.browser:
            from c4scrapy.browser.page import setup_browser_request

            guard = self.runtime.service(AddressGuard)
            setup_browser_request(request, config, None if guard.allow_private else guard)
        return None

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        """``browser="auto"``: an HTTP page that needs the browser comes back as a request
        for it (``AutoRender``); a rendered probe teaches its host. A page to extract goes
        to an extraction process (``ExtractionProcesses``), if the crawl has them."""
        if not self.runtime.applies_to(request) or _meta.FAILURE_FLAG in response.flags:
            return response
        try:
            config = self.runtime.config_for(request)
        except ConfigError:
            return response
        if config.browser == "auto":
            from c4scrapy.browser.auto import AutoRender

            auto = self.runtime.service(AutoRender)
            if "playwright" in response.flags:
                auto.after_browser(request, response)
            else:
                rerequest = auto.after_http(request, response)
                if rerequest is not None:
                    return rerequest
        # the worker checks the markup itself (a pass over the bytes the crawl need not pay)
        if (
            self.processes.enabled
            and refusal(response, self.runtime.settings, markup=False) is None
        ):
            extracted = await self.processes.extract(response, config)
            if extracted is not None:
                request.meta[_meta.EXTRACTED] = extracted
        return response

    def process_exception(self, request: Request, exception: Exception) -> Response | None:
        if not self.runtime.applies_to(request):
            return None
        if isinstance(exception, IgnoreRequest) and "offsite" in str(exception).lower():
            return None
        return self._stand_in(request, exception)

    def _stand_in(self, request: Request, exception: Exception) -> Response:
        """A response that carries ``exception`` to the spider middleware, which makes the
        request's failed PageItem from it."""
        request.meta[_meta.FAILURE] = exception
        request.meta["_dont_cache"] = True
        response = Response(request.url, status=200, request=request, flags=[_meta.FAILURE_FLAG])
        stats = self.crawler.stats
        if stats is not None:  # DownloaderStatsMiddleware will count this stand-in response
            stats.inc_value("downloader/response_count", -1)
            stats.inc_value("downloader/response_status_count/200", -1)
        return response

    def _request_dropped(self, request: Request) -> None:
        """A redirect hop the scheduler dropped as a duplicate still ends as an item: it
        comes back, unfiltered, as a stand-in for the refusal."""
        if (
            request.meta.get("redirect_urls")
            and not request.meta.get(_meta.REDIRECT_DROPPED)
            and self.runtime.applies_to(request)
            and self.crawler.engine is not None
        ):
            meta = {**request.meta, _meta.REDIRECT_DROPPED: True}
            self.crawler.engine.crawl(request.replace(dont_filter=True, meta=meta))


class C4SpiderMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.runtime = C4Runtime.enabled_for(crawler)
        self._filtered_hosts: set[str] = set()
        crawler.signals.connect(self._release, signal=signals.item_scraped)
        crawler.signals.connect(self._release, signal=signals.item_dropped)
        crawler.signals.connect(self._release, signal=signals.item_error)
        crawler.signals.connect(self._spider_opened, signal=signals.spider_opened)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def _spider_opened(self, spider: Any) -> None:
        from c4scrapy import __version__

        config = self.runtime.config
        logger.info(
            "c4scrapy %s enabled: items %s, score_links=%s, link preview %s, browser=%s",
            __version__,
            "emitted" if self.runtime.settings.emit_items else "not emitted",
            config.score_links,
            "on" if config.link_preview_config else "off",
            config.browser,
            extra={"spider": spider},
        )

    # -- input: build the PageItem before the callback runs ----------------------------

    def process_spider_input(self, response: Response) -> None:
        request = response.request
        if request is None or not self.runtime.applies_to(request):
            return
        failure = (
            response.meta.get(_meta.FAILURE) if _meta.FAILURE_FLAG in response.flags else None
        )
        if failure is not None:
            page = self._failed_page(request, failure)
            response.meta[_meta.PAGE] = page
            self.runtime.inc({"pages/failed": 1})
            raise failure
        response.meta[_meta.PAGE] = self._extract(response)

    def _extract(self, response: Response) -> PageItem:
        request = response.request
        assert request is not None
        url = _meta.requested_url(request)
        counts: Counter[str] = Counter()
        try:
            config = self.runtime.config_for(request)
        except ConfigError as exc:
            page = PageItem(url=url, success=False, status_code=response.status)
            page.error_message = f"invalid config: {exc}"
            self.runtime.inc({"pages/failed": 1, "pages/invalid_config": 1})
            return page
        extracted = response.meta.pop(_meta.EXTRACTED, None)
        if extracted is not None:  # by an extraction process
            page, worker_counts = extracted
            counts.update(worker_counts)
        else:
            refused = refusal(response, self.runtime.settings)
            if refused is not None:
                message, stat = refused
                page = PageItem(url=url, success=False, status_code=response.status)
                page.error_message = message
                page.attach_source(None, config, response.url)
                self.runtime.inc({"pages/failed": 1})
                self.crawler.stats.inc_value(stat)
                return page
            page = self._extract_here(response, config, counts)
        self._finish(page, response, url, config)
        self.runtime.inc(counts)
        self.runtime.inc({"extract_seconds": page.c4.get("extract_seconds", 0.0)})
        if config.verbose and logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "Extracted %s: %d internal and %d external links, %d images, %d tables in %.1f ms",
                page.url,
                len(page.links["internal"]),
                len(page.links["external"]),
                len(page.media["images"]),
                len(page.tables),
                1000 * page.c4.get("extract_seconds", 0.0),
                extra={"spider": self.crawler.spider},
            )
        return page

    def _extract_here(
        self, response: Response, config: CrawlerRunConfig, counts: Counter[str]
    ) -> PageItem:
        """Extraction in the crawl process, on the tree the callback reads too."""
        tree: Any = response.body  # XHTML served as XML: parsed as HTML, by extract_page
        if isinstance(response, HtmlResponse):
            try:
                tree = response.selector
            except ValueError:  # e.g. an unparsable <base href>: our own parse copes
                tree = response.text
        return extract_page(
            tree,
            response.url,
            config,
            status_code=response.status,
            content_type=_meta.content_type_header(response),
            counts=counts,
            cache=self.runtime.urls,
        )

    def _finish(
        self, page: PageItem, response: Response, url: str, config: CrawlerRunConfig
    ) -> None:
        page.url = url
        if response.url != url:
            page.redirected_url = response.url
        if response.status >= 400 and page.success:
            page.success = False
            page.error_message = f"HTTP {response.status}"
            self.runtime.inc({"pages/failed": 1, f"pages/http_status/{response.status}": 1})
        page.response_headers, dropped = _kept_headers(response)
        if dropped:
            page.c4["headers_dropped"] = dropped
            self.runtime.inc({"pages/headers_dropped": 1})
        page.attach_source(partial(_tree, response), config, response.url)
        if config.browser is not False:
            from c4scrapy.browser.auto import record

            render = record(config, response)
            if render is not None:
                page.c4["render"] = render
                self.runtime.inc(
                    {
                        "render/browser" if render["mode"] == "browser" else "render/http": 1,
                        f"render/reason/{render['reason']}": 1,
                    }
                )
        if config.browser is True or "playwright" in response.flags:
            from c4scrapy.browser.captures import collect_captures

            collect_captures(self.runtime, response, page, config)

    def _failed_page(self, request: Request, failure: Exception) -> PageItem:
        page = failed_page(request, failure)
        try:
            page.attach_source(None, self.runtime.config_for(request), page.url)
        except ConfigError:
            pass
        return page

    # -- output: emit the PageItem, filter follow-up requests -----------------------------

    async def process_spider_output(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        page = self._take_page(response)
        if page is not None:
            yield page
        rules = self._rules_for(response)
        async for obj in result:
            if isinstance(obj, Request):
                obj = self._filter_request(obj, rules)
                if obj is None:
                    continue
            yield obj

    def process_spider_exception(
        self, response: Response, exception: Exception
    ) -> Iterable[Any] | None:
        page = self._take_page(response)
        if page is None:
            return None
        spider = self.crawler.spider
        failure = response.meta.get(_meta.FAILURE)
        if isinstance(exception, RedirectToRequested):
            logger.info(
                "Not following the redirect of %(url)s: %(reason)s",
                {"url": page.url, "reason": exception},
                extra={"spider": spider},
            )
        elif exception is failure:
            logger.error(
                "Error downloading %(request)s: %(reason)s",
                {"request": response.request, "reason": page.error_message},
                extra={"spider": spider},
            )
        else:
            logger.error(
                "Spider error processing %(request)s",
                {"request": response.request},
                exc_info=exception,
                extra={"spider": spider},
            )
            self.crawler.stats.inc_value(f"spider_exceptions/{type(exception).__name__}")
        return [page]

    def _take_page(self, response: Response) -> PageItem | None:
        meta = response.meta
        page = meta.get(_meta.PAGE)
        if page is None or meta.get(_meta.EMITTED):
            return None
        meta[_meta.EMITTED] = True
        if self.runtime.service(JobJournal).already_written(page.url):
            self.runtime.inc({"jobdir/items_skipped": 1})
            return None
        return page if self.runtime.settings.emit_items else None

    def _rules_for(self, response: Response) -> tuple[SiteRules, CrawlerRunConfig] | None:
        """The link filters for this response's follow-ups (the crawl's config if the page
        has none of its own: opted out with ``c4=False`` or an invalid ``meta["c4"]``)."""
        page = response.meta.get(_meta.PAGE)
        source = page.source if page is not None else None
        config = source.config if source is not None else self.runtime.config
        if not (
            config.exclude_external_links
            or config.exclude_social_media_links
            or config.exclude_domains
        ):
            return None
        rules = SiteRules.for_page(response.url, config)
        return rules, config

    def _filter_request(
        self, request: Request, rules: tuple[SiteRules, CrawlerRunConfig] | None
    ) -> Request | None:
        for key in _meta.PER_RESPONSE:
            if key in request.meta:  # meta=response.meta copies must not carry our state
                request.meta.pop(key)
        if rules is None or request.meta.get(_meta.HEAD):
            return request
        site, config = rules
        host = host_of(request.url)
        reason = site.exclusion(
            host, site.is_internal(host), exclude_external=config.exclude_external_links
        )
        if reason is None:
            return request
        self.crawler.stats.inc_value(f"c4/requests/filtered/{reason}")
        if host not in self._filtered_hosts:
            self._filtered_hosts.add(host)
            logger.debug(
                "Filtered %s request to %r: %s (further ones are counted, not logged)",
                reason,
                host,
                request,
                extra={"spider": self.crawler.spider},
            )
        return None

    def _release(self, item: Any, **kwargs: Any) -> None:
        if isinstance(item, PageItem):
            item.release_source()


def refusal(
    response: Response, settings: C4Settings, *, markup: bool = True
) -> tuple[str, str] | None:
    """Why ``response`` is not extracted (the item's error, a stat), or None; ``markup``:
    also refuse markup whose parse would take minutes (``extract_page`` checks bytes)."""
    if 300 <= response.status < 400:
        location = (response.headers.get(b"Location") or b"").decode("latin-1")
        target = f" to {location!r}" if location else " without a Location"
        return (
            f"HTTP {response.status}: redirect{target} not followed",
            "c4/pages/redirect_not_followed",
        )
    if not _meta.is_html(response):
        declared = _meta.content_type(response) or "?"
        return f"not an HTML response (Content-Type: {declared})", "c4/pages/not_html"
    limit = settings.max_page_bytes
    if limit and len(response.body) > limit:
        size = len(response.body)
        message = f"page too large: {size} bytes, over C4_MAX_PAGE_BYTES ({limit}); not parsed"
        return message, "c4/pages/too_large"
    problem = unparsable_markup(response.body) if markup else None
    if problem:
        return problem, "c4/pages/unparsable"
    return None


def _tree(response: Response) -> Any:
    """The response's parsed tree (Scrapy's ``response.selector``: parsed once, shared
    with the callback), or None for a response that is not HTML to Scrapy."""
    if isinstance(response, HtmlResponse):
        try:
            return response.selector.root
        except ValueError:
            pass
    return None


#: The most bytes of a response's headers ``PageItem.response_headers`` keeps: a server may
#: send megabytes of them, which every exported item would then carry.
MAX_HEADERS_BYTES = 64 * 1024


def _kept_headers(response: Response) -> tuple[dict[str, str], int]:
    """The response's headers, each name once (its values joined by ``", "``), those that
    fit in ``MAX_HEADERS_BYTES``; and how many names did not fit."""
    kept: dict[str, str] = {}
    size = dropped = 0
    # dict.items: Headers.items() re-normalises every key through getlist (~0.5 ms/page)
    for name, values in dict.items(response.headers):
        value = b", ".join(values)
        if size + len(name) + len(value) > MAX_HEADERS_BYTES:
            dropped += 1  # the ones after it may still fit (Content-Type...)
            continue
        size += len(name) + len(value)
        kept[name.decode("latin-1")] = value.decode("latin-1")
    return kept, dropped


def failed_page(request: Request, failure: BaseException) -> PageItem:
    """The PageItem of a request that produced no page (download failure, ignored...)."""
    url = request.meta.get("redirect_urls", [request.url])[0]
    message = str(failure) or type(failure).__name__
    if isinstance(failure, IgnoreRequest):
        error = f"request ignored: {message}"
    else:
        error = f"{type(failure).__name__}: {message}"
    return PageItem(url=url, success=False, error_message=error)
