"""What a browser page must do, as plain data: ``wait_for`` syntax and the steps of a config."""

from __future__ import annotations

import pytest

from c4scrapy.core.browser_steps import IMAGES_WAIT_LIMIT_MS, page_steps, parse_wait_for
from c4scrapy.core.config import CrawlerRunConfig


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("css:#main .item", ("css", "#main .item")),
        ("js:() => window.ready === true", ("js", "() => window.ready === true")),
        ("() => document.images.length > 2", ("js", "() => document.images.length > 2")),
        ("function () { return true; }", ("js", "function () { return true; }")),
        ("async () => true", ("js", "async () => true")),
        ("  #late-link  ", ("css", "#late-link")),
        ("div[data-loaded]", ("css", "div[data-loaded]")),
    ],
)
def test_parse_wait_for(spec, expected):
    assert parse_wait_for(spec) == expected


@pytest.mark.parametrize(
    ("fields", "steps"),
    [
        ({}, {}),
        ({"browser": True, "exclude_all_images": True}, {}),
        (
            {"wait_for": "#ready", "page_timeout": 5000},
            {"wait_for": ["css", "#ready", 5000], "timeout": 5000},
        ),
        (
            {"wait_for": "js:() => 1", "wait_for_timeout": 700, "page_timeout": 5000},
            {"wait_for": ["js", "() => 1", 700], "timeout": 5000},
        ),
        (
            {"wait_for_images": True, "page_timeout": 60_000},
            {"wait_for_images": IMAGES_WAIT_LIMIT_MS, "timeout": 60_000},
        ),
        (
            {"wait_for_images": True, "page_timeout": 2000},
            {"wait_for_images": 2000, "timeout": 2000},
        ),
        (
            {"screenshot": True, "capture_mhtml": True, "page_timeout": 9000},
            {"capture_mhtml": True, "screenshot": True, "timeout": 9000},
        ),
    ],
)
def test_page_steps(fields, steps):
    assert page_steps(CrawlerRunConfig(**fields)) == steps
