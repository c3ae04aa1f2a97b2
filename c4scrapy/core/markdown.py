"""Markdown and fit_markdown: ``DefaultMarkdownGenerator`` and Crawl4AI's content filters.

See docs/features/markdown.rst."""

from __future__ import annotations

import copy
import dataclasses
import math
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

import html_to_markdown as h2m
import lxml.html
from lxml import etree

from c4scrapy.core.cleaned_html import ONLY_TEXT_UNWRAPPED
from c4scrapy.core.main_content import MainContentFilter
from c4scrapy.core.markdown_result import MarkdownGenerationResult
from c4scrapy.core.parse import parse_document
from c4scrapy.core.text import STOPWORDS, collapse_whitespace, tokenize, word_count

if TYPE_CHECKING:
    from collections.abc import Mapping

    from lxml.html import HtmlElement

__all__ = [
    "BM25ContentFilter",
    "ContentFilter",
    "DefaultMarkdownGenerator",
    "MainContentFilter",
    "MarkdownGenerationResult",
    "PruningContentFilter",
]

CONTENT_SOURCES = ("cleaned_html", "raw_html")

_BASE_OPTIONS: dict[str, Any] = {
    "heading_style": "atx",
    "bullets": "*",
    "strong_em_symbol": "*",
    "code_block_style": "backticks",
    "link_style": "inline",
    "wrap": False,
    "autolinks": True,
    "compact_tables": True,
    "newline_style": "spaces",
    "inline_data_media": "alt_text_only",
    "extract_metadata": False,
    "include_document_structure": False,
    "extract_images": False,
    "infer_dimensions": False,
    "preprocessing": h2m.PreprocessingOptions(enabled=False),
}
_H2M_FIELDS = frozenset(f.name for f in dataclasses.fields(h2m.ConversionOptions)) - {
    "visitor",
    "preprocessing",
}
#: html2text flags c4scrapy has one behaviour for: the value that describes it is accepted,
#: the other one is refused naming the flag (``pad_tables`` is honoured, see below).
_FIXED = {
    "mark_code": True,
    "single_line_break": False,
    "protect_links": False,
    "unicode_snob": True,
    "skip_internal_links": False,
}
_EMPHASIS = ("b", "strong", "i", "em")

#: Never scored or chunked on their own: they belong to the block around them. The
#: inline markup only_text unwraps, plus the inline replaced and form elements.
INLINE_TAGS = frozenset(ONLY_TEXT_UNWRAPPED) | {
    "br",
    "button",
    "img",
    "input",
    "map",
    "object",
    "picture",
    "select",
    "textarea",
}
_CELLS = frozenset({"td", "th", "tr", "thead", "tbody", "tfoot", "table", "caption"})


@lru_cache(maxsize=64)
def _conversion_options(items: tuple[tuple[str, Any], ...]) -> h2m.ConversionOptions:
    values = dict(_BASE_OPTIONS)
    strip: list[str] = []
    for key, value in items:
        if key == "body_width":
            values["wrap"] = bool(value)
            if value:
                values["wrap_width"] = int(value)
        elif key == "ignore_links":
            if value:
                strip.append("a")
        elif key == "ignore_images":
            values["skip_images"] = bool(value)
        elif key == "ignore_emphasis":
            if value:
                strip.extend(_EMPHASIS)
        elif key in ("escape_snob", "escape_all"):
            for name in ("escape_misc", "escape_asterisks", "escape_underscores"):
                values[name] = bool(value)
        elif key == "ul_item_mark":
            values["bullets"] = str(value)
        elif key == "pad_tables":
            values["compact_tables"] = not value
        elif key == "strip_tags":
            strip.extend(value)
        elif key in _H2M_FIELDS:
            values[key] = list(value) if isinstance(value, tuple) else value
    if strip:
        values["strip_tags"] = strip
    return h2m.ConversionOptions(**values)


