"""``C4Runtime.of(crawler)``: the one place c4scrapy keeps per-crawl state.

It owns the checked settings (``settings``), the crawl's base config (``config``: field
defaults < ``C4_*`` settings < the spider's ``c4_config``), the services components share
(``service(cls)``: the link-preview service, the browser capture store) and the URL cache
of the pages' extraction (``urls``). Everything is dropped when the spider closes.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from scrapy import signals
from scrapy.exceptions import NotConfigured

from c4scrapy import _meta
from c4scrapy.core.exceptions import ConfigError
from c4scrapy.core.layers import config_from_settings, resolve, with_fit_filter
from c4scrapy.core.urls import UrlCache
from c4scrapy.settings import C4Settings

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

    from c4scrapy.core.config import CrawlerRunConfig


class Service(Protocol):
    """A per-crawl helper built from the runtime (``C4Runtime.service(cls)``)."""

    def __init__(self, runtime: C4Runtime) -> None: ...


S = TypeVar("S", bound=Service)

_runtimes: weakref.WeakKeyDictionary[Crawler, C4Runtime] = weakref.WeakKeyDictionary()
logger = logging.getLogger(__name__)


def report_startup_error(error: ConfigError) -> None:
    """Have ``error``, raised while the crawl starts, reported as one log line.

    Scrapy lets asyncio report a crawl that fails to start ("Task exception was never
    retrieved", with the traceback); for a configuration error the message says it all.
    Other exceptions keep asyncio's report.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return  # not under a running crawl (tests, the plain API): the caller sees it
    previous = loop.get_exception_handler()
    if getattr(previous, "_c4_startup", False):
        return

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exception = context.get("exception")
        if isinstance(exception, ConfigError):
            logger.error("Invalid configuration: %s", exception)
        elif previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    handler._c4_startup = True  # type: ignore[attr-defined]
    loop.set_exception_handler(handler)


class C4Runtime:
    """Per-crawler state shared by every c4scrapy component.

    Built on first use; construction checks the ``C4_*`` settings and the spider's
    ``c4_config`` and raises ConfigError naming the key, so a bad value stops the crawl
    at start-up.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        _require_asyncio()
        self.settings = C4Settings.from_settings(crawler.settings)
        base = config_from_settings(crawler.settings, C4Settings.names())
        spider = crawler.spider
        layer = getattr(spider, "c4_config", None)
        config = resolve(base, layer, source=f"spider {getattr(spider, 'name', '?')} c4_config")
        if isinstance(layer, dict) and "extraction_strategy" in layer:
            config = with_fit_filter(config)  # -a llm_input_format=fit_markdown alone
        self.config: CrawlerRunConfig = config
        self.urls = UrlCache()
        self._services: dict[type, Any] = {}
        crawler.signals.connect(self.close, signal=signals.spider_closed)

    @classmethod
    def of(cls, crawler: Crawler) -> C4Runtime:
        """The crawler's runtime (built and checked on first call)."""
        runtime = _runtimes.get(crawler)
        if runtime is None:
            try:
                runtime = _runtimes[crawler] = cls(crawler)
            except ConfigError as exc:
                report_startup_error(exc)
                raise
        return runtime

    @classmethod
    def enabled_for(cls, crawler: Crawler) -> C4Runtime:
        """``of(crawler)``, or NotConfigured for a component when ``C4_ENABLED`` is off."""
        runtime = cls.of(crawler)
        if not runtime.settings.enabled:
            raise NotConfigured("c4scrapy is disabled: set C4_ENABLED=True to enable it")
        return runtime

    def service(self, cls: type[S]) -> S:
        """The crawl's one instance of ``cls`` (built from this runtime on first use)."""
        instance = self._services.get(cls)
        if instance is None:
            instance = self._services[cls] = cls(self)
        return instance

    def close(self) -> None:
        """Drop the services and caches (at ``spider_closed``)."""
        for service in self._services.values():
            closer = getattr(service, "close", None)
            if closer is not None:
                closer()
        self._services.clear()
        self.urls.clear()
        _runtimes.pop(self.crawler, None)

    # -- per request -------------------------------------------------------------------

    def applies_to(self, request: Request) -> bool:
        return (
            self.settings.enabled
            and request.meta.get(_meta.CONFIG, True) is not False
            and _meta.HEAD not in request.meta
        )

    def config_for(self, request: Request) -> CrawlerRunConfig:
        """This request's config: the crawl's, with ``request.meta["c4"]`` laid over it."""
        return resolve(self.config, request.meta.get(_meta.CONFIG), source='request.meta["c4"]')

    def inc(self, counts: Mapping[str, Any], prefix: str = "c4/") -> None:
        """Add ``counts`` to the crawl's stats under ``prefix``."""
        stats = self.crawler.stats
        if stats is None:
            return
        for key, value in counts.items():
            if value:
                stats.inc_value(prefix + key, value)


def _require_asyncio() -> None:
    """c4scrapy runs on an asyncio loop: Scrapy's asyncio reactor (its default) or its
    reactorless mode. Another Twisted reactor is refused at start-up, naming it."""
    from scrapy.utils.reactor import is_asyncio_reactor_installed, is_reactor_installed

    if is_reactor_installed() and not is_asyncio_reactor_installed():
        from twisted.internet import reactor

        installed = f"{type(reactor).__module__}.{type(reactor).__qualname__}"
        error = ConfigError(
            f"setting TWISTED_REACTOR: c4scrapy needs an asyncio event loop, and this crawl "
            f"runs {installed}; use Scrapy's default, "
            '"twisted.internet.asyncioreactor.AsyncioSelectorReactor" (or '
            "TWISTED_REACTOR_ENABLED = False)"
        )
        logger.error("Invalid configuration: %s", error)  # Twisted adds its traceback
        raise error
