"""``browser="auto"`` in the downloader middleware: which HTTP responses come back as browser
requests, what a probe teaches a host, and what the PageItem records (no download; the
real Chromium crawls are in tests/e2e/test_browser.py)."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
import scrapy
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.request import request_from_dict
from scrapy.utils.test import get_crawler

from c4scrapy import _meta
from c4scrapy.middlewares import C4DownloaderMiddleware, C4SpiderMiddleware

SSR = (
    b"<html><body><p>" + b"Server-rendered words. " * 60 + b"</p><a href='/a'>a</a></body></html>"
)
SPA = b"<html><body><div id='root'></div><script src='/app.js'></script></body></html>"
RENDERED = SSR.replace(b"</body>", b"<a href='/js-only'>js</a></body>")


class Spider(scrapy.Spider):
    name = "t"

    def parse(self, response: Any) -> None:
        return None


def _middlewares(settings: dict[str, Any] | None = None) -> tuple[Any, Any, Any]:
    # extraction in this process: process_response then never waits, and _fetch runs it
    crawler = get_crawler(
        Spider, {"C4_BROWSER": "auto", "C4_EXTRACT_PROCESSES": 0, **(settings or {})}
    )
    crawler.spider = Spider.from_crawler(crawler)
    crawler.stats.open_spider()
    downloader = build_from_crawler(C4DownloaderMiddleware, crawler)
    spider_mw = build_from_crawler(C4SpiderMiddleware, crawler)
    return crawler, downloader, spider_mw


def _fetch(mw: Any, request: Request, body: bytes, *, rendered: bool = False) -> Any:
    """The request through process_request, a response through process_response."""
    assert mw.process_request(request) is None
    flags = ["playwright"] if rendered else []
    response = HtmlResponse(request.url, body=body, flags=flags)
    coroutine = mw.process_response(request, response)
    with pytest.raises(StopIteration) as done:
        coroutine.send(None)  # no extraction process: nothing to wait for
    return done.value.value


def _request(url: str, spider: Spider) -> Request:
    return Request(url, callback=spider.parse, meta={"c4": {}})


def test_a_page_with_a_signal_comes_back_as_a_browser_request():
    crawler, mw, _ = _middlewares({"C4_BROWSER_AUTO_PROBES": 0})
    request = _request("https://app.example/page", crawler.spider)
    again = _fetch(mw, request, SPA)
    assert isinstance(again, Request)
    assert again.url == request.url
    assert again.callback == request.callback
    assert again.dont_filter
    marker = again.meta[_meta.RENDER]
    assert marker["mode"] == "browser"
    assert marker["reason"] == "app_root"
    assert marker["http"] == {"text": 0, "links": 0}
    # JOBDIR and scrapy-redis: the re-request serialises and comes back the same
    restored = request_from_dict(
        pickle.loads(pickle.dumps(again.to_dict(spider=crawler.spider))), spider=crawler.spider
    )
    assert restored.meta[_meta.RENDER] == marker
    assert restored.dont_filter
    # on its way down it is set up for the browser
    assert mw.process_request(again) is None
    assert again.meta["playwright"] is True
    assert again.meta["dont_cache"] is True  # a cached HTTP answer would come back


def test_a_page_without_a_signal_stays_http():
    crawler, mw, _ = _middlewares({"C4_BROWSER_AUTO_PROBES": 0})
    request = _request("https://news.example/a", crawler.spider)
    response = _fetch(mw, request, SSR)
    assert isinstance(response, HtmlResponse)
    assert "playwright" not in request.meta
    assert request.meta[_meta.RENDER] == {"mode": "http", "reason": "no_signal"}


def test_probes_teach_the_host():
    crawler, mw, _ = _middlewares({"C4_BROWSER_AUTO_PROBES": 1})
    spider = crawler.spider
    probe = _fetch(mw, _request("https://shop.example/1", spider), SSR)
    assert probe.meta[_meta.RENDER]["reason"] == "probe"
    # while the probe renders, the host's other pages go over HTTP
    assert isinstance(_fetch(mw, _request("https://shop.example/2", spider), SSR), HtmlResponse)
    _fetch(mw, probe, RENDERED, rendered=True)  # one more link in the browser
    assert crawler.stats.get_value("c4/render/hosts/browser") == 1
    later = _request("https://shop.example/3", spider)
    assert mw.process_request(later) is None
    assert later.meta["playwright"] is True
    assert later.meta[_meta.RENDER] == {"mode": "browser", "reason": "site"}
    # another host learns on its own
    other = _fetch(mw, _request("https://blog.example/1", spider), SSR)
    assert other.meta[_meta.RENDER]["reason"] == "probe"
    _fetch(mw, other, SSR, rendered=True)  # the same in the browser
    assert crawler.stats.get_value("c4/render/hosts/http") == 1
    assert isinstance(_fetch(mw, _request("https://blog.example/2", spider), SSR), HtmlResponse)


def test_captures_go_straight_to_the_browser():
    crawler, mw, _ = _middlewares()
    request = Request("https://a.example/", callback=crawler.spider.parse)
    request.meta["c4"] = {"screenshot": True}
    assert mw.process_request(request) is None
    assert request.meta["playwright"] is True
    assert request.meta[_meta.RENDER]["reason"] == "captures"


def test_no_browser_handler_does_not_loop():
    """A browser request answered over HTTP (no browser handler) is extracted as it is."""
    crawler, mw, _ = _middlewares({"C4_BROWSER_AUTO_PROBES": 0})
    again = _fetch(mw, _request("https://app.example/", crawler.spider), SPA)
    assert isinstance(_fetch(mw, again, SPA), HtmlResponse)
    assert again.meta[_meta.RENDER] == {"mode": "http", "reason": "no_browser"}


@pytest.mark.parametrize(
    ("browser", "rendered", "marker", "expected"),
    [
        ("auto", False, {"mode": "http", "reason": "no_signal"}, ("http", "no_signal")),
        ("auto", True, {"mode": "browser", "reason": "app_root"}, ("browser", "app_root")),
        (True, True, None, ("browser", "always")),
        (False, False, None, None),
    ],
)
def test_the_item_records_the_way(browser, rendered, marker, expected):
    crawler, _, spider_mw = _middlewares({"C4_BROWSER": browser})
    meta: dict[str, Any] = {"c4": {}}
    if marker is not None:
        meta[_meta.RENDER] = marker
    request = Request("https://a.example/", meta=meta)
    flags = ["playwright"] if rendered else []
    response = HtmlResponse(request.url, body=SSR, request=request, flags=flags)
    spider_mw.process_spider_input(response)
    page = response.meta[_meta.PAGE]
    if expected is None:
        assert "render" not in page.c4
        assert crawler.stats.get_value("c4/render/http") is None
        return
    mode, reason = expected
    assert page.c4["render"] == {"mode": mode, "reason": reason}
    assert crawler.stats.get_value(f"c4/render/{mode}") == 1
    assert crawler.stats.get_value(f"c4/render/reason/{reason}") == 1
