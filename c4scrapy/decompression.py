"""Compressed bodies decoded within a byte budget, before Scrapy's HttpCompressionMiddleware
would inflate them up to ``DOWNLOAD_MAXSIZE`` (1 GiB by default): a 1 MB gzip, brotli or
zstd bomb must not cost a crawl a gigabyte and seconds of its reactor."""

from __future__ import annotations

import sys
import zlib
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import IgnoreRequest
from scrapy.http import TextResponse
from scrapy.responsetypes import responsetypes

from c4scrapy import _meta
from c4scrapy._runtime import C4Runtime
from c4scrapy.core.head import HEAD_END_RE

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from typing_extensions import Self

#: zlib window bits by Content-Encoding: gzip header, zlib header (or raw deflate, below).
ZLIB_WBITS = {
    b"gzip": 16 + zlib.MAX_WBITS,
    b"x-gzip": 16 + zlib.MAX_WBITS,
    b"deflate": zlib.MAX_WBITS,
}
_CHUNK = 65536
_CHUNK_UNTIL = 16384  # smaller pieces where decoding may stop early


def _brotli() -> Any:
    """The brotli module, if it can decode a piece at a time (brotli 1.2+, which Scrapy
    2.19 requires); else None, and ``br`` is left to Scrapy."""
    try:
        import brotli

        brotli.Decompressor().process(b"", output_buffer_limit=1)
    except (ImportError, TypeError, AttributeError):
        return None
    return brotli


def _zstd() -> Any:
    try:
        if sys.version_info >= (3, 14):
            from compression import zstd
        else:
            from backports import zstd
    except ImportError:
        return None
    return zstd


_BROTLI, _ZSTD = _brotli(), _zstd()
#: The Content-Encodings decoded here, within the budget.
CODINGS = frozenset([*ZLIB_WBITS, *([b"br"] if _BROTLI else []), *([b"zstd"] if _ZSTD else [])])
_DAMAGED: tuple[type[Exception], ...] = (
    zlib.error,
    *([_BROTLI.error] if _BROTLI else []),
    *([_ZSTD.ZstdError] if _ZSTD else []),
)


def decompress(
    data: bytes, coding: bytes, limit: int, until: Callable[[bytes], bool] | None = None
) -> bytes:
    """At most ``limit`` bytes of ``data`` decoded from ``coding`` (one of ``CODINGS``; a
    truncated or damaged stream gives what it has); with ``until``, decoding also stops
    after the piece for which ``until`` (given that piece and the 8 bytes before it) is
    true."""
    pieces: list[bytes] = []
    size = 0
    previous = b""
    try:
        for piece in _pieces(data, coding, _CHUNK if until is None else _CHUNK_UNTIL):
            piece = piece[: limit - size]
            pieces.append(piece)
            size += len(piece)
            if size >= limit or (until is not None and until(previous[-8:] + piece)):
                break
            previous = piece
    except _DAMAGED:
        pass  # a truncated or damaged stream: keep what decoded
    return b"".join(pieces)


def _pieces(data: bytes, coding: bytes, step: int) -> Iterator[bytes]:
    """The decoded stream, in pieces of about ``step`` bytes, decoded as they are taken."""
    if coding == b"br":
        decoder = _BROTLI.Decompressor()
        piece = decoder.process(data, output_buffer_limit=step)
        while piece:
            yield piece
            if decoder.is_finished():
                return
            piece = decoder.process(b"", output_buffer_limit=step)
    elif coding == b"zstd":
        while data:  # frame after frame
            frame = _ZSTD.ZstdDecompressor()
            piece = frame.decompress(data, max_length=step)
            while piece:
                yield piece
                if frame.eof:
                    break
                piece = frame.decompress(b"", max_length=step)
            if not frame.eof:
                return  # truncated
            data = frame.unused_data
    else:
        wbits = ZLIB_WBITS[coding]
        if wbits == zlib.MAX_WBITS and data[:1] != b"\x78":
            wbits = -zlib.MAX_WBITS  # "deflate" sent raw, without the zlib header
        inflater = zlib.decompressobj(wbits)
        while piece := inflater.decompress(data, step):
            yield piece
            data = inflater.unconsumed_tail


