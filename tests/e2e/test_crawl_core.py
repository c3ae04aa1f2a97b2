"""End to end: a real ``scrapy crawl site`` against local servers, one item per URL."""

from __future__ import annotations

import socket

from tests._support.crawling import run_crawl


def test_demo_site_crawl_yields_one_item_per_page(demo_server, tmp_path):
    run = run_crawl(tmp_path, args={"url": demo_server.url, "exclude_social_media_links": "true"})
    pages = run.by_url()
    assert len(run.items) == len(pages), "one item per URL"
    base = demo_server.url
    assert set(pages) == {
        base,
        base + "docs/",
        base + "docs/getting-started.html",
        base + "docs/event-loop.html",
        base + "docs/api.html",
        base + "news.html",
        base + "pricing.html",
        base + "missing-page.html",
    }
    missing = pages[base + "missing-page.html"]
    assert missing["success"] is False
    assert missing["status_code"] == 404
    assert missing["error_message"] == "HTTP 404"
    home = pages[base]
    assert home["success"] is True
    assert home["metadata"]["title"] == "Acme Widgets: documentation and news"
    external = {link["href"] for link in home["links"]["external"]}
    assert external == {"https://github.com/acme/widgets"}
    assert run.stats["c4/links/filtered/social"] >= 2
    assert run.stats["c4/pages/failed"] == 1
    assert run.stats.get("scheduler/unserializable", 0) == 0


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_download_failures_become_failed_items(site_server, tmp_path):
    port = _closed_port()
    site = tmp_path / "site"
    (site / "index.html").write_text(
        f"""<html><body>
        <a href="http://127.0.0.1:{port}/refused.html">refused</a>
        <a href="/slow.html">slow</a>
        <a href="/gone.html">gone</a>
        <a href="/error.html">error</a>
        <a href="/data.json">json</a>
        </body></html>"""
    )
    (site / "data.json").write_text('{"a": 1}')
    site_server.routes["/slow.html"] = lambda h: (200, {"Content-Type": "text/html"}, [5, b"x"])
    site_server.routes["/error.html"] = lambda h: (500, {"Content-Type": "text/html"}, "boom")
    run = run_crawl(
        tmp_path,
        args={"url": site_server.url, "internal_domains": "127.0.0.1"},
        settings={"DOWNLOAD_TIMEOUT": 1, "RETRY_TIMES": 1},
    )
    pages = run.by_url()
    assert len(run.items) == 6 == len(pages)
    base = site_server.url
    assert pages[base]["success"] is True
    refused = pages[f"http://127.0.0.1:{port}/refused.html"]
    assert refused["success"] is False
    assert "ConnectionRefusedError" in refused["error_message"]
    assert "TimeoutError" in pages[base + "slow.html"]["error_message"]
    assert pages[base + "gone.html"]["status_code"] == 404
    assert pages[base + "error.html"]["error_message"] == "HTTP 500"
    assert pages[base + "data.json"]["error_message"].startswith("not an HTML response")
    assert run.stats["c4/pages/failed"] == 5
    assert "Error downloading" in run.log


def test_unparsable_base_href_still_gives_one_item_per_url(site_server, tmp_path):
    site = tmp_path / "site"
    (site / "index.html").write_text('<a href="/bad.html">bad</a><a href="/ok.html">ok</a>')
    (site / "bad.html").write_text(
        '<html><head><base href="http://["></head><body>x</body></html>'
    )
    (site / "ok.html").write_text("<title>ok</title>")
    for meta_refresh in ("true", "false"):
        run = run_crawl(
            tmp_path / meta_refresh,
            args={"url": site_server.url},
            settings={"METAREFRESH_ENABLED": meta_refresh},
        )
        pages = run.by_url()
        assert len(run.items) == 3 == len(pages), (meta_refresh, run.items)
        assert pages[site_server.url + "ok.html"]["success"] is True
        assert pages[site_server.url + "bad.html"]["url"] == site_server.url + "bad.html"
