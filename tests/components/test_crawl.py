"""In-process crawls: every URL the crawl asks for ends as exactly one PageItem."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import scrapy
from scrapy.utils.defer import deferred_f_from_coro_f

from c4scrapy import ConfigError, CrawlerRunConfig, PageItem
from c4scrapy.spiders.site import SiteSpider
from tests._support.crawling import crawl, crawler_for


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ListSpider(scrapy.Spider):
    """Requests the given ``(path, meta)`` pairs; callbacks and errbacks leave a record."""

    name = "list"

    def __init__(self, base: str, requests: list[tuple[str, dict[str, Any]]], **kwargs: Any):
        super().__init__(**kwargs)
        self.base = base
        self.to_request = requests
        self.saw: dict[str, Any] = {}
        self.errors: dict[str, str] = {}

    async def start(self):
        for path, meta in self.to_request:
            url = path if "://" in path else self.base + path
            yield scrapy.Request(url, meta=meta, callback=self.parse, errback=self.failed)

    def parse(self, response):
        self.saw[response.url] = response.meta.get("c4_page")
        follow = response.meta.get("follow", ())
        for href in follow:
            yield response.follow(href, callback=self.parse, meta={"follow": ()})

    def failed(self, failure):
        self.errors[failure.request.url] = type(failure.value).__name__


@deferred_f_from_coro_f
async def test_each_outcome_is_one_item(site_server, tmp_path):
    site = tmp_path / "site"
    (site / "index.html").write_text("<title>Home</title><p>hello world</p>")
    (site / "data.json").write_text('{"a": 1}')
    site_server.routes["/error.html"] = lambda h: (500, {"Content-Type": "text/html"}, "boom")
    refused = f"http://127.0.0.1:{_closed_port()}/refused.html"
    requests = [
        ("", {}),
        ("gone.html", {}),
        ("error.html", {}),
        ("data.json", {}),
        (refused, {}),
        ("index.html?bad-meta", {"c4": {"css_selectr": "p"}}),
        ("index.html?bad-json", {"c4": "{not json"}),
        ("index.html?opt-out", {"c4": False}),
    ]
    run = await crawl(ListSpider, base=site_server.url, requests=requests)
    pages = run.by_url()
    base = site_server.url
    assert set(pages) == {base + path if "://" not in path else path for path, _ in requests[:-1]}
    assert pages[base].success is True
    assert pages[base].metadata["title"] == "Home"
    assert (pages[base + "gone.html"].status_code, pages[base + "gone.html"].success) == (
        404,
        False,
    )
    assert pages[base + "gone.html"].error_message == "HTTP 404"
    assert pages[base + "error.html"].error_message == "HTTP 500"
    assert pages[base + "data.json"].error_message.startswith("not an HTML response")
    assert pages[refused].status_code is None
    assert "ConnectionRefusedError" in pages[refused].error_message
    bad_meta = pages[base + "index.html?bad-meta"]
    assert bad_meta.error_message.startswith("invalid config: ")
    assert "did you mean 'css_selector'" in bad_meta.error_message
    assert "invalid JSON" in pages[base + "index.html?bad-json"].error_message
    stats = run.stats
    assert stats["c4/pages/failed"] == 6
    assert stats["c4/pages/not_html"] == 1
    assert stats["c4/pages/invalid_config"] == 2
    assert stats["c4/pages/http_status/404"] == 1
    # the stand-in response of the failed download is not counted as a response
    assert stats["downloader/response_count"] == 7
    # callbacks and errbacks still see what they saw without c4scrapy
    spider = run.crawler.spider
    assert isinstance(spider.saw[base], PageItem)
    assert spider.saw[base + "index.html?opt-out"] is None
    assert spider.errors == {
        base + "gone.html": "HttpError",
        base + "error.html": "HttpError",
        refused: "DownloadConnectionRefusedError",
    }


@deferred_f_from_coro_f
async def test_follow_ups_are_filtered_and_never_carry_the_page(site_server, tmp_path):
    (tmp_path / "site" / "index.html").write_text("<a href='/a.html'>a</a>")
    (tmp_path / "site" / "a.html").write_text("<title>A</title>")
    follow = ["https://ads.example.net/x", "https://www.facebook.com/acme", "/a.html"]
    run = await crawl(
        ListSpider,
        {
            "C4_EXCLUDE_DOMAINS": ["ads.example.net"],
            "C4_EXCLUDE_SOCIAL_MEDIA_LINKS": True,
        },
        base=site_server.url,
        requests=[("", {"follow": follow, "c4": {"word_count_threshold": 1}})],
    )
    assert sorted(run.by_url()) == [site_server.url, site_server.url + "a.html"]
    assert run.stats["c4/requests/filtered/domain"] == 1
    assert run.stats["c4/requests/filtered/social"] == 1
    # a follow-up built with meta=response.meta would carry c4_page: the filter drops it
    assert run.by_url()[site_server.url + "a.html"].metadata["title"] == "A"


@deferred_f_from_coro_f
async def test_layers_meet_in_one_crawl(demo_server):
    """settings < spider c4_config < request.meta["c4"], a CrawlerRunConfig layer included."""

    class Layered(ListSpider):
        c4_config = {"exclude_external_links": True}

    run = await crawl(
        Layered,
        {"C4_EXCLUDE_SOCIAL_MEDIA_LINKS": True},
        base=demo_server.url,
        requests=[
            ("", {}),
            ("news.html", {"c4": CrawlerRunConfig(exclude_external_links=False)}),
        ],
    )
    pages = run.by_url()
    assert pages[demo_server.url].links["external"] == []
    external = {link["href"] for link in pages[demo_server.url + "news.html"].links["external"]}
    assert external, "a CrawlerRunConfig layer applies a field even at its default"
    assert not any("twitter.com" in href or "facebook.com" in href for href in external)


@deferred_f_from_coro_f
async def test_emit_items_off_keeps_the_page_for_the_callback(demo_server):
    run = await crawl(
        ListSpider, {"C4_EMIT_ITEMS": False}, base=demo_server.url, requests=[("", {})]
    )
    assert run.items == []
    assert isinstance(run.crawler.spider.saw[demo_server.url], PageItem)
    assert run.stats["c4/pages/extracted"] == 1


@deferred_f_from_coro_f
async def test_disabled_leaves_the_crawl_to_scrapy(demo_server):
    run = await crawl(ListSpider, {"C4_ENABLED": False}, base=demo_server.url, requests=[("", {})])
    assert run.items == []
    assert run.crawler.spider.saw == {demo_server.url: None}
    assert not any(key.startswith("c4/") for key in run.stats)


@deferred_f_from_coro_f
async def test_site_spider_gives_one_item_per_url_on_failures(site_server, tmp_path):
    port = _closed_port()
    site = tmp_path / "site"
    (site / "index.html").write_text(
        f"""<html><body>
        <a href="http://127.0.0.1:{port}/refused.html">refused</a>
        <a href="/slow.html">slow</a>
        <a href="/gone.html">gone</a>
        <a href="/error.html">error</a>
        <a href="/data.json">json</a>
        </body></html>"""
    )
    (site / "data.json").write_text('{"a": 1}')
    site_server.routes["/slow.html"] = lambda h: (200, {"Content-Type": "text/html"}, [5, b"x"])
    site_server.routes["/error.html"] = lambda h: (500, {"Content-Type": "text/html"}, "boom")
    run = await crawl(
        SiteSpider,
        {"DOWNLOAD_TIMEOUT": 0.5, "RETRY_ENABLED": True, "RETRY_TIMES": 1},
        url=site_server.url,
        internal_domains="127.0.0.1",
    )
    pages = run.by_url()
    assert len(pages) == 6
    base = site_server.url
    assert pages[base].success is True
    refused = pages[f"http://127.0.0.1:{port}/refused.html"]
    assert refused.success is False
    assert "ConnectionRefusedError" in refused.error_message
    assert "TimeoutError" in pages[base + "slow.html"].error_message
    assert pages[base + "gone.html"].status_code == 404
    assert pages[base + "error.html"].error_message == "HTTP 500"
    assert pages[base + "data.json"].error_message.startswith("not an HTML response")
    assert run.stats["c4/pages/failed"] == 5
    assert run.stats["retry/count"] >= 2


@pytest.mark.parametrize("meta_refresh", [True, False])
@deferred_f_from_coro_f
async def test_unparsable_base_href_still_gives_one_item_per_url(
    site_server, tmp_path, meta_refresh
):
    site = tmp_path / "site"
    (site / "index.html").write_text('<a href="/bad.html">bad</a><a href="/ok.html">ok</a>')
    (site / "bad.html").write_text(
        '<html><head><base href="http://["></head><body>x</body></html>'
    )
    (site / "ok.html").write_text("<title>ok</title>")
    run = await crawl(SiteSpider, {"METAREFRESH_ENABLED": meta_refresh}, url=site_server.url)
    pages = run.by_url()
    assert len(pages) == 3
    assert pages[site_server.url + "ok.html"].success is True
    assert pages[site_server.url + "bad.html"].url == site_server.url + "bad.html"


@deferred_f_from_coro_f
async def test_a_bad_spider_argument_stops_the_crawl_at_start_up(demo_server):
    crawler, run = crawler_for(SiteSpider)
    with pytest.raises(ConfigError) as info:
        await crawler.crawl_async(url=demo_server.url, exclude_socal_media_links="1")
    assert str(info.value) == (
        "unknown spider argument -a exclude_socal_media_links "
        "(did you mean 'exclude_social_media_links'?)"
    )
    assert run.items == []
