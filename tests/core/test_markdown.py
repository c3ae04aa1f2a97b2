"""markdown, fit_markdown and the Crawl4AI-compatible generator and filters."""

from __future__ import annotations

import copy
import pickle
import re

import lxml.html
import pytest

from c4scrapy import CrawlerRunConfig, LinkPreviewConfig, extract_page
from c4scrapy.core.markdown import (
    BM25ContentFilter,
    DefaultMarkdownGenerator,
    PruningContentFilter,
    html_to_markdown,
)

PAGE = "https://www.example.com/guide/page.html"

DOC = """<html><head><title>Gardening guide</title></head><body>
<h1>Growing tomatoes</h1>
<p>Tomatoes need <strong>sun</strong>, <em>water</em> and a
<a href="/soil?utm_source=x#ph" title="Soil page">good soil</a>.</p>
<h2>Steps</h2>
<ol><li>Plant</li><li>Water<ul><li>daily</li></ul></li></ol>
<table><thead><tr><th>Variety</th><th>Days</th></tr></thead>
<tbody><tr><td>Cherry</td><td>60</td></tr></tbody></table>
<pre><code class="language-python">water(plant)
harvest()</code></pre>
<p>Photo: <img src="/img/t.jpg" alt="A tomato"> and <a href="mailto:me@example.com">mail</a>
line<br>break</p>
</body></html>"""


def test_markdown_structure() -> None:
    md = extract_page(DOC, PAGE).markdown
    assert md.startswith("# Growing tomatoes\n")
    assert "Tomatoes need **sun**, *water* and a " in md
    assert '[good soil](https://www.example.com/soil#ph "Soil page")' in md
    assert "## Steps" in md
    assert "1. Plant\n2. Water\n   * daily" in md
    assert "| Variety | Days |\n| --- | --- |\n| Cherry | 60 |\n" in md
    assert "```python\nwater(plant)\nharvest()\n```" in md
    assert "![A tomato](https://www.example.com/img/t.jpg)" in md
    assert "[mail](mailto:me@example.com)" in md
    assert "line  \nbreak" in md
    assert "<" not in md.replace("<https", "")


def test_markdown_links_agree_with_cleaned_html_and_links() -> None:
    html = """<p><a href="a.html">A</a> <a href="/b/?utm_campaign=z&k=v">B</a>
    <a href="//cdn.example.net/c">C</a> <a href="HTTP://WWW.Example.com:80/d">D</a></p>"""
    item = extract_page(html, PAGE)
    in_markdown = re.findall(r"\]\((\S+?)\)", item.markdown)
    in_html = lxml.html.fragment_fromstring(item.cleaned_html).xpath(".//a/@href")
    assert (
        in_markdown
        == in_html
        == [
            "https://www.example.com/guide/a.html",
            "https://www.example.com/b/?k=v",
            "https://cdn.example.net/c",
            "http://www.example.com/d",
        ]
    )
    assert sorted(in_markdown) == sorted(link["href"] for link in item.all_links())


def test_generator_options() -> None:
    html = "<ul><li><b>x</b> <a href='https://e.org/'>link</a></li></ul>"
    html += "<img src='https://e.org/i.png'>"
    assert html_to_markdown(html) == "* **x** [link](https://e.org/)\n\n![](https://e.org/i.png)\n"
    options = {
        "ignore_links": True,
        "ignore_images": True,
        "ignore_emphasis": True,
        "bullets": "-",
        "body_width": 0,
        "mark_code": True,
    }
    generator = DefaultMarkdownGenerator(options=options)
    markdown, fit, fit_html = generator.generate(html)
    assert (markdown, fit, fit_html) == ("- x link\n", None, None)
    with pytest.raises(ValueError, match="'no_such_option'"):
        DefaultMarkdownGenerator(options={"no_such_option": 1})
    with pytest.raises(ValueError, match="content_source"):
        DefaultMarkdownGenerator(content_source="fit_html")


@pytest.mark.parametrize(
    "options", [None, {"ignore_links": True, "bullets": "-"}, {"body_width": 20}]
)
def test_the_prebuilt_converter_gives_what_the_public_call_gives(options) -> None:
    import html_to_markdown as h2m

    from c4scrapy.core.markdown import _conversion_options, _frozen

    html = "<h2>T</h2><p>a <em>b</em> <a href='https://e.org/x'>l</a> and some longer text</p>"
    html += "<ul><li>x</li></ul><pre><code class='language-py'>x = 1</code></pre>"
    public = h2m.convert(html, _conversion_options(_frozen(options))).content
    assert html_to_markdown(html, options) == public


