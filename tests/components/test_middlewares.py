"""Both middlewares built from a crawler, driven request by request (no download)."""

from __future__ import annotations

from typing import Any

import pytest
import scrapy
from scrapy import Request
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler
from twisted.internet.error import ConnectionRefusedError

from c4scrapy import CacheMode, CrawlerRunConfig, PageItem
from c4scrapy.middlewares import C4DownloaderMiddleware, C4SpiderMiddleware

URL = "https://shop.example/"
HTML = b"<html><head><title>Shop</title></head><body><a href='/a'>a</a></body></html>"


def _crawler(settings: dict[str, Any] | None = None) -> Any:
    crawler = get_crawler(scrapy.Spider, settings)
    crawler.spider = scrapy.Spider.from_crawler(crawler, name="t")
    crawler.stats.open_spider()
    return crawler


def _html(request: Request, status: int = 200, body: bytes = HTML) -> HtmlResponse:
    return HtmlResponse(request.url, status=status, body=body, request=request)


async def _collect(aiterable: Any) -> list[Any]:
    return [obj async for obj in aiterable]


async def _aiter(objects: list[Any]) -> Any:
    for obj in objects:
        yield obj


@pytest.mark.parametrize("cls", [C4DownloaderMiddleware, C4SpiderMiddleware])
def test_off_when_disabled(cls):
    with pytest.raises(NotConfigured, match="C4_ENABLED=True"):
        build_from_crawler(cls, _crawler({"C4_ENABLED": False}))


@pytest.mark.parametrize(
    ("meta", "dont_cache"),
    [
        ({}, None),
        ({"c4": {"cache_mode": "bypass"}}, True),
        ({"c4": CrawlerRunConfig(cache_mode=CacheMode.DISABLED)}, True),
        ({"c4": {"cache_mode": "read_only"}}, None),
        ({"c4": {"cache_mode": "bypass"}, "dont_cache": False}, False),  # the user's wins
        ({"c4": False}, None),
        ({"c4": {"css_selectr": "p"}}, None),  # reported on the PageItem, not here
    ],
)
def test_process_request_maps_cache_modes(meta, dont_cache):
    mw = build_from_crawler(C4DownloaderMiddleware, _crawler())
    request = Request(URL, meta=meta)
    assert mw.process_request(request) is None
    assert request.meta.get("dont_cache") == dont_cache


def test_a_failed_download_becomes_a_flagged_stand_in_response():
    crawler = _crawler()
    mw = build_from_crawler(C4DownloaderMiddleware, crawler)
    request = Request(URL)
    error = ConnectionRefusedError()
    response = mw.process_exception(request, error)
    assert isinstance(response, Response)
    assert "c4_failure" in response.flags
    assert response.request is request
    assert request.meta["_c4_failure"] is error
    # DownloaderStatsMiddleware counts the stand-in as a response: the counts are corrected
    assert crawler.stats.get_value("downloader/response_count") == -1


@pytest.mark.parametrize(
    ("meta", "error"),
    [
        ({}, IgnoreRequest("Filtered offsite request to 'ads.example'")),
        ({"c4": False}, ConnectionRefusedError()),
        ({"_c4_head": True}, ConnectionRefusedError()),
    ],
    ids=["offsite", "opted-out", "preview"],
)
def test_failures_left_to_scrapy(meta, error):
    mw = build_from_crawler(C4DownloaderMiddleware, _crawler())
    assert mw.process_exception(Request(URL, meta=meta), error) is None


def test_the_page_is_extracted_before_the_callback_and_emitted_first():
    crawler = _crawler()
    mw = build_from_crawler(C4SpiderMiddleware, crawler)
    request = Request(URL)
    response = _html(request)
    assert mw.process_spider_input(response) is None
    page = response.meta["c4_page"]
    assert isinstance(page, PageItem)
    assert (page.success, page.metadata["title"]) == (True, "Shop")
    assert [link["href"] for link in page.links["internal"]] == ["https://shop.example/a"]
    follow = Request(URL + "a", meta=dict(response.meta))
    out = _run(mw.process_spider_output(response, _aiter([{"cb": 1}, follow])))
    assert out[0] is page
    assert out[1] == {"cb": 1}
    assert out[2] is follow
    assert "c4_page" not in follow.meta, "a copy of response.meta must not carry the page"
    assert _run(mw.process_spider_output(response, _aiter([]))) == [], "emitted once"
    assert crawler.stats.get_value("c4/pages/extracted") == 1


