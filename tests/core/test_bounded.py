"""Bounded work per page: the input shapes that made extract_page quadratic give the right
output at sizes where the old code took seconds to minutes (bench/extract_scaling.py
measures the time; these pin the behaviour)."""

from __future__ import annotations

import lxml.html
import pytest

from c4scrapy.core.page import extract_page, parse_html
from c4scrapy.core.selectors import compile_css, select
from c4scrapy.core.urls import UrlCache

URL = "http://example.com/dir/page.html"


def page(body: str) -> bytes:
    return f"<html><head><title>t</title></head><body>{body}</body></html>".encode()


def test_many_empty_siblings() -> None:
    # 120,000 took 34 s and 7 GB: each dropped element re-copied the growing text after it
    item = extract_page(page("<p>start</p>" + "<div></div>" * 120_000 + "<p>end</p>"), URL)
    assert item.success
    assert item.cleaned_html.replace(" ", "") == "<div><p>start</p><p>end</p></div>"


def test_many_dropped_blocks_keep_the_text_between_them() -> None:
    n = 40_000
    body = "".join(f"<p>w</p>t{i}" for i in range(n))
    item = extract_page(page(body), URL, {"word_count_threshold": 2})
    text = lxml.html.fromstring(item.cleaned_html).text_content().split()
    assert text == [f"t{i}" for i in range(n)]


def test_many_unwrapped_links_keep_their_text() -> None:
    n = 40_000
    body = "".join(f'<a href="http://other.example/{i}">x{i}</a>' for i in range(n))
    item = extract_page(page(body), URL, {"exclude_external_links": True})
    assert "<a" not in item.cleaned_html
    assert lxml.html.fromstring(item.cleaned_html).text_content() == "".join(
        f"x{i}" for i in range(n)
    )


def test_target_elements_list_on_a_large_page() -> None:
    # target_elements=h2,p was one XPath union: 41 s on a 2.8 MB page
    n = 40_000
    body = "".join(f"<div><h2>t{i}</h2><p>p{i}</p><span>s</span></div>" for i in range(n))
    item = extract_page(page(body), URL, {"target_elements": ["h2", "p"]})
    doc = lxml.html.fromstring(item.cleaned_html)
    assert [el.text for el in doc] == [x for i in range(n) for x in (f"t{i}", f"p{i}")]


def test_excluded_selector_on_a_shared_tree() -> None:
    # a tree the caller owns is copied, and each excluded match was found in the copy by
    # its index among its siblings: quadratic in siblings
    n = 40_000
    body = "".join(f'<div class="ad">ad{i}</div><p>keep{i}</p>' for i in range(n))
    tree = parse_html(page(body), URL)
    item = extract_page(tree, URL, {"excluded_selector": ".ad"})
    assert "ad" not in lxml.html.fromstring(item.cleaned_html).text_content()
    assert item.cleaned_html.count("<p>") == n
    assert len(tree.xpath("//div[@class='ad']")) == n  # the caller's tree is untouched


def test_many_attribute_names_are_all_stripped() -> None:
    n = 40_000
    body = "".join(f'<p a{i}="v" title="t">x</p>' for i in range(n))
    item = extract_page(page(body), URL)
    assert item.cleaned_html.count('<p title="t">x</p>') == n
    assert " a1=" not in item.cleaned_html


def test_css_selector_with_a_combinator_on_a_large_page() -> None:
    n = 40_000
    body = "".join(f"<div><h2>t{i}</h2><p>p{i}</p></div>" for i in range(n))
    item = extract_page(page(body), URL, {"css_selector": "div p", "markdown_generator": None})
    assert item.cleaned_html.count("<p>") == n


@pytest.mark.parametrize(
    "selector",
    [
        "h2, p",
        "div p",
        "div > p",
        "div h2 + p",
        "h2 ~ span",
        "h2 ~ p",
        "body div.a p, h2",
        "div:first-child h2",
        "html p",
        "span + p, h2 + p",
        "* p",
        "div > *",
        "p:nth-child(2)",
        "div:has(> h2) p",
        "tr td, h2",
        ":not(p)",
        "div:not(.a) p",
        "#x, .a > h2",
        "[data-x] ~ p",
    ],
)
def test_one_step_selection_matches_parsel(selector: str) -> None:
    """On a document, ``select`` (combinators as conditions, one step) finds what parsel's
    translation finds, in the same order."""
    rows = "".join(
        f'<div class="a"><h2>t{i}</h2><p>p{i}</p><span data-x>s</span><p>x</p></div><p>o</p>'
        for i in range(5)
    )
    doc = lxml.html.fromstring(
        f"<html><body>{rows}<table><tr><td>1</td></tr></table></body></html>"
    )
    assert select(doc, selector) == list(compile_css(selector)(doc))


@pytest.mark.parametrize(
    ("text", "success"),
    [
        ("a\x0bb\x0bc\x0bd", True),  # three stray vertical tabs: still a page
        ("form\x0cfeed\x1bescape\x07bell", True),
        ("".join(chr(c) for c in range(1, 32)) * 3, False),
        (bytes(range(256)).decode("latin-1") * 4, False),
    ],
)
def test_control_characters_by_proportion(text: str, success: bool) -> None:
    item = extract_page(f"<html><body><p>{text}</p></body></html>", URL)
    assert item.success is success
    if not success:
        assert item.error_message == "not an HTML document: binary data (unknown type)"


def test_each_page_can_bring_its_url_cache() -> None:
    cache = UrlCache()
    item = extract_page(
        page('<a href="/x">x</a><img src="i.png" width="300" alt="a">'), URL, cache=cache
    )
    assert item.links["internal"][0]["href"] == "http://example.com/x"
    assert cache.shared[(False, "http://example.com", "/x")] == (
        "http://example.com/x",
        "example.com",
    )
    assert cache.page(URL, False)["i.png"] == ("http://example.com/dir/i.png", "example.com")


def test_an_element_with_thousands_of_attributes_is_not_parsed() -> None:
    """libxml2 is quadratic in the attributes of one element: refused before parsing."""
    attack = b"<html><body><p " + b" ".join(b'a%d="x"' % i for i in range(50_000)) + b">x</p>"
    item = extract_page(attack, "http://h/")
    assert item.success is False
    assert item.error_message == "not parsed: an element with more than 10000 attributes"
    many = b"<p " + b" ".join(b'a%d="x"' % i for i in range(3000)) + b">x</p>"
    assert extract_page(many * 4, "http://h/").success is True
