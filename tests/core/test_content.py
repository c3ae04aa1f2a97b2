"""cleaned_html and content selection (``c4scrapy.core.cleaned_html`` through ``extract_page``)."""

from __future__ import annotations

import re

import lxml.etree
import lxml.html
import pytest

from c4scrapy import CrawlerRunConfig, extract_page
from c4scrapy.core.cleaned_html import clean_html, generate_markdown
from c4scrapy.core.page import parse_html
from c4scrapy.core.selectors import plain_proxies
from c4scrapy.core.urls import SiteRules

PAGE = "https://www.example.com/blog/post.html"


def clean(html: str, url: str = PAGE, **config: object) -> str:
    item = extract_page(html, url, config)
    assert item.success, item.error_message
    assert item.cleaned_html is not None
    return item.cleaned_html


def text_of(cleaned_html: str) -> str:
    """The visible text, with block elements (everything but inline markup) separated."""
    root = lxml.html.fragment_fromstring(cleaned_html)
    for el in root.iter():
        if el.tag not in ("a", "b", "i", "em", "strong", "span", "code", "small", "img"):
            el.text = " " + (el.text or "")
            el.tail = " " + (el.tail or "")
    return " ".join(root.text_content().split())


def hrefs(cleaned_html: str) -> list[str]:
    return lxml.html.fragment_fromstring(cleaned_html).xpath(".//a/@href")


# --- cleaning ---------------------------------------------------------------------------


def test_scripts_styles_events_and_noise_are_gone() -> None:
    html = """<html><head><title>T</title><style>p {color: red}</style></head><body>
    <script>alert(1)</script>Before <!-- a comment --><noscript><img src="/n.png"></noscript>
    <p onclick="steal()" style="color: red" class="lead" id="p1" data-x="1" aria-label="l">
      Hello <b onmouseover="x()">world</b></p>
    <template><p>template text</p></template><iframe src="/ad"></iframe>
    <svg><text>svg text</text></svg><canvas>canvas</canvas>
    <script>document.write("x")</script>After</body></html>"""
    out = clean(html)
    assert out.startswith("<div>")
    assert out.endswith("</div>")
    for gone in (
        "<script",
        "<style",
        "<noscript",
        "<template",
        "<iframe",
        "<svg",
        "<canvas",
        "<!--",
        "onclick",
        "onmouseover",
        "style=",
        "data-x",
        "aria-label",
        "<title",
    ):
        assert gone not in out
    assert '<p class="lead" id="p1">' in out
    assert text_of(out) == "Before Hello world After"


def test_keep_data_attributes() -> None:
    html = '<p data-id="7" data-kind="x" style="a">Text</p>'
    assert '<p data-id="7" data-kind="x">Text</p>' in clean(html, keep_data_attributes=True)
    assert "<p>Text</p>" in clean(html)


def test_excluded_tags_and_selector_keep_following_text() -> None:
    html = """<body><nav>Menu</nav>Intro text<header>Head</header>
    <div id="side"><p class="ad">Buy now</p><p>Side text</p></div>
    <main><p class="ad">Also an ad</p><p>Main text</p></main><footer>Foot</footer>Outro</body>"""
    out = clean(html, excluded_tags=["nav", "footer", "header"], excluded_selector="#side .ad")
    assert text_of(out) == "Intro text Side text Also an ad Main text Outro"
    out = clean(html, excluded_selector="body > nav, main > .ad")
    assert "Menu" not in out
    assert "Also an ad" not in out
    assert "Buy now" in out


def test_remove_forms() -> None:
    html = '<p>Keep</p><form action="/s"><label>Search</label><input name="q"></form><p>Too</p>'
    assert "<form" not in clean(html, remove_forms=True)
    assert text_of(clean(html, remove_forms=True)) == "Keep Too"
    assert "<form" in clean(html)


