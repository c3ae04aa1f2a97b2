"""Distributed crawl: several ``scrapy crawl site`` processes share one frontier in Redis.

Three workers crawl the Python docs (a 100-page budget shared through Redis) with
scrapy-redis' default ``SCHEDULER_PERSIST=False``; one stops early
(``CLOSESPIDER_ITEMCOUNT``), which with scrapy-redis' own scheduler would wipe the
others' queue and dupefilter. Every page is fetched once and yields one item, and the
query's link previews still fill the links' ``head_data``.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from scrapy import Request, Spider
from scrapy.utils.test import get_crawler

from c4scrapy.contrib.redis import RedisScheduler
from tests._support.crawling import CrawlRun, run_crawl
from tests._support.services import DOCS_SITE, DocsSite, RedisServer
from tests._support.tools import require_tool

PAGES = 100
EARLY_STOP = 30


class Site(Spider):
    name = "site"

    def parse(self, response: object) -> None:
        pass


def _worker(redis_url: str, **settings: object) -> tuple[RedisScheduler, Site, dict[str, int]]:
    """A scheduler as one ``scrapy crawl`` process opens it (in-process: Scrapy's
    deprecation warnings are errors here, so this also checks the shim's API use)."""
    settings |= {"SCHEDULER": "c4scrapy.contrib.redis.RedisScheduler", "REDIS_URL": redis_url}
    crawler = get_crawler(Site, settings)
    crawler.stats.open_spider()
    spider = Site.from_crawler(crawler)
    scheduler = RedisScheduler.from_crawler(crawler)
    scheduler.open(spider)
    return scheduler, spider, crawler.stats.get_stats()


def test_scheduler_shares_fingerprints_and_budget_and_keeps_what_it_cannot_share(tmp_path):
    with RedisServer(require_tool("redis-server", "/usr/bin/redis-server"), tmp_path) as redis:
        a, spider_a, stats_a = _worker(redis.url)
        b, spider_b, _ = _worker(redis.url)
        assert a.enqueue_request(Request("http://site.test/1", callback=spider_a.parse))
        assert not b.enqueue_request(Request("http://site.test/1", callback=spider_b.parse))
        unshareable = Request("http://site.test/2", callback=lambda response: None)
        assert a.enqueue_request(unshareable)
        assert stats_a["scheduler/unserializable"] == 1
        assert b.next_request().url == "http://site.test/1", "B takes A's request"
        assert b.next_request() is None
        assert a.next_request() is unshareable, "only A can crawl it, and it does"
        assert a.next_request() is None
        assert [a.admit(key, 2) for key in ("x", "y", "x")] == [True, True, False]
        assert not b.admit("z", 2), "one page budget for all workers"
        a.close("closespider_itemcount")
        assert redis.client.exists("site:dupefilter"), "B is still crawling: nothing flushed"
        b.close("finished")
        assert redis.client.keys("*") == [], "the last worker out flushed"


def test_a_new_crawl_is_warned_about_fingerprints_left_by_the_last_one(tmp_path, caplog):
    with RedisServer(require_tool("redis-server", "/usr/bin/redis-server"), tmp_path) as redis:
        first, spider, _ = _worker(redis.url, SCHEDULER_PERSIST=True)
        first.enqueue_request(Request("http://site.test/1", callback=spider.parse))
        first.next_request()
        first.close("finished")
        second, _, _ = _worker(redis.url, SCHEDULER_PERSIST=True)
        second.close("finished")
    assert "'site:dupefilter' still holds 1 fingerprints from an earlier run" in caplog.text


@pytest.mark.slow
def test_workers_share_one_frontier_and_crawl_each_page_once(tmp_path):
    redis_server = require_tool("redis-server", "/usr/bin/redis-server")
    require_tool("python3.11-doc", str(DOCS_SITE / "index.html"))
    with RedisServer(redis_server, tmp_path / "redis") as redis, DocsSite() as site:
        settings = {
            "SCHEDULER": "c4scrapy.contrib.redis.RedisScheduler",
            "REDIS_URL": redis.url,
            "C4_REDIS_IDLE_TIMEOUT": "1",
            "FEED_EXPORT_FIELDS": "url,success,links",
        }
        args = {"url": site.url, "max_pages": PAGES, "query": "asyncio event loop"}
        workers = {
            "early": {**settings, "CLOSESPIDER_ITEMCOUNT": str(EARLY_STOP)},
            "b": settings,
            "c": settings,
        }
        for name in workers:
            (tmp_path / name).mkdir()
        with ThreadPoolExecutor(len(workers)) as pool:
            futures = {
                name: pool.submit(run_crawl, tmp_path / name, args=args, settings=worker)
                for name, worker in workers.items()
            }
            runs: dict[str, CrawlRun] = {name: f.result() for name, f in futures.items()}
        hits = site.page_hits
        leftover_keys = redis.client.keys("*")

    for name, run in runs.items():
        assert run.stats, f"worker {name} did not finish: {run.log[-3000:]}"
        assert run.stats.get("scheduler/unserializable", 0) == 0
        assert "ScrapyDeprecationWarning" not in run.log, (
            "the shim keeps scrapy-redis off deprecated APIs"
        )
    # On a busy machine the early worker may start after the others took most of the work;
    # then it simply finishes with them (the flush rules are also pinned in-process above).
    stopped_early = runs["early"].stats["finish_reason"] == "closespider_itemcount"
    if not stopped_early:
        assert runs["early"].stats["finish_reason"] == "finished"
        assert len(runs["early"].items) < EARLY_STOP
    assert runs["b"].stats["finish_reason"] == runs["c"].stats["finish_reason"] == "finished"
    assert len(runs["b"].items) > 0, "all workers took part"
    assert len(runs["c"].items) > 0, "all workers took part"

    urls = Counter(item["url"] for run in runs.values() for item in run.items)
    assert [url for url, count in urls.items() if count > 1] == [], "one item per page"
    assert len(urls) == PAGES, "max_pages is one budget for all workers"
    dequeued = sum(run.stats.get("scheduler/dequeued/redis", 0) for run in runs.values())
    assert dequeued == PAGES

    paths = {url.removeprefix(site.url.rstrip("/")) for url in urls}
    assert set(hits) == paths, "the server saw exactly the pages in the items"
    assert {path: n for path, n in hits.items() if n != 1} == {}, "each page fetched once"

    if stopped_early:
        assert "Leaving the shared crawl (closespider_itemcount)" in runs["early"].log
    assert leftover_keys == [], (
        "the last worker out deleted the frontier (SCHEDULER_PERSIST=False)"
    )

    home = next(item for run in runs.values() for item in run.items if item["url"] == site.url)
    internal = home["links"]["internal"]
    assert internal
    assert all(link["total_score"] is not None for link in internal)
    assert any(link["head_data"] for link in internal), "link previews still work"
