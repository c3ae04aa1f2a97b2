"""The add-on dropped into an existing Scrapy project: one line in ADDONS (the README's
second way in, as a real ``scrapy crawl``). Start-up checks, C4_EMIT_ITEMS and the add-on's
settings are tested in-process in tests/components."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests._support.crawling import run_crawl

SPIDER = """
import scrapy
from c4scrapy import CrawlerRunConfig


class ShopSpider(scrapy.Spider):
    name = "shop"
    c4_config = {"exclude_domains": ["ads.example.net"]}

    def __init__(self, base=None, **kwargs):
        super().__init__(**kwargs)
        self.base = base

    async def start(self):
        yield scrapy.Request(self.base, callback=self.parse, meta={"c4": {"word_count_threshold": 3}})
        yield scrapy.Request(self.base + "news.html", callback=self.parse,
                             meta={"c4": CrawlerRunConfig(exclude_external_links=True)})
        yield scrapy.Request(self.base + "pricing.html", callback=self.parse, meta={"c4": False})
        yield scrapy.Request(self.base + "docs/", callback=self.parse,
                             meta={"c4": {"css_selector": "div[[["}})
        yield scrapy.Request("http://127.0.0.1:1/refused", callback=self.parse,
                             errback=self.failed)
        yield scrapy.Request(self.base + "missing.html", callback=self.parse,
                             errback=self.failed)

    def parse(self, response):
        page = response.meta.get("c4_page")
        yield {
            "kind": "callback",
            "url": response.url,
            "saw_page": page is not None,
            "page_title": page.metadata.get("title") if page and page.success else None,
            "css_works": response.css("title::text").get(),
        }
        # Follow-ups pass through c4scrapy's filters like through Scrapy's offsite filter.
        yield response.follow("https://ads.example.net/click", callback=self.parse)
        yield response.follow("https://www.facebook.com/x", callback=self.parse)

    def failed(self, failure):
        yield {"kind": "errback", "url": failure.request.url,
               "error": type(failure.value).__name__}
"""


def make_project(root: Path, settings: str = "") -> Path:
    (root / "shop" / "spiders").mkdir(parents=True)
    (root / "scrapy.cfg").write_text("[settings]\ndefault = shop.settings\n")
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "spiders" / "__init__.py").write_text("")
    (root / "shop" / "spiders" / "shop.py").write_text(SPIDER)
    (root / "shop" / "settings.py").write_text(
        textwrap.dedent(
            """
            BOT_NAME = "shop"
            SPIDER_MODULES = ["shop.spiders"]
            ADDONS = {"c4scrapy.Addon": 100}
            """
        )
        + settings
    )
    return root


def test_addon_in_an_existing_project(demo_server, tmp_path):
    project = make_project(tmp_path / "project")
    run = run_crawl(
        tmp_path,
        spider="shop",
        args={"base": demo_server.url},
        settings={"C4_EXCLUDE_SOCIAL_MEDIA_LINKS": "true", "RETRY_ENABLED": "false"},
        cwd=project,
    )
    assert run.returncode == 0, run.log[-3000:]
    pages = [i for i in run.items if "kind" not in i]
    callbacks = [i for i in run.items if i.get("kind") == "callback"]
    errbacks = [i for i in run.items if i.get("kind") == "errback"]
    base = demo_server.url
    by_url = {p["url"]: p for p in pages}
    # one PageItem per requested URL, except the request that opted out with c4=False
    assert sorted(by_url) == sorted(
        [
            base,
            base + "news.html",
            base + "docs/",
            "http://127.0.0.1:1/refused",
            base + "missing.html",
        ]
    )
    assert len(pages) == 5
    # callbacks read this page's extraction; the selector is shared with response.css()
    home_cb = next(c for c in callbacks if c["url"] == base)
    assert home_cb["saw_page"]
    assert home_cb["page_title"] == home_cb["css_works"]
    assert next(c for c in callbacks if c["url"] == base + "pricing.html")["saw_page"] is False
    # errbacks still get the original exceptions
    assert {e["error"] for e in errbacks} == {"DownloadConnectionRefusedError", "HttpError"}
    assert by_url["http://127.0.0.1:1/refused"]["success"] is False
    assert by_url[base + "missing.html"]["status_code"] == 404
    # layers: settings (social filter) < spider c4_config < request.meta["c4"]
    news = by_url[base + "news.html"]
    assert news["links"]["external"] == []
    home_external = {link["href"] for link in by_url[base]["links"]["external"]}
    assert home_external == {"https://github.com/acme/widgets"}
    assert "invalid CSS selector" in by_url[base + "docs/"]["error_message"]
    # follow-up requests were filtered, not crawled
    assert run.stats["c4/requests/filtered/domain"] >= 1
    assert run.stats["c4/requests/filtered/social"] >= 1
    assert not any("ads.example.net" in i.get("url", "") for i in run.items)
