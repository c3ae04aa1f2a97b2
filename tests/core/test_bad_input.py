"""Bad input never breaks extraction, and the item says what happened.

Every pure-core case runs on the bytes (as ``python -m c4scrapy extract`` does) and on the
tree Scrapy's ``HtmlResponse.selector`` gives (as the spider middleware does); both must
agree. Then a real crawl serves some of it, and hypothesis feeds random HTML and bytes.
"""

from __future__ import annotations

import dataclasses
import io
import json
import struct
import zipfile
import zlib
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from scrapy.http import HtmlResponse

from c4scrapy import PageItem, extract_page
from c4scrapy.core.page import parse_html
from c4scrapy.core.urls import normalize_url, url_scheme
from tests._support.crawling import run_crawl

PAGE = "http://example.com/dir/page.html"


def both_paths(body: bytes, content_type: str | None = None) -> tuple[PageItem, PageItem]:
    """The item from the bytes, and the item from Scrapy's response.selector."""
    direct = extract_page(body, PAGE, content_type=content_type)
    headers = {"Content-Type": content_type or "text/html"}
    response = HtmlResponse(PAGE, body=body, headers=headers)
    return direct, extract_page(response.selector, response.url)


def same_extraction(a: PageItem, b: PageItem) -> bool:
    fields = ("success", "error_message", "links", "media", "tables", "metadata", "markdown")
    return all(getattr(a, name) == getattr(b, name) for name in fields)


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    pixels = zlib.compress(b"\x00\xff\x00\x00" * 2)
    ihdr = struct.pack(">IIBBBBB", 1, 2, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def zip_archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.html", "<a href='/x'>x</a>" * 50)
    return buffer.getvalue()


GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xdb\x00C\x00"
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer\n<< >>\n%%EOF\n"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"", "empty document"),
        (b" \r\n\t ", "empty document"),
        (b"<!-- nothing but a comment -->", "empty document"),
        (b"<html><head></head><body></body></html>", "empty document"),
        (png(), "not an HTML document: binary data (PNG image)"),
        (GIF, "not an HTML document: binary data (GIF image)"),
        (JPEG, "not an HTML document: binary data (JPEG image)"),
        (PDF, "not an HTML document: binary data (PDF)"),
        (zip_archive(), "not an HTML document: binary data (ZIP archive)"),
        (json.dumps({"items": [1, {"html": "<a href='/x'>x</a>"}]}).encode(), "not an HTML document: JSON"),
        (b"[1, 2, 3]", "not an HTML document: JSON"),
    ],
    ids=["empty", "whitespace", "comment", "empty-shell", "png", "gif", "jpeg", "pdf", "zip",
         "json-object", "json-array"],
)  # fmt: skip
def test_not_a_page_says_what_it_is(body: bytes, error: str) -> None:
    for item in both_paths(body):
        assert item.success is False
        assert item.error_message == error
        assert item.links == {"internal": [], "external": []}


@pytest.mark.parametrize(
    ("body", "links", "title"),
    [
        (
            b'<html><head><title>Half a page</title></head><body><p>Text <a href="/one">1</a> <a hre',
            ["/one"],
            "Half a page",
        ),
        (b'<a href="/two">two</a><p>and <a href="/thr', ["/two"], None),
        (
            b'<div><p>one <b>bold <a href="/a">a</div> <table><tr><td><a href="/b">b</td></table>',
            ["/a", "/b"],
            None,
        ),
        (b'</p></div></span><a href="/c">c</a></td></tr><a href="/d">d', ["/c", "/d"], None),
        (b'<a href="/c">c</a></body></html><a href="/d">d', ["/c"], None),  # libxml2 drops it
        (b"<a href=/e title=x>e</a><a href='/f'>f</a><a href=\"/g\">g", ["/e", "/f", "/g"], None),
        (b'<a href="/h">h <a href="/i">nested</a></a>', ["/h", "/i"], None),
        (b"<title>no body at all", [], "no body at all"),
        (b'<html><body><a href="/j">j</a><![CDATA[ x ]]><?php echo 1 ?><a href="/k">k', ["/j", "/k"], None),
        (b"<div>" * 3000 + b"deep" + b"</div>" * 3000 + b'<a href="/l">l</a>', None, None),
    ],
    ids=["truncated-tag", "truncated-attribute", "unclosed", "stray-end-tags", "after-html-end",
         "unquoted",
         "nested-links", "title-only", "cdata-and-pi", "3000-deep"],
)  # fmt: skip
def test_broken_html_is_read_as_scrapy_reads_it(
    body: bytes, links: list[str] | None, title: str | None
) -> None:
    direct, via_scrapy = both_paths(body)
    assert same_extraction(direct, via_scrapy)
    assert direct.success is True, direct.error_message
    hrefs = [link["href"] for link in direct.links["internal"]]
    if links is not None:  # a 3000-deep tree is cut by libxml2's depth limit, as in Scrapy
        assert hrefs == [f"http://example.com{path}" for path in links]
    assert direct.metadata.get("title") == title