def test_raw_html_content_source() -> None:
    html = "<nav><a href='/n'>Nav</a></nav><main id='m'><p>Main</p></main><script>x()</script>"
    config = {
        "css_selector": "#m",
        "markdown_generator": DefaultMarkdownGenerator(content_source="raw_html"),
    }
    item = extract_page(html, PAGE, config)
    assert item.markdown == "[Nav](https://www.example.com/n)\n\nMain\n"
    assert "Nav" not in item.cleaned_html


# --- fit_markdown ------------------------------------------------------------------------

ARTICLE = """<html><head><title>Solar power at home</title>
<meta name="description" content="How rooftop solar panels cut electricity bills"></head><body>
<header class="site-header"><a href="/">Home</a> <a href="/news">News</a></header>
<nav class="menu"><ul>
  <li><a href="/a">Sports</a></li><li><a href="/b">Weather</a></li><li><a href="/c">Travel</a></li>
  <li><a href="/d">Cooking</a></li><li><a href="/e">Music</a></li><li><a href="/f">Movies</a></li>
</ul></nav>
<div class="content">
  <h1>Solar power at home</h1>
  <p>Rooftop solar panels turn sunlight into electricity. A typical home system of twenty
     panels produces enough power to cover most of a family's daily needs in summer.</p>
  <p>Battery storage keeps the energy produced at noon for the evening, when electricity
     from the grid is the most expensive, and it protects the house during outages.</p>
  <p>Gardening tips: water tomatoes early in the morning and mulch the beds in July.</p>
</div>
<ul class="link-farm">
  <li><a href="/1">Best deals</a></li> <li><a href="/2">Top offers</a></li>
  <li><a href="/3">Shop now</a></li> <li><a href="/4">Coupons</a></li>
  <li><a href="/5">Gift cards</a></li> <li><a href="/6">Flash sale</a></li>
</ul>
<footer><a href="/about">About</a> <a href="/privacy">Privacy</a></footer>
</body></html>"""


def fit_of(content_filter: object, **config: object) -> tuple[str, str]:
    generator = DefaultMarkdownGenerator(content_filter=content_filter)
    item = extract_page(ARTICLE, PAGE, {"markdown_generator": generator, **config})
    assert item.success, item.error_message
    assert item.fit_html is not None
    assert item.fit_markdown is not None
    return item.fit_markdown, item.fit_html


def test_pruning_keeps_content_and_drops_link_farms() -> None:
    fit_markdown, fit_html = fit_of(PruningContentFilter())
    assert "Rooftop solar panels turn sunlight into electricity" in fit_markdown
    assert "Battery storage" in fit_markdown
    assert "# Solar power at home" in fit_markdown
    for noise in ("Sports", "Best deals", "Flash sale", "Privacy", "News"):
        assert noise not in fit_markdown
    assert fit_html.startswith("<div>")
    assert fit_html.endswith("</div>")
    assert "Best deals" in extract_page(ARTICLE, PAGE).markdown


def test_pruning_options() -> None:
    dynamic, _ = fit_of(PruningContentFilter(threshold_type="dynamic", threshold=0.45))
    assert "Battery storage" in dynamic
    assert "Best deals" not in dynamic
    strict, _ = fit_of(PruningContentFilter(min_word_threshold=15))
    assert "Battery storage" in strict
    assert "Gardening tips" not in strict
    preserved, _ = fit_of(PruningContentFilter(preserve_classes=["link-farm"]))
    assert "Best deals" in preserved
    with pytest.raises(ValueError, match="threshold_type"):
        PruningContentFilter(threshold_type="adaptive")
    with pytest.raises(ValueError, match="threshold"):
        PruningContentFilter(threshold="high")  # type: ignore[arg-type]


def test_pruning_never_cuts_words_out_of_a_block() -> None:
    html = """<div><p>Read the <span class="share-link"><a href="https://ex.org/a/very/long/path/
    that/makes/the/span/markup/heavy">full report</a></span> published today by the
    independent committee on energy prices and household budgets.</p></div>"""
    chunks = PruningContentFilter().filter_content(html)
    assert "full report</a></span> published" in "".join(chunks)


def test_bm25_selects_the_relevant_block() -> None:
    fit_markdown, _ = fit_of(BM25ContentFilter(user_query="battery storage outages"))
    assert "Battery storage keeps the energy" in fit_markdown
    assert "Rooftop" not in fit_markdown
    assert "Gardening" not in fit_markdown
    fit_markdown, _ = fit_of(BM25ContentFilter(user_query="mulch tomatoes"))
    assert fit_markdown.strip() == (
        "Gardening tips: water tomatoes early in the morning and mulch the beds in July."
    )


