"""The browser download handler: scrapy-playwright's, with a deadline, fast failure, one
browser for both schemes and the guard's proxy."""

from __future__ import annotations

import asyncio
import inspect
import weakref
from functools import partial
from typing import TYPE_CHECKING, Any

from playwright.async_api import Error as PlaywrightError
from scrapy.exceptions import IgnoreRequest
from scrapy_playwright.handler import PERSISTENT_CONTEXT_PATH_KEY, ScrapyPlaywrightDownloadHandler
from twisted.internet import defer

from c4scrapy import _meta
from c4scrapy._compat import DownloadFailedError, DownloadTimeoutError
from c4scrapy._runtime import C4Runtime
from c4scrapy.browser.page import CaptureLimits, use_capture_limits
from c4scrapy.browser.proxy import MARK, GuardProxy
from c4scrapy.core.urls import host_of
from c4scrapy.settings import C4Settings

if TYPE_CHECKING:
    from playwright.async_api import Page
    from playwright.async_api import Request as PlaywrightRequest
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

#: The scrapy-playwright methods this class overrides (private: pinned by a test).
OVERRIDDEN = (
    "_create_page",
    "_download_request",
    "_browser_disconnected_callback",
    "_create_browser_context",
)

#: The crawl's one handler (``from_crawler``), for whichever schemes it is installed for.
_HANDLERS: weakref.WeakKeyDictionary[Crawler, BrowserDownloadHandler] = weakref.WeakKeyDictionary()