LATIN1_TEXT = "Un café crème à Paris, s'il vous plaît. Très bien, merci beaucoup à vous."


@pytest.mark.parametrize(
    ("body", "content_type", "title"),
    [
        (
            f'<meta charset="utf-8"><title>Café crème</title><p>{LATIN1_TEXT}'.encode("latin-1"),
            None,
            "Caf\ufffd cr\ufffdme",  # the declared charset wins, as in browsers and Scrapy
        ),
        (f"<title>Café crème</title><p>{LATIN1_TEXT}".encode("latin-1"), None, None),
        ("<title>Schöne Grüße</title>".encode("utf-16"), None, "Schöne Grüße"),
        ("\ufeff<title>Schöne Grüße</title>".encode(), None, "Schöne Grüße"),
        (
            '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
            "<title>Привет, мир</title>".encode("cp1251"),
            None,
            "Привет, мир",
        ),
        (
            '<meta charset="utf-8"><title>Привет</title>'.encode("koi8-r"),
            "text/html; charset=koi8-r",  # the HTTP header beats the <meta>
            "Привет",
        ),
        ('<meta charset="shift_jis"><title>日本語</title>'.encode("shift_jis"), None, "日本語"),
        (b'<meta charset="no-such-charset"><title>plain</title>', None, "plain"),
    ],
    ids=["latin1-declared-utf8", "latin1-undeclared", "utf16-bom", "utf8-bom", "meta-only",
         "header-wins", "shift-jis", "unknown-charset"],
)  # fmt: skip
def test_charsets_decode_as_scrapy_does(
    body: bytes, content_type: str | None, title: str | None
) -> None:
    direct, via_scrapy = both_paths(body, content_type)
    assert direct.success is True, direct.error_message
    assert direct.metadata["title"] == via_scrapy.metadata["title"]
    if title is not None:  # None: undeclared, so charset_normalizer's guess (cp1250 or cp1252)
        assert direct.metadata["title"] == title


@pytest.mark.parametrize(
    "body",
    [
        b"<p>plain ascii</p>",
        "<p>caf\u00e9</p>".encode(),
        b"<p>a\x00b</p>",  # NULs: removed before the page is parsed
        "\u00a0<p>x</p>\u00a0".encode(),  # Unicode whitespace around the page
        b"\x1c<p>x</p>\x1f",
        b"  \n<p>x</p>\n  ",
        b"<p>bad \xc3 utf-8 \xff</p>",
        b'<meta charset="utf-8"><p>\xe9t\xe9</p>',
        b"\xef\xbb\xbf<p>bom</p>",
        b"   ",
        b"",
    ],
    ids=["ascii", "utf8", "nul", "nbsp-edges", "control-edges", "space-edges", "bad-utf8",
         "declared-utf8-latin1-bytes", "bom", "blank", "empty"],
)  # fmt: skip
def test_bytes_parse_to_the_tree_scrapy_builds(body: bytes) -> None:
    """UTF-8 bytes skip the decode (see parse_html): the tree must not change."""
    response = HtmlResponse(PAGE, body=body, headers={"Content-Type": "text/html"})
    ours = parse_html(body, PAGE, "text/html")
    assert etree.tostring(ours) == etree.tostring(response.selector.root)


