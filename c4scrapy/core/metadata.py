"""Page metadata from ``<head>``: title, description, keywords, author, canonical,
language, and every Open Graph, Twitter card and ``article:`` property."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from c4scrapy.core.selectors import text_content
from c4scrapy.core.text import collapse_whitespace
from c4scrapy.core.urls import normalize_url

if TYPE_CHECKING:
    from lxml.html import HtmlElement

_NAMED = ("description", "keywords", "author")
_PREFIXES = ("og:", "twitter:", "article:")


def extract_metadata(doc: HtmlElement, base_url: str) -> dict[str, Any]:
    """A flat dict; absent values are None. Duplicated properties keep the first value."""
    meta: dict[str, Any] = dict.fromkeys(("title", *_NAMED, "canonical", "language"))
    title = doc.find(".//title")
    if title is not None:
        meta["title"] = collapse_whitespace(text_content(title)) or None
    for el in doc.iter("meta"):
        content = el.get("content")
        if content is None:
            charset = el.get("charset")
            if charset and "charset" not in meta:
                meta["charset"] = charset.strip().lower()
            continue
        content = content.strip()
        key = (el.get("name") or el.get("property") or "").strip().lower()
        if not key:
            equiv = (el.get("http-equiv") or "").strip().lower()
            if equiv == "content-language" and not meta["language"]:
                meta["language"] = content or None
            continue
        if key in _NAMED:
            if meta[key] is None and content:
                meta[key] = content
        elif key.startswith(_PREFIXES) and content and key not in meta:
            meta[key] = content
    for link in doc.iter("link"):
        rels = (link.get("rel") or "").lower().split()
        if "canonical" in rels and link.get("href"):
            meta["canonical"] = normalize_url(link.get("href", ""), base_url, keep_fragment=True)
            break
    lang = doc.get("lang") or doc.get("{http://www.w3.org/XML/1998/namespace}lang")
    if lang and lang.strip():
        meta["language"] = lang.strip()
    if meta["title"] is None:
        meta["title"] = meta.get("og:title") or meta.get("twitter:title")
    return meta
