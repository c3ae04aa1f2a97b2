"""Browser set-up without a browser: finding Chromium, installing the handler, request meta,
and the scrapy-playwright internals the handler builds on."""

from __future__ import annotations

import inspect
import pickle
import stat
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import scrapy
from scrapy import signals
from scrapy.http.request import NO_CALLBACK
from scrapy.settings import Settings
from scrapy.utils.defer import deferred_f_from_coro_f
from scrapy.utils.misc import load_object
from scrapy.utils.request import request_from_dict
from scrapy.utils.test import get_crawler
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler
from scrapy_playwright.page import PageMethod

from c4scrapy._runtime import C4Runtime
from c4scrapy.browser.page import run_page_steps, setup_browser_request
from c4scrapy.browser.setup import (
    HANDLER,
    BrowserRequestFilter,
    BrowserUnavailable,
    browser_wanted,
    configure_browser,
    find_chromium,
)
from c4scrapy.core.config import ConfigError, CrawlerRunConfig
from c4scrapy.guard import AddressGuard

# --- start-up: finding Chromium, installing the handler ---------------------------------


def _executable(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.mark.parametrize(
    ("settings", "on_path", "expected"),
    [
        ({"C4_BROWSER_EXECUTABLE": "custom/chrome", "launch": "other/chrome"}, True, "custom"),
        ({"launch": "other/chrome"}, True, "other"),
        ({}, True, "path"),
        ({}, False, "error: no Chromium found; tried: C4_BROWSER_EXECUTABLE"),
        ({"C4_BROWSER_EXECUTABLE": "/nowhere/chrome"}, True, "error: '/nowhere/chrome'"),
    ],
)
def test_find_chromium_order(tmp_path, monkeypatch, settings, on_path, expected):
    custom = _executable(tmp_path / "custom" / "chrome")
    other = _executable(tmp_path / "other" / "chrome")
    on_path_dir = tmp_path / "bin"
    _executable(on_path_dir / "chromium")
    monkeypatch.setenv("PATH", str(on_path_dir) if on_path else str(tmp_path / "empty"))
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "no-downloads"))
    values: dict[str, Any] = {}
    if "C4_BROWSER_EXECUTABLE" in settings:
        value = settings["C4_BROWSER_EXECUTABLE"]
        values["C4_BROWSER_EXECUTABLE"] = custom if value == "custom/chrome" else value
    if "launch" in settings:
        values["PLAYWRIGHT_LAUNCH_OPTIONS"] = {"executable_path": other}
    if expected.startswith("error"):
        with pytest.raises(BrowserUnavailable) as raised:
            find_chromium(Settings(values))
        for part in expected.removeprefix("error: ").split("; "):
            assert part in str(raised.value)
        return
    found = find_chromium(Settings(values))
    assert (
        found
        == {"custom": custom, "other": other, "path": str(on_path_dir / "chromium")}[expected]
    )


@pytest.mark.parametrize(
    ("settings", "spider_config", "wanted"),
    [
        ({}, None, False),
        ({"C4_BROWSER": "true"}, None, True),
        ({"C4_BROWSER_ENABLED": "true"}, None, True),
        ({}, {"browser": "true"}, True),
        ({"C4_BROWSER": "true"}, {"browser": False}, False),
        ({"C4_ENABLED": False, "C4_BROWSER": True}, None, False),
        ({"C4_BROWSER": "maybe"}, None, False),  # invalid: the middlewares report it
        ({"C4_BROWSER": "auto"}, None, True),  # "auto" renders some pages
        ({}, {"browser": "auto"}, True),
        ({"C4_BROWSER": "auto"}, {"browser": "false"}, False),
    ],
)
def test_browser_wanted(settings, spider_config, wanted):
    spider = type("Spider", (), {"c4_config": spider_config})()
    assert browser_wanted(Settings(settings), spider) is wanted


def test_configure_browser_keeps_the_users_settings(tmp_path, monkeypatch):
    chromium = _executable(tmp_path / "bin" / "chromium")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    settings = Settings()
    settings.set(
        "PLAYWRIGHT_LAUNCH_OPTIONS", {"args": ["--lang=de"], "slow_mo": 5}, priority="project"
    )
    settings.set("C4_BROWSER_BLOCK_RESOURCES", "image,font", priority="project")
    settings["DOWNLOAD_HANDLERS"].set("https", "my.own.Handler", priority="project")
    configure_browser(settings)
    options = settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS")
    assert options["executable_path"] == chromium
    assert options["slow_mo"] == 5
    assert options["headless"] is True
    assert "--lang=de" in options["args"]
    assert "--disable-gpu" in options["args"]
    assert settings["DOWNLOAD_HANDLERS"]["http"] == HANDLER
    assert settings["DOWNLOAD_HANDLERS"]["https"] == "my.own.Handler"
    blocker = settings["PLAYWRIGHT_ABORT_REQUEST"]
    assert isinstance(blocker, BrowserRequestFilter)
    assert blocker.resource_types == {"image", "font"}
    assert blocker.then is None