def _check_options(options: Mapping[str, Any]) -> None:
    known = _H2M_FIELDS | set(_FIXED)
    known |= {"body_width", "ignore_links", "ignore_images", "ignore_emphasis"}
    known |= {"escape_snob", "escape_all", "ul_item_mark", "pad_tables"}
    for key, value in options.items():
        if key not in known:
            raise ValueError(f"markdown option {key!r} is not supported")
        if key in _FIXED and bool(value) != _FIXED[key]:
            raise ValueError(
                f"markdown option {key!r}={value!r} is not supported: c4scrapy always "
                f"converts as with {key}={_FIXED[key]}"
            )
    try:
        h2m.convert("<p></p>", _conversion_options(_frozen(options)))
    except (TypeError, ValueError, h2m.ConversionError) as exc:
        raise ValueError(f"invalid markdown options {dict(options)!r}: {exc}") from None


def _frozen(options: Mapping[str, Any] | None) -> tuple[tuple[str, Any], ...]:
    if not options:
        return ()
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in options.items()))


def html_to_markdown(html: str, options: Mapping[str, Any] | None = None) -> str:
    """Markdown for ``html`` with the generator's settings (plus ``options``)."""
    if not html:
        return ""
    return _converter(_frozen(options))(html).content or ""


@lru_cache(maxsize=64)
def _converter(items: tuple[tuple[str, Any], ...]) -> Any:
    """``h2m.convert`` with these options, built once: the public ``convert`` turns its
    options into the native ones on every call (~0.2 ms, 2% of a page). Where the native
    binding is not where html-to-markdown 3.x keeps it, the public call is used."""
    options = _conversion_options(items)
    api = getattr(h2m, "api", None)
    to_native = getattr(api, "_to_rust_conversion_options", None)
    native = getattr(getattr(api, "_rust", None), "convert", None)
    if to_native is None or native is None:
        return lambda html: h2m.convert(html, options)
    native_options = to_native(options)
    return lambda html: native(html=html, options=native_options, visitor=None)


class ContentFilter(Protocol):
    """What ``content_filter`` accepts: Crawl4AI's ``filter_content(html) -> [html chunks]``."""

    def filter_content(self, html: str, /) -> list[str]: ...


@dataclasses.dataclass(frozen=True)
class DefaultMarkdownGenerator:
    """Crawl4AI's ``DefaultMarkdownGenerator``: markdown, fit_markdown and fit_html."""

    content_filter: ContentFilter | None = None
    options: dict[str, Any] | None = None
    content_source: str = "cleaned_html"

    def __post_init__(self) -> None:
        if self.content_source not in CONTENT_SOURCES:
            raise ValueError(
                f"content_source: expected one of {', '.join(CONTENT_SOURCES)}, "
                f"got {self.content_source!r}"
            )
        if self.content_filter is not None and not hasattr(self.content_filter, "filter_content"):
            raise ValueError(
                f"content_filter: expected a content filter, got {self.content_filter!r}"
            )
        if self.options is not None:
            if not isinstance(self.options, dict):
                raise ValueError(f"options: expected a dict, got {self.options!r}")
            _check_options(self.options)

    def __hash__(self) -> int:
        return hash((self.content_filter, _frozen(self.options), self.content_source))

    def generate(
        self,
        cleaned_html: str,
        base_url: str = "",
        *,
        query: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        raw_html: str | None = None,
    ) -> tuple[MarkdownGenerationResult, str | None, str | None]:
        """(markdown, fit_markdown, fit_html) of a page.

        ``raw_html`` is the whole page for ``content_source="raw_html"``, ``query`` the
        crawl's query and ``metadata`` the page's metadata (BM25's fallback query).
        """
        options = _frozen(self.options)
        source = cleaned_html
        if self.content_source == "raw_html" and raw_html is not None:
            source = raw_html
            if base_url:
                options = (*options, ("base_url", base_url))
        markdown = html_to_markdown(source, dict(options))
        if self.content_filter is None:
            return MarkdownGenerationResult(markdown), None, None
        content_filter = self.content_filter
        if isinstance(
            content_filter, (PruningContentFilter, BM25ContentFilter, MainContentFilter)
        ):
            chunks = content_filter.filter_content(source, query=query, metadata=metadata)
        else:  # a user's filter with Crawl4AI's contract: HTML text in, HTML chunks out
            chunks = content_filter.filter_content(source)
        fit_html = "\n".join(f"<div>{chunk}</div>" for chunk in chunks)
        fit_markdown = html_to_markdown(fit_html, dict(options))
        return MarkdownGenerationResult(markdown, fit_markdown, fit_html), fit_markdown, fit_html


