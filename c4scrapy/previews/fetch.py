"""Getting one URL's ``<head>``: a GET through the engine, stopped after the head, in byte
ranges where the server honours them, redirects followed hop by hop under the guard."""

from __future__ import annotations

import asyncio
import logging
import re
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from scrapy import Request, signals
from scrapy.exceptions import IgnoreRequest, StopDownload
from scrapy.http.request import NO_CALLBACK
from twisted.internet.error import TimeoutError as TwistedTimeoutError

from c4scrapy import _meta
from c4scrapy._compat import DownloadTimeoutError
from c4scrapy._runtime import C4Runtime
from c4scrapy.core.head import HEAD_END_RE, head_end, parse_head
from c4scrapy.core.previews import (
    FAILED,
    HTTP_ERROR,
    NOT_HTML,
    SKIPPED,
    TIMEOUT,
    VALID,
    HeadResult,
)
from c4scrapy.core.urls import host_of, normalize_url
from c4scrapy.guard import AddressGuard

if TYPE_CHECKING:
    from scrapy.http import Response
    from scrapy.http.headers import Headers

logger = logging.getLogger(__name__)

_TIMEOUTS = (DownloadTimeoutError, TwistedTimeoutError, asyncio.TimeoutError)
_HTML_TYPES = (b"text/html", b"application/xhtml+xml")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_HOSTS_CACHE_SIZE = 4096
_CONTENT_RANGE = re.compile(rb"bytes\s+(\d+)-\d+/(\d+|\*)", re.IGNORECASE)


class _Scan:
    __slots__ = ("received", "tail")

    def __init__(self) -> None:
        self.received = 0
        self.tail = b""


