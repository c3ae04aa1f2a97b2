"""Browser pages: scrapy-playwright driving the system Chromium.

A request whose config has ``browser=True`` (the ``C4_BROWSER`` setting, ``-a browser=true``
or ``request.meta["c4"] = {"browser": True}``) is downloaded by scrapy-playwright, so the
extraction sees the rendered DOM: links and images made by JavaScript, iframes merged in,
overlays removed. What the page needs is written into ``request.meta`` as plain, picklable
data (scrapy-playwright's ``playwright_*`` keys, a ``PageMethod`` calling the module-level
``run_page_steps`` with a dict of steps, and the import path of the ``block_images`` page
init callback), so browser requests survive ``JOBDIR`` and scrapy-redis. Pages are never
handed to the callback (no ``playwright_include_page``): scrapy-playwright closes every page
itself, in every path, so a long crawl does not leak pages.

In the page, after navigation (``wait_until``, ``page_timeout``), ``run_page_steps`` runs
in Crawl4AI's order: ``wait_for`` (``"css:selector"``, ``"js:() => expr"``; a bare
function is JavaScript, anything else a CSS selector; a miss fails the page),
``wait_for_images`` (until no image is loading, bounded), ``process_iframes`` (each frame's
body, URLs made absolute against the frame, replaces its ``<iframe>``, innermost first),
``remove_overlay_elements`` (consent banners, modals, backdrops and other fixed overlays),
then ``pdf``, ``capture_mhtml`` (CDP ``Page.captureSnapshot``) and ``screenshot`` (full page
PNG, cut at ``C4_BROWSER_SCREENSHOT_MAX_HEIGHT``; screenshots and PDFs render one at a time,
see ``CaptureLimits``). The spider middleware then moves the captures into ``PageItem.screenshot`` / ``pdf``
(base64) and ``mhtml`` (text), or into files under ``C4_BROWSER_CAPTURES_DIR`` (the fields
then hold the paths). A capture that fails is recorded in ``item.c4["browser"]
["capture_errors"]``; it does not fail the page.

``exclude_all_images`` also stops the browser downloading images (a per-page route), and
``C4_BROWSER_BLOCK_RESOURCES`` aborts resource types on every browser page while the
images are still reported: media come from the HTML's attributes, never from pixels.

Start-up: the add-on installs ``BrowserDownloadHandler`` (scrapy-playwright's, plus a
deadline: ``download_timeout``, and failing fast when the browser dies) when the browser is
wanted (``C4_BROWSER``, ``-a browser=true`` or ``C4_BROWSER_ENABLED`` for per-request use)
and finds Chromium: ``C4_BROWSER_EXECUTABLE``, then ``PLAYWRIGHT_LAUNCH_OPTIONS
["executable_path"]``, then ``chromium`` (and friends) on ``PATH``, then a browser that
``playwright install`` downloaded. None found stops the crawl before it starts, naming
what was tried. A browser that dies is relaunched by scrapy-playwright
(``PLAYWRIGHT_RESTART_DISCONNECTED_BROWSER``); the pages it took down fail with an error
RetryMiddleware retries, so they are fetched again by the new browser.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import os
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.utils.misc import load_object

from c4scrapy import _meta
from c4scrapy.core.exceptions import ConfigError
from c4scrapy.core.layers import config_from_settings, resolve
from c4scrapy.settings import C4Settings

if TYPE_CHECKING:
    from playwright.async_api import Page, Route
    from playwright.async_api import Request as PlaywrightRequest
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.settings import BaseSettings

    from c4scrapy._runtime import C4Runtime
    from c4scrapy.core.config import CrawlerRunConfig
    from c4scrapy.core.items import PageItem

logger = logging.getLogger(__name__)

HANDLER = "c4scrapy.browser.BrowserDownloadHandler"
#: Names tried on PATH, in order, when no executable is configured.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Added to PLAYWRIGHT_LAUNCH_OPTIONS["args"]; Playwright itself adds --no-sandbox
#: (needed as root), --headless and --disable-dev-shm-usage.
CHROMIUM_ARGS = (
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--mute-audio",
)
#: wait_for_images waits at most this long (or page_timeout when shorter), and until no
#: image has been loading for IMAGES_QUIET_SECONDS (late images start after load).
IMAGES_WAIT_LIMIT_MS = 10_000
IMAGES_QUIET_SECONDS = 0.3

_INIT_CALLBACK = "c4scrapy.browser.block_images"


class BrowserUnavailable(RuntimeError):
    """The browser is wanted but cannot run (no Chromium, no scrapy-playwright)."""


class WaitForTimeout(Exception):
    """``wait_for`` was not met within ``wait_for_timeout`` (or ``page_timeout``): the page
    fails, as in Crawl4AI, and is not retried (not an OSError, unlike TimeoutError)."""


# --- start-up: is the browser wanted, where is Chromium --------------------------------


def browser_wanted(settings: BaseSettings, spider: Any = None) -> bool:
    """True when the crawl may render pages: ``C4_BROWSER_ENABLED`` or a browser config.

    The spider layer (``-a browser=true``) is known here because Scrapy builds the spider
    before it applies add-ons. Invalid configs return False: the middlewares report them.
    """
    c4 = C4Settings.from_settings(settings)
    if not c4.enabled:
        return False
    if c4.browser_enabled:
        return True
    try:
        config = config_from_settings(settings, C4Settings.names())
        config = resolve(config, getattr(spider, "c4_config", None), source="spider")
    except ConfigError:
        return False
    return config.browser


def find_chromium(settings: BaseSettings) -> str | None:
    """The Chromium to launch; ``None`` means the browser ``playwright install`` fetched.

    Raises BrowserUnavailable, naming what was tried, when nothing usable is found or a
    configured path is not an executable.
    """
    configured = (
        ("C4_BROWSER_EXECUTABLE", settings.get("C4_BROWSER_EXECUTABLE")),
        (
            'PLAYWRIGHT_LAUNCH_OPTIONS["executable_path"]',
            (settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS") or {}).get("executable_path"),
        ),
    )
    for name, value in configured:
        if value:
            path = shutil.which(str(value))
            if path is None:
                raise BrowserUnavailable(f"{name} is {value!r}, which is not an executable file")
            return path
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    if _playwright_download_dir() is not None:
        return None
    tried = [name for name, _ in configured] + [f"{n} on PATH" for n in CHROMIUM_NAMES]
    raise BrowserUnavailable(
        "no Chromium found for browser pages; tried: " + ", ".join(tried) + " and a browser "
        "installed by `playwright install`. Install one (Debian/Ubuntu: apt-get install "
        "chromium) or set C4_BROWSER_EXECUTABLE to its path"
    )


def _playwright_download_dir() -> Path | None:
    root = os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or "~/.cache/ms-playwright"
    base = Path(root).expanduser()
    if not base.is_dir():
        return None
    return next((p for p in base.iterdir() if p.name.startswith("chromium")), None)


def configure_browser(settings: BaseSettings) -> str | None:
    """Install the browser download handler and Chromium's launch options (addon priority).

    The handler is ``BrowserDownloadHandler`` (scrapy-playwright's, with a deadline).
    Project settings win where they are set; launch options are merged (the user's keys
    kept, our flags added). Returns the executable (None: remote or Playwright's own).
    Raises BrowserUnavailable, or ConfigError for a bad ``C4_BROWSER_BLOCK_RESOURCES``.
    """
    try:
        import scrapy_playwright  # noqa: F401
    except ImportError:
        raise BrowserUnavailable(
            "browser pages need scrapy-playwright: pip install scrapy-playwright"
        ) from None
    handlers = settings["DOWNLOAD_HANDLERS"]
    for scheme in ("http", "https"):
        handlers.set(scheme, HANDLER, priority="addon")
        current = handlers[scheme]
        if current != HANDLER and not _is_playwright_handler(current):
            logger.warning(
                "DOWNLOAD_HANDLERS[%r] is %r: browser pages will be fetched without a browser",
                scheme,
                current,
            )
    remote = settings.get("PLAYWRIGHT_CDP_URL") or settings.get("PLAYWRIGHT_CONNECT_URL")
    executable = None
    if not remote:
        executable = find_chromium(settings)
        options = dict(settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS") or {})
        if executable is not None:
            options["executable_path"] = executable
        options.setdefault("headless", True)
        options["args"] = list(dict.fromkeys([*CHROMIUM_ARGS, *(options.get("args") or ())]))
        _set_over(settings, "PLAYWRIGHT_LAUNCH_OPTIONS", options)
    settings.set("PLAYWRIGHT_BROWSER_TYPE", "chromium", priority="addon")
    settings.set("PLAYWRIGHT_RESTART_DISCONNECTED_BROWSER", True, priority="addon")
    blocked = set(C4Settings.from_settings(settings).browser_block_resources)
    if blocked:
        if settings.get("PLAYWRIGHT_ABORT_REQUEST"):
            logger.warning(
                "C4_BROWSER_BLOCK_RESOURCES is ignored: PLAYWRIGHT_ABORT_REQUEST is set"
            )
        else:
            settings.set("PLAYWRIGHT_ABORT_REQUEST", ResourceBlocker(blocked), priority="addon")
    return executable


def _is_playwright_handler(value: Any) -> bool:
    try:
        cls = load_object(value) if isinstance(value, str) else value
    except (ImportError, NameError, ValueError):
        return False
    from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

    return isinstance(cls, type) and issubclass(cls, ScrapyPlaywrightDownloadHandler)


def _set_over(settings: BaseSettings, name: str, value: Any) -> None:
    """Set ``value`` at addon priority, or at the user's own priority when higher: the
    value already holds the user's keys, so it must not lose to their (partial) one."""
    priority = max(settings.getpriority(name) or 0, SETTINGS_PRIORITIES["addon"])
    settings.set(name, value, priority=priority)


class ResourceBlocker:
    """A ``PLAYWRIGHT_ABORT_REQUEST`` predicate: abort requests of these resource types."""

    def __init__(self, resource_types: set[str] | frozenset[str]) -> None:
        self.resource_types = frozenset(resource_types)

    def __call__(self, request: PlaywrightRequest) -> bool:
        return request.resource_type in self.resource_types

    def __repr__(self) -> str:
        return f"ResourceBlocker({sorted(self.resource_types)})"


# --- the download handler: scrapy-playwright with a deadline -----------------------------


def __getattr__(name: str) -> Any:
    # The handler subclasses scrapy-playwright's, whose import costs ~0.5 s: built on first
    # use (by DOWNLOAD_HANDLERS), so that crawls without a browser never pay for it.
    if name == "BrowserDownloadHandler":
        handler = _build_download_handler()
        globals()[name] = handler
        return handler
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _build_download_handler() -> type:
    from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

    try:
        from scrapy.exceptions import DownloadFailedError, DownloadTimeoutError
    except ImportError:  # Scrapy < 2.19: the twisted errors RETRY_EXCEPTIONS names there
        from twisted.internet.error import ConnectionLost as DownloadFailedError
        from twisted.internet.error import TimeoutError as DownloadTimeoutError

    class BrowserDownloadHandler(ScrapyPlaywrightDownloadHandler):  # type: ignore[misc]
        """scrapy-playwright's download handler with two guarantees it lacks.

        A browser download ends by the request's ``download_timeout`` (Scrapy's
        ``DOWNLOAD_TIMEOUT``), as an HTTP download does; and the pages that a dying browser
        takes down fail at once, instead of waiting forever on a Playwright call the dead
        browser never answers. Both raise errors RetryMiddleware retries; the page a
        stopped download had opened is closed.
        """

        def __init__(self, crawler: Crawler) -> None:
            super().__init__(crawler)
            self._download_timeout = crawler.settings.getfloat("DOWNLOAD_TIMEOUT")
            self._browser_gone: asyncio.Future[None] | None = None
            self._pages: dict[int, Page] = {}
            c4 = C4Settings.from_settings(crawler.settings)
            CaptureLimits.configure(
                c4.browser_capture_concurrency, c4.browser_screenshot_max_height
            )

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
            return page

        async def _download_request(self, request: Request, spider: Any = None) -> Response:
            timeout = float(request.meta.get("download_timeout") or self._download_timeout)
            gone = self._current_browser_gone()
            work = asyncio.ensure_future(super()._download_request(request, spider))
            try:
                await asyncio.wait(
                    {work, gone}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                if work.done():
                    return work.result()
            finally:
                if not work.done():
                    work.cancel()
                page = self._pages.pop(id(request), None)
            if page is not None and not page.is_closed():
                await self._close_abandoned(page)
            if gone.done():
                raise DownloadFailedError("the browser closed or crashed while loading the page")
            raise DownloadTimeoutError(
                f"no page from the browser within {timeout:g} s (download_timeout)"
            )

        async def _close_abandoned(self, page: Page) -> None:
            from playwright.async_api import Error as PlaywrightError

            try:
                await asyncio.wait_for(page.close(), timeout=5)
            except (PlaywrightError, asyncio.TimeoutError):
                return
            self.stats.inc_value("playwright/page_count/closed")

    BrowserDownloadHandler.__module__ = __name__
    return BrowserDownloadHandler


# --- the request: what the page must do, as picklable meta -----------------------------


def parse_wait_for(spec: str) -> tuple[str, str]:
    """Crawl4AI's ``wait_for`` syntax -> ``("css", selector)`` or ``("js", expression)``."""
    text = spec.strip()
    if text.startswith("js:"):
        return "js", text[3:].strip()
    if text.startswith("css:"):
        return "css", text[4:].strip()
    if text.startswith(("()", "function", "async ")):
        return "js", text
    return "css", text


def page_steps(config: CrawlerRunConfig) -> dict[str, Any]:
    """The in-page work ``config`` asks for, as plain data (``run_page_steps``' argument)."""
    steps: dict[str, Any] = {}
    if config.wait_for:
        kind, target = parse_wait_for(config.wait_for)
        steps["wait_for"] = [kind, target, config.wait_for_timeout or config.page_timeout]
    if config.wait_for_images:
        steps["wait_for_images"] = min(config.page_timeout, IMAGES_WAIT_LIMIT_MS)
    for name in (
        "process_iframes",
        "remove_overlay_elements",
        "pdf",
        "capture_mhtml",
        "screenshot",
    ):
        if getattr(config, name):
            steps[name] = True
    if steps:
        steps["timeout"] = config.page_timeout
    return steps


def setup_browser_request(request: Request, config: CrawlerRunConfig) -> None:
    """Route ``request`` through scrapy-playwright with what ``config`` asks of the page.

    Idempotent (a retried request is set up again without piling up page methods); the
    user's own ``playwright_*`` meta is kept: their page methods run before ours, their
    goto arguments and page init callback win or are chained. Side downloads
    (``callback=NO_CALLBACK``: robots.txt, media pipelines) are never rendered.
    """
    from scrapy.http.request import NO_CALLBACK
    from scrapy_playwright.page import PageMethod

    if request.callback is NO_CALLBACK:
        return
    meta = request.meta
    meta["playwright"] = True
    goto = dict(meta.get("playwright_page_goto_kwargs") or {})
    goto.setdefault("wait_until", config.wait_until)
    goto.setdefault("timeout", config.page_timeout)
    meta["playwright_page_goto_kwargs"] = goto
    methods = meta.get("playwright_page_methods") or []
    if isinstance(methods, dict):
        methods = {k: v for k, v in methods.items() if not _is_ours(v)}
    else:
        methods = [m for m in methods if not _is_ours(m)]
    steps = page_steps(config)
    if steps:
        ours = PageMethod(run_page_steps, steps)
        if isinstance(methods, dict):
            methods["c4"] = ours
        else:
            methods.append(ours)
    meta["playwright_page_methods"] = methods
    if config.exclude_all_images:
        current = meta.get("playwright_page_init_callback")
        if current and current != _INIT_CALLBACK:
            meta[_meta.USER_PAGE_INIT] = current
        meta["playwright_page_init_callback"] = _INIT_CALLBACK
    if config.screenshot or config.pdf or config.capture_mhtml:
        meta.setdefault("dont_cache", True)  # the HTTP cache cannot replay captures


def _is_ours(method: Any) -> bool:
    return getattr(method, "method", None) is run_page_steps


async def block_images(page: Page, request: Request) -> None:
    """scrapy-playwright page init callback: abort image downloads on this page.

    Chains the page init callback the request had before c4scrapy set this one.
    """
    user_callback = request.meta.get(_meta.USER_PAGE_INIT)
    if user_callback:
        await load_object(user_callback)(page, request)
    request.meta[_meta.IMAGES_BLOCKED] = 0

    async def abort_images(route: Route) -> None:
        if route.request.resource_type == "image":
            request.meta[_meta.IMAGES_BLOCKED] += 1
            await route.abort("blockedbyclient")
        else:
            await route.fallback()  # on to scrapy-playwright's own route (headers, method)

    await page.route("**/*", abort_images)


# --- in the page ------------------------------------------------------------------------


async def run_page_steps(page: Page, steps: dict[str, Any]) -> dict[str, Any]:
    """The ``PageMethod`` that does ``steps`` on the loaded page; returns a report.

    The report holds counts, timings, the captures (bytes / text) and capture errors;
    ``collect_captures`` moves it onto the PageItem.
    """
    from playwright.async_api import Error as PlaywrightError

    started = time.perf_counter()
    timeout = steps.get("timeout", 30_000)
    report: dict[str, Any] = {}
    if "wait_for" in steps:
        kind, target, wait_ms = steps["wait_for"]
        await _wait_for(page, kind, target, wait_ms)
    if "wait_for_images" in steps:
        report["images_pending"] = await _wait_for_images(page, steps["wait_for_images"])
    if steps.get("process_iframes"):
        report["iframes_merged"] = await _merge_iframes(page, timeout, report)
    if steps.get("remove_overlay_elements"):
        try:
            report["overlays_removed"] = await page.evaluate(_REMOVE_OVERLAYS_JS)
        except PlaywrightError as exc:
            report.setdefault("errors", {})["remove_overlay_elements"] = _first_line(exc)
    captures = (
        ("pdf", True, lambda: page.pdf(print_background=True)),
        ("capture_mhtml", False, lambda: _capture_mhtml(page)),
        ("screenshot", True, lambda: _screenshot(page, timeout, report)),
    )
    for name, heavy, capture in captures:
        if steps.get(name):
            try:
                if heavy:
                    async with CaptureLimits.semaphore():
                        report[name] = await capture()
                else:
                    report[name] = await capture()
            except PlaywrightError as exc:
                report.setdefault("errors", {})[name] = _first_line(exc)
    report["seconds"] = round(time.perf_counter() - started, 3)
    return report


class CaptureLimits:
    """What bounds Chromium's memory on captures, for this process (one browser).

    A full-page screenshot of an 80,000-px page took Chromium ~20 s and ~2.4 GB, one of
    a 190,000-px page did not finish in 30 s. So screenshots stop at
    ``C4_BROWSER_SCREENSHOT_MAX_HEIGHT`` pixels (0: no limit), and at most
    ``C4_BROWSER_CAPTURE_CONCURRENCY`` screenshots and PDFs render at once.
    """

    concurrency = 1
    screenshot_max_height = 20_000
    _semaphore: asyncio.Semaphore | None = None

    @classmethod
    def configure(cls, concurrency: int, screenshot_max_height: int) -> None:
        cls.concurrency, cls.screenshot_max_height = concurrency, screenshot_max_height
        cls._semaphore = None

    @classmethod
    def semaphore(cls) -> asyncio.Semaphore:
        if cls._semaphore is None:
            cls._semaphore = asyncio.Semaphore(cls.concurrency)
        return cls._semaphore


async def _screenshot(page: Page, timeout_ms: int, report: dict[str, Any]) -> bytes:
    """A full-page PNG, cut at ``CaptureLimits.screenshot_max_height`` (the page's full
    height is then reported as ``screenshot_clipped``)."""
    limit = CaptureLimits.screenshot_max_height
    if limit:
        width, height = await page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
        )
        if height > limit:
            report["screenshot_clipped"] = height
            clip = {"x": 0, "y": 0, "width": width, "height": limit}
            return await page.screenshot(full_page=True, clip=clip, type="png", timeout=timeout_ms)
    return await page.screenshot(full_page=True, type="png", timeout=timeout_ms)


async def _wait_for(page: Page, kind: str, target: str, timeout_ms: int) -> None:
    from playwright.async_api import TimeoutError as PlaywrightTimeoutError

    try:
        if kind == "css":
            await page.wait_for_selector(target, timeout=timeout_ms)
        else:
            await page.wait_for_function(target, timeout=timeout_ms, polling=100)
    except PlaywrightTimeoutError:
        raise WaitForTimeout(
            f"wait_for {kind}:{target} was not met within {timeout_ms} ms"
        ) from None


async def _wait_for_images(page: Page, limit_ms: int) -> int:
    """Wait until every eager ``<img>`` is complete and no image request has been in
    flight for a moment (images that scripts add after load start late); at most
    ``limit_ms``. Returns how many images were still loading when it gave up."""
    in_flight: set[PlaywrightRequest] = set()

    def started(request: PlaywrightRequest) -> None:
        if request.resource_type == "image":
            in_flight.add(request)

    def ended(request: PlaywrightRequest) -> None:
        in_flight.discard(request)

    page.on("request", started)
    page.on("requestfinished", ended)
    page.on("requestfailed", ended)
    deadline = time.monotonic() + limit_ms / 1000
    quiet_since: float | None = None
    pending = 0
    try:
        while True:
            pending = await page.evaluate(_IMAGES_LOADING_JS) + len(in_flight)
            now = time.monotonic()
            if pending:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = now
            elif now - quiet_since >= IMAGES_QUIET_SECONDS:
                return 0
            if now >= deadline:
                return pending
            await asyncio.sleep(0.05)
    finally:
        page.remove_listener("request", started)
        page.remove_listener("requestfinished", ended)
        page.remove_listener("requestfailed", ended)


async def _merge_iframes(page: Page, timeout_ms: int, report: dict[str, Any]) -> int:
    """Replace each ``<iframe>`` by a ``div.extracted-iframe-content-N`` holding its body.

    Innermost frames first, so nested iframes end up merged into their parents too.
    """
    from playwright.async_api import Error as PlaywrightError

    await page.wait_for_load_state("load", timeout=timeout_ms)  # every frame is attached
    frames = []
    pending = list(reversed(page.main_frame.child_frames))
    while pending:
        frame = pending.pop()
        frames.append(frame)
        pending.extend(reversed(frame.child_frames))
    merged = 0
    # frames is in document order, children after their parents: merge from the end
    for index, frame in reversed(list(enumerate(frames))):
        if frame.is_detached():
            continue
        try:
            await frame.wait_for_load_state("load", timeout=timeout_ms)
            body = await frame.evaluate(_FRAME_BODY_JS)
            element = await frame.frame_element()
            await element.evaluate(
                _REPLACE_IFRAME_JS, {"html": body, "src": frame.url, "index": index}
            )
            merged += 1
        except PlaywrightError as exc:
            report.setdefault("errors", {}).setdefault("process_iframes", _first_line(exc))
    return merged


async def _capture_mhtml(page: Page) -> str:
    cdp = await page.context.new_cdp_session(page)
    try:
        snapshot = await cdp.send("Page.captureSnapshot", {"format": "mhtml"})
    finally:
        await cdp.detach()
    return str(snapshot["data"])


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


# --- the response: captures onto the PageItem -------------------------------------------


class CaptureStore:
    """Per-crawl state of ``collect_captures`` (``runtime.service(CaptureStore)``): the
    captures directory, warn-once."""

    def __init__(self, runtime: C4Runtime) -> None:
        directory = runtime.settings.browser_captures_dir
        self.directory = Path(directory).expanduser().resolve() if directory else None
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
        self.warned_not_rendered = False

    def save(self, url: str, suffix: str, data: bytes | str) -> str:
        assert self.directory is not None
        path = self.directory / f"{hashlib.sha1(url.encode()).hexdigest()[:20]}.{suffix}"
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8")
        else:
            path.write_bytes(data)
        return str(path)


#: capture step -> (PageItem field, file suffix)
_CAPTURE_FIELDS = {
    "screenshot": ("screenshot", "png"),
    "pdf": ("pdf", "pdf"),
    "capture_mhtml": ("mhtml", "mhtml"),
}


def collect_captures(
    runtime: C4Runtime, response: Response, page: PageItem, config: CrawlerRunConfig
) -> None:
    """Move what the browser produced for ``response`` onto ``page`` (and into stats).

    Sets ``page.screenshot`` / ``pdf`` (base64, or a file path) and ``page.mhtml``, and
    ``page.c4["browser"]``. A page that asked for the browser but came by plain HTTP (the
    handler is not installed) is counted and warned about once.
    """
    store = runtime.service(CaptureStore)
    if "playwright" not in response.flags:
        if config.browser:
            runtime.inc({"browser/not_rendered": 1})
            if not store.warned_not_rendered:
                store.warned_not_rendered = True
                logger.warning(
                    "%s asked for the browser but was downloaded without it: set "
                    "C4_BROWSER_ENABLED=True (or C4_BROWSER=True) so that the add-on installs "
                    "scrapy-playwright's download handler (further pages are only counted)",
                    response.url,
                    extra={"spider": runtime.crawler.spider},
                )
        return
    meta = response.meta
    info: dict[str, Any] = {"rendered": True}
    counts: Counter[str] = Counter({"browser/pages": 1})
    report: dict[str, Any] = {}
    methods = meta.get("playwright_page_methods") or ()
    for method in methods.values() if isinstance(methods, dict) else methods:
        if _is_ours(method) and isinstance(method.result, dict):
            report, method.result = method.result, None  # the bytes leave the request
    if report.get("screenshot_clipped"):
        info["screenshot_clipped"] = report["screenshot_clipped"]
        counts["browser/screenshots_clipped"] += 1
    for key in ("iframes_merged", "overlays_removed", "images_pending"):
        if report.get(key):
            info[key] = report[key]
            counts[f"browser/{key}"] += report[key]
    blocked = meta.pop(_meta.IMAGES_BLOCKED, 0)
    if blocked:
        info["images_blocked"] = blocked
        counts["browser/images_blocked"] += blocked
    if "seconds" in report:
        info["steps_seconds"] = report["seconds"]
    for step, (field, suffix) in _CAPTURE_FIELDS.items():
        data = report.get(step)
        if data is None:
            continue
        if store.directory is not None:
            value = store.save(page.url, suffix, data)
        elif isinstance(data, bytes):
            value = base64.b64encode(data).decode("ascii")
        else:
            value = data
        setattr(page, field, value)
        counts[f"browser/captures/{field}"] += 1
    errors = report.get("errors") or {}
    if errors:
        info["capture_errors"] = errors
        for step in errors:
            counts[f"browser/errors/{step}"] += 1
    page.c4["browser"] = info
    runtime.inc(counts)


# --- JavaScript run in the page ----------------------------------------------------------

_IMAGES_LOADING_JS = """() => Array.from(document.images)
    .filter(img => img.loading !== 'lazy' && (img.currentSrc || img.src) && !img.complete)
    .length"""

#: In the frame: make URLs absolute against the frame (not the parent page), return body.
_FRAME_BODY_JS = """() => {
    const absolute = (value) => {
        try { return new URL(value, document.baseURI).href; } catch (e) { return value; }
    };
    for (const el of document.querySelectorAll('a[href], area[href]')) {
        el.setAttribute('href', absolute(el.getAttribute('href')));
    }
    for (const attr of ['src', 'poster', 'data-src', 'data-lazy-src', 'data-original']) {
        for (const el of document.querySelectorAll(`[${attr}]`)) {
            el.setAttribute(attr, absolute(el.getAttribute(attr)));
        }
    }
    for (const attr of ['srcset', 'data-srcset']) {
        for (const el of document.querySelectorAll(`[${attr}]`)) {
            const parts = el.getAttribute(attr).split(',').map(part => {
                const [url, ...rest] = part.trim().split(/\\s+/);
                return url ? [absolute(url), ...rest].join(' ') : '';
            });
            el.setAttribute(attr, parts.filter(Boolean).join(', '));
        }
    }
    return document.body ? document.body.innerHTML : '';
}"""

#: In the parent frame, on the <iframe> element. The HTML is parsed inertly (DOMParser:
#: scripts do not run) and passed as an argument, never pasted into the script text.
_REPLACE_IFRAME_JS = """(iframe, {html, src, index}) => {
    const div = document.createElement('div');
    div.className = `extracted-iframe-content-${index}`;
    div.setAttribute('data-iframe-src', src);
    const doc = new DOMParser().parseFromString(html, 'text/html');
    div.append(...Array.from(doc.body.childNodes));
    iframe.replaceWith(div);
}"""

#: Removes consent/cookie banners, modals, backdrops and other fixed overlays; returns how
#: many. Unlike Crawl4AI it clicks nothing (a click can navigate away) and keeps fixed
#: navigation bars and anything holding most of the page's text.
_REMOVE_OVERLAYS_JS = """() => {
    const body = document.body;
    if (!body) return 0;
    const vw = window.innerWidth, vh = window.innerHeight;
    const pageText = Math.max((body.innerText || '').length, 1);
    const KNOWN = [
        '#onetrust-consent-sdk', '#onetrust-banner-sdk', '#CybotCookiebotDialog',
        '#usercentrics-root', '#didomi-host', '.qc-cmp2-container', '.fc-consent-root',
        '#cookie-law-info-bar', '.cc-window', '#cmpbox', '#cmpwrapper', '.truste_box_overlay',
        '[aria-modal="true"]', 'dialog[open]',
    ].join(',');
    const HINT = new RegExp(
        'cookie|consent|gdpr|ccpa|privacy-banner|modal|popup|pop-up|overlay|backdrop|' +
        'lightbox|newsletter|subscribe|paywall|interstitial|dialog', 'i');
    const TEXT_HINT = /\\b(cookies?|consent|gdpr)\\b/i;
    const keep = (el) => el === body || el === document.documentElement ||
        (el.innerText || '').length > pageText * 0.5;
    const named = (el) => HINT.test([
        el.id, typeof el.className === 'string' ? el.className : '',
        el.getAttribute('role') || '', el.getAttribute('aria-label') || '',
    ].join(' '));
    const isNav = (el) => /^(HEADER|NAV)$/.test(el.tagName) || el.querySelector('nav') !== null;
    const doomed = new Set();
    for (const el of document.querySelectorAll(KNOWN)) {
        if (!keep(el)) doomed.add(el);
    }
    for (const el of body.querySelectorAll('*')) {
        const style = getComputedStyle(el);
        const z = parseInt(style.zIndex, 10) || 0;
        const floating = style.position === 'fixed' ||
            (style.position === 'absolute' && z >= 1000);
        if (!floating || style.display === 'none' || style.visibility === 'hidden') continue;
        if (keep(el)) continue;
        const box = el.getBoundingClientRect();
        if (box.width === 0 || box.height === 0) continue;
        const covers = box.width >= vw * 0.9 && box.height >= vh * 0.9;
        const talksCookies = TEXT_HINT.test((el.innerText || '').slice(0, 2000));
        if (covers || named(el) || talksCookies || (z >= 1000 && !isNav(el))) doomed.add(el);
    }
    let removed = 0;
    for (const el of doomed) {
        let ancestor = el.parentElement, nested = false;
        while (ancestor) {
            if (doomed.has(ancestor)) { nested = true; break; }
            ancestor = ancestor.parentElement;
        }
        if (!nested) removed += 1;
    }
    for (const el of doomed) el.remove();
    for (const el of [document.documentElement, body]) {
        if (getComputedStyle(el).overflow.includes('hidden')) el.style.overflow = 'visible';
    }
    return removed;
}"""
