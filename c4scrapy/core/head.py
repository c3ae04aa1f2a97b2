"""The ``<head>`` of a linked page, as a link preview records it in ``link["head_data"]``.

See docs/features/previews.rst."""

from __future__ import annotations

import json
import re
from typing import Any

import lxml.html
from lxml.etree import ParserError
from w3lib.encoding import html_to_unicode

from c4scrapy.core.text import collapse_whitespace
from c4scrapy.core.urls import UrlCache, UrlResolver

#: Where a head ends: its closing tag, or the body opening when ``</head>`` is omitted.
HEAD_END_RE = re.compile(rb"</head\s*>|<body[\s>/]", re.IGNORECASE)
_HEAD_END_TEXT_RE = re.compile(r"</head\s*>|<body[\s>/]", re.IGNORECASE)
_LINK_ATTRS = ("href", "as", "type", "hreflang", "title")
_JSONLD_WRAPPERS = re.compile(r"^\s*(?:<!--|<!\[CDATA\[)|(?:-->|\]\]>)\s*$")


def head_end(data: bytes) -> int | None:
    """Offset just past the end of the head in ``data``, or None if it has not ended yet."""
    match = HEAD_END_RE.search(data)
    return match.end() if match else None


def empty_head() -> dict[str, Any]:
    return {"title": None, "charset": None, "lang": None, "meta": {}, "link": {}, "jsonld": []}


def parse_head(
    data: bytes | str,
    url: str,
    content_type: str | None = None,
    *,
    cache: UrlCache | None = None,
) -> dict[str, Any]:
    """The head of the document that starts with ``data`` (bytes are decoded by the
    ``Content-Type`` charset, a BOM, the ``<meta>`` charset, or detection); ``cache`` is
    the ``UrlCache`` of its URL resolver."""
    if isinstance(data, bytes):
        end = head_end(data)
        _, text = html_to_unicode(content_type, data[:end] if end else data)
    else:
        match = _HEAD_END_TEXT_RE.search(data)
        text = data[: match.end()] if match else data
    head = empty_head()
    if not text.strip():
        return head
    try:
        doc = lxml.html.document_fromstring(text)
    except (ParserError, ValueError):
        return head
    _fill(head, doc, url, cache)
    return head


def _fill(
    head: dict[str, Any], doc: lxml.html.HtmlElement, url: str, cache: UrlCache | None
) -> None:
    scope = doc.find("head")
    if scope is None:
        scope = doc
    title = scope.find(".//title")
    if title is not None:
        head["title"] = collapse_whitespace(title.text_content()) or None
    meta: dict[str, str] = head["meta"]
    for el in scope.iter("meta"):
        charset = el.get("charset")
        if charset and head["charset"] is None:
            head["charset"] = charset.strip().lower() or None
        content = el.get("content")
        if content is None:
            continue
        content = content.strip()
        for attr in ("name", "property", "http-equiv"):
            key = (el.get(attr) or "").strip().lower()
            if key and key not in meta:
                meta[key] = content
    if head["charset"] is None and "content-type" in meta:
        found = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", meta["content-type"], re.IGNORECASE)
        head["charset"] = found.group(1).lower() if found else None
    lang = doc.get("lang") or doc.get("{http://www.w3.org/XML/1998/namespace}lang")
    head["lang"] = (lang or "").strip() or meta.get("content-language") or None

    links: dict[str, list[dict[str, str]]] = head["link"]
    resolver = UrlResolver(url, keep_fragment=True, cache=cache)
    for el in scope.iter("link"):
        rels = (el.get("rel") or "").lower().split()
        if not rels:
            continue
        entry = {attr: el.get(attr, "").strip() for attr in _LINK_ATTRS if el.get(attr)}
        if "href" in entry:
            resolved = resolver.resolve(entry["href"])
            entry["href"] = resolved[0] if resolved else entry["href"]
        for rel in rels:
            links.setdefault(rel, []).append(entry)

    for script in scope.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        source = _JSONLD_WRAPPERS.sub("", script.text or "")
        try:
            head["jsonld"].append(json.loads(source))
        except ValueError:
            continue
