"""Does a page fetched over HTTP need a browser? Signals read from its parsed HTML.

``browser="auto"`` fetches every page over HTTP first and renders it in Chromium when
``render_reason`` names a reason:

- ``app_root``: an empty element that a script framework fills (``id`` root, app,
  __next, __nuxt, ___gatsby, svelte; or an ``ng-app`` / ``data-reactroot`` /
  ``ng-version`` attribute) on a page with little text (under ``LITTLE_TEXT`` characters);
- ``noscript``: a ``<noscript>`` asking for JavaScript on a page with little text;
- ``scripts``: ``MANY_SCRIPTS`` or more ``<script>`` elements, at most ``FEW_LINKS``
  links and under ``SCRIPT_PAGE_TEXT`` characters of text.

Text is the body's text outside script, style, noscript and template, whitespace
stripped; links are the distinct ``<a href>`` values. ``differs`` compares a page's
HTTP and browser versions, which is how a crawl learns that a site's pages without any
of these signals still change in the browser.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

#: Under this many characters of text a page counts as having "little text".
LITTLE_TEXT = 1000
MANY_SCRIPTS = 3
FEW_LINKS = 2
SCRIPT_PAGE_TEXT = 500
#: A rendered page differs when it has more links, or this much more text (ratio, chars).
TEXT_GROWTH = (1.1, 100)

APP_ROOT_IDS = ("root", "app", "__next", "__nuxt", "___gatsby", "svelte")
APP_ROOT_ATTRIBUTES = ("ng-app", "data-reactroot", "ng-version", "data-v-app")

_NOSCRIPT_WARNING = re.compile(
    r"(enable|turn on|activate|requires?|need|needs|without)\W+(\w+\W+){0,3}javascript"
    r"|javascript\W+(\w+\W+){0,2}(required|disabled|is off|must be)",
    re.IGNORECASE,
)
_TEXT = (
    "//body//text()[not(ancestor::script or ancestor::style or ancestor::noscript"
    " or ancestor::template)]"
)
_APP_ROOT = " | ".join(
    [f"//*[@id='{name}']" for name in APP_ROOT_IDS]
    + [f"//*[@{name}]" for name in APP_ROOT_ATTRIBUTES]
)


@dataclasses.dataclass(frozen=True)
class PageSignals:
    """What ``render_reason`` reads from a page."""

    text_chars: int
    links: int
    scripts: int
    empty_app_root: bool
    noscript_warning: bool

    def summary(self) -> dict[str, int]:
        """What ``differs`` compares (small, picklable: it travels in request.meta)."""
        return {"text": self.text_chars, "links": self.links}


def page_signals(root: Any) -> PageSignals:
    """The signals of a parsed page (an lxml root element)."""
    text = sum(len(part.strip()) for part in root.xpath(_TEXT))
    links = len(set(root.xpath("//a/@href")))
    scripts = int(root.xpath("count(//script)"))
    empty_app_root = any(_is_empty(element) for element in root.xpath(_APP_ROOT))
    noscript = any(
        _NOSCRIPT_WARNING.search(" ".join(element.itertext()))
        for element in root.xpath("//noscript")
    )
    return PageSignals(text, links, scripts, empty_app_root, noscript)


def _is_empty(element: Any) -> bool:
    if (element.text or "").strip():
        return False
    return all(
        not isinstance(child.tag, str) and not (child.tail or "").strip() for child in element
    )


def render_reason(signals: PageSignals) -> str | None:
    """Why this page needs a browser (``app_root``, ``noscript``, ``scripts``), or None."""
    little_text = signals.text_chars < LITTLE_TEXT
    if signals.empty_app_root and little_text:
        return "app_root"
    if signals.noscript_warning and little_text:
        return "noscript"
    if (
        signals.scripts >= MANY_SCRIPTS
        and signals.links <= FEW_LINKS
        and signals.text_chars < SCRIPT_PAGE_TEXT
    ):
        return "scripts"
    return None


def differs(http: Mapping[str, int], rendered: Mapping[str, int]) -> bool:
    """True when the browser version (``summary()``) has more links or clearly more text."""
    ratio, chars = TEXT_GROWTH
    if rendered["links"] > http["links"]:
        return True
    return rendered["text"] > http["text"] * ratio + chars