class _ChromiumRequest:
    """What BrowserRequestFilter reads of a Playwright request."""

    def __init__(self, url: str, page_url: str | None, resource_type: str = "fetch") -> None:
        self.url = url
        self.resource_type = resource_type
        self._page_url = page_url

    @property
    def frame(self) -> Any:
        if self._page_url is None:
            raise RuntimeError("Service Worker requests do not have an associated frame")
        return SimpleNamespace(page=SimpleNamespace(url=self._page_url))


async def _public_example(host: str) -> list[str]:
    if host == "public.example":
        return ["93.184.216.34"]
    raise OSError(f"cannot resolve {host}")


def _filter(then: Any = None, **settings: Any) -> BrowserRequestFilter:
    crawler = get_crawler(settings_dict=settings)
    crawler.stats.open_spider()
    C4Runtime.of(crawler).service(AddressGuard).resolve = _public_example
    return BrowserRequestFilter({"image"}, crawler, then)


@pytest.mark.parametrize(
    ("url", "page_url", "resource_type", "aborted"),
    [
        ("http://public.example/a.png", "http://public.example/", "image", True),
        ("http://127.0.0.1/admin", "http://public.example/", "fetch", True),
        ("http://169.254.169.254/latest/", "http://public.example/", "document", True),
        ("http://[::ffff:10.0.0.1]/", "https://public.example/x", "script", True),
        ("http://intranet/", "http://public.example/", "fetch", True),  # does not resolve
        ("http://public.example/api", "http://public.example/", "fetch", False),
        ("http://127.0.0.1/admin", "http://10.0.0.1/", "fetch", False),  # a private page
        ("http://127.0.0.1/admin", "about:blank", "document", False),  # the page's own request
        ("http://127.0.0.1/admin", None, "fetch", False),  # a service worker's: no page
    ],
)
@deferred_f_from_coro_f
async def test_browser_requests_pass_the_private_address_guard(
    url, page_url, resource_type, aborted
):
    blocker = _filter()
    assert await blocker(_ChromiumRequest(url, page_url, resource_type)) is aborted
    refused = blocker.crawler.stats.get_value("c4/requests/refused/private_address")
    assert refused == (1 if aborted and resource_type != "image" else None)


@deferred_f_from_coro_f
async def test_browser_requests_allowed_private_and_the_projects_own_predicate():
    asked: list[str] = []

    async def own(request: Any) -> bool:
        asked.append(request.url)
        return request.url.endswith(".css")

    blocker = _filter(own, C4_ALLOW_PRIVATE_ADDRESSES=True)
    page = "http://public.example/"
    assert await blocker(_ChromiumRequest("http://127.0.0.1/admin", page)) is False
    assert await blocker(_ChromiumRequest("http://public.example/s.css", page)) is True
    assert await blocker(_ChromiumRequest("http://public.example/i.png", page, "image"))
    assert asked == ["http://127.0.0.1/admin", "http://public.example/s.css"]
    assert _filter(lambda request: True).then is not None
    assert await _filter(lambda request: True)(_ChromiumRequest("http://x/", page)) is True


def test_the_projects_abort_predicate_is_kept(tmp_path, monkeypatch):
    _executable(tmp_path / "bin" / "chromium")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    settings = Settings({"PLAYWRIGHT_ABORT_REQUEST": "builtins.callable"})
    configure_browser(settings)
    blocker = settings["PLAYWRIGHT_ABORT_REQUEST"]
    assert isinstance(blocker, BrowserRequestFilter)
    assert blocker.then is callable
    configure_browser(settings)  # again (a second add-on pass): not wrapped twice
    assert settings["PLAYWRIGHT_ABORT_REQUEST"] is blocker


