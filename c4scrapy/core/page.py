"""``extract_page``: the whole core for one page, on one parsed tree.

See docs/usage/core-api.rst and docs/features/content.rst."""

from __future__ import annotations

import json
import logging
import re
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import parsel
from lxml import etree
from lxml.html import HtmlElement

from c4scrapy.core.cleaned_html import clean_html, generate_markdown, raw_source
from c4scrapy.core.config import CrawlerRunConfig
from c4scrapy.core.items import PageItem
from c4scrapy.core.layers import resolve
from c4scrapy.core.links import extract_links
from c4scrapy.core.markdown_result import MarkdownGenerationResult
from c4scrapy.core.media import extract_media
from c4scrapy.core.metadata import extract_metadata
from c4scrapy.core.parse import parse_html
from c4scrapy.core.selectors import plain_proxies, select, text_content, under_marked
from c4scrapy.core.tables import extract_tables
from c4scrapy.core.urls import SiteRules, UrlCache, normalize_url

if TYPE_CHECKING:
    from collections.abc import Mapping

logger = logging.getLogger(__name__)

_DEFAULT_CONFIG = CrawlerRunConfig()
#: The WHATWG MIME sniffing "binary data bytes": never in text (tab, LF, FF, CR and ESC are).
_BINARY_CHARS = re.compile("[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")
_SNIFF_CHARS = 1445
#: Binary data decoded as text has 9-45% of them; a text page may hold a few stray ones.
_MIN_BINARY_CHARS = 8
_BINARY_SHARE = 20  # 1 in 20: 5%
#: The first _SNIFF_CHARS characters of an element's text (``itertext()`` joined), in C.
_LEADING_TEXT = etree.XPath(f"substring(string(.), 1, {_SNIFF_CHARS})", smart_strings=False)
#: Leading text of binary formats once decoded (leading U+FFFD/latin-1 bytes stripped).
_SIGNATURES = (
    ("%PDF-", "PDF"),
    ("PNG\n", "PNG image"),
    ("PNG\r", "PNG image"),
    ("GIF8", "GIF image"),
    ("PK\x03\x04", "ZIP archive"),
    ("RIFF", "RIFF (WebP, WAV, AVI)"),
)
_SHELL_TAGS = frozenset({"html", "head", "body"})


def extract_page(
    html: str | bytes | HtmlElement | parsel.Selector,
    url: str,
    config: CrawlerRunConfig | Mapping[str, Any] | None = None,
    *,
    status_code: int | None = None,
    content_type: str | None = None,
    counts: Counter[str] | None = None,
    cache: UrlCache | None = None,
) -> PageItem:
    """Extract everything c4scrapy knows about one page; never raises for bad input.

    ``html`` is the page text, its bytes (decoded by ``content_type``'s charset, the
    ``<meta>`` charset, or detection), or an already-parsed tree (a ``parsel.Selector``
    such as ``response.selector``, or its lxml root), which is read but never modified.
    ``url`` is the page's final URL, against which (or its ``<base href>``) every link is
    resolved. ``counts``, if given, receives counters for stats (``links/internal``, ...).
    ``cache`` keeps resolved hrefs for the pages to come (a crawl's ``UrlCache``; by default
    the module's ``DEFAULT_CACHE``).
    """
    started = time.perf_counter()
    config = _as_config(config)
    counts = counts if counts is not None else Counter()
    item = PageItem(url=url, status_code=status_code)
    try:
        owned = False  # a tree of our own: cleaned_html may take it apart instead of copying
        if isinstance(html, parsel.Selector):
            doc = html.root
        elif isinstance(html, HtmlElement):
            doc = html
        else:
            problem = unparsable_markup(html)
            if problem:
                counts["pages/unparsable"] += 1
                return _failed(item, problem, counts, started)
            doc = parse_html(html, url, content_type)
            owned = True
        if not isinstance(doc, HtmlElement):
            return _failed(item, "not an HTML document", counts, started)
        problem = sniff_not_html(doc)
        if problem:
            return _failed(item, problem, counts, started)
        _fill(item, doc, url, config, counts, owned, cache)
    except Exception as exc:  # the item must say what happened; nothing escapes
        logger.debug("extraction of %s failed", url, exc_info=True)
        return _failed(item, f"extraction failed: {type(exc).__name__}: {exc}", counts, started)
    item.c4["extract_seconds"] = round(time.perf_counter() - started, 6)
    return item


#: More attributes than this on one element is not a page but an attack: libxml2's HTML
#: parser checks each new attribute against the ones before it (80,000 take it ~50 s,
#: 10,000 under a second). At this limit 1 page in 136 of the corpus needs the regex scan.
MAX_ATTRIBUTES = 10_000
_LONG_TAG = re.compile(rb"<[^<>]{%d,}" % (2 * MAX_ATTRIBUTES))


def unparsable_markup(html: str | bytes) -> str | None:
    """Why ``html`` must not be parsed (markup whose parse would take minutes), or None.

    Linear: only tags long enough to hold that many attributes are looked at."""
    data = html.encode("utf-8", "surrogatepass") if isinstance(html, str) else html
    if data.count(b"=") <= MAX_ATTRIBUTES:
        return None
    for match in _LONG_TAG.finditer(data):
        if match.group().count(b"=") > MAX_ATTRIBUTES:
            return f"not parsed: an element with more than {MAX_ATTRIBUTES} attributes"
    return None