def _head_ended(window: bytes) -> bool:
    return HEAD_END_RE.search(window) is not None


class BoundedDecompressionMiddleware:
    """Downloader middleware (order 595, just outside HttpCompressionMiddleware), for
    gzip, deflate, brotli and zstd bodies (``CODINGS``):

    - a link preview's body is decoded up to ``C4_PREVIEW_MAX_BYTES`` or the end of its
      ``<head>``, whichever comes first;
    - an HTML page c4scrapy extracts is decoded up to ``C4_MAX_PAGE_BYTES``; one that
      inflates beyond it is dropped with ``IgnoreRequest`` (as Scrapy drops a body that
      inflates beyond ``DOWNLOAD_MAXSIZE``) and counted in ``c4/pages/too_large``. A page
      decoded here is counted in Scrapy's ``httpcompression/*`` stats as Scrapy would.

    Other responses, and other encodings, are left to Scrapy."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.runtime = C4Runtime.enabled_for(crawler)
        settings = self.runtime.settings
        self.preview_max_bytes = settings.preview_max_bytes
        self.page_max_bytes = settings.max_page_bytes
        self.download_maxsize = crawler.settings.getint("DOWNLOAD_MAXSIZE")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        encodings = response.headers.getlist(b"Content-Encoding")
        if not encodings or request.method == "HEAD":
            return response
        named = (e.strip().lower() for e in b",".join(encodings).split(b","))
        codings = [c for c in named if c and c != b"identity"]
        if _meta.HEAD in request.meta:
            return self._preview(response, codings)
        if self._bounded_page(request, response) and all(c in CODINGS for c in codings):
            return self._page(response, codings)
        return response

    def _preview(self, response: Response, codings: list[bytes]) -> Response:
        body = response.body
        for coding in reversed(codings):
            if coding not in CODINGS:
                raise IgnoreRequest(
                    f"unsupported Content-Encoding for a preview: {coding.decode('latin-1')}"
                )
            body = decompress(body, coding, self.preview_max_bytes, _head_ended)
        self.runtime.inc({"previews/decompressed_bytes": len(body)})
        return _decoded(response, body)

    def _bounded_page(self, request: Request, response: Response) -> bool:
        """Whether ``response`` is a page c4scrapy extracts whose decompression
        ``C4_MAX_PAGE_BYTES`` bounds tighter than Scrapy's ``download_maxsize`` does."""
        limit = self.page_max_bytes
        if not limit or not self.runtime.applies_to(request):
            return False
        maxsize = request.meta.get("download_maxsize", self.download_maxsize)
        if maxsize and maxsize <= limit:
            return False
        return _meta.declares_markup(response)

    def _page(self, response: Response, codings: list[bytes]) -> Response:
        limit = self.page_max_bytes
        body = response.body
        for coding in reversed(codings):
            body = decompress(body, coding, limit + 1)
            if not body:
                return response  # not a stream of that encoding: Scrapy decides
            if len(body) > limit:  # checked at each layer: an inner one may be cut short
                self.runtime.inc({"pages/too_large": 1})
                raise IgnoreRequest(
                    f"page too large: more than {limit} bytes once decompressed "
                    f"({len(response.body)} bytes sent), over C4_MAX_PAGE_BYTES; not "
                    "decompressed further"
                )
        stats = self.crawler.stats
        if stats is not None:
            stats.inc_value("httpcompression/response_bytes", len(body))
            stats.inc_value("httpcompression/response_count")
        return _decoded(response, body)


def _decoded(response: Response, body: bytes) -> Response:
    """``response`` with ``body`` and without its ``Content-Encoding``, of the class that
    Scrapy gives such a response."""
    headers = response.headers.copy()
    del headers[b"Content-Encoding"]
    cls = responsetypes.from_args(headers=headers, url=response.url, body=body)
    if issubclass(cls, TextResponse):  # not the encoding guessed from the compressed bytes
        return response.replace(cls=cls, headers=headers, body=body, encoding=None)
    return response.replace(cls=cls, headers=headers, body=body)