def test_bm25_query_from_crawl_then_page_metadata() -> None:
    preview = LinkPreviewConfig(query="tomatoes gardening mulch")
    from_crawl, _ = fit_of(BM25ContentFilter(), link_preview_config=preview)
    assert "Gardening tips" in from_crawl
    assert "Battery" not in from_crawl
    overridden, _ = fit_of(BM25ContentFilter(user_query="battery"), link_preview_config=preview)
    assert "Battery" in overridden
    assert "Gardening" not in overridden
    from_metadata, _ = fit_of(BM25ContentFilter())
    assert "# Solar power at home" in from_metadata
    assert "Rooftop solar panels" in from_metadata
    assert "Gardening" not in from_metadata


def test_bm25_threshold_and_document_order() -> None:
    loose, _ = fit_of(BM25ContentFilter(user_query="electricity solar", bm25_threshold=0.0))
    strict, _ = fit_of(BM25ContentFilter(user_query="electricity solar", bm25_threshold=50.0))
    assert strict == ""
    assert loose.index("# Solar") < loose.index("Rooftop") < loose.index("Battery")


def test_filter_content_on_strings_and_elements() -> None:
    root = lxml.html.fragment_fromstring(
        "<div><h2>Heat pumps</h2><p>A heat pump moves heat instead of burning fuel.</p>"
        "<p>Insulate the attic first.</p><p>Double glazing helps too.</p><p>Check the boiler.</p>"
        "<table><tr><th>Model</th><td>pump with 4.2 efficiency</td></tr></table></div>"
    )
    before = lxml.html.tostring(root)
    chunks = BM25ContentFilter(user_query="heat pump", bm25_threshold=0.5).filter_content(root)
    assert chunks == [
        "<h2>Heat pumps</h2>",
        "<p>A heat pump moves heat instead of burning fuel.</p>",
        "<p>pump with 4.2 efficiency</p>",
    ]
    assert PruningContentFilter().filter_content(root)
    assert lxml.html.tostring(root) == before
    html = (
        "<html><head><title>Heat pumps</title></head><body>" + before.decode() + "</body></html>"
    )
    assert BM25ContentFilter(bm25_threshold=0.5).filter_content(html)[0] == "<h2>Heat pumps</h2>"
    assert BM25ContentFilter().filter_content("") == []
    assert PruningContentFilter().filter_content("   ") == []


def test_no_content_filter_means_no_fit_markdown() -> None:
    item = extract_page(ARTICLE, PAGE)
    assert item.markdown
    assert item.fit_markdown is None
    assert item.fit_html is None


# --- objects that travel in request.meta ----------------------------------------------------


@pytest.mark.parametrize(
    "obj",
    [
        DefaultMarkdownGenerator(),
        DefaultMarkdownGenerator(PruningContentFilter(threshold=0.5), options={"bullets": "-"}),
        DefaultMarkdownGenerator(BM25ContentFilter(user_query="q"), content_source="raw_html"),
        PruningContentFilter(preserve_tags=["article"], min_word_threshold=3),
        BM25ContentFilter(user_query="solar", bm25_threshold=0.5, language="french"),
    ],
)
def test_pickle_copy_equality_and_hash(obj: object) -> None:
    for clone in (pickle.loads(pickle.dumps(obj)), copy.deepcopy(obj)):
        assert clone == obj
        assert hash(clone) == hash(obj)
    config = CrawlerRunConfig(
        markdown_generator=obj if isinstance(obj, DefaultMarkdownGenerator) else None
    )
    assert pickle.loads(pickle.dumps(config)) == config


def test_default_generator_from_config() -> None:
    assert CrawlerRunConfig().markdown_generator == DefaultMarkdownGenerator()
    assert DefaultMarkdownGenerator(PruningContentFilter()) != DefaultMarkdownGenerator()
    assert PruningContentFilter(preserve_tags=["a"]) == PruningContentFilter(preserve_tags=("a",))


class _FirstParagraph:
    """A user's filter with Crawl4AI's contract: HTML text in, HTML chunks out."""

    def filter_content(self, html: str) -> list[str]:
        return [lxml.html.tostring(lxml.html.fromstring(html).find(".//p"), encoding="unicode")]


class _Broken:
    content_filter = None

    def generate(self, *args: object, **kwargs: object) -> tuple[str, None, None]:
        raise RuntimeError("boom")


def test_custom_filter_and_failing_generator() -> None:
    generator = DefaultMarkdownGenerator(content_filter=_FirstParagraph())
    item = extract_page(ARTICLE, PAGE, {"markdown_generator": generator})
    assert item.fit_markdown.startswith("Rooftop solar panels")
    item = extract_page(ARTICLE, PAGE, {"markdown_generator": _Broken()})
    assert item.success
    assert item.markdown is None
    assert "Rooftop" in item.cleaned_html
    assert item.links["internal"]
