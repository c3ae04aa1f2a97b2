"""MainContentFilter: the main content of articles, docs, listings and navigation pages."""

from __future__ import annotations

import pickle

import pytest

from c4scrapy import (
    CrawlerRunConfig,
    DefaultMarkdownGenerator,
    MainContentFilter,
    extract_page,
)

PAGE = "https://news.example.com/2020/01/story.html"
PARAGRAPHS = [
    (
        "The council voted on Tuesday to rebuild the old harbour bridge, ending a debate that "
        "has divided the town for more than a decade and cost two mayors their seats."
    ),
    (
        "Engineers said the new span would carry twice the traffic of the current one, which "
        "was built in 1931 and has been closed to lorries since a crack was found last spring."
    ),
    (
        "Work is expected to start in the autumn and to last three years, during which a ferry "
        "will carry pedestrians and cyclists across the river free of charge every day."
    ),
    (
        "Residents who spoke at the meeting were mostly in favour, although several shop owners "
        "on the quay worried that the building work would keep their customers away for years."
    ),
]
MENU = "".join(f'<li><a href="/section/{n}">{n.title()}</a></li>' for n in ("news", "sport"))
ARTICLE = f"""<html><head><title>Bridge vote</title></head><body>
<header><nav><ul>{MENU}</ul></nav></header>
<div class="teaser">Read next: <a href="/other">{PARAGRAPHS[1]}</a></div>
<article>
<h1>Council votes to rebuild the harbour bridge</h1>
<p>{PARAGRAPHS[0]} See <a href="/docs/plan.pdf?utm_source=x" title="The plan">the plan</a>.</p>
<figure><img src="/img/bridge.jpg" alt="The old bridge"><figcaption>The bridge in 1931,
photographed by the town archive for its centenary exhibition next year</figcaption></figure>
<p>{PARAGRAPHS[1]}</p>
<h2>Timetable</h2>
<p>{PARAGRAPHS[2]}</p>
<table><tr><th>Phase</th><th>Year</th></tr><tr><td>Demolition</td><td>2021</td></tr></table>
<pre><code class="language-python">cost = spans * 2</code></pre>
<p>{PARAGRAPHS[3]}</p>
<div class="share">Share on Facebook Share on Twitter Email this story</div>
</article>
<aside><h3>Most read</h3><ul><li><a href="/a">Storm closes schools across the county</a></li>
<li><a href="/b">Local team wins the cup after forty years of waiting</a></li></ul></aside>
<footer><p>Copyright 2020 The Town Paper. All rights reserved. Privacy policy and terms of
use apply to every page of this website.</p></footer>
</body></html>"""
MAIN = CrawlerRunConfig(markdown_generator=DefaultMarkdownGenerator(MainContentFilter()))


def test_article_keeps_the_body_with_its_markup_and_drops_boilerplate() -> None:
    item = extract_page(ARTICLE, PAGE, MAIN)
    fit = item.fit_markdown
    for paragraph in PARAGRAPHS[::2]:
        assert paragraph in fit
    assert fit.index("# Council votes") < fit.index("The council voted")  # title kept
    assert "## Timetable" in fit
    assert '[the plan](https://news.example.com/docs/plan.pdf "The plan")' in fit  # normalised
    assert "![The old bridge](https://news.example.com/img/bridge.jpg)" in fit
    assert "| Phase | Year |" in fit
    assert "```python\ncost = spans * 2\n```" in fit
    for boilerplate in ("Sport", "Read next", "Share on Facebook", "Most read", "Copyright"):
        assert boilerplate not in fit
    assert fit.count(PARAGRAPHS[1]) == 1  # the teaser's copy is not the article
    assert item.markdown.fit_markdown == fit
    assert item.markdown.fit_html == item.fit_html
    assert "<nav" not in item.fit_html


