"""End to end: servers that misbehave. Every requested URL still ends as exactly one item,
and crawls that a server's URL aliasing would make endless end by themselves."""

from __future__ import annotations

import gzip
import zlib

import brotli
import pytest

from tests._support.crawling import CrawlRun, run_crawl
from tests._support.servers import LocalServer

SAME_BODY = b'<html><body><a href="/same3.html">next</a></body></html>'
HTML = {"Content-Type": "text/html"}
#: 50 MB of HTML in 49 KB: it must cost no more than C4_MAX_PAGE_BYTES (20,000 here).
BOMB = gzip.compress(b"<html><body>" + b" " * 50_000_000, 9)
BROTLI_BOMB = brotli.compress(b"<html><body>" + b" " * 50_000_000, quality=5)  # in 86 bytes
SMALL = b"<html><body><p>compressed but small</p></body></html>"


@pytest.fixture(scope="module")
def misbehaving(tmp_path_factory: pytest.TempPathFactory) -> tuple[CrawlRun, LocalServer]:
    site = tmp_path_factory.mktemp("site")
    links = ["loop-a", "empty-location", "to-home", "png", "x.xhtml", "big", "same1", "same2"]
    links += ["bomb", "bomb-br", "deflated", "headers"]
    (site / "index.html").write_text(
        "<html><body>"
        + "".join(f'<a href="/{link}">{link}</a>' for link in links)
        + "</body></html>"
    )
    (site / "same3.html").write_text("<html><body><p>reached once</p></body></html>")
    with LocalServer(site) as server:
        routes = server.routes
        routes["/loop-a"] = lambda h: (301, {"Location": "/loop-b"}, b"")
        routes["/loop-b"] = lambda h: (301, {"Location": "/loop-a"}, b"")
        routes["/empty-location"] = lambda h: (302, {"Location": ""}, b"")
        routes["/to-home"] = lambda h: (301, {"Location": "/index.html"}, b"")
        routes["/png"] = lambda h: (200, {"Content-Type": "image/png"}, b"<html><p>x</p></html>")
        routes["/x.xhtml"] = lambda h: (
            200,
            {"Content-Type": "text/xml"},
            (
                b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body>'
                b"<p>served as XML</p></body></html>"
            ),
        )
        routes["/big"] = lambda h: (200, HTML, b"<html><body>" + b"<p>x</p>" * 5000)
        routes["/bomb"] = lambda h: (200, {**HTML, "Content-Encoding": "gzip"}, BOMB)
        routes["/bomb-br"] = lambda h: (200, {**HTML, "Content-Encoding": "br"}, BROTLI_BOMB)
        routes["/deflated"] = lambda h: (
            200,
            {"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "deflate"},
            zlib.compress(SMALL),
        )
        # 30,000 header lines: 90 KB of X-Pad, which Twisted parses whole, then a small one
        routes["/headers"] = lambda h: (
            200,
            {"X-Pad": "b" + "\r\nX-Pad: b" * 30_000, "X-After": "kept", **HTML},
            b"<html><body><p>headed</p></body></html>",
        )
        routes["/same1"] = lambda h: (200, HTML, SAME_BODY)
        routes["/same2"] = lambda h: (200, HTML, SAME_BODY)
        run = run_crawl(
            tmp_path_factory.mktemp("crawl"),
            args={"url": server.url + "index.html"},
            settings={
                "C4_MAX_PAGE_BYTES": "20000",
                "REDIRECT_MAX_TIMES": "5",
                "HTTPERROR_ALLOW_ALL": "True",
            },
        )
        yield run, server


def test_every_requested_url_is_one_item(misbehaving: tuple[CrawlRun, LocalServer]) -> None:
    run, server = misbehaving
    urls = [item["url"].removeprefix(server.url) for item in run.items]
    expected = ["index.html", "loop-a", "empty-location", "to-home", "png", "x.xhtml", "big"]
    expected += ["same1", "same2", "same3.html", "bomb", "bomb-br", "deflated", "headers"]
    assert sorted(urls) == sorted(expected)
    assert run.returncode == 0
    assert "Traceback" not in run.log


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("loop-a", "redirected to {base}loop-a, which this crawl has already requested"),
        ("empty-location", "redirected to {base}empty-location, which this crawl has already"),
        ("to-home", "redirected to {base}index.html, which this crawl has already requested"),
        ("png", "not an HTML response (Content-Type: image/png)"),
        ("big", "page too large: 40012 bytes, over C4_MAX_PAGE_BYTES (20000); not parsed"),
        (
            "bomb",
            (
                "request ignored: page too large: more than 20000 bytes once decompressed "
                f"({len(BOMB)} bytes sent), over C4_MAX_PAGE_BYTES; not decompressed further"
            ),
        ),
    ],
)
def test_refusals_say_why(misbehaving: tuple[CrawlRun, LocalServer], path: str, error: str):
    run, server = misbehaving
    item = run.by_url()[server.url + path]
    assert item["success"] is False
    assert error.format(base=server.url) in item["error_message"]