def test_the_browser_without_a_reactor_is_refused(tmp_path, monkeypatch):
    """scrapy-playwright needs Scrapy's asyncio reactor; in reactorless mode Scrapy would
    also put its own handler back over the add-on's."""
    _executable(tmp_path / "bin" / "chromium")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(ConfigError, match=r"setting TWISTED_REACTOR_ENABLED: browser pages need"):
        configure_browser(Settings({"TWISTED_REACTOR_ENABLED": False}))


def test_block_resources_rejects_unknown_types(tmp_path, monkeypatch):
    _executable(tmp_path / "bin" / "chromium")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(ConfigError, match=r"C4_BROWSER_BLOCK_RESOURCES.*'document'"):
        configure_browser(Settings({"C4_BROWSER_BLOCK_RESOURCES": ["image", "document"]}))


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("C4_BROWSER_CAPTURE_CONCURRENCY", "0"),
        ("C4_BROWSER_CAPTURE_CONCURRENCY", "two"),
        ("C4_BROWSER_SCREENSHOT_MAX_HEIGHT", "-1"),
        ("C4_BROWSER_SCREENSHOT_MAX_HEIGHT", "tall"),
    ],
)
def test_capture_limits_are_validated(tmp_path, monkeypatch, setting, value):
    _executable(tmp_path / "bin" / "chromium")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(ConfigError, match=f"setting {setting}: expected an integer"):
        configure_browser(Settings({setting: value}))


@pytest.mark.parametrize(
    ("allow_private", "expected"),
    [
        (False, {"a": {"service_workers": "block"}, "b": {"service_workers": "allow"}}),
        (True, {"a": {}, "b": {"service_workers": "allow"}}),
    ],
)
def test_the_projects_startup_contexts_register_no_service_worker(
    tmp_path, monkeypatch, allow_private, expected
):
    """A service worker's requests are never routed past the private-address guard."""
    _executable(tmp_path / "bin" / "chromium")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    settings = Settings({"C4_ALLOW_PRIVATE_ADDRESSES": allow_private})
    contexts = {"a": {}, "b": {"service_workers": "allow"}}
    settings.set("PLAYWRIGHT_CONTEXTS", contexts, priority="project")
    configure_browser(settings)
    assert settings.getdict("PLAYWRIGHT_CONTEXTS") == expected


# --- the request: picklable meta ---------------------------------------------------------


def test_browser_request_meta_is_picklable_and_set_up_once():
    config = CrawlerRunConfig(
        browser=True,
        wait_for="css:#ready",
        wait_for_timeout=2000,
        wait_for_images=True,
        page_timeout=5000,
        screenshot=True,
        pdf=True,
        capture_mhtml=True,
        process_iframes=True,
        remove_overlay_elements=True,
        exclude_all_images=True,
    )
    users_method = PageMethod("wait_for_timeout", 10)
    request = scrapy.Request(
        "https://example.com/",
        meta={
            "playwright_page_methods": [users_method],
            "playwright_page_init_callback": "my.project.init_page",
        },
    )
    setup_browser_request(request, config)
    setup_browser_request(request, config)  # a retry goes through the middleware again
    meta = request.meta
    assert meta["playwright"] is True
    assert meta["playwright_page_goto_kwargs"] == {
        "wait_until": "domcontentloaded",
        "timeout": 5000,
    }
    first, ours = meta["playwright_page_methods"]
    assert first is users_method
    assert ours.method is run_page_steps
    assert ours.args[0] == {
        "wait_for": ["css", "#ready", 2000],
        "wait_for_images": 5000,
        "process_iframes": True,
        "remove_overlay_elements": True,
        "pdf": True,
        "capture_mhtml": True,
        "screenshot": True,
        "timeout": 5000,
    }
    assert meta["playwright_page_init_callback"] == "c4scrapy.browser.page.init_page"
    assert meta["_c4_user_page_init_callback"] == "my.project.init_page"
    assert meta["dont_cache"] is True
    copy = request_from_dict(pickle.loads(pickle.dumps(request.to_dict())))
    assert copy.meta["playwright_page_methods"][1].method is run_page_steps

    side_download = scrapy.Request("https://example.com/robots.txt", callback=NO_CALLBACK)
    setup_browser_request(side_download, config)
    assert "playwright" not in side_download.meta


