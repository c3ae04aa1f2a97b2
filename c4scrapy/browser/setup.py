"""Add-on time: is the browser wanted, where is Chromium, and the settings that install it."""

from __future__ import annotations

import inspect
import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.utils.misc import load_object

from c4scrapy._runtime import C4Runtime
from c4scrapy.core.exceptions import ConfigError
from c4scrapy.core.layers import config_from_settings, resolve
from c4scrapy.guard import AddressGuard
from c4scrapy.settings import C4Settings

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from playwright.async_api import Request as PlaywrightRequest
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

#: The download handler the add-on installs (imported only when DOWNLOAD_HANDLERS names
#: it: scrapy-playwright's import costs ~0.5 s).
HANDLER = "c4scrapy.browser.handler.BrowserDownloadHandler"
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


class BrowserUnavailable(RuntimeError):
    """The browser is wanted but cannot run (no Chromium, no scrapy-playwright)."""


def browser_wanted(settings: BaseSettings, spider: Any = None) -> bool:
    """True when the crawl may render pages: ``C4_BROWSER_ENABLED`` or a browser config
    (``browser`` true or "auto").

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
    return config.browser is not False  # "auto" renders some pages: the handler is needed


def find_chromium(settings: BaseSettings) -> str | None:
    """The Chromium to launch; ``None`` means the browser ``playwright install`` fetched.

    Raises BrowserUnavailable, naming what was tried, when nothing usable is found or a
    configured path is not an executable.
    """
    configured = (
        ("C4_BROWSER_EXECUTABLE", C4Settings.from_settings(settings).browser_executable),
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


def configure_browser(settings: BaseSettings, crawler: Crawler | None = None) -> str | None:
    """Install the browser download handler and Chromium's launch options (addon priority).

    Project settings win where they are set; launch options are merged (the user's keys
    kept, our flags added); a project's ``PLAYWRIGHT_ABORT_REQUEST`` is asked after
    ``BrowserRequestFilter`` (which guards private addresses with ``crawler``). Returns
    the executable (None: remote or Playwright's own).
    Raises BrowserUnavailable, or ConfigError for a bad browser setting.
    """
    try:
        import scrapy_playwright  # noqa: F401
    except ImportError:
        raise BrowserUnavailable(
            "browser pages need scrapy-playwright: pip install scrapy-playwright"
        ) from None
    c4 = C4Settings.from_settings(settings)
    if not settings.getbool("TWISTED_REACTOR_ENABLED", True):
        raise ConfigError(
            "setting TWISTED_REACTOR_ENABLED: browser pages need Scrapy's asyncio reactor "
            "(scrapy-playwright runs on Twisted), and this crawl runs without one; leave "
            "TWISTED_REACTOR_ENABLED on, or crawl without the browser"
        )
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
    contexts = settings.getdict("PLAYWRIGHT_CONTEXTS")
    if contexts and not c4.allow_private_addresses:
        from c4scrapy.browser.page import guarded_context

        # the project's startup contexts (setup_browser_request sets the others)
        guarded = {name: guarded_context(kwargs) for name, kwargs in contexts.items()}
        _set_over(settings, "PLAYWRIGHT_CONTEXTS", guarded)
    own = settings.get("PLAYWRIGHT_ABORT_REQUEST")
    if not isinstance(own, BrowserRequestFilter):  # not already set up by this add-on
        then = load_object(own) if own else None
        blocker = BrowserRequestFilter(c4.browser_block_resources, crawler, then)
        _set_over(settings, "PLAYWRIGHT_ABORT_REQUEST", blocker)
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


class BrowserRequestFilter:
    """``PLAYWRIGHT_ABORT_REQUEST``: aborts what Chromium requests for a page when it is of
    a blocked resource type (``C4_BROWSER_BLOCK_RESOURCES``), when the private-address
    guard refuses it (from a public page to a non-public address: an image, a script's
    ``fetch``, a frame, a navigation), or when the project's own predicate (``then``)
    says so. Chromium's redirects are not seen here (Playwright does not route them): the
    guard checks where a page ended in ``PrivateAddressMiddleware``; a page's WebSockets
    are guarded by ``c4scrapy.browser.page.init_page``; service workers, whose requests
    Playwright does not route either, are not registered (``service_workers="block"`` in
    the browser contexts)."""

    def __init__(
        self,
        resource_types: Iterable[str] = (),
        crawler: Crawler | None = None,
        then: Callable[[PlaywrightRequest], Any] | None = None,
    ) -> None:
        self.resource_types = frozenset(resource_types)
        self.crawler = crawler
        self.then = then

    async def __call__(self, request: PlaywrightRequest) -> bool:
        if request.resource_type in self.resource_types:
            return True
        if self.crawler is not None:
            origin = _page_url(request)
            if origin is not None:
                guard = C4Runtime.of(self.crawler).service(AddressGuard)
                what = f"the browser's {request.resource_type}"
                if await guard.refusal(origin, request.url, what):
                    return True
        if self.then is not None:
            verdict = self.then(request)
            return bool(await verdict if inspect.isawaitable(verdict) else verdict)
        return False

    def __deepcopy__(self, memo: dict[int, Any]) -> BrowserRequestFilter:
        return self  # a copy of the settings holding it keeps the same crawler's filter

    def __repr__(self) -> str:
        return f"BrowserRequestFilter({sorted(self.resource_types)}, then={self.then!r})"


def _page_url(request: PlaywrightRequest) -> str | None:
    """The URL of the page that made ``request`` (None: no web page yet, or a request of
    a service worker, which has no frame)."""
    try:
        url = request.frame.page.url
    except Exception:  # noqa: BLE001 (playwright's Error: no frame)
        return None
    return url if url.startswith(("http://", "https://")) else None
