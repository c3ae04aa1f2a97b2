"""Contextual link score (0-1): how well a linked page's ``<head>`` matches the query.

The head document is the text a page uses to describe itself: its title; the meta
description, keywords, author, subject, summary and abstract; the Open Graph, Twitter
and Dublin Core titles and descriptions; and the name, headline, description, abstract
and keywords of its JSON-LD objects (and of their ``@graph`` items). Identical strings
are counted once, so an ``og:title`` that repeats the ``<title>`` does not count twice.
Query and document are tokenised by ``c4scrapy.core.text.tokenize`` (NFKC, casefolded, no
punctuation, no stopwords; no stemming, so "loops" does not match "loop").

The score is BM25's term-frequency saturation and length normalisation (rank-bm25's
``BM25Okapi``, k1 = 1.5, b = 0.75) with **fixed** statistics instead of the batch's::

    contextual = 1/|Q| * sum over distinct query terms t of
                 min(1, tf(t) * (k1 + 1) / (tf(t) + k1 * (1 - b + b * |d| / L)))

where ``tf(t)`` is how often t occurs in the head document, ``|d|`` its length in tokens
and ``L = REFERENCE_LENGTH`` (32 tokens, a typical title plus description). Every query
term weighs the same (IDF 1). So a term that occurs once in a head of typical length or
shorter contributes fully, a single mention in a long description contributes less, and:

- it is 0.0 when no query term occurs, and 1.0 only when every query term does;
- it depends on the query and that one head alone, so the same link gets the same
  score on every page, and scores compare across pages and crawls.

Crawl4AI instead runs BM25 over the batch of one page's links and min-max normalises the
result, so the best link of every page gets 1.0 even when nothing matches, and a term
found in half the batch has an IDF of 0.
"""

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
