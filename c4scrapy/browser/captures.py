"""What the browser produced for a response, moved onto its PageItem and into stats."""

from __future__ import annotations

import base64
import hashlib
import logging
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from c4scrapy import _meta
from c4scrapy.browser.page import is_ours

if TYPE_CHECKING:
    from scrapy.http import Response

    from c4scrapy._runtime import C4Runtime
    from c4scrapy.core.config import CrawlerRunConfig
    from c4scrapy.core.items import PageItem

logger = logging.getLogger(__name__)

#: capture step -> (PageItem field, file suffix)
_CAPTURE_FIELDS = {
    "screenshot": ("screenshot", "png"),
    "pdf": ("pdf", "pdf"),
    "capture_mhtml": ("mhtml", "mhtml"),
}
#: Report counts copied to ``item.c4["browser"]`` and summed into ``c4/browser/<key>``.
_COUNTED = ("iframes_merged", "overlays_removed", "images_pending")
#: Report timings copied to ``item.c4["browser"]`` (report key -> item key).
_TIMINGS = {
    "seconds": "steps_seconds",
    "capture_wait_seconds": "capture_wait_seconds",
    "capture_seconds": "capture_seconds",
}


class CaptureStore:
    """Per-crawl state of ``collect_captures`` (``runtime.service(CaptureStore)``): the
    captures directory, warn-once."""

    def __init__(self, runtime: C4Runtime) -> None:
        directory = runtime.settings.browser_captures_dir
        self.directory = Path(directory).expanduser().resolve() if directory else None
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
        self.warned_not_rendered = False

    def save(self, url: str, suffix: str, data: bytes | str) -> str:
        assert self.directory is not None
        path = self.directory / f"{hashlib.sha1(url.encode()).hexdigest()[:20]}.{suffix}"
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8")
        else:
            path.write_bytes(data)
        return str(path)


def collect_captures(
    runtime: C4Runtime, response: Response, page: PageItem, config: CrawlerRunConfig
) -> None:
    """Move what the browser produced for ``response`` onto ``page`` (and into stats).

    Sets ``page.screenshot`` / ``pdf`` (base64, or a file path) and ``page.mhtml``, and
    ``page.c4["browser"]``. A page that asked for the browser but came by plain HTTP (the
    handler is not installed) is counted and warned about once.
    """
    store = runtime.service(CaptureStore)
    if "playwright" not in response.flags:
        if config.browser:
            runtime.inc({"browser/not_rendered": 1})
            if not store.warned_not_rendered:
                store.warned_not_rendered = True
                logger.warning(
                    "%s asked for the browser but was downloaded without it: set "
                    "C4_BROWSER_ENABLED=True (or C4_BROWSER=True) so that the add-on installs "
                    "scrapy-playwright's download handler (further pages are only counted)",
                    response.url,
                    extra={"spider": runtime.crawler.spider},
                )
        return
    meta = response.meta
    info: dict[str, Any] = {"rendered": True}
    counts: Counter[str] = Counter({"browser/pages": 1})
    report: dict[str, Any] = {}
    methods = meta.get("playwright_page_methods") or ()
    for method in methods.values() if isinstance(methods, dict) else methods:
        if is_ours(method) and isinstance(method.result, dict):
            report, method.result = method.result, None  # the bytes leave the request
    if report.get("screenshot_clipped"):
        info["screenshot_clipped"] = report["screenshot_clipped"]
        counts["browser/screenshots_clipped"] += 1
    for key in _COUNTED:
        if report.get(key):
            info[key] = report[key]
            counts[f"browser/{key}"] += report[key]
    blocked = meta.pop(_meta.IMAGES_BLOCKED, 0)
    if blocked:
        info["images_blocked"] = blocked
        counts["browser/images_blocked"] += blocked
    for key, item_key in _TIMINGS.items():
        if key in report:
            info[item_key] = report[key]
    for step, (field, suffix) in _CAPTURE_FIELDS.items():
        data = report.get(step)
        if data is None:
            continue
        if store.directory is not None:
            value = store.save(page.url, suffix, data)
        elif isinstance(data, bytes):
            value = base64.b64encode(data).decode("ascii")
        else:
            value = data
        setattr(page, field, value)
        counts[f"browser/captures/{field}"] += 1
    errors = report.get("errors") or {}
    if errors:
        info["capture_errors"] = errors
        for step in errors:
            counts[f"browser/errors/{step}"] += 1
    page.c4["browser"] = info
    runtime.inc(counts)
