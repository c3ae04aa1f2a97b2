"""The browser request as picklable meta, and the steps ``run_page_steps`` does in the page."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import weakref
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy.utils.misc import load_object

from c4scrapy import _meta
from c4scrapy.core.browser_steps import page_steps
from c4scrapy.settings import C4Settings

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from playwright.async_api import FloatRect, Page, Route, WebSocketRoute
    from playwright.async_api import Request as PlaywrightRequest
    from scrapy import Request

    from c4scrapy.core.config import CrawlerRunConfig
    from c4scrapy.guard import AddressGuard

#: wait_for_images returns once no image has been loading for this long (late images
#: start after load).
IMAGES_QUIET_SECONDS = 0.3

_INIT_CALLBACK = "c4scrapy.browser.page.init_page"
#: The private-address guard of each browser request about to be rendered, for its page's
#: WebSockets (``init_page``); held here, not in meta, which must stay picklable.
_SOCKET_GUARDS: weakref.WeakKeyDictionary[Request, AddressGuard] = weakref.WeakKeyDictionary()
_JS_DIR = Path(__file__).resolve().parent / "js"


class WaitForTimeout(Exception):
    """``wait_for`` was not met within ``wait_for_timeout`` (or ``page_timeout``): the page
    fails, as in Crawl4AI, and is not retried (not an OSError, unlike TimeoutError)."""


@cache
def _js(name: str) -> str:
    """A script of ``js/`` (shipped as package data), read once."""
    return (_JS_DIR / f"{name}.js").read_text(encoding="utf-8")


# --- the request ---------------------------------------------------------------------------


def setup_browser_request(
    request: Request, config: CrawlerRunConfig, guard: AddressGuard | None = None
) -> None:
    """Route ``request`` through scrapy-playwright with what ``config`` asks of the page,
    and with ``guard``, its WebSockets through the private-address guard.

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
        methods = {k: v for k, v in methods.items() if not is_ours(v)}
    else:
        methods = [m for m in methods if not is_ours(m)]
    steps = page_steps(config)
    if steps:
        ours = PageMethod(run_page_steps, steps)
        if isinstance(methods, dict):
            methods["c4"] = ours
        else:
            methods.append(ours)
    meta["playwright_page_methods"] = methods
    if config.exclude_all_images:
        meta[_meta.IMAGES_BLOCKED] = 0
    else:
        meta.pop(_meta.IMAGES_BLOCKED, None)
    if guard is not None:
        _SOCKET_GUARDS[request] = guard
        meta["playwright_context_kwargs"] = guarded_context(meta.get("playwright_context_kwargs"))
    if config.exclude_all_images or guard is not None:
        current = meta.get("playwright_page_init_callback")
        if current and current != _INIT_CALLBACK:
            meta[_meta.USER_PAGE_INIT] = current
        meta["playwright_page_init_callback"] = _INIT_CALLBACK
    if config.screenshot or config.pdf or config.capture_mhtml:
        meta.setdefault("dont_cache", True)  # the HTTP cache cannot replay captures


def guarded_context(context_kwargs: dict[str, Any] | None) -> dict[str, Any]:
    """Browser context arguments under which pages register no service worker: its
    requests belong to no page, so Playwright routes none of them past the private-address
    guard. A project that sets ``service_workers`` itself keeps its choice."""
    return {"service_workers": "block", **(context_kwargs or {})}


def is_ours(method: Any) -> bool:
    """``method`` is the PageMethod ``setup_browser_request`` added."""
    return getattr(method, "method", None) is run_page_steps


async def init_page(page: Page, request: Request) -> None:
    """scrapy-playwright page init callback, before the page navigates: its WebSockets
    pass the private-address guard (Playwright routes them apart from requests, which
    ``BrowserRequestFilter`` guards), and with ``exclude_all_images`` its images are
    aborted (counted in ``_c4_images_blocked``).

    Chains the page init callback the request had before c4scrapy set this one.
    """
    user_callback = request.meta.get(_meta.USER_PAGE_INIT)
    if user_callback:
        await load_object(user_callback)(page, request)
    guard = _SOCKET_GUARDS.pop(request, None)
    if guard is not None:

        async def websocket(socket: WebSocketRoute) -> None:
            if await guard.refusal(page.url, socket.url, "the browser's websocket"):
                await socket.close()
            else:
                socket.connect_to_server()

        await page.route_web_socket("**", websocket)
    if _meta.IMAGES_BLOCKED not in request.meta:
        return

    async def abort_images(route: Route) -> None:
        if route.request.resource_type == "image":
            request.meta[_meta.IMAGES_BLOCKED] += 1
            await route.abort("blockedbyclient")
        else:
            await route.fallback()  # on to scrapy-playwright's own route (headers, method)

    await page.route("**/*", abort_images)


