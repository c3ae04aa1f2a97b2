"""The item pipelines built from a crawler: schema extraction (counts, warnings, crawls with
``-a schema``), LLM extraction and link previews (construction and settings)."""

from __future__ import annotations

import json

import pytest
from scrapy.utils.defer import deferred_f_from_coro_f
from scrapy.utils.misc import build_from_crawler, load_object
from scrapy.utils.test import get_crawler

from c4scrapy import ConfigError, CrawlerRunConfig, JsonCssExtractionStrategy, extract_page
from c4scrapy.addon import ITEM_PIPELINES
from c4scrapy.core.page import parse_html
from c4scrapy.pipelines import (
    EMPTY_PAGES_WARNING,
    LLMExtractionPipeline,
    SchemaExtractionPipeline,
)
from c4scrapy.spiders.site import SiteSpider
from tests._support.crawling import crawl, crawler_for

PRODUCTS = """<html><body>
<header><div class="product" data-sku="H0"><h2>Header promo</h2></div></header>
<main>
  <div class="product" data-sku="A1"><h2>Widget <b>Pro</b></h2>
    <span class="price">Price: $19.99</span></div>
  <div class="product" data-sku="B2"><h2>Gadget</h2><span class="price">sold out</span></div>
  <div class="product"></div>
  <a href="/b.html">b</a>
</main>
</body></html>"""

SCHEMA = {
    "name": "Products",
    "baseSelector": "div.product",
    "baseFields": [{"name": "sku", "type": "attribute", "attribute": "data-sku"}],
    "fields": [
        {"name": "title", "selector": "h2", "type": "text"},
        {"name": "price", "selector": ".price", "type": "regex", "pattern": r"\$([0-9.]+)"},
    ],
}


def _pipeline_class(name: str) -> type:
    """A pipeline class as the add-on registers it (wherever its module is)."""
    return next(load_object(path) for path in ITEM_PIPELINES if path.endswith("." + name))


@deferred_f_from_coro_f
async def test_crawl_with_a_schema_argument(site_server, tmp_path):
    """``scrapy crawl site -a schema=FILE -a css_selector=main``: records per page, stats."""
    site = tmp_path / "site"
    (site / "index.html").write_text(PRODUCTS)
    (site / "b.html").write_text("<html><body><main><p>none</p></main></body></html>")
    schema = tmp_path / "products.json"
    schema.write_text(json.dumps(SCHEMA))
    run = await crawl(SiteSpider, url=site_server.url, schema=str(schema), css_selector="main")
    pages = run.by_url()
    home = pages[site_server.url]
    assert json.loads(home.extracted_content) == [
        {"sku": "A1", "title": "Widget Pro", "price": "19.99"},
        {"sku": "B2", "title": "Gadget"},
    ]  # the header's product is outside css_selector; the empty product gives no record
    assert home.c4["schema"]["matched"] == 3
    assert json.loads(pages[site_server.url + "b.html"].extracted_content) == []
    assert run.stats["c4/schema/Products/pages"] == 2
    assert run.stats["c4/schema/Products/items"] == 2
    assert run.stats["c4/schema/Products/empty_pages"] == 1


@deferred_f_from_coro_f
async def test_a_bad_schema_stops_the_crawl_at_start_up(site_server, tmp_path):
    schema = tmp_path / "bad.json"
    bad_field = {"name": "price", "selector": "span..price", "type": "text"}
    schema.write_text(json.dumps({"baseSelector": "div", "fields": [bad_field]}))
    crawler, run = crawler_for(SiteSpider)
    with pytest.raises(ConfigError) as info:
        await crawler.crawl_async(url=site_server.url, schema=str(schema))
    assert "fields[0] ('price'): selector: invalid CSS selector 'span..price'" in str(info.value)
    assert run.items == []
    assert site_server.hits == {}


