"""The private-address guard on the crawl's own redirects, and the site spider's start URL.

The "public" site is ``public.example``, which the guard's resolver maps to a public
address; Scrapy reaches it through an HTTP proxy that is the local test server, so no
request leaves the machine, whatever the guard decides.
"""

from __future__ import annotations

from typing import Any

import pytest
from scrapy import signals
from scrapy.crawler import CrawlerRunner
from scrapy.utils.defer import deferred_f_from_coro_f, maybe_deferred_to_future
from scrapy.utils.test import get_crawler

from c4scrapy.core.exceptions import ConfigError
from c4scrapy.spiders.site import SiteSpider

PUBLIC = "http://public.example"
METADATA = "http://169.254.169.254/latest/meta-data/"


async def _resolve(host: str) -> list[str]:
    if host == "public.example":
        return ["93.184.216.34"]
    raise OSError(f"cannot resolve {host}")


async def _crawl(
    server: Any, monkeypatch: pytest.MonkeyPatch, url: str, **settings: Any
) -> tuple[list[Any], dict[str, Any]]:
    monkeypatch.setenv("http_proxy", server.url)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.setattr("c4scrapy.guard.resolve_host", _resolve)
    runner = CrawlerRunner(
        {
            "ADDONS": {"c4scrapy.Addon": 100},
            "ROBOTSTXT_OBEY": False,
            "TELNETCONSOLE_ENABLED": False,
            "C4_PROGRESS": False,
            "LOG_LEVEL": "INFO",
            **settings,
        }
    )
    crawler = runner.create_crawler(SiteSpider)
    items: list[Any] = []

    def collect(item: Any) -> None:
        items.append(item)

    crawler.signals.connect(collect, signal=signals.item_scraped)  # held weakly: keep it
    await maybe_deferred_to_future(crawler.crawl(url=url, depth=0))
    return items, crawler.stats.get_stats()


def _routes(server: Any) -> None:
    html = {"Content-Type": "text/html"}
    local = server.url + "admin"
    routes = server.routes
    routes[f"{PUBLIC}/metadata"] = lambda h: (302, {"Location": METADATA}, b"")
    routes[f"{PUBLIC}/hop"] = lambda h: (301, {"Location": f"{PUBLIC}/metadata"}, b"")
    routes[f"{PUBLIC}/local"] = lambda h: (307, {"Location": local}, b"")
    routes[METADATA] = lambda h: (200, html, b"<html><body><p>SECRET-KEY</p></body></html>")
    routes["/admin"] = lambda h: (200, html, b"<html><body><p>ADMIN</p></body></html>")


@pytest.mark.parametrize(
    ("path", "target"),
    [("/metadata", "'169.254.169.254'"), ("/hop", "'169.254.169.254'"), ("/local", "127.0.0.1")],
)
@deferred_f_from_coro_f
async def test_a_public_page_cannot_redirect_the_crawl_to_a_private_address(
    site_server, monkeypatch, path, target
):
    _routes(site_server)
    items, stats = await _crawl(site_server, monkeypatch, PUBLIC + path)
    assert len(items) == 1
    item = items[0]
    assert item.url == PUBLIC + path
    assert item.success is False
    assert item.error_message.startswith(
        f"request ignored: refused a redirect from the public {PUBLIC}{path} "
        "to the non-public address"
    )
    assert target in item.error_message
    assert "SECRET-KEY" not in (item.markdown or "")
    assert stats["c4/requests/refused/private_address"] == 1
    assert site_server.hits[METADATA] == site_server.hits["/admin"] == 0


@pytest.mark.parametrize("name", ["C4_ALLOW_PRIVATE_ADDRESSES", "C4_PREVIEW_ALLOW_PRIVATE"])
@deferred_f_from_coro_f
async def test_the_guard_can_be_lifted(site_server, monkeypatch, name):
    _routes(site_server)
    items, stats = await _crawl(site_server, monkeypatch, f"{PUBLIC}/metadata", **{name: True})
    (item,) = items
    assert item.success is True
    assert item.redirected_url == METADATA
    assert "c4/requests/refused/private_address" not in stats


