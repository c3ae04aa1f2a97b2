"""Link previews without a crawl: head parsing, link selection, scores, the address guard,
``previewed_links``."""

from __future__ import annotations

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.defer import deferred_f_from_coro_f
from scrapy.utils.test import get_crawler

from c4scrapy import _meta
from c4scrapy._runtime import C4Runtime
from c4scrapy.core.config import CrawlerRunConfig, LinkPreviewConfig
from c4scrapy.core.head import head_end, parse_head
from c4scrapy.core.items import PageItem
from c4scrapy.core.previews import (
    BELOW_THRESHOLD,
    SKIPPED,
    VALID,
    HeadResult,
    apply_scores,
    link_priorities,
    select_links,
)
from c4scrapy.previews import LinkPreviews, previewed_links

URL = "https://docs.example.org/guide/index.html"

RICH_HEAD = b"""<!DOCTYPE html>
<html lang="en-GB"><head>
<meta charset="UTF-8">
<title>
  Event   Loop
</title>
<meta name="Description" content=" Run tasks on the loop. ">
<meta name="description" content="second description is ignored">
<meta property="og:title" content="Widgets and the event loop">
<meta property="og:image" content="/img/a.png">
<meta name="twitter:card" content="summary">
<meta http-equiv="refresh" content="30">
<link rel="canonical" href="/guide/loop.html#top">
<link rel="alternate" hreflang="de" href="https://docs.example.de/loop">
<link rel="next prefetch" href="tasks.html" title="Tasks">
<link rel="stylesheet" href="/s.css" type="text/css">
<script type="application/ld+json">{"@type": "TechArticle", "headline": "Event loop"}</script>
<script type="application/ld+json"><!-- {"@type": "Person", "name": "Ada"} --></script>
<script type="application/ld+json">{not json</script>
</head>
<body><meta name="late" content="not in the head"><p>Body text</p></body></html>"""


def test_parse_head_records_what_crawl4ai_records_and_the_language():
    head = parse_head(RICH_HEAD, URL, "text/html")
    assert head["title"] == "Event Loop"
    assert head["charset"] == "utf-8"
    assert head["lang"] == "en-GB"  # Crawl4AI's lang is always missing
    assert head["meta"] == {
        "description": "Run tasks on the loop.",
        "og:title": "Widgets and the event loop",
        "og:image": "/img/a.png",
        "twitter:card": "summary",
        "refresh": "30",
    }
    links = head["link"]
    assert links["canonical"] == [{"href": "https://docs.example.org/guide/loop.html#top"}]
    assert links["alternate"] == [{"href": "https://docs.example.de/loop", "hreflang": "de"}]
    assert (
        links["next"]
        == links["prefetch"]
        == [{"href": "https://docs.example.org/guide/tasks.html", "title": "Tasks"}]
    )
    assert links["stylesheet"][0]["type"] == "text/css"
    assert head["jsonld"] == [
        {"@type": "TechArticle", "headline": "Event loop"},
        {"@type": "Person", "name": "Ada"},
    ]


@pytest.mark.parametrize(
    ("data", "content_type", "title", "charset"),
    [
        # truncated after </head>: what a preview reads
        (b"<html><head><title>Cut</title></head><body><p>unfini", None, "Cut", None),
        # no </head>: the head ends where the body starts
        (b"<html><title>No close</title><body><title>late</title>", None, "No close", None),
        # no head at all
        (b"<html><body><p>Just a body</p></body></html>", None, None, None),
        (b"", None, None, None),
        # charset from the Content-Type header, from http-equiv, and a BOM
        (
            "<title>Caf\xe9</title>".encode("latin-1"),
            "text/html; charset=latin-1",
            "Caf\xe9",
            None,
        ),
        (
            (
                b'<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1">'
                b"<title>Caf\xe9</title>"
            ),
            None,
            "Caf\xe9",
            "iso-8859-1",
        ),
        ("\ufeff<title>Caf\xe9</title>".encode(), None, "Caf\xe9", None),
    ],
)
def test_parse_head_edge_cases(data, content_type, title, charset):
    head = parse_head(data, URL, content_type)
    assert head["title"] == title
    assert head["charset"] == charset
    assert set(head) == {"title", "charset", "lang", "meta", "link", "jsonld"}


@pytest.mark.parametrize(
    ("data", "end"),
    [
        (b"<head><title>x</title></head><body>", 29),
        (b"<head><title>x</title></HEAD >", 30),
        (b"<title>x</title><BODY class=a>", 22),
        (b"<title>x</title><bodyguard>", None),
        (b"<title>x</title><p>text", None),
    ],
)
def test_head_end(data, end):
    assert head_end(data) == end


