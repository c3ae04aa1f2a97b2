"""Test-only extension: write the crawl's final stats to ``TEST_STATS_FILE`` as JSON."""

from __future__ import annotations

import json
from typing import Any

from scrapy import signals


class StatsDump:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.path = crawler.settings.get("TEST_STATS_FILE")

    @classmethod
    def from_crawler(cls, crawler: Any) -> StatsDump:
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.path:
            stats = dict(self.crawler.stats.get_stats())
            stats["finish_reason"] = reason
            with open(self.path, "w") as fh:
                json.dump(stats, fh, default=str)