class HeadFetcher:
    """Fetches heads for the preview service; the download signals stop each fetch after
    the head, at ``C4_PREVIEW_MAX_BYTES``, or at the headers of a non-HTML response."""

    def __init__(self, runtime: C4Runtime, count: Callable[[Mapping[str, int]], None]) -> None:
        crawler = runtime.crawler
        settings = crawler.settings
        self.crawler = crawler
        self.runtime = runtime
        self.guard = runtime.service(AddressGuard)
        self.max_bytes = runtime.settings.preview_max_bytes
        self.range_bytes = runtime.settings.preview_range_bytes
        self.max_redirects = (
            settings.getint("REDIRECT_MAX_TIMES") if settings.getbool("REDIRECT_ENABLED") else 0
        )
        self._inc = count
        self._scans: weakref.WeakKeyDictionary[Request, _Scan] = weakref.WeakKeyDictionary()
        self._bytes: dict[str, int] = {}
        self._windows: OrderedDict[str, int] = OrderedDict()
        crawler.signals.connect(self._headers_received, signal=signals.headers_received)
        crawler.signals.connect(self._bytes_received, signal=signals.bytes_received)
        crawler.signals.connect(
            self._reached_downloader, signal=signals.request_reached_downloader
        )

    async def fetch(self, url: str, timeout: float) -> HeadResult:
        """The head of ``url`` (``url`` is also the result's cache key); never raises."""
        self._bytes[url] = 0
        try:
            result = await self._follow(url, timeout, url)
        except Exception as exc:  # a preview never breaks the page
            logger.debug("Preview of %s failed", url, exc_info=True)
            result = HeadResult(FAILED, error=f"{type(exc).__name__}: {exc}")
        result.bytes_read = self._bytes.pop(url, 0)
        return result

    async def _follow(self, url: str, timeout: float, key: str) -> HeadResult:
        for _ in range(self.max_redirects + 1):
            try:
                response = await self._get(url, timeout, key)
            except IgnoreRequest as exc:
                message = str(exc) or type(exc).__name__
                if "robots.txt" in message:
                    return HeadResult(SKIPPED, error="robots_txt")
                return HeadResult(SKIPPED, error=f"ignored: {message}")
            except _TIMEOUTS:
                return HeadResult(TIMEOUT, error=f"no complete head within {timeout:g} s")
            location = response.headers.get(b"Location")
            if response.status not in _REDIRECTS or not location or not self.max_redirects:
                return self.result(response, key)
            target = normalize_url(location.decode("latin-1"), response.url)
            if target is None:
                return HeadResult(HTTP_ERROR, error=f"HTTP {response.status} to a non-web URL")
            if await self.guard.refuses(url, target):
                return HeadResult(SKIPPED, error="private_address")
            url = target
        return HeadResult(HTTP_ERROR, error=f"more than {self.max_redirects} redirects")

    async def _get(self, url: str, timeout: float, key: str) -> Response:
        """The start of ``url``, up to its head: in byte ranges when the server honours
        them (the first one as large as this host's heads needed so far), else one GET
        that the download signals stop after the head."""
        engine = self.crawler.engine
        assert engine is not None
        host = host_of(url)
        window = self._windows.get(host, self.range_bytes)
        response = await engine.download_async(self._request(url, timeout, key, 0, window))
        if response.status == 416 and window:  # e.g. an empty resource
            return await engine.download_async(self._request(url, timeout, key))
        if response.status != 206:
            return response
        self._inc({"ranged": 1})
        body = response.body
        validator = _validator(response)
        while (end := head_end(body)) is None:
            start, total = _content_range(response)
            if start != 0 or len(body) >= min(total or self.max_bytes, self.max_bytes):
                break
            if validator is None:  # the pieces could come from different versions
                return await engine.download_async(self._request(url, timeout, key))
            size = min(len(body), self.max_bytes - len(body))  # each piece doubles the total
            more = await engine.download_async(
                self._request(url, timeout, key, len(body), size, if_range=validator)
            )
            self._inc({"range_continuations": 1})
            if more.status == 200:  # the page changed since the first piece: start over
                return more
            if more.status != 206 or _content_range(more)[0] != len(body):
                break
            body += more.body
        if end is not None:
            self.learn_head_size(host, end)
        return response.replace(body=body)

    def learn_head_size(self, host: str, end: int) -> None:
        """Size this host's first byte range to the largest head seen there."""
        if not self.range_bytes:
            return
        window = max(self.range_bytes, 1 << (end - 1).bit_length())
        if window > self._windows.get(host, 0):
            self._windows[host] = min(window, self.max_bytes)
        self._windows.move_to_end(host)
        if len(self._windows) > _HOSTS_CACHE_SIZE:
            self._windows.popitem(last=False)

    def _request(
        self,
        url: str,
        timeout: float,
        key: str,
        start: int = 0,
        size: int = 0,
        *,
        if_range: bytes | None = None,
    ) -> Request:
        headers = {
            "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5",
            "Accept-Encoding": "identity",
        }
        if size:
            headers["Range"] = f"bytes={start}-{start + size - 1}"
        if if_range:
            headers["If-Range"] = if_range.decode("latin-1")
        return Request(
            url,
            callback=NO_CALLBACK,
            headers=headers,
            meta={
                _meta.HEAD: key,
                "playwright": False,
                "download_timeout": timeout,
                "give_up_log_level": "DEBUG",  # the service logs the first failure, counts all
                "dont_redirect": True,
                "allow_offsite": True,
            },
            flags=[_meta.HEAD_FLAG],
            dont_filter=True,
        )

    def result(self, response: Response, key: str) -> HeadResult:
        """What a response (a preview's, or a page the crawl downloaded) says about a head."""
        status = response.status
        if status >= 300:
            suffix = " (redirect not followed)" if status < 400 else ""
            return HeadResult(HTTP_ERROR, error=f"HTTP {status}{suffix}")
        content_type = _meta.content_type_header(response)
        if not _meta.is_html(response):
            return HeadResult(NOT_HTML, error=f"Content-Type: {content_type or 'unknown'}")
        head = parse_head(
            response.body, response.url, content_type or None, cache=self.runtime.urls
        )
        final = normalize_url(response.url, response.url)
        head["redirected_url"] = response.url if final != key else None
        return HeadResult(VALID, head)

    # -- signals -------------------------------------------------------------------------

    def _headers_received(self, headers: Headers, request: Request) -> None:
        if _meta.HEAD not in request.meta:
            return
        content_type = (headers.get(b"Content-Type") or b"").lower()
        if content_type and not content_type.lstrip().startswith(_HTML_TYPES):
            raise StopDownload(fail=False)

    def _bytes_received(self, data: bytes, request: Request) -> None:
        key = request.meta.get(_meta.HEAD)
        if key is None:
            return
        if key in self._bytes:
            self._bytes[key] += len(data)
        scan = self._scans.get(request)
        if scan is None:
            scan = self._scans[request] = _Scan()
        scan.received += len(data)
        window = scan.tail + data
        if scan.received >= self.max_bytes or HEAD_END_RE.search(window):
            raise StopDownload(fail=False)
        scan.tail = window[-8:]

    def _reached_downloader(self, request: Request) -> None:
        if _meta.HEAD in request.meta:
            # Read the HTTP cache (a cached full page costs nothing), never write to it:
            # a truncated head response would be served to the crawl as the page itself.
            request.meta["_dont_cache"] = True


def _validator(response: Response) -> bytes | None:
    """What ``If-Range`` can send to make sure every piece comes from one version."""
    etag = response.headers.get(b"ETag")
    if etag and not etag.startswith(b"W/"):
        return etag
    return response.headers.get(b"Last-Modified")


def _content_range(response: Response) -> tuple[int | None, int | None]:
    """``(first byte, total size)`` of a 206 response (None when unknown)."""
    match = _CONTENT_RANGE.match(response.headers.get(b"Content-Range") or b"")
    if match is None:
        return None, None
    total = match.group(2)
    return int(match.group(1)), int(total) if total.isdigit() else None
