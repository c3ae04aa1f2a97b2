"""``C4Runtime``: one per crawler, independent between crawlers, dropped at spider_closed,
and the config layers of each request."""

from __future__ import annotations

from typing import Any

import pytest
import scrapy
from scrapy import Request, signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from c4scrapy import ConfigError, CrawlerRunConfig
from c4scrapy._runtime import C4Runtime


class Spider(scrapy.Spider):
    name = "layers"
    c4_config: Any = {"word_count_threshold": 5, "exclude_external_links": True}


def _runtime(settings: dict[str, Any] | None = None, spidercls: type = Spider) -> C4Runtime:
    crawler = get_crawler(spidercls, settings)
    crawler.spider = spidercls.from_crawler(crawler)
    return C4Runtime.of(crawler)


class Service:
    def __init__(self, runtime: C4Runtime) -> None:
        self.runtime = runtime
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_one_runtime_per_crawler_and_crawlers_are_independent():
    first = _runtime({"C4_WORD_COUNT_THRESHOLD": 1, "C4_PREVIEW_CACHE_SIZE": 3})
    second = _runtime({"C4_EXCLUDE_SOCIAL_MEDIA_LINKS": True})
    assert C4Runtime.of(first.crawler) is first
    assert first is not second
    assert first.settings.preview_cache_size == 3
    assert second.settings.preview_cache_size == 5000
    assert not first.config.exclude_social_media_links
    assert second.config.exclude_social_media_links
    assert first.service(Service) is first.service(Service)
    assert first.service(Service) is not second.service(Service)
    assert first.urls is not second.urls


def test_spider_closed_drops_services_and_caches():
    runtime = _runtime()
    other = _runtime()
    service = runtime.service(Service)
    other_service = other.service(Service)
    runtime.crawler.signals.send_catch_log(
        signals.spider_closed, spider=runtime.crawler.spider, reason="finished"
    )
    assert service.closed
    assert not other_service.closed, "another crawl's runtime is untouched"
    fresh = C4Runtime.of(runtime.crawler)
    assert fresh is not runtime, "a new crawl starts afresh"
    assert fresh.urls is not runtime.urls
    assert fresh.service(Service) is not service
    assert C4Runtime.of(other.crawler) is other


def test_disabled_components_are_not_configured():
    crawler = get_crawler(settings_dict={"C4_ENABLED": False})
    with pytest.raises(NotConfigured, match="C4_ENABLED=True"):
        C4Runtime.enabled_for(crawler)
    assert not C4Runtime.of(crawler).applies_to(Request("https://a.example/"))


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        # no meta: settings (threshold 1) < spider (threshold 5, external links out)
        ({}, {"word_count_threshold": 5, "exclude_external_links": True}),
        ({"c4": None}, {"word_count_threshold": 5}),
        ({"c4": True}, {"word_count_threshold": 5}),
        ({"c4": {"word_count_threshold": 9}}, {"word_count_threshold": 9}),
        ({"c4": '{"word_count_threshold": "7"}'}, {"word_count_threshold": 7}),
        # a CrawlerRunConfig layer applies the fields it was given, even at their defaults
        (
            {"c4": CrawlerRunConfig(exclude_external_links=False)},
            {"exclude_external_links": False, "word_count_threshold": 5},
        ),
        (
            {"c4": CrawlerRunConfig(word_count_threshold=1)},
            {"word_count_threshold": 1, "exclude_external_links": True},
        ),
        ({"c4": {"exclude_social_media_links": False}}, {"exclude_social_media_links": False}),
        ({}, {"exclude_social_media_links": True}),
    ],
)
def test_config_for_lays_meta_over_spider_over_settings(meta, expected):
    runtime = _runtime({"C4_WORD_COUNT_THRESHOLD": 1, "C4_EXCLUDE_SOCIAL_MEDIA_LINKS": True})
    config = runtime.config_for(Request("https://a.example/", meta=meta))
    assert {name: getattr(config, name) for name in expected} == expected


@pytest.mark.parametrize(
    ("c4", "message"),
    [
        (
            {"css_selectr": "p"},
            "request.meta[\"c4\"]: unknown CrawlerRunConfig field 'css_selectr'",
        ),
        ("{nope", 'request.meta["c4"]: invalid JSON'),
        ({"word_count_threshold": "many"}, "word_count_threshold: expected an integer"),
        (42, 'request.meta["c4"]: expected a CrawlerRunConfig or a dict, got int'),
    ],
)
def test_bad_meta_names_the_key(c4, message):
    runtime = _runtime()
    with pytest.raises(ConfigError) as info:
        runtime.config_for(Request("https://a.example/", meta={"c4": c4}))
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("c4_config", "message"),
    [
        ({"word_count_treshold": 1}, "spider layers c4_config: unknown CrawlerRunConfig field"),
        ("[1]", "spider layers c4_config: expected a CrawlerRunConfig or a dict"),
    ],
)
def test_bad_spider_config_stops_the_crawl(c4_config, message):
    class Bad(Spider):
        pass

    Bad.c4_config = c4_config
    with pytest.raises(ConfigError) as info:
        _runtime(spidercls=Bad)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("meta", "applies"),
    [({}, True), ({"c4": False}, False), ({"c4": {}}, True), ({"_c4_head": True}, False)],
)
def test_applies_to(meta, applies):
    assert _runtime().applies_to(Request("https://a.example/", meta=meta)) is applies


def test_inc_adds_under_the_prefix_and_skips_zeros():
    runtime = _runtime()
    runtime.crawler.stats.open_spider()
    runtime.inc({"pages/extracted": 2, "pages/failed": 0})
    runtime.inc({"pages/extracted": 1})
    stats = runtime.crawler.stats.get_stats()
    assert stats["c4/pages/extracted"] == 3
    assert "c4/pages/failed" not in stats