def test_empty_elements_pruned_but_cells_media_and_code_kept() -> None:
    html = """<div><span> </span><p></p><div><i class="icon"></i></div></div>
    <p>a<span> </span>b</p><a id="anchor"></a><a href="/empty"></a>
    <table><tr><td>1</td><td></td></tr></table><br><hr>
    <pre><code>x<span></span>  y</code></pre>"""
    out = clean(html)
    assert "<i" not in out
    assert "<p></p>" not in out
    assert "/empty" not in out
    assert "<p>a b</p>" in out
    assert '<a id="anchor"></a>' in out
    assert "<td></td>" in out
    assert "<br>" in out
    assert "<hr>" in out
    assert "<code>x<span></span>  y</code>" in out


# --- links ------------------------------------------------------------------------------


def test_hrefs_are_absolute_and_agree_with_links() -> None:
    html = """<head><base href="/docs/"></head><body>
    <a href="intro.html#part-2">Intro</a> <a href="/x?utm_source=feed&b=1">X</a>
    <a href="HTTPS://Other.ORG:443/a b">Other</a> <a href="#top">Top</a>
    <a href="mailto:me@example.com">Mail</a> <a href="tel:+123">Call</a>
    <a href="javascript:void(0)">Menu</a></body>"""
    item = extract_page(html, PAGE)
    out = item.cleaned_html
    assert hrefs(out) == [
        "https://www.example.com/docs/intro.html#part-2",
        "https://www.example.com/x?b=1",
        "https://other.org/a%20b",
        "https://www.example.com/docs/#top",
        "mailto:me@example.com",
        "tel:+123",
    ]
    assert "Menu" in text_of(out)
    web = [h.split("#")[0] for h in hrefs(out) if h.startswith("http")]
    assert sorted(set(web)) == sorted(link["href"] for link in item.all_links())


@pytest.mark.parametrize(
    ("config", "unwrapped"),
    [
        ({"exclude_external_links": True}, ["Facebook", "Other", "Ads"]),
        ({"exclude_social_media_links": True}, ["Facebook"]),
        ({"exclude_domains": ["ads.example.net"]}, ["Ads"]),
        ({}, []),
    ],
)
def test_excluded_links_are_unwrapped_keeping_text_and_tail(
    config: dict[str, object], unwrapped: list[str]
) -> None:
    html = """<p>Follow us on <a href="https://m.facebook.com/acme">Facebook</a> tail one,
    read <a href="https://other.org/">Other</a> tail two, see
    <a href="https://ads.example.net/x">Ads</a> tail three and <a href="/home">Home</a>.</p>"""
    out = clean(html, **config)
    assert text_of(out) == (
        "Follow us on Facebook tail one, read Other tail two, see Ads tail three and Home."
    )
    linked = lxml.html.fragment_fromstring(out).xpath(".//a/text()")
    assert linked == [t for t in ("Facebook", "Other", "Ads", "Home") if t not in unwrapped]


# --- images -----------------------------------------------------------------------------


def test_lazy_images_and_data_placeholders() -> None:
    html = """
    <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-src="/img/lazy.jpg" alt="lazy">
    <img class="lazyload" src="/img/blank.gif" data-original="/img/real.jpg" alt="real">
    <img srcset="/img/s1.jpg 1x, /img/s2.jpg 2x" alt="srcset only">
    <img src="data:image/png;base64,iVBORw0KGgo=" alt="inline blob">
    <picture><source srcset="/img/p.webp" type="image/webp">
      <img src="/img/p.jpg" alt="pic"></picture>
    """
    images = lxml.html.fragment_fromstring(clean(html)).xpath(".//img")
    assert [(img.get("src"), img.get("alt")) for img in images] == [
        ("https://www.example.com/img/lazy.jpg", "lazy"),
        ("https://www.example.com/img/real.jpg", "real"),
        ("https://www.example.com/img/s1.jpg", "srcset only"),
        ("https://www.example.com/img/p.jpg", "pic"),
    ]
    assert "<picture" not in clean(html)
    assert "<source" not in clean(html)