def sniff_not_html(doc: HtmlElement) -> str | None:
    """Why this parsed document is not an HTML page (see the module docstring), or None."""
    head = _LEADING_TEXT(doc)
    start = head.lstrip()
    if not start and not any(el.tag not in _SHELL_TAGS for el in doc.iter(etree.Element)):
        return "empty document"
    controls = len(_BINARY_CHARS.findall(head))
    binary = controls >= _MIN_BINARY_CHARS and controls * _BINARY_SHARE >= len(head)
    bare = doc.find("head") is None  # text the parser had to wrap in <html> itself
    kind = _signature(start) if bare or binary else None
    if binary or kind:
        return f"not an HTML document: binary data ({kind or 'unknown type'})"
    if bare and start.startswith(("{", "[")):
        try:
            json.loads(text_content(doc))
        except ValueError:
            return None
        return "not an HTML document: JSON"
    return None


def _signature(start: str) -> str | None:
    lead = start.lstrip("\ufffd\x80\x89\xff")
    for prefix, kind in _SIGNATURES:
        if lead.startswith(prefix):
            return kind
    return "JPEG image" if "JFIF" in start[:16] or "Exif" in start[:16] else None


def _fill(
    item: PageItem,
    doc: HtmlElement,
    url: str,
    config: CrawlerRunConfig,
    counts: Counter[str],
    owned: bool,
    cache: UrlCache | None,
) -> None:
    base_url = _base_url(doc, url)
    rules = SiteRules.for_page(url, config)
    with plain_proxies(doc):
        skip: set[HtmlElement] = set()
        for root in _excluded_roots(doc, config):
            skip.update(root.iter())

        scope: list[HtmlElement] = [doc]
        if config.css_selector:
            scope = _outermost([el for el in select(doc, config.css_selector) if el not in skip])
            if not scope:
                counts["selection/no_match"] += 1
                item.c4["selection"] = f"css_selector {config.css_selector!r} matched nothing"

        item.metadata = extract_metadata(doc, base_url)
        context = None
        if config.score_links:
            from c4scrapy.core.scoring.intrinsic import PageContext

            context = PageContext.from_document(doc, item.metadata.get("description"))
        link_counts: Counter[str] = Counter()
        item.links = extract_links(
            scope,
            base_url,
            config,
            rules,
            skip=skip,
            context=context,
            counts=link_counts,
            cache=cache,
        )
        media_counts: Counter[str] = Counter()
        item.media = extract_media(
            scope, base_url, config, rules, skip=skip, counts=media_counts, cache=cache
        )
        item.tables = extract_tables(scope, config, skip=skip, counts=counts)

        content_roots = scope
        if scope == [doc]:
            body = doc.find("body")
            content_roots = [body] if body is not None else [doc]
        if config.target_elements:
            # Matched on the whole document (linear there; see select), kept inside the roots.
            inside = {el for root in content_roots for el in root.iter()}
            selector = ", ".join(config.target_elements)
            content_roots = [el for el in select(doc, selector) if el in inside]
            if not content_roots:
                counts["selection/target_no_match"] += 1
        raw_html = raw_source(doc, config)
        item.cleaned_html = clean_html(
            _outermost(content_roots), config, base_url, rules, in_place=owned, cache=cache
        )
    content = generate_markdown(item.cleaned_html, config, base_url, item.metadata, raw_html)
    item.fit_markdown = content.fit_markdown
    item.fit_html = content.fit_html
    item.markdown = (
        None
        if content.markdown is None
        else MarkdownGenerationResult(content.markdown, content.fit_markdown, content.fit_html)
    )
    if content.error:
        item.c4["markdown_error"] = content.error
        counts["markdown/errors"] += 1

    counts.update({f"links/{k}": v for k, v in link_counts.items()})
    counts.update({f"media/{k}": v for k, v in media_counts.items()})
    counts["pages/extracted"] += 1


def _outermost(elements: list[HtmlElement]) -> list[HtmlElement]:
    """The elements that are not inside another one of them (no content twice)."""
    if len(elements) < 2:
        return elements
    chosen = set(elements)
    nested = under_marked(elements, chosen.__contains__)
    return [el for el, inside in zip(elements, nested, strict=True) if not inside]


def _base_url(doc: HtmlElement, url: str) -> str:
    """The page URL, or its ``<base href>`` resolved against it (first one wins)."""
    base = doc.find(".//base[@href]")
    if base is not None:
        resolved = normalize_url(base.get("href", ""), url, keep_fragment=False)
        if resolved:
            return resolved
    return url


def _excluded_roots(doc: HtmlElement, config: CrawlerRunConfig) -> list[HtmlElement]:
    roots: list[HtmlElement] = []
    if config.excluded_tags:
        roots.extend(doc.iter(*config.excluded_tags))
    if config.excluded_selector:
        roots.extend(select(doc, config.excluded_selector))
    return roots


def _as_config(config: CrawlerRunConfig | Mapping[str, Any] | None) -> CrawlerRunConfig:
    if isinstance(config, CrawlerRunConfig):
        return config
    return resolve(_DEFAULT_CONFIG, config, source="config")


def _failed(item: PageItem, message: str, counts: Counter[str], started: float) -> PageItem:
    item.success = False
    item.error_message = message
    counts["pages/failed"] += 1
    item.c4["extract_seconds"] = round(time.perf_counter() - started, 6)
    return item