# --- filters -------------------------------------------------------------------------


def _parse_root(html: str | HtmlElement) -> tuple[HtmlElement | None, HtmlElement | None]:
    """(a private copy of the content root, the document it came from if it was a string)."""
    if not isinstance(html, str):
        return copy.deepcopy(html), None
    doc = parse_document(html)
    if doc is None:
        return None, None
    body = doc.find("body")
    return (body if body is not None else doc), doc


def _has_loose_text(el: HtmlElement) -> bool:
    return bool((el.text or "").strip()) or any((c.tail or "").strip() for c in el)


def _descend(root: HtmlElement) -> HtmlElement:
    """Skip wrappers that hold one element and no text (such as cleaned_html's ``<div>``)."""
    while len(root) == 1 and not _has_loose_text(root):
        child = root[0]
        if not isinstance(child.tag, str) or not len(child) or _has_loose_text(child):
            break
        root = child
    return root


def _check_number(name: str, value: Any, *, optional: bool = False, integer: bool = False):
    if optional and value is None:
        return
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value < 0:
        kind = "an integer" if integer else "a number"
        raise ValueError(f"{name}: expected {kind} >= 0, got {value!r}")


_NEGATIVE = re.compile(
    r"(?:^|[\s_-])(?:nav|footer|header|sidebar|ads|comment|promo|advert|social|share)",
    re.IGNORECASE,
)


@dataclasses.dataclass(frozen=True)
class PruningContentFilter:
    """Crawl4AI's pruning filter (see the module doc), on lxml."""

    user_query: str | None = None
    min_word_threshold: int | None = None
    threshold_type: str = "fixed"
    threshold: float = 0.48
    preserve_classes: tuple[str, ...] = ()
    preserve_tags: tuple[str, ...] = ()

    EXCLUDED_TAGS = (
        "nav",
        "footer",
        "header",
        "aside",
        "script",
        "style",
        "form",
        "iframe",
        "noscript",
    )
    TAG_WEIGHTS = {
        "div": 0.5,
        "p": 1.0,
        "article": 1.5,
        "section": 1.0,
        "span": 0.3,
        "li": 0.5,
        "ul": 0.5,
        "ol": 0.5,
        "h1": 1.2,
        "h2": 1.1,
        "h3": 1.0,
        "h4": 0.9,
        "h5": 0.8,
        "h6": 0.7,
    }
    TAG_IMPORTANCE = {
        "article": 1.5,
        "main": 1.4,
        "section": 1.3,
        "p": 1.2,
        "h1": 1.4,
        "h2": 1.3,
        "h3": 1.2,
    }

    def __post_init__(self) -> None:
        if self.threshold_type not in ("fixed", "dynamic"):
            raise ValueError(
                f"threshold_type: expected 'fixed' or 'dynamic', got {self.threshold_type!r}"
            )
        _check_number("threshold", self.threshold)
        _check_number("min_word_threshold", self.min_word_threshold, optional=True, integer=True)
        for name in ("preserve_classes", "preserve_tags"):
            value = getattr(self, name)
            if value is None or isinstance(value, str):
                value = () if value is None else (value,)
            object.__setattr__(self, name, tuple(value))

    def filter_content(
        self,
        html: str | HtmlElement,
        min_word_threshold: int | None = None,
        *,
        query: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> list[str]:
        """The surviving top-level blocks of ``html``, as HTML strings."""
        root, _ = _parse_root(html)
        if root is None:
            return []
        etree.strip_elements(
            root, etree.Comment, etree.ProcessingInstruction, *self.EXCLUDED_TAGS, with_tail=False
        )
        root = _descend(root)
        min_words = (
            min_word_threshold if min_word_threshold is not None else self.min_word_threshold
        )
        metrics = _pruning_metrics(root, bool(min_words))
        if self._remove(root, metrics[root], min_words):
            return []
        preserved_classes = frozenset(self.preserve_classes)
        preserved_tags = frozenset(self.preserve_tags)
        stack = [root]
        while stack:
            node = stack.pop()
            for child in node:
                tag = child.tag
                if not isinstance(tag, str):
                    continue
                if tag in preserved_tags or (
                    preserved_classes and preserved_classes.intersection(child.classes)
                ):
                    continue
                m = metrics[child]
                if (tag not in INLINE_TAGS or not m[0]) and self._remove(child, m, min_words):
                    child.drop_tree()
                else:
                    stack.append(child)
        if _has_loose_text(root):
            if root.tag in ("body", "html"):
                root.tag = "div"
            return [lxml.html.tostring(root, encoding="unicode", with_tail=False)]
        return [
            lxml.html.tostring(el, encoding="unicode", with_tail=False)
            for el in root
            if isinstance(el.tag, str) and any(t.strip() for t in el.itertext())
        ]

    def _remove(self, node: HtmlElement, m: tuple[int, ...], min_words: Any) -> bool:
        text_len, inner_len, link_len, words, _ = m
        if min_words and words < min_words:
            return True
        density = text_len / inner_len if inner_len else 0.0
        link_density = link_len / text_len if text_len else 0.0
        penalty = 0.0
        cls = node.get("class")
        if cls and _NEGATIVE.search(cls):
            penalty -= 0.5
        node_id = node.get("id")
        if node_id and _NEGATIVE.search(node_id):
            penalty -= 0.5
        score = (
            0.4 * density
            + 0.2 * (1 - link_density)
            + 0.2 * self.TAG_WEIGHTS.get(node.tag, 0.5)
            + 0.1 * penalty
            + 0.1 * math.log(text_len + 1)
        )
        threshold = self.threshold
        if self.threshold_type == "dynamic":
            if self.TAG_IMPORTANCE.get(node.tag, 0.7) > 1:
                threshold *= 0.8
            if density > 0.4:
                threshold *= 0.9
            if (link_len / text_len if text_len else 1) > 0.6:
                threshold *= 1.2
        return score < threshold


_VOID = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }
)