@pytest.mark.parametrize(
    ("guarded", "users", "expected"),
    [
        (True, None, {"service_workers": "block"}),
        (True, {"locale": "de-DE"}, {"locale": "de-DE", "service_workers": "block"}),
        (True, {"service_workers": "allow"}, {"service_workers": "allow"}),  # theirs
        (False, None, None),  # C4_ALLOW_PRIVATE_ADDRESSES: nothing to guard
    ],
)
def test_a_guarded_browser_request_opens_a_context_without_service_workers(
    guarded, users, expected
):
    meta = {} if users is None else {"playwright_context_kwargs": dict(users)}
    request = scrapy.Request("https://example.com/", meta=meta)
    guard = C4Runtime.of(get_crawler()).service(AddressGuard) if guarded else None
    setup_browser_request(request, CrawlerRunConfig(browser=True), guard)
    assert request.meta.get("playwright_context_kwargs") == expected


# --- the handler: scrapy-playwright's private methods it overrides ------------------------


@pytest.mark.parametrize(
    ("name", "parameters"),
    [
        ("_create_page", ["self", "request", "spider"]),
        ("_download_request", ["self", "request", "spider"]),
        ("_browser_disconnected_callback", ["self"]),
        ("_create_browser_context", ["self", "name", "context_kwargs", "spider"]),
    ],
)
def test_overridden_scrapy_playwright_methods_exist(name, parameters):
    """A scrapy-playwright release that renames or reshapes these breaks the handler."""
    from c4scrapy.browser.handler import OVERRIDDEN, BrowserDownloadHandler

    assert name in OVERRIDDEN
    assert name in BrowserDownloadHandler.__dict__
    theirs = getattr(ScrapyPlaywrightDownloadHandler, name)
    assert inspect.iscoroutinefunction(theirs)
    assert list(inspect.signature(theirs).parameters) == parameters


def test_the_handler_path_names_the_handler():
    from c4scrapy.browser.handler import OVERRIDDEN, BrowserDownloadHandler

    assert load_object(HANDLER) is BrowserDownloadHandler
    assert issubclass(BrowserDownloadHandler, ScrapyPlaywrightDownloadHandler)
    assert set(OVERRIDDEN) <= set(BrowserDownloadHandler.__dict__)


@pytest.mark.parametrize(
    ("settings", "proxied"),
    [
        ({}, True),
        ({"PLAYWRIGHT_LAUNCH_OPTIONS": {"args": ["--mute-audio"]}}, True),
        ({"C4_ALLOW_PRIVATE_ADDRESSES": True}, False),
        ({"PLAYWRIGHT_LAUNCH_OPTIONS": {"proxy": {"server": "http://proxy.example:3128"}}}, False),
        (
            {"PLAYWRIGHT_LAUNCH_OPTIONS": {"args": ["--proxy-server=socks5://127.0.0.1:9050"]}},
            False,
        ),
        ({"PLAYWRIGHT_LAUNCH_OPTIONS": {"args": ["--proxy-pac-url=http://x/p.pac"]}}, False),
        ({"PLAYWRIGHT_CDP_URL": "http://127.0.0.1:9222"}, False),
    ],
)
def test_chromium_is_launched_behind_the_guard_proxy_unless(settings, proxied):
    """The guard's proxy, unless the guard is off, the project's own proxy resolves the
    names, or the browser is remote (and cannot reach 127.0.0.1 here)."""
    from c4scrapy.browser.handler import BrowserDownloadHandler

    crawler = get_crawler(settings_dict=settings)
    handler = BrowserDownloadHandler.from_crawler(crawler)
    proxy = handler.config.launch_options.get("proxy")
    if proxied:
        assert proxy is not None
        assert proxy["server"].startswith("http://127.0.0.1:")
        assert settings.get("PLAYWRIGHT_LAUNCH_OPTIONS", {}).get("args", []) == (
            handler.config.launch_options.get("args", [])
        )
    else:
        assert proxy == settings.get("PLAYWRIGHT_LAUNCH_OPTIONS", {}).get("proxy")
    crawler.signals.send_catch_log(signals.engine_stopped)  # the proxy's socket closes


@deferred_f_from_coro_f
async def test_one_handler_serves_both_schemes():
    """Scrapy builds a download handler per scheme: both get the crawl's one handler (one
    browser), which closes once however many schemes close it."""
    from c4scrapy.browser.handler import BrowserDownloadHandler

    crawler, other = get_crawler(), get_crawler()
    handler = BrowserDownloadHandler.from_crawler(crawler)
    assert BrowserDownloadHandler.from_crawler(crawler) is handler
    assert BrowserDownloadHandler.from_crawler(other) is not handler
    for _ in ("http", "https"):
        await handler.close()  # nothing launched: nothing to close, and no error twice
    for crawler_ in (crawler, other):
        crawler_.signals.send_catch_log(signals.engine_stopped)