DOCS = """<html><body><div class="sphinxsidebar"><ul><li><a href="/a">Index</a></li>
<li><a href="/b">Modules</a></li></ul></div><div class="body"><section id="tools">
<h1>tools — Helpers for callables</h1>
<p>The tools module is for higher-order functions: functions that act on or return other
functions. In general, any callable object can be treated as a function here.</p>
<dl class="py function"><dt id="tools.cache">tools.cache(user_function)</dt>
<dd><p>Simple lightweight unbounded function cache, sometimes called memoize, which
returns the same as a bounded cache without its size limit and is faster.</p>
<pre>@cache
def factorial(n):
    return n * factorial(n - 1) if n else 1</pre>
<p>The cache is threadsafe so the wrapped function can be used in multiple threads
at the same time without any extra locking by the caller.</p></dd></dl>
<div class="toctree-wrapper"><ul><li><a href="/tools/one.html">One tool</a></li>
<li><a href="/tools/two.html">Two tools</a></li></ul></div>
</section></div><div class="footer">© Copyright 2001-2023, the Foundation.</div>
</body></html>"""


def test_docs_page_keeps_headings_signatures_code_and_its_table_of_contents() -> None:
    fit = extract_page(DOCS, "http://docs.example.org/library/tools.html", MAIN).fit_markdown
    assert fit.startswith("# tools — Helpers for callables")
    assert "tools.cache(user_function)" in fit  # a dt between two kept blocks
    assert "def factorial(n):" in fit
    assert "[One tool](http://docs.example.org/tools/one.html)" in fit
    assert "Modules" not in fit
    assert "Copyright" not in fit


LISTING = """<html><body><nav><a href="/">Home</a> <a href="/shop">Shop</a></nav>
<h1>Garden tools</h1><ul class="products">
<li><a href="/p/1">Spade, steel, 1.2 m</a> <span>£25</span></li>
<li><a href="/p/2">Rake, 16 teeth</a> <span>£18</span></li>
<li><a href="/p/3">Hoe, ash handle</a> <span>£21</span></li></ul></body></html>"""


@pytest.mark.parametrize(
    ("html", "kept", "dropped"),
    [
        (LISTING, ["Garden tools", "[Rake, 16 teeth](http://shop.example/p/2) £18"], ["Home"]),
        (
            (
                '<html><body><nav><a href="/a">Alpha</a> <a href="/b">Beta</a></nav>'
                '<ul><li><a href="/c">Gamma</a></li><li><a href="/d">Delta</a></li></ul></body></html>'
            ),
            ["[Gamma](http://shop.example/c)", "[Delta](http://shop.example/d)"],
            ["Alpha"],
        ),
    ],
    ids=["listing", "all-navigation"],
)
def test_pages_that_are_not_articles_keep_their_content(
    html: str, kept: list[str], dropped: list[str]
) -> None:
    fit = extract_page(html, "http://shop.example/garden", MAIN).fit_markdown
    for text in kept:
        assert text in fit
    for text in dropped:
        assert text not in fit


def test_repeated_article_is_kept_once() -> None:
    body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    html = f"<html><body><article>{body}</article><div class='amp'>{body}</div></body></html>"
    fit = extract_page(html, PAGE, MAIN).fit_markdown
    assert all(fit.count(p) == 1 for p in PARAGRAPHS)


def test_empty_and_options() -> None:
    content_filter = MainContentFilter()
    assert content_filter.filter_content("") == []
    assert content_filter.filter_content("<div></div>") == []
    chunks = MainContentFilter(include_images=False, include_tables=False).filter_content(
        extract_page(ARTICLE, PAGE).cleaned_html
    )
    html = "".join(chunks)
    assert "<img" not in html
    assert "<table" not in html
    assert PARAGRAPHS[0][:40] in html
    few = MainContentFilter(min_word_threshold=20).filter_content(ARTICLE)
    assert "Timetable" not in "".join(few)
    assert PARAGRAPHS[0][:40] in "".join(few)
    with pytest.raises(ValueError, match="favor"):
        MainContentFilter(favor="speed")
    with pytest.raises(ValueError, match="include_tables"):
        MainContentFilter(include_tables="yes")  # type: ignore[arg-type]
    assert pickle.loads(pickle.dumps(content_filter)) == content_filter
    assert hash(content_filter) == hash(MainContentFilter())