class BrowserDownloadHandler(ScrapyPlaywrightDownloadHandler):
    """scrapy-playwright's download handler with the guarantees it lacks.

    - A browser download ends by the request's ``download_timeout`` (Scrapy's
      ``DOWNLOAD_TIMEOUT``), as an HTTP download does; the pages that a dying browser takes
      down fail at once, instead of waiting forever on a Playwright call the dead browser
      never answers. Both raise errors RetryMiddleware retries; the page a stopped download
      had opened is closed.
    - One handler, so one browser, serves both ``http`` and ``https`` (Scrapy builds a
      handler per scheme; scrapy-playwright's would each launch a Chromium).
    - While the private-address guard is on, Chromium runs behind the guard's proxy
      (``GuardProxy``), unless the project gives it a proxy of its own or connects to a
      remote browser; a persistent context gets the same Chromium, flags and proxy.
    - The captures of its browser are bounded (``CaptureLimits``, from the settings).
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._download_timeout = crawler.settings.getfloat("DOWNLOAD_TIMEOUT")
        self._browser_gone: asyncio.Future[None] | None = None
        self._pages: dict[int, Page] = {}
        self._failed_navigations: dict[int, str] = {}  # for the proxy's errors
        self._closed = False
        c4 = C4Settings.from_settings(crawler.settings)
        self._capture_limits = CaptureLimits.from_settings(c4)
        self._proxy: GuardProxy | None = None
        self._remote = bool(self.config.cdp_url or self.config.connect_url)
        if not (
            c4.allow_private_addresses or self._remote or _own_proxy(self.config.launch_options)
        ):
            self._proxy = C4Runtime.of(crawler).service(GuardProxy)
            proxy = {"server": self._proxy.url()}  # Playwright adds <-loopback> to the bypass
            self.config.launch_options = {**self.config.launch_options, "proxy": proxy}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BrowserDownloadHandler:
        handler = _HANDLERS.get(crawler)
        if handler is None:
            handler = _HANDLERS[crawler] = cls(crawler)
        return handler

    if inspect.iscoroutinefunction(ScrapyPlaywrightDownloadHandler.close):

        async def close(self) -> None:  # called once per scheme
            if not self._closed:
                self._closed = True
                await super().close()

    else:  # Scrapy < 2.14: handlers close with a Deferred

        def close(self) -> Any:  # type: ignore[misc]
            if self._closed:
                return defer.succeed(None)
            self._closed = True
            return super().close()

    async def _create_browser_context(
        self, name: str, context_kwargs: dict[str, Any] | None, spider: Any = None
    ) -> Any:
        if self._proxy is not None:
            await self._proxy.serve()
        if (context_kwargs or {}).get(PERSISTENT_CONTEXT_PATH_KEY) and not self._remote:
            # a persistent context is a browser of its own, which scrapy-playwright launches
            # without PLAYWRIGHT_LAUNCH_OPTIONS: our Chromium, its flags and the proxy too
            context_kwargs = {**self.config.launch_options, **(context_kwargs or {})}
        return await super()._create_browser_context(name, context_kwargs, spider)

    def _current_browser_gone(self) -> asyncio.Future[None]:
        if self._browser_gone is None or self._browser_gone.done():
            self._browser_gone = asyncio.get_running_loop().create_future()
        return self._browser_gone

    async def _browser_disconnected_callback(self) -> None:
        if self._browser_gone is not None and not self._browser_gone.done():
            self._browser_gone.set_result(None)
        await super()._browser_disconnected_callback()

    async def _create_page(self, request: Request, spider: Any) -> Page:
        page = await super()._create_page(request=request, spider=spider)
        self._pages[id(request)] = page
        if self._proxy is not None:
            page.on("requestfailed", partial(self._navigation_failed, id(request), page))
        use_capture_limits(page, self._capture_limits)
        return page

    async def _download_request(self, request: Request, spider: Any = None) -> Response:
        timeout = float(request.meta.get("download_timeout") or self._download_timeout)
        if self._proxy is not None:
            await self._proxy.ask(host_of(request.url))
        gone = self._current_browser_gone()
        work = asyncio.ensure_future(super()._download_request(request, spider))
        try:
            await asyncio.wait({work, gone}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if work.done():
                return await self._explained(request, work)
        finally:
            if not work.done():
                work.cancel()
            page = self._pages.pop(id(request), None)
            self._failed_navigations.pop(id(request), None)
        if page is not None and not page.is_closed():
            await self._close_abandoned(page)
        if gone.done():
            raise DownloadFailedError("the browser closed or crashed while loading the page")
        raise DownloadTimeoutError(
            f"no page from the browser within {timeout:g} s (download_timeout)"
        )

    async def _explained(self, request: Request, work: asyncio.Future[Response]) -> Response:
        """The page, or its error; an error of the guard's proxy (which Chromium reports as
        a tunnel that failed, or the proxy's own answer) becomes the error the download
        met: a name that does not resolve, a refused connection, a non-public address."""
        try:
            response = work.result()
        except PlaywrightError:
            failed = self._failed_navigations.get(id(request), request.url)
            error = await self._proxy_error(request, failed)
            if error is None:
                raise
            raise error from None
        if self._proxy is not None and MARK in response.headers:
            error = await self._proxy_error(request, response.url)
            if error is not None:
                raise error
        return response

    async def _proxy_error(self, request: Request, url: str) -> Exception | None:
        if self._proxy is None:
            return None
        error = self._proxy.failure(url)
        if isinstance(error, IgnoreRequest):
            origin = _meta.requested_url(request)
            why = await self._proxy.guard.refusal(origin, url, "the browser's navigation")
            return IgnoreRequest(why) if why else error
        return error

    def _navigation_failed(self, key: int, page: Page, failed: PlaywrightRequest) -> None:
        """Which URL of a page's navigation failed (a redirect hop, maybe)."""
        if failed.is_navigation_request() and failed.frame == page.main_frame:
            self._failed_navigations[key] = failed.url

    async def _close_abandoned(self, page: Page) -> None:
        try:
            await asyncio.wait_for(page.close(), timeout=5)
        except (PlaywrightError, asyncio.TimeoutError):
            return
        self.stats.inc_value("playwright/page_count/closed")


def _own_proxy(launch_options: dict[str, Any]) -> bool:
    """The project gives Chromium a proxy of its own (which then resolves the names)."""
    flags = ("--proxy-server", "--proxy-pac-url", "--proxy-auto-detect")
    args = [str(arg) for arg in launch_options.get("args") or ()]
    return "proxy" in launch_options or any(arg.startswith(flags) for arg in args)