# --- junk hrefs --------------------------------------------------------------------------------

LONG_PATH = "/" + "a" * 5000
JUNK_HREFS = [
    ("http://[::1", None),
    (LONG_PATH, "http://example.com" + LONG_PATH),
    ("http://example.com/" + "é" * 2500, "http://example.com/" + "%C3%A9" * 2500),
    (" /spaced path/ ", "http://example.com/spaced%20path/"),
    ("/a b?c d=e f", "http://example.com/a%20b?c%20d=e%20f"),
    ("http://bücher.de/straße", "http://xn--bcher-kva.de/stra%C3%9Fe"),
    ("http://例え.テスト/", "http://xn--r8jz45g.xn--zckzah/"),
    ("javascript:alert(1)", None),
    (" JavaScript:void(0)", None),
    ("mailto:someone@example.com", None),
    ("tel:+1-555-0100", None),
    ("data:text/html,<p>hi</p>", None),
    ("http://exa mple.com/", None),
    ("http://exa%20mple.com/", None),
    ("http://<script>/", None),
    ("//", None),
    (":", "http://example.com/dir/:"),
    ("http:///x", "http://x/"),  # as browsers read it: any number of slashes
    ("http://", None),
    ("http://example.com:99999/", None),
    ("http://example.com:-1/", None),
    ("http://example.com:65535/x", "http://example.com:65535/x"),
    ("http://example.com:80/x", "http://example.com/x"),
    ("", None),
    ("#top", PAGE),
    ("\t/tab\n/ped", "http://example.com/tab/ped"),
    ("HTTP://EXAMPLE.COM/Path", "http://example.com/Path"),
    ("/x?utm_source=feed&id=1", "http://example.com/x?id=1"),
    ("http://example.com/a/./b/../c", "http://example.com/a/c"),
    ("../../../../up", "http://example.com/up"),
]


@pytest.fixture(scope="module")
def junk_page() -> tuple[PageItem, Counter[str]]:
    anchors = "".join(f'<a href="{href}">link {i}</a>' for i, (href, _) in enumerate(JUNK_HREFS))
    images = "".join(
        f'<img src="{href}" alt="x" width="300" height="300">' for href, _ in JUNK_HREFS
    )
    body = f'<html><head><base href="http://[::1"></head><body>{anchors}{images}</body></html>'
    counts: Counter[str] = Counter()
    return extract_page(body, PAGE, counts=counts), counts


@pytest.mark.parametrize(("href", "expected"), JUNK_HREFS, ids=range(len(JUNK_HREFS)))
def test_junk_href(junk_page: tuple[PageItem, Counter[str]], href: str, expected: str | None):
    item, _ = junk_page
    assert normalize_url(href, PAGE) == expected
    if expected is not None:
        assert expected in {link["href"] for link in item.all_links()}


def test_junk_page_keeps_the_rest_and_counts_what_it_dropped(junk_page) -> None:
    item, counts = junk_page
    assert item.success is True
    hrefs = {link["href"] for link in item.all_links()}
    assert hrefs == {expected for _, expected in JUNK_HREFS if expected}
    assert {image["src"] for image in item.media["images"]} <= hrefs
    assert counts["links/non_web/javascript"] == 2
    assert counts["links/non_web/mailto"] == counts["links/non_web/tel"] == 1
    malformed = [
        href
        for href, expected in JUNK_HREFS
        if expected is None and href.strip() and url_scheme(href) in ("", "http", "https")
    ]
    assert counts["links/non_web/invalid"] == len(malformed)  # not counted as "http"
    assert "links/non_web/http" not in counts


# --- a 10 MB page ------------------------------------------------------------------------------

WORDS = ("lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit")