def _pruning_metrics(
    root: HtmlElement, need_words: bool
) -> dict[HtmlElement, tuple[int, int, int, int, int]]:
    """(text length, inner HTML length, link text length, words, outer HTML length) per
    element, bottom-up; lengths are those of the serialized HTML, entities unescaped."""
    metrics: dict[HtmlElement, tuple[int, int, int, int, int]] = {}
    for el in reversed(list(root.iter(etree.Element))):
        raw = el.text
        if raw:
            text = raw.strip()
            text_len = len(text)
            inner_len = len(raw)
            words = word_count(text) if need_words and text else 0
        else:
            text_len = inner_len = words = 0
        link_len = 0
        for child in el:
            m = metrics.get(child)
            if m is not None:
                text_len += m[0]
                link_len += m[0] if child.tag == "a" else m[2]
                words += m[3]
                inner_len += m[4]
            tail = child.tail
            if tail:
                inner_len += len(tail)
                stripped = tail.strip()
                text_len += len(stripped)
                if need_words and stripped:
                    words += word_count(stripped)
        tag = el.tag
        keys = el.keys()
        outer_len = len(tag) + 2 + inner_len
        if keys:
            outer_len += sum(map(len, keys)) + sum(map(len, el.values())) + 4 * len(keys)
        if tag not in _VOID:
            outer_len += len(tag) + 3
        metrics[el] = (text_len, inner_len, link_len, words, outer_len)
    return metrics


