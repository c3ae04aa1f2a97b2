"""Links: every ``<a href>`` and ``<area href>`` of the scope, classified and filtered."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from c4scrapy.core.selectors import text_content
from c4scrapy.core.text import collapse_whitespace
from c4scrapy.core.urls import SiteRules, UrlCache, UrlResolver, registered_domain, url_scheme

if TYPE_CHECKING:
    from collections.abc import Container, Sequence

    from lxml.html import HtmlElement

    from c4scrapy.core.config import CrawlerRunConfig
    from c4scrapy.core.scoring.intrinsic import PageContext

#: Fields that score_links / link previews add to every link (None until computed).
SCORE_FIELDS = (
    "head_data",
    "head_extraction_status",
    "head_extraction_error",
    "intrinsic_score",
    "contextual_score",
    "total_score",
)


def extract_links(
    roots: Sequence[HtmlElement],
    base_url: str,
    config: CrawlerRunConfig,
    rules: SiteRules,
    *,
    skip: Container[Any] = frozenset(),
    context: PageContext | None = None,
    counts: Counter[str] | None = None,
    cache: UrlCache | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """``{"internal": [...], "external": [...]}`` in first-seen order, one entry per URL.

    A link's fields are ``href`` (see ``c4scrapy.core.urls.normalize_url``), ``text`` (its
    text, whitespace collapsed; an ``<area>``'s or image-only link's alt text), ``title``
    and ``base_domain`` (the registered domain of ``href``). Links excluded by the
    external/social/domain filters are left out and counted.
    """
    counts = counts if counts is not None else Counter()
    buckets: dict[bool, dict[str, dict[str, Any]]] = {True: {}, False: {}}
    resolver = UrlResolver(base_url, cache=cache)
    social = config.exclude_social_media_links
    exclude_external = config.exclude_external_links
    filtering = exclude_external or social or bool(rules.exclude_domains)
    score_fields = config.score_links or config.link_preview_config is not None
    scoring = context is not None and config.score_links
    if scoring:
        from c4scrapy.core.scoring.intrinsic import intrinsic_score
    internal_hosts: dict[str, bool] = {}
    for root in roots:
        for a in root.iter("a", "area"):
            if skip and a in skip:
                continue
            href = a.get("href")
            if href is None:
                continue
            resolved = resolver.resolve(href)
            if resolved is None:
                if href.strip():
                    scheme = url_scheme(href)
                    web = not scheme or scheme in ("http", "https")
                    counts[f"non_web/{'invalid' if web else scheme}"] += 1
                continue
            url, host = resolved
            internal = internal_hosts.get(host)
            if internal is None:
                internal = internal_hosts[host] = rules.is_internal(host)
            if filtering:
                reason = rules.exclusion(host, internal, exclude_external=exclude_external)
                if reason == "social" and not social:
                    reason = None
                if reason:
                    counts[f"filtered/{reason}"] += 1
                    continue
            bucket = buckets[internal]
            link = bucket.get(url)
            if link is not None:
                if not link["text"]:
                    link["text"] = _link_text(a)
                if not link["title"]:
                    link["title"] = (a.get("title") or "").strip()
                continue
            text = _link_text(a)
            title = (a.get("title") or "").strip()
            link = {
                "href": url,
                "text": text,
                "title": title,
                "base_domain": registered_domain(host),
            }
            if score_fields:
                link.update(dict.fromkeys(SCORE_FIELDS))
                if scoring and context is not None:
                    link["intrinsic_score"] = intrinsic_score(url, text, title, a, context)
            bucket[url] = link
    counts["internal"] += len(buckets[True])
    counts["external"] += len(buckets[False])
    return {"internal": list(buckets[True].values()), "external": list(buckets[False].values())}


def _link_text(a: HtmlElement) -> str:
    text = " ".join(text_content(a).split()) if a.tag == "a" else ""
    if not text:
        alt = a.get("alt") if a.tag == "area" else None
        if alt is None:
            img = next(a.iter("img"), None)
            alt = img.get("alt") if img is not None else None
        text = collapse_whitespace(alt or "")
    return text
