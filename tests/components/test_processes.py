"""Extraction in worker processes (``C4_EXTRACT_PROCESSES``): the same items as in the crawl
process, and every page still ends as one item when a worker dies, hangs or cannot be
sent the page's config."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import pickle
import socket
import threading
from typing import Any

import pytest
import scrapy
from scrapy.settings import Settings
from scrapy.utils.defer import deferred_f_from_coro_f

from c4scrapy import (
    Addon,
    CrawlerRunConfig,
    DefaultMarkdownGenerator,
    PageItem,
    machine,
    processes,
)
from c4scrapy.core import job
from c4scrapy.core.exceptions import ConfigError
from c4scrapy.spiders.site import SiteSpider
from tests._support.crawling import crawl
from tests._support.filters import Tripwire, Unpicklable, WorkerKiller


class PathsSpider(scrapy.Spider):
    name = "paths"

    def __init__(self, base: str, paths: list[str], c4: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base, self.paths, self.c4 = base, paths, c4
        self.trees: dict[str, tuple[str | None, str | None]] = {}

    async def start(self):
        meta = {} if self.c4 is None else {"c4": self.c4}
        for path in self.paths:
            yield scrapy.Request(self.base + path, meta=dict(meta), callback=self.parse)

    def closed(self, reason: str) -> None:
        self.concurrency_at_close = self.crawler.engine.downloader.total_concurrency

    def parse(self, response):
        # the tree pipelines read (page.source.doc) is parsed in this process on demand
        doc = response.meta["c4_page"].source.doc
        title = doc.findtext(".//title") if doc is not None else None
        self.trees[response.url] = (title, response.css("title::text").get())


def _comparable(page: PageItem) -> dict[str, Any]:
    data = dataclasses.asdict(page)
    data["c4"].pop("extract_seconds")
    data["response_headers"].pop("Date")  # the two crawls may straddle a second
    return data


@deferred_f_from_coro_f
async def test_workers_give_the_items_the_crawl_process_gives(demo_server):
    settings = {"C4_EXCLUDE_SOCIAL_MEDIA_LINKS": True}
    inline = await crawl(SiteSpider, {**settings, "C4_EXTRACT_PROCESSES": 0}, url=demo_server.url)
    pooled = await crawl(SiteSpider, {**settings, "C4_EXTRACT_PROCESSES": 2}, url=demo_server.url)
    assert len(pooled.pages) == len(inline.pages) >= 5
    here = {url: _comparable(page) for url, page in inline.by_url().items()}
    there = {url: _comparable(page) for url, page in pooled.by_url().items()}
    assert there == here
    assert pooled.stats["c4/extract/processes"] in (1, 2)  # as many as pages waited for
    assert pooled.stats["c4/extract/in_workers"] == len(pooled.pages)
    assert pooled.stats["c4/extract/worker_cpu_seconds"] > 0
    assert pooled.stats["c4/extract/worker_peak_rss_mib"] > 10
    assert "c4/extract/processes" not in inline.stats
    assert pooled.stats["c4/pages/extracted"] == inline.stats["c4/pages/extracted"]


def _site(site_server, tmp_path, pages: dict[str, str]) -> list[str]:
    for name, words in pages.items():
        (tmp_path / "site" / name).write_text(f"<title>{name}</title><p>{words}</p>")
    return list(pages)


async def _crawl(
    site_server: Any, settings: dict[str, Any], paths: list[str], content_filter: Any = None
) -> Any:
    """PathsSpider over ``paths``, with ``content_filter`` in every request's config."""
    c4 = None
    if content_filter is not None:
        generator = DefaultMarkdownGenerator(content_filter=content_filter)
        c4 = CrawlerRunConfig(markdown_generator=generator)
    return await crawl(PathsSpider, settings, base=site_server.url, paths=paths, c4=c4)