def test_image_exclusions() -> None:
    html = """<p>Text <img src="/local.png" alt="local"> <img src="https://cdn.example.com/c.png"
    alt="subdomain"> <img src="https://img.other.org/o.png" alt="other"> after</p>"""

    def alts(out: str) -> list[str]:
        return lxml.html.fragment_fromstring(out).xpath(".//img/@alt")

    assert alts(clean(html)) == ["local", "subdomain", "other"]
    assert alts(clean(html, exclude_external_images=True)) == ["local", "subdomain"]
    assert alts(clean(html, exclude_domains=["other.org"])) == ["local", "subdomain"]
    out = clean(html, exclude_all_images=True)
    assert alts(out) == []
    assert text_of(out) == "Text after"


# --- word_count_threshold and only_text --------------------------------------------------


BLOCKS = """<body>
<h2>Tiny</h2>
<p>Short one.</p>
<p>This paragraph has more than enough words to stay.</p>
<ul><li>Home</li><li>About us</li><li>A list item with plenty of words in it</li></ul>
<div>Share</div>
<div><span>Two words</span></div>
<p><img src="/i.png" alt="x"></p>
<p>Call <code>run()</code></p>
<pre>x = 1</pre>
<table><tr><th>Key</th><td>1</td></tr><tr><td><p>Yes</p></td><td>2</td></tr></table>
<li>Loose label<ul><li>Nested item with a good number of words</li></ul></li>
<p>—</p>
</body>"""


def test_word_count_threshold_drops_short_leaf_blocks() -> None:
    out = clean(BLOCKS, word_count_threshold=5)
    text = text_of(out)
    for dropped in ("Short one.", "Home", "About us", "Share", "Two words", "—"):
        assert dropped not in text
    for kept in (
        "Tiny",
        "more than enough words",
        "plenty of words",
        "run()",
        "x = 1",
        "Key",
        "Yes",
        "Loose label",
        "Nested item",
    ):
        assert kept in text
    assert '<img src="https://www.example.com/i.png"' in out
    assert "<ul>" in out
    assert out.count("<li>") == 3


def test_default_threshold_keeps_everything_with_text() -> None:
    text = text_of(clean(BLOCKS))
    for kept in ("Short one.", "Home", "Share", "Two words", "—"):
        assert kept in text
    assert text_of(clean(BLOCKS, word_count_threshold=2)).count("Home") == 0
    assert "About us" in text_of(clean(BLOCKS, word_count_threshold=2))


def test_only_text_flattens_inline_markup() -> None:
    html = """<h1>Title <small>sub</small></h1><p>A <a href="/x">link</a>, <b>bold</b> and
    <img src="/i.png" alt="pic"> image<br>next line</p><ul><li><span>Item</span></li></ul>
    <pre><code class="language-py">x = 1</code></pre><video src="/v.mp4"></video>"""
    out = clean(html, only_text=True)
    assert re.findall(r"<(\w+)", out) == ["div", "h1", "p", "br", "ul", "li", "pre"]
    assert text_of(out) == "Title sub A link, bold and image next line Item x = 1"


# --- selection --------------------------------------------------------------------------

SELECTION_PAGE = """<html><head><title>Sel</title></head><body>
<header><a href="/">Logo</a></header>
<nav><a href="/nav-1">Nav one</a></nav>
<div id="main-content"><h1>Article</h1><p>Main text with a <a href="/in-main">link</a>.</p>
  <img src="/main.jpg" alt="Main picture" width="600" height="400"></div>
<div class="sidebar"><p>Sidebar text <a href="https://other.org/side">side link</a>.</p></div>
<div class="comments"><p>Comment text <a href="/comment">c</a>.</p></div>
<footer><a href="/footer">Footer</a></footer>
</body></html>"""


def test_target_elements_scope_content_but_not_links() -> None:
    whole = extract_page(SELECTION_PAGE, PAGE)
    item = extract_page(SELECTION_PAGE, PAGE, {"target_elements": ["#main-content", ".sidebar"]})
    assert text_of(item.cleaned_html) == "Article Main text with a link. Sidebar text side link."
    assert "Comment" not in item.markdown
    assert "Nav one" not in item.markdown
    assert item.links == whole.links
    assert len(item.links["internal"]) == 5


def test_css_selector_scopes_everything() -> None:
    item = extract_page(SELECTION_PAGE, PAGE, {"css_selector": "#main-content"})
    assert text_of(item.cleaned_html) == "Article Main text with a link."
    assert [link["href"] for link in item.all_links()] == ["https://www.example.com/in-main"]
    assert "# Article" in item.markdown


