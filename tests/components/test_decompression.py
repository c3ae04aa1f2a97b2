"""Compressed bodies decoded within a byte budget (BoundedDecompressionMiddleware,
decompress)."""

from __future__ import annotations

import gzip
import zlib
from typing import Any

import brotli
import pytest
from backports import zstd
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response
from scrapy.utils.test import get_crawler

from c4scrapy import _meta
from c4scrapy.decompression import BoundedDecompressionMiddleware, _head_ended, decompress

PAGE = "<html><head><title>Ünïcode</title></head><body><p>café</p></body></html>".encode()


@pytest.mark.parametrize(
    ("compress", "coding"),
    [
        (gzip.compress, b"gzip"),
        (zlib.compress, b"deflate"),
        (lambda d: zlib.compress(d)[2:-4], b"deflate"),  # "deflate" sent raw
        (brotli.compress, b"br"),
        (zstd.compress, b"zstd"),
    ],
)
def test_decompress_stops_at_the_limit_or_where_told(compress, coding):
    html = b"<html><head><title>x</title>" + b" " * 2_000_000
    bomb = compress(html)
    assert len(decompress(bomb, coding, 20_000)) == 20_000
    assert decompress(bomb, coding, 10**9) == html
    if coding != b"br":  # a 2 MB brotli bomb is 32 bytes: half of it decodes to nothing
        truncated = decompress(bomb[: len(bomb) // 2], coding, 10**9)  # what it has
        assert 20_000 < len(truncated) < len(html)
        assert html.startswith(truncated)
    page = compress(b"<html><head><title>x</title></head><body>" + b"y" * 1_000_000)
    decoded = decompress(page, coding, 10**9, _head_ended)
    assert decoded.startswith(b"<html><head><title>x</title></head>")
    assert len(decoded) <= 32768  # brotli gives up to two pieces of 16 KiB at once
    assert decompress(b"not compressed", coding, 1000) == b""


def test_every_zstd_frame_is_decoded() -> None:
    assert decompress(zstd.compress(b"one ") + zstd.compress(b"two"), b"zstd", 100) == b"one two"


def _middleware(**settings: Any) -> BoundedDecompressionMiddleware:
    crawler = get_crawler(settings_dict={"C4_MAX_PAGE_BYTES": 1000, **settings})
    crawler.stats.open_spider()
    return BoundedDecompressionMiddleware(crawler)


def _response(
    body: bytes, encoding: str = "gzip", content_type: str = "text/html", **meta: Any
) -> tuple[Request, Response]:
    request = Request("http://example.com/p", meta=meta)
    headers = {"Content-Type": content_type, "Content-Encoding": encoding}
    cls = HtmlResponse if "html" in content_type else Response
    return request, cls(request.url, body=body, headers=headers, request=request)


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda d: zlib.compress(d)[2:-4]),
        ("gzip, identity", gzip.compress),
        ("deflate, gzip", lambda d: gzip.compress(zlib.compress(d))),
        ("br", brotli.compress),
        ("zstd", zstd.compress),
        ("gzip, br", lambda d: brotli.compress(gzip.compress(d))),
    ],
)
def test_a_page_under_the_limit_is_decoded_once(encoding, compress):
    middleware = _middleware()
    request, response = _response(compress(PAGE), encoding, "text/html; charset=utf-8")
    decoded = middleware.process_response(request, response)
    assert isinstance(decoded, HtmlResponse)
    assert decoded.body == PAGE
    assert b"Content-Encoding" not in decoded.headers
    assert "café" in decoded.text  # the charset of the header, not one guessed from gzip
    stats = middleware.crawler.stats
    assert stats.get_value("httpcompression/response_bytes") == len(PAGE)
    assert stats.get_value("httpcompression/response_count") == 1


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", gzip.compress(b"<html>" + b" " * 10**7)),
        # the outer layer inflates beyond the limit, the inner one (cut short) would not
        ("deflate, gzip", gzip.compress(zlib.compress(b"<html>" + b" " * 10**6, 0))),
        ("br", brotli.compress(b"<html>" + b" " * 10**7)),  # 10 MB in 39 bytes
        ("zstd", zstd.compress(b"<html>" + b" " * 10**7)),
    ],
)
def test_a_page_over_the_limit_is_refused_after_the_limit(encoding, body):
    middleware = _middleware()
    request, response = _response(body, encoding)
    with pytest.raises(IgnoreRequest, match=r"more than 1000 bytes once decompressed"):
        middleware.process_response(request, response)
    assert middleware.crawler.stats.get_value("c4/pages/too_large") == 1


@pytest.mark.parametrize(
    ("why", "settings", "encoding", "content_type", "meta"),
    [
        ("not markup", {}, "gzip", "application/pdf", {}),
        ("an encoding decoded by neither", {}, "compress", "text/html", {}),
        ("c4scrapy off for the request", {}, "gzip", "text/html", {_meta.CONFIG: False}),
        ("Scrapy's own limit is tighter", {}, "gzip", "text/html", {"download_maxsize": 500}),
        ("no page limit", {"C4_MAX_PAGE_BYTES": 0}, "gzip", "text/html", {}),
    ],
)
def test_other_responses_are_left_to_scrapy(why, settings, encoding, content_type, meta):
    middleware = _middleware(**settings)
    request, response = _response(
        gzip.compress(b"<html>" + b" " * 10**5), encoding, content_type, **meta
    )
    assert middleware.process_response(request, response) is response, why


def test_a_stream_that_is_not_what_it_says_is_left_to_scrapy():
    middleware = _middleware()
    request, response = _response(b"\x1f\x8b not really gzip")
    assert middleware.process_response(request, response) is response