def ten_megabyte_page(size: int = 10 * 1024 * 1024) -> tuple[bytes, int]:
    """A long changelog-like page: text, a link per paragraph, figures, tables."""
    text = " ".join(WORDS[i % len(WORDS)] for i in range(300))
    parts = ["<!DOCTYPE html><html><head><title>A very long page</title></head><body>"]
    total, paragraphs = len(parts[0]), 0
    while total < size:
        i = paragraphs
        block = f'<p id="p{i}">{text} <a href="/entry/{i}.html">entry {i}</a></p>'
        if i % 10 == 0:
            block += (
                f'<figure><img src="/img/{i}.png" alt="figure {i}" width="640" height="480">'
                f'<figcaption>Figure {i}</figcaption></figure><a href="https://bugs{i}.example.org/">'
                "bug</a>"
            )
        if i % 100 == 0:
            block += (
                "<table><thead><tr><th>Version</th><th>Date</th></tr></thead><tbody>"
                + f"<tr><td>3.{i}</td><td>released on a sunny day</td></tr>" * 3
                + "</tbody></table>"
            )
        parts.append(block)
        total += len(block)
        paragraphs += 1
    parts.append("</body></html>")
    return "".join(parts).encode(), paragraphs


def test_ten_megabyte_page_is_extracted_whole() -> None:
    body, paragraphs = ten_megabyte_page()
    assert len(body) >= 10 * 1024 * 1024
    item = extract_page(body, "http://example.com/changelog.html")
    assert item.success is True, item.error_message
    assert len(item.links["internal"]) == paragraphs
    assert len(item.links["external"]) == len(item.media["images"]) == (paragraphs + 9) // 10
    assert len(item.tables) == (paragraphs + 99) // 100
    assert item.metadata["title"] == "A very long page"
    assert f"entry {paragraphs - 1}" in (item.markdown or "")


# --- random input (hypothesis) -----------------------------------------------------------------

TAGS = ["a", "area", "img", "picture", "source", "video", "p", "div", "span", "table", "tr",
        "td", "th", "thead", "caption", "script", "style", "noscript", "base", "meta", "title",
        "head", "body", "br", "figure", "h1", "ul", "li", "iframe", "template", "svg"]  # fmt: skip
ATTRIBUTES = ["href", "src", "srcset", "data-src", "data-srcset", "data-lazy-src", "alt",
              "title", "width", "height", "style", "class", "id", "colspan", "rowspan", "hidden",
              "charset", "content", "name", "property", "rel", "onclick", "sizes"]  # fmt: skip
URLISH = st.sampled_from([href for href, _ in JUNK_HREFS] + [
    "/a.jpg 1x, /b.jpg 2x", "https://cdn.example.net/w_320,c_limit/x.png 320w", "0", "-5",
    "300px", "display:none", "og:image", "x.com", "//other.org/p?q#f", "a.jpg, b.jpg",
])  # fmt: skip
TEXT = st.text(max_size=30)


def _element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    attribute = st.tuples(st.sampled_from(ATTRIBUTES), st.one_of(URLISH, TEXT))

    def render(tag: str, attributes: list[tuple[str, str]], inner: list[str], close: bool) -> str:
        rendered = "".join(
            f' {name}="{value.replace(chr(34), "&quot;")}"' for name, value in attributes
        )
        return f"<{tag}{rendered}>{''.join(inner)}{f'</{tag}>' if close else ''}"

    return st.builds(
        render,
        st.sampled_from(TAGS),
        st.lists(attribute, max_size=4),
        st.lists(children, max_size=4),
        st.booleans(),
    )


RANDOM_HTML = st.recursive(TEXT, _element, max_leaves=25).flatmap(
    lambda html: st.integers(0, len(html)).map(lambda cut: html[:cut] if cut else html)
)


