"""Shared fixtures; markers come from the folder a test lives in.

- ``tests/core``: the pure core on strings and files, no reactor, no network;
- ``tests/components``: c4scrapy's Scrapy components built with ``get_crawler`` and
  in-process crawls against local servers;
- ``tests/e2e``: real ``scrapy crawl`` processes, Chromium, Scrapyd, Redis (marker ``e2e``).

A test that uses the ``chromium`` fixture (directly or through another fixture) is also
marked ``browser``: ``-m "not browser"`` leaves out every test that launches Chromium.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests._support.servers import LocalServer
from tests._support.tools import require_tool

HERE = Path(__file__).resolve().parent
DEMO_SITE = HERE.parent / "examples" / "demo_site"


#: Files run longest first (e2e files with a slow test, other e2e, components, core), so
#: that with ``-n 2 --dist loadfile`` the long crawls overlap the rest instead of ending it.
LEVELS = ("e2e", "components", "core")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank: dict[Path, int] = {}
    for item in items:
        path = Path(str(item.fspath))
        level = path.relative_to(HERE).parts[0]
        if level in LEVELS:
            item.add_marker(getattr(pytest.mark, level))
        if "chromium" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
        slow = item.get_closest_marker("slow") is not None
        order = LEVELS.index(level) + 1 if level in LEVELS else len(LEVELS) + 1
        rank[path] = min(rank.get(path, order), 0 if slow else order)
    items.sort(key=lambda item: rank[Path(str(item.fspath))])  # stable: files stay whole


@pytest.fixture(scope="session")
def chromium() -> str:
    """The system Chromium's path (skipped locally without it, a failure in CI)."""
    return require_tool("chromium", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def demo_server():
    """The demo site (examples/demo_site) on 127.0.0.1, random port."""
    with LocalServer(DEMO_SITE) as server:
        yield server


@pytest.fixture
def site_server(tmp_path):
    """An empty site in tmp_path on 127.0.0.1; add files or ``server.routes[path] = fn``."""
    (tmp_path / "site").mkdir(exist_ok=True)
    with LocalServer(tmp_path / "site") as server:
        yield server