@deferred_f_from_coro_f
async def test_an_intranet_crawl_follows_its_own_redirects(site_server, monkeypatch):
    _routes(site_server)
    old = site_server.url + "old"
    site_server.routes[old] = lambda h: (301, {"Location": "/admin"}, b"")  # through the proxy
    site_server.routes[site_server.url + "admin"] = site_server.routes["/admin"]
    items, stats = await _crawl(site_server, monkeypatch, old)
    (item,) = items
    assert item.success is True
    assert item.redirected_url == site_server.url + "admin"
    assert "c4/requests/refused/private_address" not in stats


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/", "not-a-url", "/relative", "data:,x"]
)
def test_the_site_spider_starts_from_http_urls_only(url):
    crawler = get_crawler(SiteSpider)
    with pytest.raises(ConfigError, match=r"^-a url: expected an absolute") as error:
        SiteSpider.from_crawler(crawler, url=url)
    if ":" in url and "//" in url:
        assert "http or https URL" in str(error.value)
        assert "C4_START_URL_SCHEMES" in str(error.value)


def test_more_start_url_schemes_can_be_allowed():
    crawler = get_crawler(SiteSpider, {"C4_START_URL_SCHEMES": "http,https,file"})
    assert SiteSpider.from_crawler(crawler, url="file:///tmp/x.html").url == "file:///tmp/x.html"
    crawler = get_crawler(SiteSpider, {"C4_START_URL_SCHEMES": ""})
    with pytest.raises(ConfigError, match="C4_START_URL_SCHEMES"):
        SiteSpider.from_crawler(crawler, url="http://example.com/")


@deferred_f_from_coro_f
async def test_the_guard_checks_the_address_scrapy_connects_to(monkeypatch):
    """DNS rebinding against the crawl's own downloads: the guard asks the reactor's
    resolver, whose cache (Scrapy's) then answers the download's connection, so a name
    whose DNS answer turns private after the check is still connected to the checked
    address."""
    from scrapy.resolver import CachingThreadedResolver
    from twisted.internet import defer, reactor
    from twisted.internet.base import ThreadedResolver

    from c4scrapy._runtime import C4Runtime
    from c4scrapy.guard import AddressGuard

    answers = iter(["93.184.216.34", "127.0.0.1", "127.0.0.1"])
    looked_up: list[str] = []

    def dns(self: Any, name: str, timeout: Any = ()) -> Any:
        looked_up.append(name)
        return defer.succeed(next(answers))

    monkeypatch.setattr(ThreadedResolver, "getHostByName", dns)
    CachingThreadedResolver(reactor, 100, 5.0).install_on_reactor()
    guard = C4Runtime.of(get_crawler(settings_dict={"ADDONS": {}})).service(AddressGuard)
    assert await guard.is_public("rebind.example") is True
    # what connectTCP asks when the download of a URL on rebind.example starts
    assert await maybe_deferred_to_future(reactor.resolve("rebind.example")) == "93.184.216.34"
    assert looked_up == ["rebind.example"]


@pytest.mark.parametrize(("window", "lookups"), [(30.0, 1), (0.0, 2)])
@deferred_f_from_coro_f
async def test_a_name_that_did_not_resolve_is_asked_again_later(monkeypatch, window, lookups):
    """A failed look-up counts for UNRESOLVED_SECONDS only (a DNS failure may pass); an
    answer counts for the crawl."""
    from c4scrapy._runtime import C4Runtime
    from c4scrapy.guard import AddressGuard

    monkeypatch.setattr("c4scrapy.guard.UNRESOLVED_SECONDS", window)
    asked: list[str] = []

    async def flaky(host: str) -> list[str]:
        asked.append(host)
        if len(asked) == 1:
            raise OSError("temporary failure in name resolution")
        return ["93.184.216.34"]

    guard = C4Runtime.of(get_crawler(settings_dict={"ADDONS": {}})).service(AddressGuard)
    guard.resolve = flaky
    assert await guard.is_public("flaky.example") is False
    assert await guard.is_public("flaky.example") is (lookups == 2)
    assert len(asked) == lookups
    await guard.is_public("flaky.example")
    assert len(asked) == lookups  # the answer holds