def test_a_failed_download_reaches_the_errback_with_its_page():
    crawler = _crawler()
    downloader = build_from_crawler(C4DownloaderMiddleware, crawler)
    mw = build_from_crawler(C4SpiderMiddleware, crawler)
    request = Request(URL)
    error = ConnectionRefusedError()
    response = downloader.process_exception(request, error)
    with pytest.raises(ConnectionRefusedError) as info:
        mw.process_spider_input(response)
    assert info.value is error, "the errback gets the original exception"
    (page,) = mw.process_spider_exception(response, error)
    assert (page.url, page.success, page.status_code) == (URL, False, None)
    assert page.error_message.startswith("ConnectionRefusedError")
    assert mw.process_spider_exception(response, error) is None, "one item per URL"
    assert crawler.stats.get_value("c4/pages/failed") == 1


@pytest.mark.parametrize(
    ("response", "message", "stat"),
    [
        (
            lambda r: TextResponse(
                r.url, body=b"{}", headers={"Content-Type": "application/json"}, request=r
            ),
            "not an HTML response (Content-Type: application/json)",
            "c4/pages/not_html",
        ),
        (lambda r: _html(r, status=404), "HTTP 404", "c4/pages/http_status/404"),
    ],
    ids=["not-html", "404"],
)
def test_failed_pages_are_recorded(response, message, stat):
    crawler = _crawler()
    mw = build_from_crawler(C4SpiderMiddleware, crawler)
    resp = response(Request(URL))
    mw.process_spider_input(resp)
    page = resp.meta["c4_page"]
    assert (page.success, page.error_message) == (False, message)
    assert crawler.stats.get_value(stat) == 1


def test_an_invalid_meta_config_is_a_failed_page_naming_the_key():
    mw = build_from_crawler(C4SpiderMiddleware, _crawler())
    response = _html(Request(URL, meta={"c4": {"word_count_threshold": "many"}}))
    mw.process_spider_input(response)
    page = response.meta["c4_page"]
    assert page.success is False
    assert page.error_message.startswith(
        'invalid config: request.meta["c4"]: word_count_threshold'
    )


def test_a_callback_error_still_emits_the_page_once():
    crawler = _crawler()
    mw = build_from_crawler(C4SpiderMiddleware, crawler)
    response = _html(Request(URL))
    mw.process_spider_input(response)
    (page,) = mw.process_spider_exception(response, ValueError("bug in parse"))
    assert page.success is True
    assert crawler.stats.get_value("spider_exceptions/ValueError") == 1


@pytest.mark.parametrize(
    ("settings", "meta", "kept"),
    [
        ({}, {}, ["https://ads.example.net/x", "https://www.facebook.com/a", URL + "b"]),
        (
            {"C4_EXCLUDE_DOMAINS": ["ads.example.net"]},
            {},
            ["https://www.facebook.com/a", URL + "b"],
        ),
        ({"C4_EXCLUDE_SOCIAL_MEDIA_LINKS": True}, {}, ["https://ads.example.net/x", URL + "b"]),
        ({"C4_EXCLUDE_EXTERNAL_LINKS": True}, {}, [URL + "b"]),
        # the page's own config decides, and a c4=False page is filtered by the crawl's
        ({}, {"c4": {"exclude_external_links": True}}, [URL + "b"]),
        ({"C4_EXCLUDE_EXTERNAL_LINKS": True}, {"c4": False}, [URL + "b"]),
    ],
)
def test_follow_ups_are_filtered_by_the_pages_config(settings, meta, kept):
    crawler = _crawler(settings)
    mw = build_from_crawler(C4SpiderMiddleware, crawler)
    response = _html(Request(URL, meta=meta))
    mw.process_spider_input(response)
    requests = [
        Request(url)
        for url in ("https://ads.example.net/x", "https://www.facebook.com/a", URL + "b")
    ]
    out = _run(mw.process_spider_output(response, _aiter(requests)))
    assert [r.url for r in out if isinstance(r, Request)] == kept


def _run(coro_or_agen: Any) -> list[Any]:
    """Drain an async generator that never awaits anything pending (no reactor needed)."""
    agen = _collect(coro_or_agen)
    try:
        agen.send(None)
    except StopIteration as done:
        return done.value
    raise AssertionError("the middleware awaited something")