@deferred_f_from_coro_f
async def test_workers_start_as_pages_wait_for_one(site_server, tmp_path, monkeypatch):
    """Pages downloaded one at a time never wait: one worker. Pages downloaded at once
    that take a while to extract (without using a CPU) wait for the first worker, which
    holds 8: a second one starts once the first has answered a few (whatever else the
    machine runs meanwhile: its load is not known here)."""
    monkeypatch.setattr(machine, "cpu_sample", lambda: None)
    paths = _site(site_server, tmp_path, {f"p{i}.html": f"page {i} SLOW" for i in range(16)})
    settings = {"C4_EXTRACT_PROCESSES": 2}
    one_by_one = await _crawl(
        site_server, {**settings, "CONCURRENT_REQUESTS": 1}, paths[:8], Tripwire()
    )
    at_once = await _crawl(site_server, settings, paths, Tripwire())
    for run, pages in ((one_by_one, 8), (at_once, 16)):
        assert len(run.pages) == pages
        assert run.stats["c4/extract/in_workers"] == pages
    assert one_by_one.stats["c4/extract/processes"] == 1
    assert at_once.stats["c4/extract/processes"] == 2


@deferred_f_from_coro_f
async def test_no_worker_is_added_while_the_machine_is_busy(
    site_server, tmp_path, monkeypatch, caplog
):
    """The same pages as above, on a machine whose CPUs other processes keep busy: the
    one worker takes them all."""
    caplog.set_level(logging.INFO, logger="c4scrapy.processes")
    ticks = iter(range(0, 10**9, 100))
    monkeypatch.setattr(machine, "cpu_sample", lambda: (0, next(ticks)))  # never idle
    paths = _site(site_server, tmp_path, {f"p{i}.html": f"page {i} SLOW" for i in range(16)})
    run = await _crawl(site_server, {"C4_EXTRACT_PROCESSES": 2}, paths, Tripwire())
    assert len(run.pages) == 16
    assert run.stats["c4/extract/processes"] == 1
    assert run.stats["c4/extract/held_by_load"] == 1
    assert "Not starting another extraction process: 0.0 of" in caplog.text


@deferred_f_from_coro_f
async def test_a_worker_is_added_once_the_machine_is_no_longer_busy(
    site_server, tmp_path, monkeypatch
):
    """Held back once by a busy machine, the crawl asks again over the next pages, and
    measures the load from then on: the other processes gone, the second worker starts."""
    samples: list[tuple[int, int]] = []

    def sample() -> tuple[int, int]:
        total = 100 * len(samples) + 100
        # busy until the crawl has been held back once (its 3rd sample), idle after
        idle = samples[-1][0] + 100 if len(samples) >= 3 else 0
        samples.append((idle, total))
        return samples[-1]

    monkeypatch.setattr(machine, "cpu_sample", sample)
    paths = _site(site_server, tmp_path, {f"p{i}.html": f"page {i} SLOW" for i in range(24)})
    run = await _crawl(site_server, {"C4_EXTRACT_PROCESSES": 2}, paths, Tripwire())
    assert len(run.pages) == 24
    assert run.stats["c4/extract/held_by_load"] == 1
    assert run.stats["c4/extract/processes"] == 2


@deferred_f_from_coro_f
async def test_pages_waiting_for_a_worker_leave_the_downloads_their_concurrency(
    site_server, tmp_path
):
    """Two downloads at a time and one worker that takes 0.2 s a page: while pages wait for
    it, the downloader gets as many slots again (never more), and gives them back."""
    paths = _site(site_server, tmp_path, {f"p{i}.html": f"page {i} SLOW" for i in range(6)})
    settings = {"C4_EXTRACT_PROCESSES": 1, "CONCURRENT_REQUESTS": 2}
    run = await _crawl(site_server, settings, paths, Tripwire())
    assert len(run.pages) == 6
    assert run.stats["c4/extract/outside_concurrency"] == 2
    assert run.crawler.spider.concurrency_at_close == 2