@dataclasses.dataclass(frozen=True)
class BM25ContentFilter:
    """Crawl4AI's BM25 filter (see the module doc), on lxml and c4scrapy's tokenizer."""

    user_query: str | None = None
    bm25_threshold: float = 1.0
    language: str = "english"
    use_stemming: bool = True

    PRIORITY_TAGS = {
        "h1": 5.0,
        "h2": 4.0,
        "h3": 3.0,
        "title": 4.0,
        "strong": 2.0,
        "b": 1.5,
        "em": 1.5,
        "blockquote": 2.0,
        "code": 2.0,
        "pre": 1.5,
        "th": 1.5,
    }

    def __post_init__(self) -> None:
        _check_number("bm25_threshold", self.bm25_threshold)
        if not isinstance(self.language, str) or not self.language.strip():
            raise ValueError(f"language: expected a language name, got {self.language!r}")
        if self.user_query is not None and not isinstance(self.user_query, str):
            raise ValueError(f"user_query: expected a string, got {self.user_query!r}")

    def filter_content(
        self,
        html: str | HtmlElement,
        min_word_threshold: int | None = None,
        *,
        query: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> list[str]:
        """The blocks of ``html`` relevant to the query, in document order, as HTML."""
        from rank_bm25 import BM25Okapi

        if isinstance(html, str):
            root, doc = _parse_root(html)
        else:
            root, doc = html, None
        if root is None:
            return []
        stopwords = STOPWORDS if self.language.lower() in ("english", "en") else frozenset()
        query_text = self.user_query or query or _page_query(root, doc, metadata)
        query_tokens = tokenize(query_text, stopwords=stopwords) if query_text else []
        if not query_tokens:
            return []
        blocks = _text_blocks(root)
        if min_word_threshold:
            blocks = [b for b in blocks if word_count(b[1]) >= min_word_threshold]
        corpus = [tokenize(text, stopwords=stopwords) for _, text, _ in blocks]
        if not any(corpus):
            return []
        scores = BM25Okapi(corpus).get_scores(query_tokens)
        chunks: list[str] = []
        seen: set[str] = set()
        for (el, text, nested), score in zip(blocks, scores, strict=True):
            if score * self.PRIORITY_TAGS.get(el.tag, 1.0) < self.bm25_threshold:
                continue
            if text in seen:
                continue
            seen.add(text)
            chunks.append(_chunk_html(el, nested))
        return chunks


def _text_blocks(root: HtmlElement) -> list[tuple[HtmlElement, str, bool]]:
    """(block, its own text, whether it holds nested blocks), in document order."""
    blocks = []
    for el in root.iter():
        tag = el.tag
        if not isinstance(tag, str) or (tag in INLINE_TAGS and el is not root):
            continue
        parts: list[str] = []
        nested = _own_text(el, parts)
        text = collapse_whitespace(" ".join(parts))
        if text:
            blocks.append((el, text, nested))
    return blocks


def _own_text(el: HtmlElement, parts: list[str]) -> bool:
    if el.text:
        parts.append(el.text)
    nested = False
    for child in el:
        tag = child.tag
        if isinstance(tag, str):
            nested = (_own_text(child, parts) or nested) if tag in INLINE_TAGS else True
        if child.tail:
            parts.append(child.tail)
    return nested


def _chunk_html(el: HtmlElement, nested: bool) -> str:
    chunk = copy.deepcopy(el)
    chunk.tail = None
    if nested:
        for child in list(chunk.iterdescendants()):
            tag = child.tag
            if isinstance(tag, str) and tag not in INLINE_TAGS and child.getparent() is not None:
                child.drop_tree()
    if chunk.tag in _CELLS:
        chunk.tag = "p"
    elif chunk.tag in ("body", "html"):
        chunk.tag = "div"
    return lxml.html.tostring(chunk, encoding="unicode")


def _page_query(
    root: HtmlElement, doc: HtmlElement | None, metadata: Mapping[str, Any] | None
) -> str:
    """Title, first h1, meta keywords and description; else the first long paragraph."""
    meta = dict(metadata or {})
    if doc is not None:
        title = doc.find(".//title")
        if title is not None and not meta.get("title"):
            meta["title"] = title.text_content()
        for el in doc.iter("meta"):
            name = (el.get("name") or "").lower()
            if name in ("keywords", "description") and not meta.get(name):
                meta[name] = el.get("content")
    parts = [meta.get("title")]
    h1 = next(root.iter("h1"), None)
    if h1 is not None:
        parts.append(h1.text_content())
    described = False
    for name in ("keywords", "description"):
        value = meta.get(name)
        if isinstance(value, (list, tuple)):
            value = " ".join(value)
        if value:
            parts.append(value)
            described = True
    if not described:
        for p in root.iter("p"):
            text = collapse_whitespace(p.text_content())
            if len(text) > 150:
                parts.append(text[:150])
                break
    return " ".join(p for p in parts if p)
