"""What c4scrapy relies on in Scrapy beyond its documented API, or only in some of the
versions it supports, in one place. Each use says why."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.extensions.feedexport import FeedExporter

try:  # Scrapy 2.19 names its download errors
    from scrapy.exceptions import (
        CannotResolveHostError,
        DownloadConnectionRefusedError,
        DownloadFailedError,
        DownloadTimeoutError,
    )
except ImportError:  # before: the twisted errors its RETRY_EXCEPTIONS list
    from twisted.internet.error import (  # type: ignore[assignment]
        ConnectionLost as DownloadFailedError,
    )
    from twisted.internet.error import (  # type: ignore[assignment]
        ConnectionRefusedError as DownloadConnectionRefusedError,
    )
    from twisted.internet.error import (  # type: ignore[assignment]
        DNSLookupError as CannotResolveHostError,
    )
    from twisted.internet.error import (  # type: ignore[assignment]
        TimeoutError as DownloadTimeoutError,
    )

__all__ = [
    "CannotResolveHostError",
    "DownloadConnectionRefusedError",
    "DownloadFailedError",
    "DownloadTimeoutError",
    "flush_feeds",
]

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


def flush_feeds(crawler: Crawler) -> None:
    """Push the items written so far by the feed exports to the operating system.

    A process killed with SIGKILL loses what its feed files still buffer; the JOBDIR
    journal (``c4scrapy.jobdir``) records an item only after this, so that a recovered
    crawl never counts as written an item that was lost.
    """
    extensions = getattr(crawler.extensions, "middlewares", ())
    for extension in extensions:
        if isinstance(extension, FeedExporter):
            for slot in extension.slots:
                file = slot.file
                if file is not None and not getattr(file, "closed", False):
                    file.flush()
