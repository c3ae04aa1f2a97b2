"""``browser="auto"``: the signals that send an HTTP page to the browser, and the field."""

from __future__ import annotations

import pytest
from lxml import html

from c4scrapy.core.config import CrawlerRunConfig
from c4scrapy.core.exceptions import ConfigError
from c4scrapy.core.layers import resolve, spider_config
from c4scrapy.core.render_signals import differs, page_signals, render_reason

TEXT = "<p>" + "Words of a server-rendered article. " * 40 + "</p>"
LINKS = "".join(f'<a href="/p{i}">p{i}</a>' for i in range(5))
SCRIPT = "<script>var x = 1;</script>"


def _page(body: str) -> str:
    return f"<html><head><title>t</title></head><body>{body}</body></html>"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (TEXT + LINKS + SCRIPT, None),  # a server-rendered page
        ("<p>Short page, no scripts.</p>", None),
        ('<div id="root"></div>' + SCRIPT, "app_root"),
        ('<div id="__next"><!-- filled by React --></div>' + SCRIPT, "app_root"),
        ('<div id="app">  </div>', "app_root"),
        ("<app-root ng-version='17'></app-root>", "app_root"),
        ("<div ng-app='shop'></div>" + SCRIPT, "app_root"),
        ('<div id="root"><p>Server-rendered</p></div>' + LINKS, None),  # filled already
        ('<div id="root"></div>' + TEXT + LINKS, None),  # plenty of text: a widget mount
        ("<noscript>You need to enable JavaScript to run this app.</noscript>", "noscript"),
        ("<noscript>Please turn on JavaScript.</noscript><main></main>", "noscript"),
        ("<noscript>JavaScript is required</noscript>" + SCRIPT, "noscript"),
        ("<noscript>Enable JavaScript for comments.</noscript>" + TEXT + LINKS, None),
        ("<noscript><img src='/pixel.gif'></noscript>" + SCRIPT, None),  # a tracking pixel
        (SCRIPT * 3, "scripts"),
        (SCRIPT * 3 + "<p>Loading...</p><a href='/'>home</a>", "scripts"),
        (SCRIPT * 3 + LINKS, None),  # links of its own
        (SCRIPT * 2, None),
        (SCRIPT * 5 + TEXT, None),
        # text inside scripts, styles and templates is not the page's text
        ('<div id="root"></div><script>' + "x" * 5000 + "</script>", "app_root"),
        ('<div id="root"></div><template>' + "y" * 5000 + "</template>", "app_root"),
    ],
)
def test_render_reason(body, reason):
    assert render_reason(page_signals(html.fromstring(_page(body)))) == reason


def test_page_signals_counts():
    signals = page_signals(html.fromstring(_page(TEXT + LINKS + LINKS + SCRIPT * 2)))
    assert signals.links == 5  # distinct hrefs
    assert signals.scripts == 2
    assert 1400 < signals.text_chars < 1500
    assert signals.summary() == {"text": signals.text_chars, "links": 5}


@pytest.mark.parametrize(
    ("http", "rendered", "expected"),
    [
        ({"text": 1000, "links": 10}, {"text": 1000, "links": 10}, False),
        ({"text": 1000, "links": 10}, {"text": 1000, "links": 11}, True),
        ({"text": 1000, "links": 10}, {"text": 1150, "links": 10}, False),  # within 10% + 100
        ({"text": 1000, "links": 10}, {"text": 1250, "links": 10}, True),
        ({"text": 0, "links": 0}, {"text": 101, "links": 0}, True),
        ({"text": 1000, "links": 10}, {"text": 500, "links": 4}, False),  # less: no need
    ],
)
def test_differs(http, rendered, expected):
    assert differs(http, rendered) is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("auto", "auto"), ("AUTO", "auto"), ("true", True), ("0", False), (True, True)],
)
def test_browser_field_takes_auto(raw, expected):
    assert resolve(CrawlerRunConfig(), {"browser": raw}, source="meta").browser == expected
    layer = spider_config({"browser": raw})  # -a browser=...
    assert resolve(CrawlerRunConfig(), layer, source="-a").browser == expected


@pytest.mark.parametrize("raw", ["maybe", 2, "browser"])
def test_browser_field_rejects_other_values(raw):
    with pytest.raises(ConfigError, match="browser: expected true or false or 'auto'"):
        resolve(CrawlerRunConfig(), {"browser": raw}, source="meta")


def test_browser_field_checked_in_python():
    assert CrawlerRunConfig(browser="auto").browser == "auto"
    with pytest.raises(ConfigError, match='browser: must be true, false or "auto"'):
        CrawlerRunConfig(browser="yes")  # type: ignore[arg-type]
