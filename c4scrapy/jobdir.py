"""A JOBDIR crawl that was killed resumes with every page exactly once: a mark while running,
a journal of the items written. See docs/usage/deploy.rst."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals

from c4scrapy._compat import flush_feeds
from c4scrapy.core.items import PageItem

if TYPE_CHECKING:
    from c4scrapy._runtime import C4Runtime

logger = logging.getLogger(__name__)

MARK = "c4-running"
JOURNAL = "c4-items.txt"
#: Scrapy's own JOBDIR files, which a killed run leaves inconsistent.
SCRAPY_STATE = ("requests.queue", "requests.seen", "spider.state")


class JobJournal:
    """Per-crawl service (``runtime.service(JobJournal)``), built when the crawl starts."""

    def __init__(self, runtime: C4Runtime) -> None:
        self.runtime = runtime
        jobdir = runtime.crawler.settings.get("JOBDIR")
        self.directory = Path(jobdir) if jobdir else None
        #: URLs whose items an earlier, killed run wrote (None: not recovering).
        self.written: set[str] | None = None
        self._file: Any = None
        if self.directory is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        mark = self.directory / MARK
        if mark.exists():
            self._recover(mark.read_text().strip())
        mark.write_text(f"{os.getpid()}\n")
        self._file = (self.directory / JOURNAL).open("a", encoding="utf-8")
        runtime.crawler.signals.connect(self._item_scraped, signal=signals.item_scraped)

    @property
    def active(self) -> bool:
        return self._file is not None

    def already_written(self, url: str) -> bool:
        """True for a page whose item a killed run already wrote."""
        return self.written is not None and url in self.written

    def _recover(self, pid: str) -> None:
        assert self.directory is not None
        journal = self.directory / JOURNAL
        lines = journal.read_text(encoding="utf-8").splitlines() if journal.exists() else []
        self.written = {line for line in lines if line}
        aside = self.directory / f"killed-{time.strftime('%Y%m%d-%H%M%S')}"
        moved = []
        for name in SCRAPY_STATE:
            path = self.directory / name
            if path.exists():
                aside.mkdir(exist_ok=True)
                path.rename(aside / name)
                moved.append(name)
        self.runtime.inc({"jobdir/recovered": 1})
        logger.warning(
            "JOBDIR %s: the run before (pid %s) did not stop cleanly (killed?), so Scrapy's "
            "queue cannot be resumed. Starting again from the start requests; the %d pages "
            "whose items that run wrote get no second item. Scrapy's state was moved to %s.",
            self.directory,
            pid or "?",
            len(self.written),
            aside if moved else "(nothing to move)",
            extra={"spider": self.runtime.crawler.spider},
        )

    def _item_scraped(self, item: Any, **kwargs: Any) -> None:
        if isinstance(item, PageItem) and self._file is not None:
            flush_feeds(self.runtime.crawler)
            self._file.write(item.url + "\n")
            self._file.flush()

    def close(self) -> None:
        """The crawl stopped cleanly (the runtime calls this at ``spider_closed``)."""
        if self._file is None or self.directory is None:
            return
        self._file.close()
        self._file = None
        (self.directory / MARK).unlink(missing_ok=True)
