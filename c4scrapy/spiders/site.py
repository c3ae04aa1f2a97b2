"""``scrapy crawl site -a url=URL [-a query=...] [-a max_pages=N] [-a depth=N] [-a FIELD=...]``.

See docs/usage/site-spider.rst."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import scrapy
from scrapy.spidermiddlewares.httperror import HttpError
from w3lib.url import canonicalize_url

from c4scrapy import _meta, previewed_links
from c4scrapy._runtime import C4Runtime, report_startup_error
from c4scrapy.core.exceptions import ConfigError
from c4scrapy.core.layers import spider_config
from c4scrapy.core.traps import TrapRules
from c4scrapy.jobdir import JobJournal
from c4scrapy.middlewares import RedirectToRequested, failed_page
from c4scrapy.settings import C4Settings

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator

    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from twisted.python.failure import Failure
    from typing_extensions import Self

    from c4scrapy.core.items import PageItem


class SiteSpider(scrapy.Spider):
    name = "site"

    def __init__(
        self,
        url: str | None = None,
        max_pages: str | int | None = None,
        depth: str | int | None = None,
        **kwargs: Any,
    ) -> None:
        # Scrapy's own arguments; Scrapyd adds _job (the job id) to every crawl it starts.
        own = {k: kwargs.pop(k) for k in list(kwargs) if k in ("name", "start_urls", "_job")}
        super().__init__(**own)
        try:
            self.url = _start_url(url)
            self.max_pages = _positive_int(max_pages, "max_pages")
            self.max_depth = _positive_int(depth, "depth", allow_zero=True)
            self.c4_config = spider_config(kwargs)
        except ConfigError as exc:
            report_startup_error(exc)
            raise

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        # Checked here, where the settings are known (the runtime is built once the crawl
        # has its spider).
        try:
            schemes = C4Settings.from_settings(crawler.settings).start_url_schemes
            scheme = urlsplit(spider.url).scheme.lower()
            if scheme not in schemes:
                raise ConfigError(
                    f"-a url: expected an absolute {' or '.join(schemes)} URL, got "
                    f"{spider.url!r} (C4_START_URL_SCHEMES lists the schemes allowed)"
                )
        except ConfigError as exc:
            report_startup_error(exc)
            raise
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        # With JOBDIR, spider.state survives a pause, so a resumed crawl keeps its count.
        state = getattr(self, "state", None)
        state = state if state is not None else {}
        self.seen: set[str] = state.setdefault("c4_seen", set())
        self.bodies: set[bytes] = state.setdefault("c4_bodies", set())
        self.runtime = C4Runtime.of(self.crawler)
        # After a killed run: its pages count, and each is fetched once more for its links.
        written = self.runtime.service(JobJournal).written or ()
        self.refetch = {canonicalize_url(url) for url in written}
        self.seen |= self.refetch
        settings = self.runtime.settings
        self.traps = TrapRules(
            max_url_length=settings.trap_max_url_length,
            max_path_segments=settings.trap_max_path_segments,
            max_segment_repeats=settings.trap_max_segment_repeats,
        )
        self.logged: set[str] = set()
        # URLs as given to _admit: a page's navigation links repeat on every page, and
        # canonicalize_url cost ~1 ms per page on the docs site
        self.decided: set[str] = set()
        # A frontier shared by several processes (c4scrapy.contrib.redis) keeps the count.
        scheduler = getattr(self.crawler.engine, "scheduler", None)
        self.shared_admit: Callable[[str, int | None], bool] | None = getattr(
            scheduler, "admit", None
        )
        if self._admit(self.url):
            yield scrapy.Request(self.url, callback=self.parse, errback=self.failed)

    def failed(self, failure: Failure) -> Iterator[PageItem]:
        """c4scrapy's middleware has already made this request's failed PageItem, except
        when a downloader middleware raised while handling the response: make it here."""
        request: scrapy.Request = failure.request  # type: ignore[attr-defined]  # set by Scrapy
        error = failure.value
        assert error is not None
        if isinstance(error, HttpError):
            self.logger.info(
                "Ignoring response %s: HTTP status code is not handled", error.response
            )
        elif isinstance(error, RedirectToRequested):
            self.logger.info(
                "Not following the redirect of %s: %s", _meta.requested_url(request), error
            )
        else:
            self.logger.error("Error downloading %s: %s", request, error)
        if _meta.PAGE not in request.meta:
            yield failed_page(request, error)

    async def parse(self, response: Response) -> AsyncIterator[scrapy.Request]:
        page = response.meta.get(_meta.PAGE)
        if page is None or not page.success:
            return
        if self.max_depth is not None and response.meta.get("depth", 0) >= self.max_depth:
            return
        if not self._first_with_this_body(response):
            return
        assert response.request is not None
        config = self.runtime.config_for(response.request)
        if not config.query:
            for link in page.links["internal"]:
                if self._admit(link["href"]):
                    yield scrapy.Request(link["href"], callback=self.parse, errback=self.failed)
            return
        # Query-guided: each link as soon as its preview is scored, with that as priority.
        internal = {id(link) for link in page.links["internal"]}
        async for link, priority in previewed_links(self.crawler, response):
            if id(link) in internal and self._admit(link["href"]):
                yield scrapy.Request(
                    link["href"], callback=self.parse, errback=self.failed, priority=priority
                )

    def _first_with_this_body(self, response: Response) -> bool:
        """False for a page whose body is the same as an earlier page's: the same links
        under other URLs are how a server's URL aliasing makes a crawl endless."""
        if self.runtime.settings.follow_duplicates:
            return True
        digest = hashlib.sha1(response.body).digest()
        if digest not in self.bodies:
            self.bodies.add(digest)
            return True
        self.runtime.inc({"duplicates/not_followed": 1})
        self._log_once(
            "duplicate",
            "Not following the links of %s: its body is the same as an earlier page's "
            "(C4_FOLLOW_DUPLICATES; further ones are counted in c4/duplicates/not_followed)",
            response.url,
        )
        return False

    def _log_once(self, key: str, message: str, *args: Any) -> None:
        if key not in self.logged:
            self.logged.add(key)
            self.logger.info(message, *args)

    def _admit(self, url: str) -> bool:
        """Count each unique URL once, so that ``max_pages`` means pages (and items)."""
        if url in self.decided:  # the same href again: already admitted or refused for good
            return False
        self.decided.add(url)
        key = canonicalize_url(url)
        if key in self.seen:
            if key in self.refetch:
                self.refetch.discard(key)
                return True
            return False
        trap = self.traps.verdict(url)
        if trap is not None:
            self.seen.add(key)
            self.runtime.inc({f"traps/{trap}": 1})
            self._log_once(
                trap,
                "Not following %s: it looks like a spider trap (%s, see C4_TRAP_*; further "
                "ones are counted in c4/traps/%s)",
                url,
                trap,
                trap,
            )
            return False
        if self.shared_admit is not None:
            self.seen.add(key)  # decided once per worker, here or by another worker
            return self.shared_admit(key, self.max_pages)
        if self.max_pages is not None and len(self.seen) >= self.max_pages:
            return False
        self.seen.add(key)
        return True


def _start_url(url: str | None) -> str:
    if not url:
        raise ConfigError("the site spider needs a start URL: scrapy crawl site -a url=URL")
    parts = urlsplit(url.strip())
    if not (parts.scheme and (parts.netloc or parts.scheme == "file")):
        raise ConfigError(
            f"-a url: expected an absolute URL such as https://example.com/, got {url!r}"
        )
    return url.strip()


def _positive_int(value: str | int | None, name: str, *, allow_zero: bool = False) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"-a {name}: expected an integer, got {value!r}") from None
    if number < 0 or (number == 0 and not allow_zero):
        raise ConfigError(f"-a {name}: must be {'>= 0' if allow_zero else '> 0'}, got {number}")
    return number
