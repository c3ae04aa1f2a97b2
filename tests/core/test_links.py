"""Links and metadata from the pure core (``extract_page``)."""

from __future__ import annotations

import pytest

from c4scrapy import extract_page

PAGE = "https://www.example.com/blog/post.html"


def links_of(html: str, url: str = PAGE, **config: object) -> dict[str, list[str]]:
    item = extract_page(html, url, config)
    assert item.success, item.error_message
    return {kind: [link["href"] for link in item.links[kind]] for kind in ("internal", "external")}


def test_links_resolved_deduplicated_and_classified() -> None:
    html = """
    <a href="/a">A</a> <a href="/a#section">A again</a> <a href="b.html">B</a>
    <a href="https://blog.example.com/x">sub</a> <a href="https://notexample.com/">look-alike</a>
    <map><area href="/area-target" alt="Area"></map>
    <a href="mailto:me@example.com">mail</a> <a href="javascript:void(0)">js</a>
    <a href="#top">top</a> <a>no href</a> <a href="   ">blank</a>
    """
    assert links_of(html) == {
        "internal": [
            "https://www.example.com/a",
            "https://www.example.com/blog/b.html",
            "https://blog.example.com/x",
            "https://www.example.com/area-target",
            "https://www.example.com/blog/post.html",
        ],
        "external": ["https://notexample.com/"],
    }


def test_base_href_and_redirected_url() -> None:
    html = '<head><base href="/docs/v2/"></head><a href="intro.html">Intro</a>'
    assert links_of(html)["internal"] == ["https://www.example.com/docs/v2/intro.html"]
    html = '<head><base href="https://cdn.example.org/root/"></head><a href="x.html">X</a>'
    assert links_of(html)["external"] == ["https://cdn.example.org/root/x.html"]


def test_link_fields_and_merging() -> None:
    html = """
    <a href="/p"><img src="/i.png" alt="Picture link"></a>
    <a href="/p" title=" The page ">Text
       spread   over lines</a>
    <a href="https://other.org/q">Other</a>
    """
    item = extract_page(html, PAGE)
    assert item.links["internal"] == [
        {
            "href": "https://www.example.com/p",
            "text": "Picture link",
            "title": "The page",
            "base_domain": "example.com",
        }
    ]
    assert item.links["external"][0]["base_domain"] == "other.org"


def test_filters_apply_to_links_and_are_counted() -> None:
    html = """
    <a href="https://www.facebook.com/acme">fb</a> <a href="https://m.facebook.com/acme">m</a>
    <a href="https://x.com/acme">x</a> <a href="https://box.com/acme">box</a>
    <a href="https://ads.tracker.net/c">ad</a> <a href="https://github.com/acme">gh</a>
    <a href="/internal">in</a>
    """
    from collections import Counter

    counts: Counter[str] = Counter()
    item = extract_page(
        html,
        PAGE,
        {"exclude_social_media_links": True, "exclude_domains": ["tracker.net"]},
        counts=counts,
    )
    assert [link["href"] for link in item.links["external"]] == [
        "https://box.com/acme",
        "https://github.com/acme",
    ]
    assert counts["links/filtered/social"] == 3
    assert counts["links/filtered/domain"] == 1
    item = extract_page(html, PAGE, {"exclude_external_links": True})
    assert item.links["external"] == []
    assert len(item.links["internal"]) == 1


def test_custom_social_list_replaces_the_default() -> None:
    html = '<a href="https://facebook.com/a">fb</a> <a href="https://mastodon.social/@a">m</a>'
    config = {
        "exclude_social_media_links": True,
        "exclude_social_media_domains": ["mastodon.social"],
    }
    assert links_of(html, **config)["external"] == ["https://facebook.com/a"]
    # the list alone does nothing until exclude_social_media_links is on
    assert len(links_of(html, exclude_social_media_domains=["mastodon.social"])["external"]) == 2


def test_selection_scopes() -> None:
    html = """<body><nav><a href="/nav">Nav</a></nav>
    <main><a href="/main">Main</a></main><footer><a href="/foot">Foot</a></footer></body>"""
    internal = lambda **c: links_of(html, **c)["internal"]
    base = "https://www.example.com/"
    assert internal() == [base + "nav", base + "main", base + "foot"]
    assert internal(css_selector="main") == [base + "main"]
    assert internal(target_elements=["main"]) == [base + "nav", base + "main", base + "foot"]
    assert internal(excluded_tags=["nav", "footer"]) == [base + "main"]
    assert internal(excluded_selector="footer, nav") == [base + "main"]


def test_scoring_fields_only_when_asked() -> None:
    html = (
        "<title>Asyncio guide</title><main><a href='/docs/asyncio-guide'>Asyncio guide</a></main>"
    )
    plain = extract_page(html, PAGE).links["internal"][0]
    assert "intrinsic_score" not in plain
    scored = extract_page(html, PAGE, {"score_links": True}).links["internal"][0]
    assert scored["intrinsic_score"] > 5
    assert scored["total_score"] is None
    assert scored["head_data"] is None


@pytest.mark.parametrize(
    ("text", "href", "better_than"),
    [
        ("Asyncio guide", "/docs/asyncio", ("click here", "/x7f9g2h/a/b/c/d/e")),
        ("Read the tutorial on event loops", "/tutorial/loops", ("more", "/login/")),
    ],
)
def test_intrinsic_score_orders_links_sensibly(text, href, better_than) -> None:
    html = (
        "<title>Asyncio event loops</title><main>"
        f"<a href='{href}'>{text}</a><a href='{better_than[1]}'>{better_than[0]}</a></main>"
    )
    good, bad = extract_page(html, PAGE, {"score_links": True}).links["internal"]
    assert good["intrinsic_score"] > bad["intrinsic_score"]


def test_metadata() -> None:
    html = """<html lang="en-GB"><head>
      <title> The  Title </title>
      <meta name="Description" content="A page.">
      <meta name="keywords" content="a, b"><meta name="author" content="Ann">
      <meta property="og:title" content="OG title"><meta property="og:image" content="/first.png">
      <meta property="og:image" content="/second.png">
      <meta name="twitter:card" content="summary"><meta property="twitter:site" content="@acme">
      <meta property="article:published_time" content="2026-01-02">
      <meta charset="utf-8">
      <link rel="Canonical" href="/canonical#x">
    </head><body></body></html>"""
    meta = extract_page(html, PAGE).metadata
    assert meta == {
        "title": "The Title",
        "description": "A page.",
        "keywords": "a, b",
        "author": "Ann",
        "canonical": "https://www.example.com/canonical#x",
        "language": "en-GB",
        "og:title": "OG title",
        "og:image": "/first.png",
        "twitter:card": "summary",
        "twitter:site": "@acme",
        "article:published_time": "2026-01-02",
        "charset": "utf-8",
    }
    assert extract_page("<p>no head</p>", PAGE).metadata["title"] is None
    assert (
        extract_page('<meta property="og:title" content="Only OG">', PAGE).metadata["title"]
        == "Only OG"
    )


def test_nested_selection_matches_give_content_once() -> None:
    html = """<body><div class="box"><p>Outer words here</p>
      <div class="box"><p>Inner words here</p></div></div>
      <aside><p>Side words</p></aside></body>"""
    item = extract_page(html, PAGE, {"css_selector": ".box"})
    assert item.markdown.count("Inner words here") == 1
    item = extract_page(html, PAGE, {"target_elements": ["aside", ".box"]})
    assert item.markdown.count("Inner words here") == 1
    assert item.markdown.index("Outer") < item.markdown.index("Side")  # document order