def test_selector_copies_are_cleaned_like_the_page() -> None:
    html = """<div id="x"><script>bad()</script><p style="color:red" onclick="x()">Hi
    <a href="https://twitter.com/a">tw</a> there</p></div>"""
    out = clean(html, css_selector="#x", exclude_social_media_links=True)
    assert "<script" not in out
    assert "onclick" not in out
    assert "style" not in out
    assert "twitter" not in out
    assert text_of(out) == "Hi tw there"
    assert out.startswith('<div><div id="x">')


def test_page_tree_is_not_modified_and_empty_roots() -> None:
    doc = parse_html(SELECTION_PAGE, PAGE)
    before = lxml.html.tostring(doc)
    item = extract_page(
        doc,
        PAGE,
        {
            "exclude_external_links": True,
            "word_count_threshold": 5,
            "excluded_tags": ["nav"],
            "only_text": True,
        },
    )
    assert item.success
    assert lxml.html.tostring(doc) == before
    assert clean_html([], CrawlerRunConfig(), PAGE, SiteRules(PAGE)) == ""
    result = generate_markdown("", CrawlerRunConfig(), PAGE, {})
    assert (result.markdown, result.fit_markdown, result.fit_html) == ("", None, None)
    item = extract_page(SELECTION_PAGE, PAGE, {"target_elements": [".missing"]})
    assert (item.cleaned_html, item.markdown) == ("", "")


def test_markdown_generator_none_disables_markdown() -> None:
    item = extract_page("<p>x</p>", PAGE, {"markdown_generator": None})
    assert item.cleaned_html == "<div><p>x</p></div>"
    assert (item.markdown, item.fit_markdown, item.fit_html) == (None, None, None)


# --- the Content Selection docs' examples, on local pages ----------------------------------

NEWS = """<html><head><title>News</title></head><body>
<header><a href="/">Site</a> <form action="/search"><input name="q"></form></header>
<nav><a href="/world">World</a> <a href="/tech">Tech</a></nav>
<main class="content">
  <article>
    <h2>Big story of the day</h2>
    <p>The council approved the new transport plan on Monday after a long debate about
       costs, routes and the timetable for construction.</p>
    <p>Short teaser.</p>
    <p>Read the <a href="https://adtrackers.com/t?id=1">sponsored report</a> and the
       <a href="https://www.facebook.com/news">discussion on Facebook</a> or the
       <a href="https://partner.org/analysis">partner analysis</a> for more background.</p>
    <img src="https://images.othercdn.com/story.jpg" alt="Story photo">
    <img src="/local/story.jpg" alt="Local photo">
  </article>
</main>
<aside class="sidebar"><p>Related: <a href="/related">related story</a></p></aside>
<footer><a href="https://twitter.com/news">Twitter</a> Copyright</footer>
</body></html>"""
NEWS_URL = "https://news.example.com/2024/story.html"


def test_docs_2_1_basic_overview() -> None:
    config = CrawlerRunConfig(
        word_count_threshold=10,
        excluded_tags=["form", "header", "footer", "nav"],
        exclude_external_links=True,
        exclude_social_media_links=True,
        exclude_domains=["adtrackers.com", "spammynews.org"],
        exclude_social_media_domains=["facebook.com", "twitter.com"],
        exclude_external_images=True,
    )
    item = extract_page(NEWS, NEWS_URL, config)
    text = text_of(item.cleaned_html)
    assert "Site" not in text
    assert "World" not in text
    assert "Copyright" not in text
    assert "Short teaser." not in text
    assert "Related" not in text
    assert "Big story of the day" in text
    assert "transport plan" in text
    assert "sponsored report and the discussion on Facebook or the partner analysis" in text
    assert hrefs(item.cleaned_html) == []
    assert lxml.html.fragment_fromstring(item.cleaned_html).xpath(".//img/@alt") == ["Local photo"]
    assert item.links["external"] == []