# --- capture limits, per browser -------------------------------------------------------------


@dataclasses.dataclass
class CaptureLimits:
    """What bounds Chromium's time and memory on captures, for one browser.

    At most ``concurrency`` screenshots and PDFs render at once in the browser, and
    screenshots stop at ``screenshot_max_height`` pixels (0: no limit).
    """

    concurrency: int
    screenshot_max_height: int
    slots: asyncio.Semaphore = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.slots = asyncio.Semaphore(self.concurrency)

    @classmethod
    def from_settings(cls, settings: C4Settings) -> CaptureLimits:
        return cls(settings.browser_capture_concurrency, settings.browser_screenshot_max_height)


#: Browser (or persistent context) -> its limits; weak, so they go with the browser.
_limits: weakref.WeakKeyDictionary[Any, CaptureLimits] = weakref.WeakKeyDictionary()


def _browser_of(page: Page) -> Any:
    return page.context.browser or page.context


def use_capture_limits(page: Page, limits: CaptureLimits) -> None:
    """Bound the captures of ``page``'s browser by ``limits`` (the first ones set win)."""
    _limits.setdefault(_browser_of(page), limits)


def capture_limits(page: Page) -> CaptureLimits:
    """The limits of ``page``'s browser; the settings' defaults for a browser that c4scrapy's
    download handler did not start."""
    browser = _browser_of(page)
    limits = _limits.get(browser)
    if limits is None:
        limits = _limits[browser] = CaptureLimits.from_settings(C4Settings())
    return limits


# --- in the page ---------------------------------------------------------------------------


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
        # Unlike Crawl4AI it clicks nothing (a click can navigate away) and keeps fixed
        # navigation bars and anything holding most of the page's text.
        try:
            report["overlays_removed"] = await page.evaluate(_js("remove_overlays"))
        except PlaywrightError as exc:
            report.setdefault("errors", {})["remove_overlay_elements"] = _first_line(exc)
    limits = capture_limits(page)
    captures: tuple[tuple[str, bool, Callable[[], Awaitable[Any]]], ...] = (
        ("pdf", True, lambda: page.pdf(print_background=True)),
        ("capture_mhtml", False, lambda: _capture_mhtml(page)),
        ("screenshot", True, lambda: _screenshot(page, limits, timeout, report)),
    )
    waited = spent = 0.0
    for name, heavy, capture in captures:
        if not steps.get(name):
            continue
        try:
            if heavy:
                asked = time.perf_counter()
                async with limits.slots:
                    began = time.perf_counter()
                    waited += began - asked
                    try:
                        report[name] = await capture()
                    finally:
                        spent += time.perf_counter() - began
            else:
                report[name] = await capture()
        except PlaywrightError as exc:
            report.setdefault("errors", {})[name] = _first_line(exc)
    if steps.get("pdf") or steps.get("screenshot"):
        report["capture_wait_seconds"] = round(waited, 3)
        report["capture_seconds"] = round(spent, 3)
    report["seconds"] = round(time.perf_counter() - started, 3)
    return report


async def _screenshot(
    page: Page, limits: CaptureLimits, timeout_ms: int, report: dict[str, Any]
) -> bytes:
    """A full-page PNG, cut at ``limits.screenshot_max_height`` (the page's full height is
    then reported as ``screenshot_clipped``)."""
    if limits.screenshot_max_height:
        width, height = await page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
        )
        if height > limits.screenshot_max_height:
            report["screenshot_clipped"] = height
            clip: FloatRect = {
                "x": 0,
                "y": 0,
                "width": width,
                "height": limits.screenshot_max_height,
            }
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
            pending = await page.evaluate(_js("images_loading")) + len(in_flight)
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

    Innermost frames first, so nested iframes end up merged into their parents too. The
    frame's URLs are made absolute against the frame (``js/frame_body.js``); the parent
    parses the HTML inertly (``js/replace_iframe.js``: DOMParser, scripts do not run).
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
            body = await frame.evaluate(_js("frame_body"))
            element = await frame.frame_element()
            await element.evaluate(
                _js("replace_iframe"), {"html": body, "src": frame.url, "index": index}
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