@deferred_f_from_coro_f
async def test_a_page_that_kills_its_worker_fails_alone(site_server, tmp_path):
    paths = _site(site_server, tmp_path, {f"p{i}.html": f"page {i}" for i in range(8)})
    paths += _site(site_server, tmp_path, {"bomb.html": "CRASH"})
    run = await _crawl(site_server, {"C4_EXTRACT_PROCESSES": 2}, paths, Tripwire())
    pages = run.by_url()
    assert len(pages) == 9
    bomb = pages.pop(site_server.url + "bomb.html")
    assert not bomb.success
    assert bomb.error_message == "its extraction process died twice"
    assert all(page.success and page.fit_markdown for page in pages.values())
    assert run.stats["c4/extract/worker_crashes"] >= 2
    assert run.stats["c4/extract/retries"] >= 1
    assert run.stats["c4/pages/failed"] == 1


@deferred_f_from_coro_f
async def test_a_page_over_the_timeout_has_its_worker_stopped(site_server, tmp_path):
    paths = _site(site_server, tmp_path, {f"p{i}.html": f"page {i}" for i in range(6)})
    paths += _site(site_server, tmp_path, {"tarpit.html": "HANG"})
    run = await _crawl(
        site_server, {"C4_EXTRACT_PROCESSES": 1, "C4_EXTRACT_TIMEOUT": 1}, paths, Tripwire()
    )
    pages = run.by_url()
    assert len(pages) == 7
    tarpit = pages.pop(site_server.url + "tarpit.html")
    assert tarpit.error_message == "extraction stopped after 1 s (C4_EXTRACT_TIMEOUT)"
    assert all(page.success for page in pages.values())
    assert run.stats["c4/extract/timeouts"] == 1
    assert "c4/extract/worker_crashes" not in run.stats
    trees = run.crawler.spider.trees
    assert len(trees) == 7
    assert all(here == there and here for here, there in trees.values())