def test_docs_2_2_example_usage() -> None:
    config = CrawlerRunConfig(
        css_selector="main.content",
        word_count_threshold=10,
        excluded_tags=["nav", "footer"],
        exclude_external_links=True,
        exclude_social_media_links=True,
        exclude_domains=["ads.com", "spammytrackers.net"],
        exclude_external_images=True,
    )
    item = extract_page(NEWS, NEWS_URL, config)
    assert item.cleaned_html.startswith('<div><main class="content">')
    assert "Related" not in item.cleaned_html
    assert item.all_links() == []
    assert "## Big story of the day" in item.markdown
    assert "(https://" not in item.markdown.replace("(https://news.example.com/local", "")


def test_docs_7_combining_css_selection_methods() -> None:
    config = CrawlerRunConfig(
        target_elements=["main.content", ".sidebar"],
        excluded_tags=["nav", "footer", "header"],
        exclude_external_links=True,
        word_count_threshold=15,
    )
    item = extract_page(NEWS, NEWS_URL, config)
    assert "Related" not in item.markdown
    assert "transport plan" in item.markdown
    assert "partner analysis" in item.markdown
    assert [link["href"] for link in item.links["internal"]] == [
        "https://news.example.com/related"
    ]
    assert item.links["external"] == []
    whole = extract_page(NEWS, NEWS_URL, {"excluded_tags": ["nav", "footer", "header"]})
    assert len(whole.links["external"]) == 3


def test_targets_inside_excluded_regions_are_excluded() -> None:
    config = {"target_elements": ["nav a", "#main-content p"], "excluded_tags": ["nav"]}
    item = extract_page(SELECTION_PAGE, PAGE, config)
    assert text_of(item.cleaned_html) == "Main text with a link."
    config = {"target_elements": [".sidebar"], "excluded_selector": "body > div.sidebar"}
    assert extract_page(SELECTION_PAGE, PAGE, config).cleaned_html == "<div></div>"


def test_extraction_reads_scrapy_trees_through_plain_proxies_and_restores_lxml_html() -> None:
    """``plain_proxies``: while a page is extracted its elements are plain ``_Element``s
    (no Python call per element); the page's tree keeps its ``lxml.html`` classes after."""
    doc = parse_html('<form action="/s"><input name="q"></form><p>x</p>', PAGE)
    seen: list[type] = []
    with plain_proxies(doc):
        seen.extend(type(el) for el in doc.iter("form", "p"))
    assert seen == [lxml.etree._Element, lxml.etree._Element]
    assert extract_page(doc, PAGE).success
    assert isinstance(doc.find(".//form"), lxml.html.FormElement)
    assert isinstance(doc.find(".//p"), lxml.html.HtmlElement)
    shared = lxml.html.fromstring("<div><p>y</p></div>")  # lxml.html's own parser: untouched
    with plain_proxies(shared):
        assert isinstance(shared.find("p"), lxml.html.HtmlElement)


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"excluded_selector": "#side .ad", "word_count_threshold": 3},
        {"css_selector": "main, #side", "only_text": True},
        {"target_elements": ["p", "h2"], "exclude_external_links": True},
    ],
)
def test_page_parsed_by_extract_page_is_cleaned_in_place_with_the_same_result(
    config: dict[str, object],
) -> None:
    """From text or bytes the tree is extract_page's own and cleaned without a copy; from
    a Scrapy tree it is copied. Both give the same item."""
    html = """<html><body><nav><a href="/">Home</a></nav><main><h2>Title</h2>
    <p>Some text with <a href="https://other.org/x">a link</a> and <img src="/i.png"
    alt="i"> an image.</p><p>Short.</p><span> </span></main><div id="side">
    <p class="ad">Buy <a href="javascript:buy()">now</a></p><p>Side text here.</p></div>
    <picture><source srcset="/p.webp"><img src="/p.jpg" alt="p"></picture></body></html>"""
    owned = extract_page(html, PAGE, config)
    shared = extract_page(parse_html(html, PAGE), PAGE, config)
    assert owned.success
    assert shared.success
    assert {**vars(owned), "c4": None} == {**vars(shared), "c4": None}
