"""``browser="auto"``: HTTP first, the browser for the pages that need it.

``AutoRender`` (``runtime.service(AutoRender)``) decides, for each request of a config
with ``browser="auto"``:

- before the download (``before``): straight to the browser when the config asks for
  captures (``captures``) or when its host has learned that its pages change in the
  browser (``site``);
- after an HTTP download (``after_http``): the signals of ``core.render_signals`` name a
  reason, or the page is one of the first ``C4_BROWSER_AUTO_PROBES`` pages of its host
  without a signal (``probe``): the response is dropped and the same request comes back
  marked for the browser (same callback, picklable meta, not filtered as a duplicate);
- after a probe's browser download (``after_browser``): a probe that shows more links or
  text than its HTTP version teaches its host to go to the browser from then on; probes
  that show none teach it HTTP.

``record`` is what the PageItem says (``item.c4["render"]``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy.http import HtmlResponse
from scrapy.http.request import NO_CALLBACK

from c4scrapy import _meta
from c4scrapy.core.render_signals import differs, page_signals, render_reason
from c4scrapy.core.urls import host_of

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.http import Response

    from c4scrapy._runtime import C4Runtime
    from c4scrapy.core.config import CrawlerRunConfig

logger = logging.getLogger(__name__)


class _Host:
    __slots__ = ("probes_done", "probes_sent", "verdict")

    def __init__(self) -> None:
        self.probes_sent = 0
        self.probes_done = 0
        self.verdict: str | None = None  # "browser" | "http" once learned


class AutoRender:
    """Per-crawl state of adaptive rendering: what each host has taught."""

    def __init__(self, runtime: C4Runtime) -> None:
        self.runtime = runtime
        self.probes = runtime.settings.browser_auto_probes
        self.hosts: dict[str, _Host] = {}
        self.warned_no_browser = False

    def _host(self, url: str) -> _Host:
        host = host_of(url)
        state = self.hosts.get(host)
        if state is None:
            state = self.hosts[host] = _Host()
        return state

    def before(self, request: Request, config: CrawlerRunConfig) -> str | None:
        """The reason to render ``request`` without trying HTTP first, or None."""
        if config.screenshot or config.pdf or config.capture_mhtml:
            return "captures"
        if self._host(request.url).verdict == "browser":
            return "site"
        return None

    def after_http(self, request: Request, response: Response) -> Request | None:
        """The browser re-request for an HTTP ``response`` that needs rendering, or None."""
        render = request.meta.get(_meta.RENDER)
        if render is not None and render.get("mode") == "browser":
            # Meant for the browser but fetched over HTTP: no browser handler installed.
            request.meta[_meta.RENDER] = {"mode": "http", "reason": "no_browser"}
            if not self.warned_no_browser:
                self.warned_no_browser = True
                logger.warning(
                    "browser=auto: %s needed the browser but was fetched over HTTP (no "
                    "browser download handler: enable c4scrapy.Addon with C4_BROWSER=auto)",
                    request.url,
                    extra={"spider": self.runtime.crawler.spider},
                )
            return None
        if request.callback is NO_CALLBACK or not isinstance(response, HtmlResponse):
            return None
        if not 200 <= response.status < 300 or not _meta.is_html(response):
            request.meta[_meta.RENDER] = {"mode": "http", "reason": "not_rendered"}
            return None
        try:
            root = response.selector.root  # parsed once: extraction and the callback reuse it
        except ValueError:
            return None
        signals = page_signals(root)
        reason = render_reason(signals)
        if reason is None:
            host = self._host(response.url)
            if host.verdict is None and host.probes_sent < self.probes:
                host.probes_sent += 1
                reason = "probe"
        if reason is None:
            request.meta[_meta.RENDER] = {"mode": "http", "reason": "no_signal"}
            return None
        marker = {"mode": "browser", "reason": reason, "http": signals.summary()}
        self.runtime.inc({"render/rerequested": 1})
        return request.replace(dont_filter=True, meta={**request.meta, _meta.RENDER: marker})

    def after_browser(self, request: Request, response: Response) -> None:
        """Learn from a rendered probe: did the page change in the browser?"""
        render = request.meta.get(_meta.RENDER) or {}
        if render.get("reason") != "probe" or not isinstance(response, HtmlResponse):
            return
        host = self._host(response.url)
        try:
            rendered = page_signals(response.selector.root).summary()
        except ValueError:
            return
        host.probes_done += 1
        if host.verdict is not None:
            return
        if differs(render["http"], rendered):
            host.verdict = "browser"
        elif host.probes_done >= self.probes:
            host.verdict = "http"
        else:
            return
        self.runtime.inc({f"render/hosts/{host.verdict}": 1})
        logger.info(
            "browser=auto: pages of %s without a signal go to %s (a probe of %s had "
            "%s links and %s characters over HTTP, %s and %s in the browser)",
            host_of(response.url),
            "the browser" if host.verdict == "browser" else "HTTP",
            request.url,
            render["http"]["links"],
            render["http"]["text"],
            rendered["links"],
            rendered["text"],
            extra={"spider": self.runtime.crawler.spider},
        )


def record(config: CrawlerRunConfig, response: Response) -> dict[str, Any] | None:
    """``item.c4["render"]``: which way the page went and why (None for browser=False)."""
    if config.browser is False:
        return None
    rendered = "playwright" in response.flags
    if config.browser is True:
        return {"mode": "browser" if rendered else "http", "reason": "always"}
    render = response.meta.get(_meta.RENDER) or {}
    if rendered:
        return {"mode": "browser", "reason": render.get("reason", "site")}
    return {"mode": "http", "reason": render.get("reason", "no_signal")}
