"""The add-on: the components it registers, the user's entries it respects, and the
start-up checks it runs."""

from __future__ import annotations

from typing import Any

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.utils.misc import build_from_crawler, load_object
from scrapy.utils.test import get_crawler

from c4scrapy import Addon, addon
from c4scrapy.middlewares import C4DownloaderMiddleware
from c4scrapy.progress import C4Progress

COMPONENT_SETTINGS = {
    "DOWNLOADER_MIDDLEWARES": addon.DOWNLOADER_MIDDLEWARES,
    "SPIDER_MIDDLEWARES": addon.SPIDER_MIDDLEWARES,
    "ITEM_PIPELINES": addon.ITEM_PIPELINES,
    "EXTENSIONS": addon.EXTENSIONS,
}

#: Another import path of the downloader middleware (this module imports the class).
ALIAS = f"{__name__}.C4DownloaderMiddleware"
PATH = "c4scrapy.middlewares.C4DownloaderMiddleware"


def _settings(**settings: Any) -> Any:
    return get_crawler(settings_dict={"ADDONS": {Addon: 100}, **settings}).settings


@pytest.mark.parametrize("name", sorted(COMPONENT_SETTINGS))
def test_registers_each_component_at_its_order(name):
    settings = _settings()
    for path, order in COMPONENT_SETTINGS[name].items():
        assert settings[name][path] == order


@pytest.mark.parametrize(
    ("user_entry", "kept"),
    [
        ({PATH: 700}, {PATH: 700}),  # the same path, another order
        ({C4DownloaderMiddleware: 700}, {C4DownloaderMiddleware: 700}),  # the class itself
        ({ALIAS: 700}, {ALIAS: 700}),  # another import path of the class
        ({PATH: None}, {PATH: None}),  # switched off
    ],
    ids=["same-path", "class", "alias", "disabled"],
)
def test_user_entries_for_the_same_class_win(user_entry, kept):
    entries = dict(_settings(DOWNLOADER_MIDDLEWARES=user_entry)["DOWNLOADER_MIDDLEWARES"])
    others = {k: v for k, v in addon.DOWNLOADER_MIDDLEWARES.items() if k != PATH}
    assert entries == {**kept, **others}


def test_an_unloadable_user_entry_is_left_to_scrapy():
    entries = _settings(DOWNLOADER_MIDDLEWARES={"no.such.Middleware": 10})[
        "DOWNLOADER_MIDDLEWARES"
    ]
    assert dict(entries) == {"no.such.Middleware": 10, **addon.DOWNLOADER_MIDDLEWARES}


@pytest.mark.parametrize(
    "path", [path for components in COMPONENT_SETTINGS.values() for path in components]
)
def test_every_component_builds_from_a_crawler(path):
    crawler = get_crawler(settings_dict={"ADDONS": {Addon: 100}})
    cls = load_object(path)
    if cls is C4Progress:  # off without a terminal: tests/components/test_progress.py
        with pytest.raises(NotConfigured):
            build_from_crawler(cls, crawler)
        return
    component = build_from_crawler(cls, crawler)
    assert component.crawler is crawler


def test_a_missing_browser_stops_the_crawl_at_start_up(tmp_path):
    missing = tmp_path / "no-such-chromium"
    with pytest.raises(RuntimeError, match=r"C4_BROWSER_EXECUTABLE is .*not an executable file"):
        _settings(C4_BROWSER_ENABLED=True, C4_BROWSER_EXECUTABLE=str(missing))


def test_without_the_browser_the_download_handlers_are_scrapys():
    handlers = _settings()["DOWNLOAD_HANDLERS"]
    assert "http" not in handlers
