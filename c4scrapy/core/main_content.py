"""``MainContentFilter``: the main content (trafilatura decides what it is), with its own
markup kept. See docs/features/markdown.rst."""

from __future__ import annotations

import copy
import dataclasses
import re
from typing import TYPE_CHECKING, Any

import lxml.html
from lxml import etree

from c4scrapy.core.parse import parse_document

if TYPE_CHECKING:
    from collections.abc import Mapping

    from lxml.html import HtmlElement

__all__ = ["MainContentFilter"]

_TOKEN = re.compile(r"\w+")
_ATOMIC = frozenset({"table", "pre"})
_GAP_FILLED = frozenset({"h1", "h2", "h3", "h4", "h5", "h6", "dt", "pre", "table"})
#: Consecutive shingles of trafilatura's text that count as a match (phrases that recur
#: in an article, such as its title in a caption, are shorter).
_RUN = 4
#: Fewer words kept than this is "nothing": the page is kept whole instead.
_MIN_WORDS = 25
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_BOILERPLATE = ("nav", "header", "footer", "aside", "form")
#: Inline markup: its text belongs to the block around it.
_INLINE = frozenset(
    {
        "a", "abbr", "acronym", "b", "bdi", "bdo", "big", "br", "button", "cite", "code",
        "data", "del", "dfn", "em", "font", "i", "img", "input", "ins", "kbd", "label",
        "mark", "nobr", "picture", "q", "s", "samp", "select", "small", "span", "strike",
        "strong", "sub", "sup", "textarea", "time", "tt", "u", "var", "wbr",
    }
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class MainContentFilter:
    """Main content by trafilatura, markup by the page (see the module doc).

    ``favor`` is trafilatura's setting: ``"precision"`` (default: the best F1 on the
    article benchmark), ``"balanced"`` or ``"recall"`` (more content, more boilerplate);
    ``include_comments`` keeps reader comments; ``include_tables`` and ``include_images``
    keep tables and images of the main content; ``target_language`` (an ISO 639-1 code)
    keeps nothing from a page in another language; ``min_word_threshold`` drops blocks
    with fewer words. ``user_query`` is accepted for Crawl4AI's filter signature and not
    used: the main content does not depend on a query.
    """

    user_query: str | None = None
    favor: str = "precision"
    include_comments: bool = False
    include_tables: bool = True
    include_images: bool = True
    target_language: str | None = None
    min_word_threshold: int | None = None

    def __post_init__(self) -> None:
        if self.favor not in ("balanced", "precision", "recall"):
            raise ValueError(
                f"favor: expected 'balanced', 'precision' or 'recall', got {self.favor!r}"
            )
        for name in ("include_comments", "include_tables", "include_images"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(  # noqa: TRY004 (ValueError: what the other filters raise)
                    f"{name}: expected True or False, got {getattr(self, name)!r}"
                )
        threshold = self.min_word_threshold
        if threshold is not None and (
            isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0
        ):
            raise ValueError(f"min_word_threshold: expected an integer >= 0, got {threshold!r}")

    def filter_content(
        self,
        html: str | HtmlElement,
        min_word_threshold: int | None = None,
        *,
        query: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> list[str]:
        """The main content of ``html`` as HTML chunks (one per top-level element)."""
        page = _parse(html)
        if page is None:
            return []
        extracted = self._extract(page)  # trafilatura reads the tree, it does not change it
        root = page.find("body")
        root.tag = "div"
        min_words = (
            min_word_threshold if min_word_threshold is not None else (self.min_word_threshold)
        )
        blocks = _blocks(root)
        kept = _select(blocks, extracted) if extracted is not None else None
        if kept is None or _collapsed(blocks, kept):
            etree.strip_elements(root, *_BOILERPLATE, with_tail=False)
            kept = {el for el, _ in _blocks(root)}
            blocks = [(el, tokens) for el, tokens in _blocks(root)]
        if min_words:
            kept = {el for el, tokens in blocks if el in kept and len(tokens) >= min_words}
        images = _framed_images(root, kept) if self.include_images else set()
        _prune(root, kept, images, self.include_images, self.include_tables)
        return [
            lxml.html.tostring(el, encoding="unicode", with_tail=False)
            for el in _top(root)
            if isinstance(el.tag, str)
        ]

    def _extract(self, page: HtmlElement) -> list[str] | None:
        """trafilatura's text as tokens, or None if it found nothing."""
        from trafilatura import bare_extraction

        document = bare_extraction(
            page,
            favor_precision=self.favor == "precision",
            favor_recall=self.favor == "recall",
            include_comments=self.include_comments,
            include_tables=self.include_tables,
            include_images=False,  # with images it keeps their captions too
            target_language=self.target_language,
            with_metadata=bool(self.target_language),
        )
        body = getattr(document, "body", None)
        if body is None:
            return None
        text = " ".join(body.itertext())
        comments = getattr(document, "commentsbody", None)
        if self.include_comments and comments is not None:
            text += " " + " ".join(comments.itertext())
        tokens = _TOKEN.findall(text)
        if not tokens:
            return None
        return tokens


def _parse(html: str | HtmlElement) -> HtmlElement | None:
    """A document of our own (``<html><body>``) holding ``html``, or None if it is empty."""
    if not isinstance(html, str):
        page = lxml.html.Element("html")
        etree.SubElement(page, "body").append(copy.deepcopy(html))
        return page
    page = parse_document(html)
    if page is None or page.find("body") is None:
        return None
    return page


def _blocks(root: HtmlElement) -> list[tuple[HtmlElement, list[str]]]:
    """(block, its tokens) in document order: elements with text of their own."""
    out: list[tuple[HtmlElement, list[str]]] = []
    stack = [root]
    while stack:
        el = stack.pop()
        if el.tag in _ATOMIC:
            text = el.text_content()
        else:
            parts: list[str] = []
            nested: list[HtmlElement] = []
            _own_text(el, parts, nested)
            text = " ".join(parts)
            stack.extend(reversed(nested))
        tokens = _TOKEN.findall(text)
        if tokens:
            out.append((el, tokens))
    return out


def _own_text(el: HtmlElement, parts: list[str], nested: list[HtmlElement]) -> None:
    """The text of ``el`` and its inline markup into ``parts``; the blocks inside into
    ``nested`` (document order)."""
    if el.text:
        parts.append(el.text)
    for child in el:
        if isinstance(child.tag, str):
            if child.tag in _INLINE:
                _own_text(child, parts, nested)
            else:
                nested.append(child)
        if child.tail:
            parts.append(child.tail)


def _select(blocks: list[tuple[HtmlElement, list[str]]], tokens: list[str]) -> set[HtmlElement]:
    """Rules 1 and 2 of the module doc."""
    positions: dict[tuple[str, ...], list[int]] = {}
    for i in range(len(tokens) - 3):
        positions.setdefault(tuple(tokens[i : i + 4]), []).append(i)
    text = f" {' '.join(tokens)} "
    candidates: list[tuple[int, int, int]] = []  # (block index, anchor, weight)
    matched: list[bool | None] = []  # None: short, decided by its neighbours
    for index, (_, words) in enumerate(blocks):
        if len(words) >= 4:
            anchor, covered = _alignment(words, positions)
            if covered * 2 >= len(words) - 3:
                candidates.append((index, anchor, covered))
            matched.append(False)
        else:
            matched.append(None if f" {' '.join(words)} " in text else False)
    for index in _increasing(candidates, len(tokens)):
        matched[index] = True
    kept = [bool(m) for m in matched]
    for i, m in enumerate(matched):
        if m is None:
            kept[i] = (i > 0 and bool(matched[i - 1])) or (
                i + 1 < len(matched) and bool(matched[i + 1])
            )
    result = list(kept)
    first = next((i for i, k in enumerate(kept) if k), None)
    for i, (el, _) in enumerate(blocks):
        if kept[i]:
            continue
        between = el.tag in _GAP_FILLED and 0 < i < len(blocks) - 1 and kept[i - 1] and kept[i + 1]
        title = el.tag in _HEADINGS and first is not None and i == first - 1
        result[i] = between or title
    chosen = {el for (el, _), keep in zip(blocks, result, strict=True) if keep}
    return chosen | _listed(blocks, chosen)


def _listed(
    blocks: list[tuple[HtmlElement, list[str]]], chosen: set[HtmlElement]
) -> set[HtmlElement]:
    """Rule 3: the items of a list (or of a wrapper holding only the list) that stands
    beside a block that stays."""
    out: set[HtmlElement] = set()
    for el, _ in blocks:
        if el.tag != "li" or el in chosen:
            continue
        lst = el.getparent()
        if lst is None or lst.tag not in ("ul", "ol"):
            continue
        frame = lst.getparent()
        while frame is not None and len(frame) == 1 and frame.getparent() is not None:
            lst, frame = frame, frame.getparent()  # through wrappers of the list alone
        if frame is not None and any(c in chosen for c in frame if c is not lst):
            out.add(el)
    return out


def _alignment(words: list[str], positions: dict[tuple[str, ...], list[int]]) -> tuple[int, int]:
    """(where the block's longest run of shingles starts in trafilatura's text, how many
    of its shingles are in runs of at least ``_RUN``)."""
    shingles = len(words) - 3
    needed = min(_RUN, shingles)
    covered = [False] * shingles
    best = (0, -1)  # (length, start)
    runs: dict[int, int] = {}  # position of the previous shingle -> run length so far
    for i in range(shingles + 1):
        found = positions.get(tuple(words[i : i + 4]), ()) if i < shingles else ()
        current = {p: runs.get(p - 1, 0) + 1 for p in found}
        for p, length in runs.items():
            if p + 1 not in current:  # the run ended at shingle i - 1
                if length >= needed:
                    for k in range(i - length, i):
                        covered[k] = True
                if length > best[0]:
                    best = (length, p - length + 1)
        runs = current
    return best[1], sum(covered)


def _increasing(candidates: list[tuple[int, int, int]], size: int) -> list[int]:
    """The blocks, in page order, whose anchors increase along trafilatura's text with
    the most matched shingles (a heaviest increasing subsequence): a teaser or summary
    that repeats a sentence of the article out of order, or a second copy, is left out."""
    tree = [(0, -1)] * (size + 2)  # Fenwick tree of (best weight, candidate) by anchor
    chains: list[tuple[int, int]] = []  # per candidate: (weight of the chain, previous)
    for n, (_, anchor, weight) in enumerate(candidates):
        best = (0, -1)
        i = anchor  # the best chain ending at an anchor < this one
        while i > 0:
            best = max(best, tree[i])
            i -= i & -i
        chains.append((best[0] + weight, best[1]))
        i = anchor + 1
        while i <= size + 1:
            tree[i] = max(tree[i], (best[0] + weight, n))
            i += i & -i
    if not chains:
        return []
    n = max(range(len(chains)), key=lambda k: chains[k][0])
    out: list[int] = []
    while n >= 0:
        out.append(candidates[n][0])
        n = chains[n][1]
    return out


def _collapsed(blocks: list[tuple[HtmlElement, list[str]]], kept: set[HtmlElement]) -> bool:
    """Whether trafilatura cut the page down to almost nothing."""
    words = sum(len(tokens) for el, tokens in blocks if el in kept)
    return words < _MIN_WORDS


def _prune(
    root: HtmlElement,
    kept: set[HtmlElement],
    images: set[HtmlElement],
    include_images: bool,
    include_tables: bool,
) -> None:
    """Rules 3 and 4: drop what does not stay, keep the frame around what does."""
    retained: set[HtmlElement] = set()
    for el in reversed(list(root.iter(etree.Element))):
        tag = el.tag
        keep = el in kept
        if tag == "img":
            keep = include_images and (el in images or _inside_kept(el, kept))
        elif tag == "table" and not include_tables:
            keep = False
        if keep or any(c in retained for c in el):
            retained.add(el)
    stack = [root]
    while stack:
        el = stack.pop()
        frame = el not in kept and (el is root or el.tag not in _INLINE)
        if frame and (el is root or not _inside_kept(el, kept)):
            el.text = None  # a frame's own loose text is not content
        for child in list(el):
            if not isinstance(child.tag, str):
                el.remove(child)
                continue
            if frame and child.tail and not _inside_kept(child, kept):
                child.tail = None
            if child in retained or _inside_kept(child, kept):
                stack.append(child)
            else:
                _remove(child)


def _framed_images(root: HtmlElement, kept: set[HtmlElement]) -> set[HtmlElement]:
    """The images whose nearest text blocks before and after (in page order) both stay."""
    images: set[HtmlElement] = set()
    pending: list[HtmlElement] = []
    previous_kept = False
    for el in root.iter(etree.Element):
        if el.tag == "img":
            if previous_kept:
                pending.append(el)
        elif el.tag not in _INLINE and el.tag != "figcaption" and _TOKEN.search(el.text or ""):
            if el in kept:
                images.update(pending)
            pending = []
            previous_kept = el in kept
        elif el in kept:
            images.update(pending)
            pending = []
            previous_kept = True
    return images


def _inside_kept(el: HtmlElement, kept: set[HtmlElement]) -> bool:
    """Whether ``el`` is part of a block that stays: inline markup of that block, or
    anything inside a kept table or ``pre``."""
    nearest = el.tag in _INLINE
    for ancestor in el.iterancestors():
        if ancestor in kept and (nearest or ancestor.tag in _ATOMIC):
            return True
        if ancestor.tag not in _INLINE:
            nearest = False
    return False


def _remove(el: HtmlElement) -> None:
    """Remove ``el``, keeping its tail (the text of the block around it; a frame's tails
    are already gone)."""
    parent = el.getparent()
    if el.tail:
        previous = el.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def _top(root: HtmlElement) -> list[HtmlElement]:
    """The chunks: below wrappers that hold a single element and no text."""
    while len(root) == 1 and not (root.text or "").strip() and not (root[0].tail or "").strip():
        child = root[0]
        if not isinstance(child.tag, str) or child.tag in _INLINE or child.tag in _ATOMIC:
            break
        if not len(child):
            break
        root = child
    if (root.text or "").strip() or any((c.tail or "").strip() for c in root):
        return [root]
    return list(root)
