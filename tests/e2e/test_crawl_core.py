"""End to end: the README's ``scrapy crawl site`` on the demo site, one item per URL.

The failure cases of the one-item-per-URL contract are in tests/components/test_crawl.py."""

from __future__ import annotations

import pytest

from tests._support.crawling import run_crawl


@pytest.mark.parametrize(
    "reactor",
    [
        pytest.param({}, id="asyncio-reactor"),
        pytest.param({"TWISTED_REACTOR_ENABLED": "False"}, id="reactorless"),
    ],
)
def test_demo_site_crawl_yields_one_item_per_page(demo_server, tmp_path, reactor):
    """On Scrapy's asyncio reactor and in its reactorless mode alike, with the pages
    extracted in worker processes and link previews fetched."""
    args = {"url": demo_server.url, "exclude_social_media_links": "true", "query": "event loop"}
    run = run_crawl(tmp_path, args=args, settings=reactor)
    assert run.returncode == 0, run.log[-3000:]
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
    assert run.stats["c4/extract/in_workers"] == len(pages)
    assert run.stats["c4/previews/fetched"] > 0
    assert "Traceback" not in run.log


def test_another_twisted_reactor_is_refused_at_start_up(demo_server, tmp_path):
    reactor = "twisted.internet.epollreactor.EPollReactor"
    run = run_crawl(tmp_path, args={"url": demo_server.url}, settings={"TWISTED_REACTOR": reactor})
    assert run.returncode == 1
    assert run.items == []
    assert (
        "Invalid configuration: setting TWISTED_REACTOR: c4scrapy needs an asyncio event loop, "
        f"and this crawl runs {reactor}; use Scrapy's default"
    ) in run.log