def test_a_compression_bomb_is_decoded_no_further_than_the_page_limit(
    misbehaving: tuple[CrawlRun, LocalServer],
) -> None:
    """The 50 MB gzip and brotli bombs are refused once 20,001 bytes are
    decoded, not after Scrapy's inflating them up to DOWNLOAD_MAXSIZE; a small compressed
    page is decoded once and extracted."""
    run, server = misbehaving
    assert run.stats["c4/pages/too_large"] == 3  # the bombs and /big
    error = run.by_url()[server.url + "bomb-br"]["error_message"]
    assert error.startswith("request ignored: page too large: more than 20000 bytes once")
    assert run.stats["httpcompression/response_bytes"] == len(SMALL)  # decoded once
    assert "compressed but small" in run.by_url()[server.url + "deflated"]["markdown"]


def test_an_unfollowed_redirect_says_so(site_server, tmp_path) -> None:
    (tmp_path / "site" / "index.html").write_text('<a href="/moved">moved</a>')
    site_server.routes["/moved"] = lambda h: (302, {"Location": "/new.html"}, b"")
    run = run_crawl(
        tmp_path / "crawl", args={"url": site_server.url}, settings={"REDIRECT_ENABLED": "False"}
    )
    item = run.by_url()[site_server.url + "moved"]
    assert item["error_message"] == "HTTP 302: redirect to '/new.html' not followed"
    assert run.stats["c4/pages/redirect_not_followed"] == 1


def test_xhtml_served_as_xml_is_extracted(misbehaving: tuple[CrawlRun, LocalServer]) -> None:
    run, server = misbehaving
    item = run.by_url()[server.url + "x.xhtml"]
    assert item["success"] is True
    assert "served as XML" in item["markdown"]


def test_a_page_with_an_earlier_body_is_not_followed(misbehaving: tuple[CrawlRun, LocalServer]):
    run, server = misbehaving
    assert run.stats["c4/duplicates/not_followed"] == 1
    assert server.hits["/same3.html"] == 1
    assert run.log.count("its body is the same as an earlier page's") == 1


def test_an_aliasing_server_does_not_make_the_crawl_endless(tmp_path) -> None:
    """The static server answers ``//x`` and ``/a//x`` like ``/x``; hrefs with ``\\``
    resolve as browsers resolve them, and the trap rules stop what remains."""
    site = tmp_path / "site"
    (site / "docs").mkdir(parents=True)
    (site / "index.html").write_text('<a href="\\">home</a><a href="docs/a.html">a</a>')
    (site / "docs" / "a.html").write_text('<a href="\\docs\\b.html">b</a><a href="\\">home</a>')
    (site / "docs" / "b.html").write_text('<a href="..\\index.html">up</a><a href="b.html/">x</a>')
    with LocalServer(site) as server:
        run = run_crawl(tmp_path / "crawl", args={"url": server.url})
    urls = sorted(item["url"].removeprefix(server.url) for item in run.items)
    assert urls == ["", "docs/a.html", "docs/b.html", "docs/b.html/", "index.html"]


def test_an_item_keeps_64_kib_of_headers(misbehaving: tuple[CrawlRun, LocalServer]) -> None:
    run, server = misbehaving
    item = run.by_url()[server.url + "headers"]
    assert item["success"] is True
    headers = item["response_headers"]
    assert "X-Pad" not in headers
    assert headers["X-After"] == "kept"
    assert headers["Content-Type"] == "text/html"
    assert item["c4"]["headers_dropped"] == 1
    assert run.stats["c4/pages/headers_dropped"] == 1