def test_a_worker_stops_a_page_at_the_limit_whenever_the_crawl_reads() -> None:
    """The worker ends a page at C4_EXTRACT_TIMEOUT itself, timed from when it started the
    page: the crawl's own timer starts when it reads the answer before, late if its event
    loop is busy (here it reads nothing until the worker has ended)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    process = processes._context().Process(
        target=job.serve, args=(theirs, os.getpid(), 0.5), daemon=True
    )
    process.start()
    theirs.close()
    config = pickle.dumps(
        CrawlerRunConfig(markdown_generator=DefaultMarkdownGenerator(content_filter=Tripwire()))
    )
    for words in ("fine", "HANG", "never started"):
        page = pickle.dumps((f"<p>{words}</p>".encode(), "http://x/", config, 200, "text/html"))
        ours.sendall(len(page).to_bytes(job.HEADER, "big") + page)
    process.join(30)
    assert process.exitcode == 0  # ended by itself, not killed
    with ours, ours.makefile("rb") as answers:
        outcomes = []
        while header := answers.read(job.HEADER):
            outcomes.append(pickle.loads(answers.read(int.from_bytes(header, "big")))[0])
    assert outcomes == ["ok", "timeout"]


@deferred_f_from_coro_f
async def test_a_config_no_worker_can_receive_is_extracted_here(site_server, tmp_path, caplog):
    paths = _site(site_server, tmp_path, {"a.html": "alpha", "b.html": "beta"})
    run = await _crawl(site_server, {"C4_EXTRACT_PROCESSES": 1}, paths, Unpicklable())
    assert all(page.success and page.fit_markdown for page in run.pages)
    assert run.stats["c4/extract/inline_unpicklable"] == 2
    assert "c4/extract/in_workers" not in run.stats
    assert caplog.text.count("cannot be sent to an extraction process") == 1


@deferred_f_from_coro_f
async def test_workers_that_always_die_are_given_up(site_server, tmp_path, caplog):
    paths = _site(site_server, tmp_path, {f"p{i}.html": f"page {i}" for i in range(8)})
    run = await _crawl(site_server, {"C4_EXTRACT_PROCESSES": 1}, paths, WorkerKiller())
    pages = run.by_url()
    assert len(pages) == 8
    failed = [page for page in pages.values() if not page.success]
    assert {page.error_message for page in failed} <= {"its extraction process died twice"}
    assert len(failed) <= 3
    assert run.stats["c4/extract/given_up"] == 1
    assert run.stats["c4/extract/worker_crashes"] == 5  # > 2 x 1 + 2 in a row
    assert "pages are extracted in the crawl process from now on" in caplog.text


@pytest.mark.parametrize("processes", [0, 1])
@deferred_f_from_coro_f
async def test_an_attribute_bomb_is_refused_either_way(site_server, tmp_path, processes):
    attributes = " ".join(f"a{i}=x" for i in range(10_001))
    (tmp_path / "site" / "bomb.html").write_text(f"<title>b</title><p {attributes}>x</p>")
    _site(site_server, tmp_path, {"ok.html": "fine"})
    run = await _crawl(site_server, {"C4_EXTRACT_PROCESSES": processes}, ["bomb.html", "ok.html"])
    pages = run.by_url()
    bomb = pages[site_server.url + "bomb.html"]
    assert bomb.error_message == "not parsed: an element with more than 10000 attributes"
    assert pages[site_server.url + "ok.html"].success
    assert run.stats["c4/pages/unparsable"] == 1
    assert run.stats["c4/pages/failed"] == 1


@deferred_f_from_coro_f
async def test_a_worker_grown_too_big_is_replaced(site_server, tmp_path):
    paths = _site(site_server, tmp_path, {f"p{i}.html": f"page {i}" for i in range(6)})
    # every worker is too big; one download at a time: each worker answers the one or two
    # pages it holds (one waiting outside CONCURRENT_REQUESTS) and is replaced
    too_big = {"C4_EXTRACT_PROCESSES": 1, "C4_EXTRACT_MAX_RSS_MIB": 1, "CONCURRENT_REQUESTS": 1}
    run = await _crawl(site_server, too_big, paths)
    pages = run.by_url()
    assert len(pages) == 6
    assert all(page.success for page in pages.values())
    assert run.stats["c4/extract/in_workers"] == 6
    assert run.stats["c4/extract/recycled"] >= 3
    assert "c4/extract/worker_crashes" not in run.stats


@pytest.mark.parametrize(
    ("running", "r", "cpus", "worth"),
    [
        (1, 0.35, 2, True),  # scrapy crawl site on the docs: a second worker
        (2, 0.35, 2, False),  # no CPU left for a third
        (1, 0.7, 2, False),  # crawl site on the corpus: 1 + 0.7 + 0.4 > 2
        (1, 1.0, 2, False),  # a spider as costly as extraction: the crawl process limits
        (1, 1.0, 8, False),  # ... whatever the CPUs
        (1, 0.35, 8, True),
        (2, 0.35, 8, True),
        (3, 0.35, 8, False),  # 3 * 0.35 > 1: the crawl process could not keep up
        (1, 0.05, 2, True),  # pages that wait without using a CPU
        (1, 0.0, 1, False),  # one CPU
    ],
)
def test_another_worker_starts_only_where_it_adds_speed(running, r, cpus, worth) -> None:
    from c4scrapy.processes import worth_another_worker

    assert worth_another_worker(running, r, cpus) is worth


@pytest.mark.parametrize(
    ("settings", "starts"),
    [
        ({}, True),  # one worker per CPU, the default
        ({"C4_EXTRACT_PROCESSES": 2}, True),
        ({"C4_EXTRACT_PROCESSES": "1"}, True),
        ({"C4_EXTRACT_PROCESSES": 0}, False),  # extraction in the crawl process
        ({"C4_ENABLED": False}, False),
        ({"C4_EXTRACT_PROCESSES": "many"}, False),  # refused by name, nothing started
        ({"C4_ENABLED": "maybe"}, False),
    ],
)
def test_the_addon_starts_the_forkserver_only_for_a_crawl_with_workers(
    monkeypatch, settings, starts
) -> None:
    started = threading.Event()
    monkeypatch.setattr(processes, "_warm_up", started.set)
    with contextlib.suppress(ConfigError):
        Addon().update_settings(Settings(settings))
    for thread in threading.enumerate():
        if thread.name == "c4scrapy-warm-up":
            thread.join()
    assert started.is_set() is starts
