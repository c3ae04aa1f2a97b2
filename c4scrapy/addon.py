"""``ADDONS = {"c4scrapy.Addon": 100}``: one line turns c4scrapy on in any Scrapy project."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy.utils.misc import load_object

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from typing_extensions import Self

#: Components and their orders; user entries for the same class are never overridden.
DOWNLOADER_MIDDLEWARES = {
    "c4scrapy.middlewares.C4DownloaderMiddleware": 40,
    # before HttpCacheMiddleware (900), so that no cached answer skips it
    "c4scrapy.guard.PrivateAddressMiddleware": 50,
    # just outside HttpCompressionMiddleware (590): it sees bodies still compressed
    "c4scrapy.decompression.BoundedDecompressionMiddleware": 595,
}
SPIDER_MIDDLEWARES = {"c4scrapy.middlewares.C4SpiderMiddleware": 45}
ITEM_PIPELINES: dict[str, int] = {
    "c4scrapy.pipelines.LinkPreviewPipeline": 100,
    "c4scrapy.pipelines.SchemaExtractionPipeline": 110,
    "c4scrapy.pipelines.LLMExtractionPipeline": 120,
}
EXTENSIONS = {"c4scrapy.progress.C4Progress": 600}


class Addon:
    """Registers c4scrapy's middlewares, pipelines and extensions at the ``addon`` priority.

    The PageItem is built by the spider middleware (order 45, before Scrapy's
    HttpErrorMiddleware, so 404 pages are extracted too); the downloader middleware
    (order 40, outermost) prepares requests and turns final download failures into
    failed PageItems. Item pipelines run at 100-120, before typical user pipelines.
    """

    def __init__(self, crawler: Crawler | None = None) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def update_settings(self, settings: BaseSettings) -> None:
        for name, components in (
            ("DOWNLOADER_MIDDLEWARES", DOWNLOADER_MIDDLEWARES),
            ("SPIDER_MIDDLEWARES", SPIDER_MIDDLEWARES),
            ("ITEM_PIPELINES", ITEM_PIPELINES),
            ("EXTENSIONS", EXTENSIONS),
        ):
            for path, order in components.items():
                _setdefault(settings, name, path, order)
        from c4scrapy._runtime import report_startup_error
        from c4scrapy.browser.setup import browser_wanted, configure_browser
        from c4scrapy.core.exceptions import ConfigError
        from c4scrapy.processes import warm_up_early

        warm_up_early(settings)

        if browser_wanted(settings, getattr(self.crawler, "spider", None)):
            try:
                configure_browser(settings, self.crawler)
            except ConfigError as exc:  # a bad browser setting: one line, as for the rest
                report_startup_error(exc)
                raise


def _setdefault(settings: BaseSettings, name: str, path: str, order: int) -> None:
    """Add ``path`` to the component dict ``name`` unless the user already lists its class
    (as this path, another import path, or the class itself), whatever the order they gave."""
    current = settings[name]
    if path in current:
        return
    cls = load_object(path)
    for key in current:
        if key is cls or (isinstance(key, str) and _load(key) is cls):
            return
    current[path] = order


def _load(path: str) -> Any:
    try:
        return load_object(path)
    except (ImportError, NameError, ValueError):
        return None  # a broken user entry: Scrapy reports it when it builds the component
