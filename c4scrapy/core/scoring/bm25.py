"""Contextual link scores: BM25 of each link's ``<head>`` against the query, on fixed
statistics. See docs/features/previews.rst."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from c4scrapy.core.text import collapse_whitespace, tokenize

K1 = 1.5
B = 0.75
REFERENCE_LENGTH = 32

_META_FIELDS = (
    "description",
    "keywords",
    "author",
    "subject",
    "summary",
    "abstract",
    "og:title",
    "og:description",
    "og:site_name",
    "article:tag",
    "twitter:title",
    "twitter:description",
    "twitter:image:alt",
    "dc.title",
    "dc.description",
    "dc.subject",
    "dc.creator",
)
_JSONLD_FIELDS = ("name", "headline", "description", "abstract", "keywords")


def head_document(head_data: Mapping[str, Any] | None) -> str:
    """The text of a ``head_data`` dict that the query is matched against."""
    if not head_data:
        return ""
    parts: list[str] = [head_data.get("title") or ""]
    meta = head_data.get("meta") or {}
    parts.extend(meta.get(name) or "" for name in _META_FIELDS)
    for obj in _jsonld_objects(head_data.get("jsonld") or ()):
        for name in _JSONLD_FIELDS:
            value = obj.get(name)
            if isinstance(value, str):
                parts.append(value)
            elif isinstance(value, list):
                parts.extend(v for v in value if isinstance(v, str))
    unique: dict[str, str] = {}
    for part in parts:
        text = collapse_whitespace(part)
        if text:
            unique.setdefault(text.casefold(), text)
    return " ".join(unique.values())


def contextual_scores(query: str, documents: Sequence[str]) -> list[float]:
    """One score in [0, 1] per document (see the module docstring for the formula)."""
    import numpy as np
    from rank_bm25 import BM25Okapi

    terms = list(dict.fromkeys(tokenize(query)))
    scores = np.zeros(len(documents))
    tokenized = [tokenize(doc) for doc in documents]
    indexed = [i for i, tokens in enumerate(tokenized) if tokens]
    if not terms or not indexed:
        return scores.tolist()
    bm25 = BM25Okapi([tokenized[i] for i in indexed], k1=K1, b=B)
    bm25.avgdl = REFERENCE_LENGTH
    bm25.idf = dict.fromkeys(terms, 1.0)
    matched = np.zeros(len(indexed))
    for term in terms:
        matched += np.minimum(bm25.get_scores([term]), 1.0)
    scores[indexed] = matched / len(terms)
    return [round(float(s), 4) for s in scores]


def _jsonld_objects(items: Iterable[Any]) -> Iterable[Mapping[str, Any]]:
    for item in items:
        if isinstance(item, list):
            yield from _jsonld_objects(item)
        elif isinstance(item, Mapping):
            yield item
            graph = item.get("@graph")
            if isinstance(graph, list):
                yield from (g for g in graph if isinstance(g, Mapping))
