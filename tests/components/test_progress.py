"""The live progress line (only on a terminal)."""

from __future__ import annotations

import io

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from c4scrapy.progress import C4Progress


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_reads_stats():
    crawler = get_crawler(settings_dict={})
    crawler.stats.open_spider()
    crawler.stats.set_value("c4/pages/extracted", 12)
    crawler.stats.set_value("c4/pages/failed", 2)
    crawler.stats.set_value("item_scraped_count", 12)
    crawler.stats.set_value("scheduler/enqueued", 30)
    crawler.stats.set_value("scheduler/dequeued", 20)
    stream = FakeTTY()
    progress = C4Progress(crawler, stream)
    progress.show()
    line = stream.getvalue()
    assert line.startswith("\r")
    assert "12 pages" in line
    assert "2 failed" in line
    assert "10 queued" in line


def test_progress_is_off_without_a_terminal():
    crawler = get_crawler(settings_dict={})
    with pytest.raises(NotConfigured):
        C4Progress.from_crawler(crawler)  # pytest captures stderr: not a terminal
