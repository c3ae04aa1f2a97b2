"""Intrinsic link scores: what a link is worth from the link itself (URL, text, place in the
page). See docs/features/previews.rst."""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from c4scrapy.core.selectors import text_content
from c4scrapy.core.text import tokenize

if TYPE_CHECKING:
    from lxml.html import HtmlElement

_CONTENT_SEGMENTS = frozenset(
    [
        "docs",
        "doc",
        "api",
        "guide",
        "guides",
        "tutorial",
        "tutorials",
        "reference",
        "manual",
        "library",
        "howto",
    ]
)
_ARTICLE_SEGMENTS = frozenset(["blog", "article", "articles", "post", "posts", "news"])
_UTILITY_SEGMENTS = frozenset(
    [
        "login",
        "signin",
        "sign-in",
        "signup",
        "sign-up",
        "register",
        "cart",
        "checkout",
        "admin",
        "account",
        "track",
        "click",
        "share",
        "print",
        "feed",
    ]
)
_GENERIC_TEXT = frozenset(
    {"click here", "read more", "here", "more", "link", "learn more", "more info", "continue"}
)
_AD_CLASSES = frozenset(["ad", "ads", "advert", "sponsor", "sponsored", "promo", "banner"])
_BOILERPLATE = frozenset({"nav", "header", "footer", "aside"})
_MAIN = frozenset({"main", "article"})
_SEGMENT_RE = re.compile(r"[/.]")


@dataclasses.dataclass(frozen=True)
class PageContext:
    """The words that say what the page is about (title, h1-h3, meta description)."""

    terms: frozenset[str]

    @classmethod
    def from_document(cls, doc: HtmlElement, description: str | None = None) -> PageContext:
        parts = [text_content(el) for el in doc.iter("title", "h1", "h2", "h3")]
        if description:
            parts.append(description)
        return cls(frozenset(tokenize(" ".join(parts))))


def intrinsic_score(
    url: str, text: str, title: str, element: HtmlElement | None, context: PageContext
) -> float:
    score = 0.0
    parts = urlsplit(url)
    segments = [s for s in parts.path.lower().split("/") if s]
    score += 1.0 if len(segments) <= 2 else (-0.5 if len(segments) > 5 else 0.0)
    if parts.scheme == "https":
        score += 0.5
    words = {w for s in segments for w in _SEGMENT_RE.split(s)}
    if words & _CONTENT_SEGMENTS:
        score += 2.0
    elif words & _ARTICLE_SEGMENTS:
        score += 1.0
    if words & _UTILITY_SEGMENTS:
        score -= 1.5

    clean = text.strip()
    if len(clean) > 3:
        score += 1.0
    n_words = len(clean.split())
    if n_words >= 2:
        score += 0.5
    if n_words >= 4:
        score += 0.5
    if clean.lower().rstrip(".!…>» ") in _GENERIC_TEXT:
        score -= 1.0
    if len(title.strip()) > 3:
        score += 1.0

    link_terms = set(tokenize(clean))
    if link_terms and context.terms:
        score += 2.0 * len(link_terms & context.terms) / min(len(link_terms), 10)

    if element is not None:
        score += _position_score(element)
        rels = set((element.get("rel") or "").lower().split())
        if rels & {"next", "prev", "chapter", "canonical"}:
            score += 1.0
        if rels & {"nofollow", "sponsored", "ugc"}:
            score -= 0.5
        classes = set((element.get("class") or "").lower().split())
        if classes & _AD_CLASSES:
            score -= 1.0
    return round(min(10.0, max(0.0, score)), 3)


def _position_score(element: HtmlElement) -> float:
    for ancestor in element.iterancestors():
        tag = ancestor.tag
        if tag in _MAIN:
            return 1.0
        if tag in _BOILERPLATE or ancestor.get("role") == "navigation":
            return -0.5
    return 0.0
