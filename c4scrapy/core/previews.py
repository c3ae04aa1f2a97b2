"""Link previews, the pure part: which links get a preview, and the scores they carry."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from copy import deepcopy
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from c4scrapy.core.scoring.bm25 import contextual_scores, head_document
from c4scrapy.core.scoring.total import ScoreWeights, total_score

if TYPE_CHECKING:
    from c4scrapy.core.config import LinkPreviewConfig
    from c4scrapy.core.items import PageItem

#: ``page.c4`` key holding a page's preview summary; its presence means "done".
SUMMARY_KEY = "previews"

# head_extraction_status values
VALID = "valid"
BELOW_THRESHOLD = "below_threshold"
HTTP_ERROR = "http_error"
NOT_HTML = "not_html"
TIMEOUT = "timeout"
FAILED = "failed"
SKIPPED = "skipped"


class HeadResult:
    """The outcome of getting one URL's head; shared by every link to that URL."""

    __slots__ = ("bytes_read", "error", "head_data", "status")

    def __init__(
        self,
        status: str,
        head_data: dict[str, Any] | None = None,
        error: str | None = None,
        bytes_read: int = 0,
    ) -> None:
        self.status = status
        self.head_data = head_data
        self.error = error
        self.bytes_read = bytes_read

    def __repr__(self) -> str:
        return f"HeadResult({self.status!r}, error={self.error!r})"

    def memory(self) -> int:
        """About how many bytes this result holds (its head's objects, counted)."""
        return _deep_size(self.head_data) + _deep_size(self.error) + 100


def _deep_size(value: Any) -> int:
    """``sys.getsizeof`` of ``value`` and everything in it (dicts, lists, scalars)."""
    size = 0
    todo = [value]
    while todo:
        item = todo.pop()
        size += sys.getsizeof(item)
        if isinstance(item, dict):
            todo.extend(item.keys())
            todo.extend(item.values())
        elif isinstance(item, (list, tuple)):
            todo.extend(item)
    return size


def select_links(
    links: Mapping[str, list[dict[str, Any]]], config: LinkPreviewConfig
) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], str]]]:
    """``(selected, [(link, reason), ...])``: which links get a preview, and why not.

    Candidates are the internal links, then the external ones, that pass the include
    flags and patterns. When there are more than ``max_links`` and a query is set, those
    whose text or title mention query terms go first (page order otherwise), so the
    previews are spent where the query points; without a query it is page order, as in
    Crawl4AI.
    """
    candidates: list[dict[str, Any]] = []
    skipped: list[tuple[dict[str, Any], str]] = []
    for kind, included in (
        ("internal", config.include_internal),
        ("external", config.include_external),
    ):
        for link in links.get(kind, ()):
            href = link["href"]
            if not included:
                skipped.append((link, "not_included"))
            elif config.include_patterns and not any(
                fnmatchcase(href, p) for p in config.include_patterns
            ):
                skipped.append((link, "include_patterns"))
            elif config.exclude_patterns and any(
                fnmatchcase(href, p) for p in config.exclude_patterns
            ):
                skipped.append((link, "exclude_patterns"))
            else:
                candidates.append(link)
    if len(candidates) <= config.max_links:
        return candidates, skipped
    order = list(range(len(candidates)))
    if config.query:
        texts = [f"{link.get('text') or ''} {link.get('title') or ''}" for link in candidates]
        mentions = contextual_scores(config.query, texts)
        order.sort(key=lambda i: -mentions[i])
    chosen = set(order[: config.max_links])
    selected = [link for i, link in enumerate(candidates) if i in chosen]
    skipped.extend((link, "max_links") for i, link in enumerate(candidates) if i not in chosen)
    return selected, skipped


def apply_scores(
    page: PageItem,
    query: str | None,
    score_threshold: float | None = None,
    weights: ScoreWeights | None = None,
) -> None:
    """Contextual scores of the valid previews, the threshold flag, and every link's total."""
    score_links(page.all_links(), query, score_threshold, weights)


def score_links(
    links: Sequence[dict[str, Any]],
    query: str | None,
    score_threshold: float | None = None,
    weights: ScoreWeights | None = None,
) -> None:
    """``apply_scores`` for some links: each link's scores depend on that link alone."""
    weights = weights or ScoreWeights()
    if query:
        valid = [link for link in links if link.get("head_extraction_status") == VALID]
        scores = contextual_scores(query, [head_document(link["head_data"]) for link in valid])
        for link, score in zip(valid, scores, strict=True):
            link["contextual_score"] = score
            if score_threshold is not None and score < score_threshold:
                link["head_extraction_status"] = BELOW_THRESHOLD
    for link in links:
        if "total_score" in link:
            link["total_score"] = total_score(
                link.get("intrinsic_score"), link.get("contextual_score"), weights
            )


def link_priorities(
    links: Sequence[Mapping[str, Any]], query: str | None, weights: ScoreWeights | None = None
) -> list[int]:
    """Scrapy request priorities for ``links``: 100 x the total score, best first.

    A link without a preview (not selected, or its fetch failed) has no contextual
    score, and its ``total_score`` falls back to the bare intrinsic score, which is on
    another scale than ``0.7 * intrinsic + 3 * contextual``. For the priority, its
    contextual part is estimated from its own text and title instead, so that previewed
    and other links compare fairly. Links below ``score_threshold`` come last.
    """
    weights = weights or ScoreWeights()
    missing = [i for i, link in enumerate(links) if link.get("contextual_score") is None]
    estimates = dict.fromkeys(missing, 0.0)
    if query and missing:
        texts = [f"{links[i].get('text') or ''} {links[i].get('title') or ''}" for i in missing]
        estimates.update(zip(missing, contextual_scores(query, texts), strict=True))
    priorities = []
    for i, link in enumerate(links):
        contextual = link.get("contextual_score")
        if contextual is None and query:
            contextual = estimates[i]
        total = total_score(link.get("intrinsic_score"), contextual, weights)
        priority = round(total * 100) if total is not None else 0
        if link.get("head_extraction_status") == BELOW_THRESHOLD:
            priority -= 1000
        priorities.append(priority)
    return priorities


def set_result(link: dict[str, Any], result: HeadResult) -> None:
    link["head_data"] = _copy_head(result.head_data)
    link["head_extraction_status"] = result.status
    link["head_extraction_error"] = result.error


def _copy_head(head: dict[str, Any] | None) -> dict[str, Any] | None:
    """A copy per link, so that changing one item never changes another."""
    if head is None:
        return None
    copy = dict(head)
    copy["meta"] = dict(head["meta"])
    copy["link"] = {rel: [dict(e) for e in entries] for rel, entries in head["link"].items()}
    copy["jsonld"] = deepcopy(head["jsonld"]) if head["jsonld"] else []
    return copy
