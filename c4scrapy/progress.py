"""A live one-line progress display on a terminal (Scrapy's LogStats still logs every minute)."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import AsyncioLoopingCall, create_looping_call

from c4scrapy.settings import C4Settings

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from typing_extensions import Self


class C4Progress:
    """Rewrites one status line on stderr every second while the crawl runs.

    Only when stderr is a terminal (never in files, CI or Scrapyd logs) and
    ``C4_PROGRESS`` is true (default).
    """

    def __init__(self, crawler: Crawler, stream: TextIO) -> None:
        self.crawler = crawler
        self.stream = stream
        self.started = time.monotonic()
        self.task: AsyncioLoopingCall | Any = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        stream = sys.stderr
        if not C4Settings.from_settings(crawler.settings).progress or not stream.isatty():
            raise NotConfigured
        ext = cls(crawler, stream)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Any) -> None:
        self.task = create_looping_call(self.show)
        self.task.start(1.0, now=False)

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.task is not None and self.task.running:
            self.task.stop()
        self.show()
        self.stream.write("\n")

    def status_line(self) -> str:
        stats = self.crawler.stats
        get = stats.get_value if stats is not None else (lambda key, default=0: default)
        pages = get("c4/pages/extracted", 0)
        failed = get("c4/pages/failed", 0)
        items = get("item_scraped_count", 0)
        queued = get("scheduler/enqueued", 0) - get("scheduler/dequeued", 0)
        previews = get("c4/previews/fetched", 0)
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return (
            f"c4scrapy: {pages} pages ({pages / elapsed:.1f}/s), {failed} failed, "
            f"{items} items, {previews} previews, {queued} queued, {elapsed:.0f}s"
        )

    def show(self) -> None:
        self.stream.write("\r\x1b[2K" + self.status_line())
        self.stream.flush()