def check_item(item: PageItem) -> None:
    """What every item must satisfy, whatever the input."""
    assert isinstance(item.success, bool)
    if not item.success:
        assert isinstance(item.error_message, str)
        assert item.error_message
    json.dumps(dataclasses.asdict(item))  # exportable by Scrapy's feed exporters
    seen: set[str] = set()
    for bucket in ("internal", "external"):
        hrefs = [link["href"] for link in item.links[bucket]]
        assert len(hrefs) == len(set(hrefs)), "links are merged per URL"
        assert not seen & set(hrefs), "a URL is internal or external, not both"
        seen.update(hrefs)
        for href in hrefs:
            assert href.startswith(("http://", "https://"))
            assert "#" not in href
            assert normalize_url(href, PAGE) == href, "hrefs are already canonical"
    sources = [image["src"] for image in item.media["images"]]
    assert len(sources) == len(set(sources))
    assert all(normalize_url(src, PAGE) == src for src in sources)
    for table in item.tables:
        assert isinstance(table["headers"], list)
        assert isinstance(table["rows"], list)


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(html=RANDOM_HTML)
def test_random_html(html: str) -> None:
    direct, via_scrapy = both_paths(html.encode())
    check_item(direct)
    assert same_extraction(direct, via_scrapy)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    data=st.binary(max_size=3000),
    content_type=st.sampled_from([None, "text/html; charset=utf-16"]),
)
def test_random_bytes(data: bytes, content_type: str | None) -> None:
    direct, via_scrapy = both_paths(data, content_type)
    check_item(direct)
    assert same_extraction(direct, via_scrapy)


# --- the same, served to a real crawl -----------------------------------------------------------


def test_crawl_reports_each_bad_response(site_server: Any, tmp_path: Any) -> None:
    big, paragraphs = ten_megabyte_page()
    routes = {
        "/binary.html": (200, {"Content-Type": "text/html"}, png()),
        "/big.html": (200, {"Content-Type": "text/html; charset=utf-8"}, big),
        "/empty.html": (200, {"Content-Type": "text/html"}, b""),
        "/json.html": (200, {"Content-Type": "text/html"}, b'{"ok": true}'),
        "/latin1.html": (
            200,
            {"Content-Type": "text/html; charset=utf-8"},
            f"<title>Café crème</title><p>{LATIN1_TEXT}".encode("latin-1"),
        ),
        "/cut.html": (200, {"Content-Type": "text/html", "Content-Length": "5000"}, [b"<p>half"]),
    }
    for path, answer in routes.items():
        site_server.routes[path] = lambda handler, answer=answer: answer
    links = "".join(f'<a href="{path}">{path}</a>' for path in routes)
    (tmp_path / "site" / "index.html").write_text(f"<html><body>{links}</body></html>")

    run = run_crawl(
        tmp_path,
        args={"url": site_server.url, "depth": 1},
        settings={"RETRY_TIMES": 0},
    )
    pages = run.by_url()
    assert len(run.items) == len(pages) == len(routes) + 1, run.log[-3000:]
    base = site_server.url.rstrip("/")

    def outcome(path: str) -> tuple[bool, str | None]:
        return pages[base + path]["success"], pages[base + path]["error_message"]

    assert outcome("/binary.html") == (False, "not an HTML document: binary data (PNG image)")
    assert outcome("/empty.html") == (False, "empty document")
    assert outcome("/json.html") == (False, "not an HTML document: JSON")
    assert outcome("/latin1.html") == (True, None)
    assert pages[base + "/latin1.html"]["metadata"]["title"] == "Caf\ufffd cr\ufffdme"
    assert outcome("/big.html") == (True, None)
    assert len(pages[base + "/big.html"]["links"]["internal"]) == paragraphs
    success, error = outcome("/cut.html")
    assert success is False
    assert "DataLoss" in (error or "")
    assert run.stats["c4/pages/failed"] == 4


@pytest.mark.parametrize(
    "html",
    ['<a href="HTTP:">\x1f0</a>', "<area>\x08", '<p data-x\x01y="1">t</p>', "<p>a\x00b\x07c</p>"],
)
def test_control_characters_do_not_fail_the_page(html: str) -> None:
    item = extract_page(html + '<a href="/ok">ok</a>', "https://example.com/")
    assert item.success, item.error_message
    assert "[ok](https://example.com/ok)" in item.markdown