def _links(*hrefs: str, external: tuple[str, ...] = ()) -> dict[str, list[dict]]:
    def link(href: str) -> dict:
        return {"href": href, "text": "", "title": "", "base_domain": "", "total_score": None}

    return {"internal": [link(h) for h in hrefs], "external": [link(h) for h in external]}


@pytest.mark.parametrize(
    ("config", "selected", "reasons"),
    [
        (
            {},
            ["https://s.org/docs/a", "https://s.org/login", "https://s.org/api/b"],
            {"https://o.org/docs/x": "not_included"},
        ),
        (
            {"include_external": True, "max_links": 2},
            ["https://s.org/docs/a", "https://s.org/login"],
            {"https://s.org/api/b": "max_links", "https://o.org/docs/x": "max_links"},
        ),
        (
            {"include_external": True, "include_patterns": ["*/docs/*", "*/api/*"]},
            ["https://s.org/docs/a", "https://s.org/api/b", "https://o.org/docs/x"],
            {"https://s.org/login": "include_patterns"},
        ),
        (
            {"include_internal": False, "include_external": True},
            ["https://o.org/docs/x"],
            {
                "https://s.org/docs/a": "not_included",
                "https://s.org/login": "not_included",
                "https://s.org/api/b": "not_included",
            },
        ),
        (
            {"exclude_patterns": ["*/login*"], "include_patterns": ["https://s.org/*"]},
            ["https://s.org/docs/a", "https://s.org/api/b"],
            {"https://s.org/login": "exclude_patterns", "https://o.org/docs/x": "not_included"},
        ),
        (  # patterns are case-sensitive, on every platform
            {"include_patterns": ["*/DOCS/*"]},
            [],
            {
                "https://s.org/docs/a": "include_patterns",
                "https://s.org/login": "include_patterns",
                "https://s.org/api/b": "include_patterns",
                "https://o.org/docs/x": "not_included",
            },
        ),
    ],
)
def test_select_links(config, selected, reasons):
    links = _links(
        "https://s.org/docs/a",
        "https://s.org/login",
        "https://s.org/api/b",
        external=("https://o.org/docs/x",),
    )
    chosen, skipped = select_links(links, LinkPreviewConfig.from_mapping(config))
    assert [link["href"] for link in chosen] == selected
    assert {link["href"]: reason for link, reason in skipped} == reasons


def test_with_a_query_max_links_goes_to_links_that_mention_it_first():
    links = _links("/home", "/news", "/tasks", "/about", "/loop")
    texts = ["Home", "News", "asyncio tasks", "About", "The event loop of asyncio"]
    for link, text in zip(links["internal"], texts, strict=True):
        link["text"] = text
    config = LinkPreviewConfig(max_links=3, query="asyncio event loop")
    chosen, skipped = select_links(links, config)
    assert [link["href"] for link in chosen] == ["/home", "/tasks", "/loop"]  # page order
    assert {link["href"]: reason for link, reason in skipped} == {
        "/news": "max_links",
        "/about": "max_links",
    }
    plain, _ = select_links(links, LinkPreviewConfig(max_links=3))
    assert [link["href"] for link in plain] == ["/home", "/news", "/tasks"]


def _scored_page() -> PageItem:
    page = PageItem(url="https://s.org/")
    heads = {
        "https://s.org/loop": {"title": "The asyncio event loop"},
        "https://s.org/tasks": {"title": "asyncio tasks"},
        "https://s.org/pricing": {"title": "Pricing"},
    }
    for href, head in heads.items():
        page.links["internal"].append(
            {
                "href": href,
                "head_data": head,
                "head_extraction_status": VALID,
                "head_extraction_error": None,
                "intrinsic_score": 5.0,
                "contextual_score": None,
                "total_score": None,
            }
        )
    page.links["internal"].append(
        {
            "href": "https://s.org/broken",
            "head_data": None,
            "head_extraction_status": "timeout",
            "head_extraction_error": "no complete head within 5 s",
            "intrinsic_score": 2.0,
            "contextual_score": None,
            "total_score": None,
        }
    )
    return page


def test_scores_and_threshold_flag():
    page = _scored_page()
    apply_scores(page, "asyncio event loop", score_threshold=0.5)
    by_href = {link["href"]: link for link in page.links["internal"]}
    loop, tasks, pricing, broken = (
        by_href[f"https://s.org/{p}"] for p in ("loop", "tasks", "pricing", "broken")
    )
    assert (loop["contextual_score"], loop["total_score"]) == (1.0, 6.5)
    assert (tasks["contextual_score"], tasks["head_extraction_status"]) == (
        0.3333,
        BELOW_THRESHOLD,
    )
    assert tasks["head_data"] == {"title": "asyncio tasks"}  # kept, only flagged
    assert (pricing["contextual_score"], pricing["total_score"]) == (0.0, 3.5)
    assert pricing["head_extraction_status"] == BELOW_THRESHOLD
    assert (broken["contextual_score"], broken["total_score"]) == (None, 2.0)  # fallback
    assert broken["head_extraction_status"] == "timeout"
    priorities = link_priorities(page.links["internal"], "asyncio event loop")
    assert priorities == [650, -550, -650, 140]  # below the threshold: last


