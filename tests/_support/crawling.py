"""Crawls for the tests: in-process (``crawl``, for component tests) or a real ``scrapy crawl``
subprocess as users run it (``run_crawl``, for end-to-end tests)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.crawler import CrawlerRunner
from scrapy.utils.test import get_reactor_settings

from c4scrapy import PageItem

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

ROOT = Path(__file__).resolve().parents[2]


@dataclasses.dataclass
class CrawlRun:
    items: list[dict[str, Any]]
    stats: dict[str, Any]
    log: str
    returncode: int
    stdout: str = ""

    def by_url(self) -> dict[str, dict[str, Any]]:
        return {item["url"]: item for item in self.items}


def run_crawl(
    tmp_path: Path,
    spider: str = "site",
    args: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    *,
    timeout: float = 180,
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
) -> CrawlRun:
    """``scrapy crawl SPIDER -a k=v ... -s k=v ... -O items.jsonl``, stats dumped as JSON."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    out = tmp_path / "items.jsonl"
    stats_file = tmp_path / "stats.json"
    log_file = tmp_path / "crawl.log"
    all_settings = {
        "LOG_FILE": str(log_file),
        "LOG_LEVEL": "DEBUG",
        "TEST_STATS_FILE": str(stats_file),
        "EXTENSIONS": json.dumps({"tests._support.statsdump.StatsDump": 0}),
        "ROBOTSTXT_OBEY": "False",
        "TELNETCONSOLE_ENABLED": "False",
        **{k: v if isinstance(v, str) else json.dumps(v) for k, v in (settings or {}).items()},
    }
    cmd = [sys.executable, "-m", "scrapy", "crawl", spider, "-O", str(out)]
    for key, value in (args or {}).items():
        cmd += ["-a", f"{key}={value}"]
    for key, value in all_settings.items():
        cmd += ["-s", f"{key}={value}"]
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    proc = subprocess.run(
        cmd, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout, check=False
    )
    items = []
    if out.exists():
        items = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    log = (log_file.read_text() if log_file.exists() else "") + proc.stderr
    return CrawlRun(items, stats, log, proc.returncode, proc.stdout)


#: What an in-process crawl starts from: the add-on, no robots.txt, no telnet, no retries.
IN_PROCESS_SETTINGS: dict[str, Any] = {
    "ADDONS": {"c4scrapy.Addon": 100},
    "ROBOTSTXT_OBEY": False,
    "RETRY_ENABLED": False,
    "TELNETCONSOLE_ENABLED": False,
    "C4_PROGRESS": False,
}


@dataclasses.dataclass
class InProcessRun:
    """A finished in-process crawl: its items (as objects) and stats."""

    crawler: Crawler
    items: list[Any] = dataclasses.field(default_factory=list)

    def _collect(self, item: Any) -> None:
        self.items.append(item)

    @property
    def stats(self) -> dict[str, Any]:
        assert self.crawler.stats is not None
        return self.crawler.stats.get_stats()

    @property
    def pages(self) -> list[PageItem]:
        return [item for item in self.items if isinstance(item, PageItem)]

    def by_url(self) -> dict[str, PageItem]:
        """The PageItems by URL (a URL with two PageItems fails the calling test)."""
        pages = {page.url: page for page in self.pages}
        assert len(pages) == len(self.pages), [page.url for page in self.pages]
        return pages


def crawler_for(
    spidercls: type[Spider], settings: dict[str, Any] | None = None
) -> tuple[Crawler, InProcessRun]:
    """A crawler with c4scrapy's add-on (``settings`` over it) and its item collector.

    Unlike ``get_crawler`` it leaves the add-ons to ``crawl_async``, which applies them after
    building the spider, as ``scrapy crawl`` does.
    """
    runner = CrawlerRunner({**get_reactor_settings(), **IN_PROCESS_SETTINGS, **(settings or {})})
    crawler = runner.create_crawler(spidercls)
    run = InProcessRun(crawler)
    crawler.signals.connect(run._collect, signal=signals.item_scraped)
    return crawler, run


async def crawl(
    spidercls: type[Spider], settings: dict[str, Any] | None = None, **spider_args: Any
) -> InProcessRun:
    """Run ``spidercls`` in this process (the test's reactor) to the end."""
    crawler, run = crawler_for(spidercls, settings)
    await crawler.crawl_async(**spider_args)
    return run
