"""Link previews in real ``scrapy crawl`` runs against local servers.

Every preview target a crawl meets on the web, once each: slow, hanging, 404, 500,
redirecting (and looping), PDF, image, head-less and huge pages, robots.txt; a page with
2,000 links; heads fetched once per crawl; the HTTP cache never poisoned by a truncated
head; the query-guided crawl order, with JOBDIR; no deadlock under tight limits.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests._support.crawling import CrawlRun, run_crawl

HEAD_LOG = re.compile(r"Head preview of (\S+): (\w+).*?\((\d+) bytes read\)")


def _page(title: str, links: list[str] = (), body: str = "", head: str = "") -> str:
    anchors = "\n".join(f'<li><a href="{href}">{text}</a></li>' for href, text in links)
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        f"{head}</head><body><main><h1>{title}</h1><ul>{anchors}</ul>{body}</main></body></html>"
    )


def _write(site: Path, path: str, html: str) -> None:
    target = site / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(html)


def _fresh(tmp_path: Path, name: str) -> Path:
    (tmp_path / name).mkdir()
    return tmp_path / name


def _links(item: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {link["href"]: link for link in item["links"]["internal"] + item["links"]["external"]}


def _head_fetches(run: CrawlRun) -> dict[str, tuple[str, int]]:
    """URL -> (status, bytes read) of every preview fetch, from the DEBUG log."""
    fetches: dict[str, tuple[str, int]] = {}
    for url, status, size in HEAD_LOG.findall(run.log):
        assert url not in fetches, f"{url} was fetched twice"
        fetches[url] = (status, int(size))
    return fetches


def test_preview_targets(site_server, tmp_path):
    site = tmp_path / "site"
    big_body = "<p>" + "filler text " * 90_000 + "</p>"
    _write(site, "/big.html", _page("Big page", body=big_body))
    _write(site, "/new.html", _page("New home"))
    _write(site, "/headless.html", "<html><body><p>No head at all</p></body></html>")
    _write(site, "/private/secret.html", _page("Secret"))
    (site / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n")
    (site / "img.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(5000))
    routes = site_server.routes
    html = {"Content-Type": "text/html; charset=utf-8"}
    routes["/slow.html"] = lambda h: (
        200,
        html,
        [b"<html><head>", 0.3, b"<title>Slow but fine</title></head><body>"]
        + [b"x" * 4096, 0.2] * 20,
    )
    routes["/hang.html"] = lambda h: (200, html, [b"<html><head>", 30])
    routes["/error.html"] = lambda h: (500, html, "<title>Server error</title>")
    routes["/old.html"] = lambda h: (301, {"Location": "/new.html"}, b"")
    routes["/loop.html"] = lambda h: (302, {"Location": "/loop.html"}, b"")
    routes["/doc.pdf"] = lambda h: (200, {"Content-Type": "application/pdf"}, b"%PDF" * 80_000)
    routes["/endless.html"] = lambda h: (200, html, [b"<p>" + b"y" * 4096, 0.001] * 500)
    targets = [
        "/",
        "/slow.html",
        "/hang.html",
        "/missing.html",
        "/error.html",
        "/old.html",
        "/loop.html",
        "/doc.pdf",
        "/img.png",
        "/headless.html",
        "/big.html",
        "/endless.html",
        "/private/secret.html",
    ]
    _write(site, "/index.html", _page("Start", [(t, t.strip("/") or "home") for t in targets]))

    run = run_crawl(
        tmp_path,
        args={
            "url": site_server.url,
            "depth": 0,
            "link_preview": '{"timeout": 1.5, "verbose": true}',
        },
        settings={
            "ROBOTSTXT_OBEY": "True",
            "RETRY_TIMES": 1,
            "REDIRECT_MAX_TIMES": 3,
            "C4_PREVIEW_MAX_BYTES": 16384,
        },
    )
    assert len(run.items) == 1, run.log[-3000:]
    item = run.items[0]
    assert item["success"] is True
    base = site_server.url.rstrip("/")
    links = _links(item)
    outcome = {
        href.removeprefix(base): (link["head_extraction_status"], link["head_extraction_error"])
        for href, link in links.items()
    }
    assert outcome == {
        "/": ("valid", None),
        "/slow.html": ("valid", None),
        "/hang.html": ("timeout", "no complete head within 1.5 s"),
        "/missing.html": ("http_error", "HTTP 404"),
        "/error.html": ("http_error", "HTTP 500"),
        "/old.html": ("valid", None),
        "/loop.html": ("http_error", "more than 3 redirects"),
        "/doc.pdf": ("not_html", "Content-Type: application/pdf"),
        "/img.png": ("not_html", "Content-Type: image/png"),
        "/headless.html": ("valid", None),
        "/big.html": ("valid", None),
        "/endless.html": ("valid", None),
        "/private/secret.html": ("skipped", "robots_txt"),
    }
    head = {href.removeprefix(base): link["head_data"] for href, link in links.items()}
    assert head["/"]["title"] == "Start"
    assert head["/slow.html"]["title"] == "Slow but fine"
    assert head["/old.html"]["title"] == "New home"
    assert head["/old.html"]["redirected_url"] == base + "/new.html"
    assert head["/headless.html"]["title"] is None
    assert head["/big.html"]["lang"] == "en"
    assert head["/doc.pdf"] is None
    for href, link in links.items():  # score_links comes with -a link_preview
        assert link["total_score"] == link["intrinsic_score"] is not None, href

    hits = site_server.hits
    assert hits["/"] == 1  # the page the crawl downloaded gave its own head
    assert hits["/private/secret.html"] == 0
    assert hits["/error.html"] == 2  # Scrapy's retry applies (RETRY_TIMES=1)
    assert hits["/hang.html"] == 2
    assert (hits["/old.html"], hits["/new.html"]) == (1, 1)
    assert hits["/loop.html"] == 4
    for path in ("/slow.html", "/missing.html", "/doc.pdf", "/img.png", "/big.html"):
        assert hits[path] == 1, path

    fetched = {url.removeprefix(base): v for url, v in _head_fetches(run).items()}
    assert fetched["/doc.pdf"][1] == 0  # stopped at the response headers
    assert fetched["/big.html"][1] < 100_000 < len(big_body)
    # C4_PREVIEW_MAX_BYTES is checked as data arrives: at most one read goes past it
    assert 16384 <= fetched["/endless.html"][1] < 16384 + 65536
    assert fetched["/slow.html"][1] < 4096 * 3
    assert "['c4_head']" in run.log  # preview requests are flagged in "Crawled" lines
    assert "Previewed 13 of 13 links of" in run.log  # verbose: INFO
    stats = run.stats
    assert stats["c4/previews/fetched"] == len(fetched) == 12  # robots.txt is checked then
    assert stats["c4/previews/requested"] == 13
    assert stats["c4/previews/from_cache"] == 1
    assert stats["c4/previews/skipped/robots_txt"] == 1
    assert stats["c4/previews/head_status/valid"] == 5
    assert stats["c4/previews/failed"] == 6
    assert stats["c4/previews/bytes"] == sum(size for _, size in fetched.values())
    assert item["c4"]["previews"]["status"]["valid"] == 6


def test_max_links_on_a_page_with_2000_links(site_server, tmp_path):
    site = tmp_path / "site"
    for i in range(10):
        _write(site, f"/p/{i}.html", _page(f"Page {i}"))
    _write(
        site, "/index.html", _page("Many", [(f"/p/{i}.html", f"page {i}") for i in range(2000)])
    )
    run = run_crawl(
        tmp_path,
        args={"url": site_server.url, "depth": 0, "link_preview": '{"max_links": 10}'},
    )
    (item,) = run.items
    statuses = [link["head_extraction_status"] for link in item["links"]["internal"]]
    assert statuses[:10] == ["valid"] * 10
    assert statuses[10:] == ["skipped"] * 1990
    assert {link["head_extraction_error"] for link in item["links"]["internal"][10:]} == {
        "max_links"
    }
    assert sorted(p for p in site_server.hits if p.startswith("/p/")) == [
        f"/p/{i}.html" for i in range(10)
    ]
    assert run.stats["c4/previews/fetched"] == 10
    assert run.stats["c4/previews/skipped/max_links"] == 1990


def test_each_unique_link_is_fetched_once_per_crawl(site_server, tmp_path):
    site = tmp_path / "site"
    shared = [("/x.html", "X"), ("/y.html", "Y"), ("/z.html", "Z"), ("/", "home")]
    for name in "abc":
        others = [(f"/{o}.html", o.upper()) for o in "abc" if o != name]
        _write(site, f"/{name}.html", _page(f"Section {name}", shared + others))
    for name in "xyz":
        _write(site, f"/{name}.html", _page(f"Leaf {name} about asyncio"))
    _write(
        site, "/index.html", _page("Home", [("/a.html", "A"), ("/b.html", "B"), ("/c.html", "C")])
    )
    run = run_crawl(
        tmp_path,
        args={"url": site_server.url, "depth": 1, "query": "asyncio"},
        settings={"C4_SCORE_WEIGHTS": '{"intrinsic": 0.3, "contextual": 0.7}'},
    )
    assert len(run.items) == 4
    hits = site_server.hits
    assert (hits["/x.html"], hits["/y.html"], hits["/z.html"]) == (1, 1, 1)
    assert hits["/"] == 1
    for section in ("/a.html", "/b.html", "/c.html"):
        assert hits[section] in (1, 2)  # previewed before being crawled, or not
    fetches = _head_fetches(run)  # asserts that no URL was fetched twice
    stats = run.stats
    assert stats["c4/previews/fetched"] == len(fetches)
    assert stats["c4/previews/requested"] == (
        stats["c4/previews/fetched"]
        + stats.get("c4/previews/from_cache", 0)
        + stats.get("c4/previews/shared_inflight", 0)
    )
    for item in run.items:
        for link in item["links"]["internal"]:
            if link["contextual_score"] is not None:
                expected = round(0.3 * link["intrinsic_score"] + 7 * link["contextual_score"], 3)
                assert link["total_score"] == min(expected, 10.0)
        leaf = _links(item).get(site_server.url + "x.html")
        if leaf is not None:
            assert leaf["contextual_score"] == 1.0


def test_truncated_heads_never_reach_the_http_cache(site_server, tmp_path):
    site = tmp_path / "site"
    _write(site, "/article.html", _page("Article", body="<p>" + "words " * 20_000 + "THE END</p>"))
    _write(site, "/index.html", _page("Home", [("/article.html", "Article")]))
    cache = {"HTTPCACHE_ENABLED": "True", "HTTPCACHE_DIR": str(tmp_path / "httpcache")}
    first = run_crawl(
        _fresh(tmp_path, "first"),
        args={"url": site_server.url, "depth": 0, "link_preview": "{}"},
        settings=cache,
    )
    assert _links(first.items[0])[site_server.url + "article.html"]["head_data"]["title"] == (
        "Article"
    )
    assert first.stats["httpcache/firsthand"] == 1  # the start page only
    second = run_crawl(
        _fresh(tmp_path, "second"),
        args={"url": site_server.url + "article.html", "depth": 0},
        settings=cache,
    )
    (article,) = second.items
    assert "THE END" in article["markdown"]
    assert site_server.hits["/article.html"] == 2  # the preview, then the full page


def _guided_site(site: Path) -> set[str]:
    """An index whose first link leads to the relevant pages and the rest to noise."""
    relevant = ["/hub.html", "/a1.html", "/a2.html", "/a3.html"]
    _write(
        site,
        "/hub.html",
        _page("The asyncio event loop guide", [(p, "Read") for p in relevant[1:]]),
    )
    for i, path in enumerate(relevant[1:], 1):
        _write(site, path, _page(f"Asyncio event loop, part {i}"))
    noise = []
    for i in range(1, 7):
        children = [(f"/n{i}/m{j}.html", f"More noise {j}") for j in range(1, 4)]
        _write(site, f"/n{i}.html", _page(f"Noise page {i}", children))
        for path, _ in children:
            _write(site, path, _page(f"Noise leaf {path}"))
        noise.append((f"/n{i}.html", f"Noise page {i}"))
    _write(site, "/index.html", _page("Index", [("/hub.html", "Asyncio hub"), *noise]))
    return set(relevant)


def test_query_guided_crawl_reaches_relevant_pages_first(site_server, tmp_path):
    relevant = {site_server.url + p.lstrip("/") for p in _guided_site(tmp_path / "site")}
    one_at_a_time = {"CONCURRENT_REQUESTS": 1}
    guided = run_crawl(
        _fresh(tmp_path, "guided"),
        args={"url": site_server.url, "query": "asyncio event loop"},
        settings={**one_at_a_time, "JOBDIR": str(tmp_path / "job")},
    )
    plain = run_crawl(
        _fresh(tmp_path, "plain"),
        args={"url": site_server.url, "score_links": "true"},
        settings=one_at_a_time,
    )
    assert len(guided.items) == len(plain.items) == 29
    # While the hub's links are being previewed, the idle downloader may take a request
    # that was already scheduled (a noise page): guidance works through priorities.
    guided_at = [i for i, item in enumerate(guided.items) if item["url"] in relevant]
    plain_at = [i for i, item in enumerate(plain.items) if item["url"] in relevant]
    assert max(guided_at) < 8, guided_at
    assert min(plain_at) > 15, plain_at  # Scrapy's usual (LIFO) order reaches them last
    # JOBDIR: the guided requests were all serialisable (spider-method callbacks, ints).
    assert guided.stats.get("scheduler/unserializable", 0) == 0
    assert guided.stats["scheduler/enqueued/disk"] == 29
    # Without a query: no previews, and the total is the intrinsic score.
    assert "c4/previews/fetched" not in plain.stats
    for item in plain.items:
        for link in item["links"]["internal"]:
            assert link["total_score"] == link["intrinsic_score"]
            assert link["head_extraction_status"] is None


def test_no_deadlock_under_tight_limits(site_server, tmp_path):
    site = tmp_path / "site"
    pages = [f"/p{i}.html" for i in range(40)]
    for i, path in enumerate(pages):
        _write(
            site,
            path,
            _page(f"Page {i} about asyncio" if i % 3 else f"Page {i}", [(p, p) for p in pages]),
        )
    _write(site, "/index.html", _page("Mesh", [(p, p) for p in pages]))
    run = run_crawl(
        tmp_path,
        args={"url": site_server.url, "query": "asyncio", "link_preview": '{"concurrency": 2}'},
        settings={
            "CONCURRENT_REQUESTS": 2,
            "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
            "SCRAPER_SLOT_MAX_ACTIVE_SIZE": 1,  # the scraper backs out after every response
            "CONCURRENT_ITEMS": 1,
            "LOG_LEVEL": "INFO",
        },
        timeout=90,
    )
    assert len(run.items) == 41
    assert run.stats["finish_reason"] == "finished"
    assert run.stats["c4/previews/fetched"] <= 40
    assert all(item["c4"]["previews"]["selected"] == 40 for item in run.items)


def test_bad_score_weights_stop_the_crawl_at_start_up(site_server, tmp_path):
    _write(tmp_path / "site", "/index.html", _page("Home"))
    run = run_crawl(
        tmp_path,
        args={"url": site_server.url, "query": "x"},
        settings={"C4_SCORE_WEIGHTS": json.dumps({"intrinsic": -1, "contextual": 1})},
    )
    assert run.items == []
    assert "C4_SCORE_WEIGHTS: intrinsic must be a number >= 0" in run.log
    assert site_server.hits["/"] == 0


def _ranged(body: bytes, *, validator: bool = True, changed: bool = False) -> Any:
    """A route that honours ``Range`` like a static server (206 + Content-Range)."""

    def route(handler: Any) -> tuple[int, dict[str, str], bytes]:
        headers = {"Content-Type": "text/html"}
        if validator:
            headers["ETag"] = '"v2"' if changed else '"v1"'
        wanted = re.match(r"bytes=(\d+)-(\d+)$", handler.headers.get("Range", ""))
        if_range = handler.headers.get("If-Range")
        if wanted is None or (if_range is not None and if_range != headers.get("ETag")):
            return 200, headers, body
        first, last = int(wanted.group(1)), min(int(wanted.group(2)), len(body) - 1)
        if first >= len(body):
            return 416, {"Content-Range": f"bytes */{len(body)}"}, b""
        headers["Content-Range"] = f"bytes {first}-{last}/{len(body)}"
        if changed:
            headers["ETag"] = '"v1"'  # the first piece came from an older version
        return 206, headers, body[first : last + 1]

    return route


def test_byte_ranges_keep_previews_small_on_servers_that_honour_them(site_server, tmp_path):
    styles = "<style>" + "p { margin: 0 }\n" * 1200 + "</style>"  # a 19 KB head
    big_head = _page("Big head", head=styles, body="<p>" + "text " * 20_000 + "</p>").encode()
    small_head = _page("Small head", body="<p>" + "text " * 20_000 + "</p>").encode()
    routes = site_server.routes
    routes["/big-1.html"] = _ranged(big_head.replace(b"Big head", b"Big one"))
    routes["/big-2.html"] = _ranged(big_head.replace(b"Big head", b"Big two"))
    routes["/small.html"] = _ranged(small_head)
    routes["/changed.html"] = _ranged(big_head.replace(b"Big head", b"Changed"), changed=True)
    routes["/no-validator.html"] = _ranged(
        big_head.replace(b"Big head", b"Unsure"), validator=False
    )
    routes["/empty.html"] = _ranged(b"")
    other_host = site_server.url.replace("127.0.0.1", "localhost")  # its own head sizes
    order = ["/small.html", "/big-1.html", "/big-2.html"]
    order += [other_host + p for p in ("changed.html", "no-validator.html", "empty.html")]
    _write(tmp_path / "site", "/index.html", _page("Start", [(p, p) for p in order]))
    run = run_crawl(  # one preview at a time, in page order
        tmp_path,
        args={
            "url": site_server.url,
            "depth": 0,
            "link_preview": '{"concurrency": 1, "include_external": true}',
        },
    )
    pages = run.by_url()
    titles = {
        urlsplit(href).path: (link["head_data"] or {}).get("title")
        for item in pages.values()
        for href, link in _links(item).items()
    }
    assert titles["/big-1.html"] == "Big one"
    assert titles["/big-2.html"] == "Big two"
    assert titles["/small.html"] == "Small head"
    assert titles["/changed.html"] == "Changed"
    assert titles["/no-validator.html"] == "Unsure"
    assert titles["/empty.html"] is None
    fetched = {
        url.removeprefix(site_server.url.rstrip("/")): v for url, v in _head_fetches(run).items()
    }
    hits = site_server.hits
    assert (hits["/small.html"], fetched["/small.html"][1]) == (1, 8192)
    # 8 KiB, then 8 more, then 16 more: the head ends at 19 KB
    assert (hits["/big-1.html"], fetched["/big-1.html"][1]) == (3, 32768)
    # from then on, this host's first range is as large as its largest head (32 KiB)
    assert (hits["/big-2.html"], fetched["/big-2.html"][1]) == (1, 32768)
    assert hits["/changed.html"] == 2  # If-Range did not match: a full GET, stopped early
    assert hits["/no-validator.html"] == 2  # no way to join pieces safely: one plain GET
    assert hits["/empty.html"] == 2  # 416, then without Range
    assert run.stats["c4/previews/range_continuations"] == 3


def test_compression_bombs_cost_no_more_than_the_byte_budget(site_server, tmp_path):
    """A preview decodes at most C4_PREVIEW_MAX_BYTES of a compressed head, however much
    the body would inflate to (each bomb below is 50 MB of HTML in 49 KB)."""
    site = tmp_path / "site"
    html = b"<html><head><title>Bomb</title>" + b" " * 50_000_000
    bombs = {
        "gzip": gzip.compress(html, 9),
        "deflate": zlib.compress(html, 9),
        "x-gzip, identity": gzip.compress(html, 9),
    }
    paths = []
    for i in range(12):
        encoding = list(bombs)[i % 3]
        paths.append(path := f"/bomb{i}.html")
        headers = {"Content-Type": "text/html", "Content-Encoding": encoding}
        site_server.routes[path] = lambda h, headers=headers, body=bombs[encoding]: (
            200,
            headers,
            body,
        )
    _write(site, "/index.html", _page("Bombs", [(p, p) for p in paths]))
    budget = 16384
    run = run_crawl(
        tmp_path,
        args={"url": site_server.url, "depth": 0, "link_preview": "{}"},
        settings={"C4_PREVIEW_MAX_BYTES": budget},
    )
    (item,) = run.items
    links = item["links"]["internal"]
    assert len(links) == 12
    for link in links:
        assert link["head_extraction_status"] == "valid", link
        assert link["head_data"]["title"] == "Bomb"
    fetches = _head_fetches(run)
    assert len(fetches) == 12
    # compressed bytes read: the budget is checked as data arrives (one read past it at most)
    assert all(budget <= size < budget + 65536 for _, size in fetches.values())
    assert run.stats["c4/previews/decompressed_bytes"] <= 12 * budget


def test_a_page_of_hanging_links_is_released_at_its_preview_deadline(site_server, tmp_path):
    """100 links that never answer: the item comes at C4_PREVIEW_PAGE_TIMEOUT with those
    links marked, the downloads still waiting are cancelled, and the log has one warning,
    not a hundred errors."""
    site = tmp_path / "site"
    html = {"Content-Type": "text/html"}
    paths = [f"/hang{i}.html" for i in range(100)]
    for path in paths:
        site_server.routes[path] = lambda h: (200, html, [b"<html><head>", 8])
    _write(site, "/index.html", _page("Hanging", [(p, p) for p in paths]))
    run = run_crawl(
        tmp_path,
        args={"url": site_server.url, "depth": 0, "link_preview": '{"timeout": 1.5}'},
        settings={"C4_PREVIEW_PAGE_TIMEOUT": 2, "RETRY_TIMES": 1},
    )
    (item,) = run.items
    statuses = Counter(
        (link["head_extraction_status"], link["head_extraction_error"])
        for link in item["links"]["internal"]
    )
    late = ("timeout", "the page's previews took over C4_PREVIEW_PAGE_TIMEOUT (2 s)")
    assert statuses == {late: 100}  # 2 tries of 1.5 s each: none ends within 2 s
    assert run.stats["c4/previews/page_timeout/pages"] == 1
    assert run.stats["c4/previews/page_timeout/links"] == 100
    # 10 at a time: those 10 downloads are cancelled, the other 90 never start
    assert run.stats["c4/previews/fetched"] == run.stats["c4/previews/cancelled"] == 10
    assert run.stats["finish_reason"] == "finished"
    assert run.log.count("C4_PREVIEW_PAGE_TIMEOUT (2 s): marked timeout") == 1
    errors = [line for line in run.log.splitlines() if " ERROR: " in line]
    assert len(errors) <= 1, errors[:5]