def test_priorities_put_links_with_and_without_previews_on_one_scale():
    links = [
        {"text": "Pricing", "intrinsic_score": 6.0, "contextual_score": 0.0},
        {"text": "Pricing", "intrinsic_score": 6.0, "contextual_score": None},  # no preview
        {"text": "asyncio guide", "intrinsic_score": 6.0, "contextual_score": None},
        {"text": "", "intrinsic_score": None, "contextual_score": None},
    ]
    # total_score falls back to the bare intrinsic score (6.0) for the second link;
    # its priority uses 0.7 * 6.0 + 3 * (the query terms its text mentions) instead.
    assert link_priorities(links, "asyncio") == [420, 420, 720, 0]
    assert link_priorities(links, None) == [420, 600, 600, 0]  # no query: no estimate


@pytest.mark.parametrize("low", [0.0, 0.2, 0.4, 0.6, 0.8])
def test_raising_the_threshold_never_adds_valid_links(low):
    def valid_links(threshold: float) -> set[str]:
        page = _scored_page()
        apply_scores(page, "asyncio event loop", score_threshold=threshold)
        return {
            link["href"]
            for link in page.links["internal"]
            if link["head_extraction_status"] == VALID
        }

    assert valid_links(low + 0.2) <= valid_links(low)


class FakeResolver:
    """DNS answers for the test: names map to address lists; unknown names fail."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def __call__(self, host: str) -> list[str]:
        self.asked.append(host)
        if host not in self.answers:
            raise OSError(f"cannot resolve {host}")
        return self.answers[host]


RESOLVER_ANSWERS = {
    "public.example": ["93.184.216.34"],
    "intranet.example": ["10.1.2.3"],
    "rebind.example": ["93.184.216.34", "127.0.0.1"],
    "v6.example": ["2606:4700::1111"],
    "v6-local.example": ["fe80::1"],
    "mapped.example": ["::ffff:169.254.169.254"],
}


def _previews(settings: dict | None = None) -> tuple[LinkPreviews, FakeResolver]:
    crawler = get_crawler(settings_dict=settings or {})
    resolver = FakeResolver(RESOLVER_ANSWERS)
    previews = C4Runtime.of(crawler).service(LinkPreviews)
    previews.guard.resolve = resolver
    return previews, resolver


@pytest.mark.parametrize(
    ("host", "public"),
    [
        ("127.0.0.1", False),
        ("localhost", False),
        ("localhost.", False),
        ("10.0.0.8", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("[::1]", False),
        ("[::7f00:1]", False),
        ("100.64.0.1", False),  # shared address space
        ("8.8.8.8", True),
        ("public.example", True),
        ("intranet.example", False),
        ("rebind.example", False),  # any non-public address counts
        ("v6.example", True),
        ("v6-local.example", False),
        ("mapped.example", False),
        ("unknown.example", False),  # does not resolve: not public
        ("", False),
    ],
)
@deferred_f_from_coro_f
async def test_public_hosts(host, public):
    previews, _ = _previews()
    assert await previews.guard.is_public(host) is public


@deferred_f_from_coro_f
async def test_guard_applies_to_public_pages_only():
    previews, resolver = _previews()
    guard = previews.guard
    assert await guard.guards("https://public.example/page") is True
    assert await guard.guards("http://127.0.0.1:8000/") is False  # an intranet crawl
    assert await guard.guards("http://intranet.example/") is False
    await guard.guards("http://public.example/other")
    assert resolver.asked == ["public.example", "intranet.example"]  # one lookup per host


@pytest.mark.parametrize("name", ["C4_ALLOW_PRIVATE_ADDRESSES", "C4_PREVIEW_ALLOW_PRIVATE"])
@deferred_f_from_coro_f
async def test_guard_can_be_lifted(name):
    previews, _ = _previews({name: True})
    assert await previews.guard.guards("https://public.example/page") is False


def test_the_new_setting_name_wins_over_the_old_one():
    crawler = get_crawler(
        settings_dict={"C4_ALLOW_PRIVATE_ADDRESSES": False, "C4_PREVIEW_ALLOW_PRIVATE": True}
    )
    assert C4Runtime.of(crawler).settings.allow_private_addresses is False


@deferred_f_from_coro_f
async def test_private_links_of_a_public_page_are_skipped_without_a_request():
    previews, _ = _previews()
    page = PageItem(url="https://public.example/")
    page.links["internal"] = [
        {"href": href, "text": "", "title": "", "base_domain": "", "total_score": None}
        for href in ("http://10.0.0.8/admin", "http://intranet.example/", "http://[::1]:8080/")
    ]
    page.links["external"] = [
        {"href": "http://169.254.169.254/latest/meta-data/", "text": "", "title": ""}
    ]
    config = CrawlerRunConfig(link_preview_config=LinkPreviewConfig(include_external=True))
    streamed = [link async for link in previews.previewed_links(page, config)]
    assert sorted(id(link) for link in streamed) == sorted(id(link) for link in page.all_links())
    await previews.preview_page(page, config)  # done already: returns at once
    for link in page.all_links():
        assert link["head_extraction_status"] == SKIPPED
        assert link["head_extraction_error"] == "private_address"
        assert link["head_data"] is None
    assert page.c4["previews"]["status"] == {SKIPPED: 4}
    stats = previews.crawler.stats.get_stats()
    assert stats["c4/previews/skipped/private_address"] == 4
    assert "c4/previews/fetched" not in stats
    assert stats["c4/previews/pages"] == 1


@deferred_f_from_coro_f
async def test_without_previews_every_link_streams_at_once():
    previews, _ = _previews()
    page = PageItem(url="https://public.example/")
    page.links["internal"] = [{"href": "https://public.example/a"}]
    config = CrawlerRunConfig(score_links=True)
    assert [link async for link in previews.previewed_links(page, config)] == [
        {"href": "https://public.example/a"}
    ]
    assert "previews" not in page.c4


def _guide_page() -> PageItem:
    page = PageItem(url="https://public.example/")
    page.links["internal"] = [
        {"href": href, "text": text, "title": "", "intrinsic_score": 5.0, "total_score": None}
        for href, text in (
            ("http://intranet.example/admin", "admin"),
            ("http://intranet.example/loop", "the event loop guide"),
        )
    ]
    return page


@deferred_f_from_coro_f
async def test_previewed_links_gives_each_link_with_its_priority():
    previews, _ = _previews()
    page = _guide_page()
    config = CrawlerRunConfig(link_preview_config=LinkPreviewConfig(query="event loop"))
    page.attach_source(None, config, page.url)
    pairs = [pair async for pair in previewed_links(previews.crawler, page)]
    assert [link["href"] for link, _ in pairs] == [link["href"] for link in page.all_links()]
    assert all(link["head_extraction_error"] == "private_address" for link, _ in pairs)
    priorities = {link["text"]: priority for link, priority in pairs}
    assert priorities["the event loop guide"] > priorities["admin"]
    assert priorities["admin"] == link_priorities(page.links["internal"][:1], "event loop")[0]


@deferred_f_from_coro_f
async def test_previewed_links_of_a_response_use_its_request_config():
    previews, _ = _previews()
    page = _guide_page()
    request = Request(
        page.url,
        meta={_meta.PAGE: page, _meta.CONFIG: {"link_preview_config": {"query": "event loop"}}},
    )
    response = HtmlResponse(page.url, body=b"<html></html>", request=request)
    pairs = [pair async for pair in previewed_links(previews.crawler, response)]
    assert len(pairs) == 2
    assert page.c4["previews"]["status"] == {SKIPPED: 2}
    without_page = HtmlResponse(page.url, body=b"", request=Request(page.url))
    assert [pair async for pair in previewed_links(previews.crawler, without_page)] == []


def test_the_head_cache_is_bounded_in_memory_too():
    """Heads of hostile size (a 64 KiB head of meta tags is ~0.5 MiB of objects) leave
    the cache by C4_PREVIEW_CACHE_MIB long before C4_PREVIEW_CACHE_SIZE would act."""
    previews, _ = _previews({"C4_PREVIEW_CACHE_MIB": 1})
    big = {"meta": {f"name{i}": "x" * 100 for i in range(2000)}}
    assert 200_000 < HeadResult(VALID, big).memory() < 600_000
    for n in range(6):
        previews._store(f"http://example.com/{n}", HeadResult(VALID, dict(big)))
    kept = list(previews._results)
    assert 1 <= len(kept) <= 4
    assert kept[-1] == "http://example.com/5"
    assert previews._cached_bytes == sum(r.memory() for r in previews._results.values())
    assert previews._cached_bytes <= 1024 * 1024
    stats = previews.crawler.stats.get_stats()
    assert stats["c4/previews/evicted"] == 6 - len(kept)
    small = HeadResult(VALID, {"title": "t"})
    for n in range(10):
        previews._store(f"http://example.com/small{n}", small)
    assert len(previews._results) >= 10  # small heads: the count limit (5000) applies