def test_schema_pipeline_counts_and_warns_once_when_the_base_selector_keeps_missing(caplog):
    crawler = get_crawler(settings_dict={})
    crawler.stats.open_spider()
    pipeline = build_from_crawler(SchemaExtractionPipeline, crawler)
    config = CrawlerRunConfig(
        extraction_strategy=JsonCssExtractionStrategy(
            {
                "name": "Cards",
                "baseSelector": "div.card",
                "fields": [
                    {"name": "t", "selector": "h3", "type": "text"},
                    {"name": "missing", "selector": ".nope", "type": "text"},
                ],
            }
        ),
    )
    pages = ['<div class="card"><h3>x</h3></div>'] + ["<p>no cards</p>"] * (
        EMPTY_PAGES_WARNING + 2
    )
    for i, html in enumerate(pages):
        item = extract_page(html, f"https://a.example/{i}", config)
        item.attach_source(parse_html(html, item.url), config, item.url)
        pipeline.process_item(item)
    assert json.loads(item.extracted_content) == []
    stats = crawler.stats.get_stats()
    assert stats["c4/schema/Cards/pages"] == len(pages)
    assert stats["c4/schema/Cards/items"] == 1
    assert stats["c4/schema/Cards/empty_fields"] == 1
    assert stats["c4/schema/Cards/empty_pages"] == len(pages) - 1
    warnings = [r for r in caplog.records if "matched nothing" in r.getMessage()]
    assert len(warnings) == 1
    failed = extract_page("<div class='card'>x</div>", "https://a.example/f", config)
    failed.success = False
    failed.attach_source(parse_html("<div class='card'>x</div>", failed.url), config, failed.url)
    assert pipeline.process_item(failed).extracted_content is None


@pytest.mark.parametrize("cls", [SchemaExtractionPipeline, LLMExtractionPipeline])
def test_pipelines_leave_other_items_alone(cls):
    pipeline = build_from_crawler(cls, get_crawler(settings_dict={}))
    item = {"kind": "not a page"}
    result = pipeline.process_item(item)
    if hasattr(result, "__await__"):
        result.close()  # the LLM pipeline is async; an item it ignores needs no reactor
        return
    assert result is item


def test_llm_pipeline_takes_its_limits_from_the_settings():
    crawler = get_crawler(
        settings_dict={
            "C4_LLM_CONCURRENCY": "3",
            "C4_LLM_TIMEOUT": "7.5",
            "C4_LLM_MAX_RETRIES": 0,
            "C4_LLM_BACKOFF_BASE_DELAY": "0.5",
            "C4_LLM_BACKOFF_MAX_DELAY": 4,
        }
    )
    client = build_from_crawler(LLMExtractionPipeline, crawler).client
    assert client.concurrency == 3
    assert (client.timeout, client.max_retries) == (7.5, 0)
    assert (client.base_delay, client.max_delay) == (0.5, 4.0)


def test_llm_pipeline_rejects_bad_limits_at_start_up():
    with pytest.raises(ConfigError, match="setting C4_LLM_CONCURRENCY: expected an integer >= 1"):
        build_from_crawler(
            LLMExtractionPipeline, get_crawler(settings_dict={"C4_LLM_CONCURRENCY": 0})
        )


def test_link_preview_pipeline_shares_the_crawls_preview_service():
    cls = _pipeline_class("LinkPreviewPipeline")
    crawler = get_crawler(settings_dict={"C4_PREVIEW_CACHE_SIZE": 12})
    first = build_from_crawler(cls, crawler)
    second = build_from_crawler(cls, crawler)
    assert first.previews is second.previews, "one preview service per crawl"
    assert first.previews.cache_size == 12
    other = build_from_crawler(cls, get_crawler(settings_dict={}))
    assert other.previews is not first.previews


def test_link_preview_pipeline_is_off_with_c4scrapy():
    from scrapy.exceptions import NotConfigured

    cls = _pipeline_class("LinkPreviewPipeline")
    with pytest.raises(NotConfigured):
        build_from_crawler(cls, get_crawler(settings_dict={"C4_ENABLED": False}))
