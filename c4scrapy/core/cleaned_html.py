"""Content selection and ``cleaned_html``. See docs/features/content.rst."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
import re
from typing import TYPE_CHECKING, Any

import lxml.html
from lxml import etree

from c4scrapy.core.selectors import AncestorCheck, select, text_content, under_marked
from c4scrapy.core.text import word_count
from c4scrapy.core.urls import UrlCache, UrlResolver, url_scheme

if TYPE_CHECKING:
    from collections.abc import Sequence

    from lxml.html import HtmlElement

    from c4scrapy.core.config import CrawlerRunConfig
    from c4scrapy.core.urls import SiteRules

logger = logging.getLogger(__name__)

DROPPED_TAGS = (
    "script",
    "style",
    "noscript",
    "template",
    "iframe",
    "frame",
    "frameset",
    "svg",
    "canvas",
    "object",
    "embed",
    "applet",
    "param",
    "head",
    "title",
    "meta",
    "link",
    "base",
)

KEPT_ATTRIBUTES = frozenset(
    {"src", "href", "alt", "title", "width", "height", "class", "id", "rowspan", "colspan"}
)

ONLY_TEXT_UNWRAPPED = (
    "a",
    "abbr",
    "acronym",
    "b",
    "bdi",
    "bdo",
    "big",
    "cite",
    "code",
    "data",
    "del",
    "dfn",
    "em",
    "font",
    "i",
    "ins",
    "kbd",
    "label",
    "mark",
    "nobr",
    "q",
    "s",
    "samp",
    "small",
    "span",
    "strike",
    "strong",
    "sub",
    "sup",
    "time",
    "tt",
    "u",
    "var",
    "wbr",
)
ONLY_TEXT_REMOVED = ("img", "picture", "video", "audio", "map")

TEXT_BLOCKS = frozenset(
    {
        "p",
        "li",
        "dt",
        "dd",
        "blockquote",
        "figcaption",
        "div",
        "section",
        "article",
        "aside",
        "header",
        "footer",
        "nav",
        "main",
        "center",
        "address",
        "summary",
        "details",
        "figure",
    }
)
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
#: Elements that make their ancestors non-leaf blocks for word_count_threshold.
STRUCTURE = (
    TEXT_BLOCKS
    | HEADINGS
    | {
        "ul",
        "ol",
        "dl",
        "table",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "td",
        "th",
        "caption",
        "hr",
        "pre",
        "code",
        "img",
        "picture",
        "video",
        "audio",
        "math",
    }
)
_THRESHOLD_EXEMPT_ANCESTORS = ("td", "th", "pre", "code", "h1", "h2", "h3", "h4", "h5", "h6")
_KEEP_EMPTY = frozenset(
    {"img", "br", "hr", "wbr", "input", "source", "track", "video", "audio", "tr", "td", "th"}
)
_MEDIA_SRC = frozenset({"video", "audio", "source", "track"})
_LAZY_SRC = ("data-src", "data-lazy-src", "data-original", "data-lazy")
_SRCSETS = ("srcset", "data-srcset", "data-lazy-srcset")
_UNWRAPPED_SCHEMES = frozenset({"javascript", "data", "vbscript", "about", "blob"})
_REWRITTEN = frozenset({"a", "img", "picture"}) | _MEDIA_SRC
_CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
#: Tag names (not HTML's) that mark the elements to remove with their content (keeping their
#: tail) and the elements to unwrap, for one C-level strip of each.
_REMOVED = "c4scrapy-removed"
_UNWRAPPED = "c4scrapy-unwrapped"
#: Attribute names ``etree.strip_attributes`` takes as they are (others could read as
#: ``{namespace}name`` or ``prefix:name``).
_SIMPLE_NAME = re.compile(r"[a-z0-9_.\-]+\Z").match
#: Above this many names, ``etree.strip_attributes`` (names x attributes) loses to a visit.
_MAX_STRIPPED_NAMES = 200


@dataclasses.dataclass
class MarkdownResult:
    markdown: str | None = None
    fit_markdown: str | None = None
    fit_html: str | None = None
    error: str | None = None
    """Why markdown generation failed (markdown, fit_markdown and fit_html are then None)."""


def clean_html(
    roots: Sequence[HtmlElement],
    config: CrawlerRunConfig,
    base_url: str,
    rules: SiteRules,
    *,
    in_place: bool = False,
    cache: UrlCache | None = None,
) -> str:
    """cleaned_html of ``roots`` (see the module doc); '' without roots.

    The roots are copied first, unless ``in_place``: then they are cleaned where they are,
    which takes their page apart (for a tree nobody else reads: one that ``extract_page``
    parsed itself). ``cache`` is the ``UrlCache`` of its URL resolvers."""
    wrapper = _wrap_roots(roots, config, in_place)
    if wrapper is None:
        return ""
    clean_tree(wrapper, config, base_url, rules, cache=cache)
    return lxml.html.tostring(wrapper, encoding="unicode")


def raw_source(document: HtmlElement, config: CrawlerRunConfig) -> str | None:
    """The whole page as HTML when the markdown generator reads it (``content_source``
    ``"raw_html"``), else None."""
    generator = config.markdown_generator
    if getattr(generator, "content_source", "cleaned_html") != "raw_html":
        return None
    return lxml.html.tostring(document, encoding="unicode")


def generate_markdown(
    cleaned_html: str,
    config: CrawlerRunConfig,
    base_url: str,
    metadata: dict[str, Any],
    raw_html: str | None = None,
) -> MarkdownResult:
    """markdown, fit_markdown and fit_html by ``config.markdown_generator`` (all None
    without one); ``raw_html`` is ``raw_source``'s."""
    generator = config.markdown_generator
    if generator is None:
        return MarkdownResult()
    if not cleaned_html:
        fit = "" if generator.content_filter is not None else None
        return MarkdownResult("", fit, fit)
    try:
        markdown, fit_markdown, fit_html = generator.generate(
            cleaned_html, base_url, query=config.query, metadata=metadata, raw_html=raw_html
        )
    except Exception as exc:  # the page keeps its links, media and cleaned_html
        logger.warning("markdown generation failed for %s: %r", base_url, exc)
        logger.debug("markdown generation failed", exc_info=True)
        return MarkdownResult(error=f"markdown generation failed: {type(exc).__name__}: {exc}")
    return MarkdownResult(markdown, fit_markdown, fit_html)


def clean_tree(
    wrapper: HtmlElement,
    config: CrawlerRunConfig,
    base_url: str,
    rules: SiteRules,
    *,
    cache: UrlCache | None = None,
) -> None:
    """Steps 1 (except excluded_selector) to 7 of the module doc, in place on ``wrapper``."""
    mermaid_to_code(wrapper)
    dropped: list[str] = [*DROPPED_TAGS, *config.excluded_tags]
    if config.remove_forms:
        dropped.append("form")
    if config.exclude_all_images:
        dropped += ("img", "picture")
    if config.only_text:
        dropped += ONLY_TEXT_REMOVED
    etree.strip_elements(
        wrapper, etree.Comment, etree.ProcessingInstruction, *dropped, with_tail=False
    )
    unwrapped = ("html", "body", *ONLY_TEXT_UNWRAPPED) if config.only_text else ("html", "body")
    etree.strip_tags(wrapper, *unwrapped)
    wrapper.attrib.clear()
    names = _rewrite_and_prune(wrapper, config, base_url, rules, cache)
    _strip_attributes(wrapper, names, config.keep_data_attributes)


def mermaid_to_code(wrapper: HtmlElement) -> None:
    """Each mermaid ``<svg>`` (``id`` starting with ``mermaid`` or a mermaid
    ``aria-roledescription``) becomes ``<pre><code class="language-mermaid">``: its node and
    edge labels, one per line, so the diagram's words survive the removal of ``<svg>``."""
    for svg in list(wrapper.iter("svg", "{http://www.w3.org/2000/svg}svg")):
        role = (svg.get("aria-roledescription") or "").lower()
        if not ((svg.get("id") or "").lower().startswith("mermaid") or _MERMAID_ROLE(role)):
            continue
        lines = [f"%% {role}"] if role else []
        for el in svg.iter(etree.Element):
            if not _is_label(el) or any(_is_label(a) for a in _ancestors_within(el, svg)):
                continue  # not a label, or inside one (counted with it)
            text = " ".join("".join(el.itertext()).split())
            if text and lines[-1:] != [text]:
                lines.append(text)
        pre = lxml.html.Element("pre")
        code = etree.SubElement(pre, "code")
        code.set("class", "language-mermaid")
        code.text = "".join(f"{line}\n" for line in lines)
        pre.tail = svg.tail
        svg.getparent().replace(svg, pre)


_MERMAID_ROLE = re.compile(
    r"flowchart|sequence|class|state|er|gantt|pie|journey|mindmap|timeline|gitgraph|"
    r"quadrant|requirement|sankey|xychart|block|c4|architecture|packet|kanban|radar"
).match
_LABEL_TAGS = frozenset({"text", "foreignobject"})
_LABEL_CLASSES = frozenset({"nodeLabel", "edgeLabel"})


def _is_label(el: HtmlElement) -> bool:
    tag = str(el.tag).rsplit("}", 1)[-1].lower()
    return tag in _LABEL_TAGS or not _LABEL_CLASSES.isdisjoint((el.get("class") or "").split())


def _ancestors_within(el: HtmlElement, svg: HtmlElement) -> list[HtmlElement]:
    out = []
    for ancestor in el.iterancestors():
        if ancestor is svg:
            break
        out.append(ancestor)
    return out


def _wrap_roots(
    roots: Sequence[HtmlElement], config: CrawlerRunConfig, in_place: bool
) -> HtmlElement | None:
    """One ``<div>`` holding ``roots`` (deep copies unless ``in_place``) minus the
    excluded_selector matches."""
    if not roots:
        return None
    excluded: set[HtmlElement] = set()
    if config.excluded_selector:
        excluded.update(select(roots[0].getroottree().getroot(), config.excluded_selector))
    excluded_tags = frozenset(config.excluded_tags)
    copies: list[tuple[HtmlElement, HtmlElement]] = []
    outside = [False] * len(roots)
    if excluded or excluded_tags:
        outside = under_marked(roots, lambda el: el in excluded or el.tag in excluded_tags)
    for root, dropped in zip(roots, outside, strict=True):
        if dropped or root in excluded or root.tag in excluded_tags:
            continue
        copies.append((root, root if in_place else copy.deepcopy(root)))
    if not copies:
        return lxml.html.Element("div")
    if len(copies) == 1 and copies[0][0].tag in ("body", "html"):
        wrapper = copies[0][1]
        wrapper.tag = "div"
        wrapper.attrib.clear()
    else:
        wrapper = lxml.html.Element("div")
        wrapper.extend(c for _, c in copies)
    for original, duplicate in copies:
        duplicate.tail = None
        if excluded and not in_place:
            for el in _mapped(original, duplicate, excluded):
                el.tag = _REMOVED
    if excluded:
        if in_place:
            for el in excluded:
                el.tag = _REMOVED
        etree.strip_elements(wrapper, _REMOVED, with_tail=False)
    return wrapper


def _mapped(
    original: HtmlElement, duplicate: HtmlElement, targets: set[HtmlElement]
) -> list[HtmlElement]:
    """The elements of ``duplicate`` at the places of ``targets`` inside ``original`` (a
    deep copy has the same nodes in the same order)."""
    return [
        copied
        for node, copied in zip(original.iter(), duplicate.iter(), strict=True)
        if node in targets
    ]


def _rewrite_and_prune(
    wrapper: HtmlElement,
    config: CrawlerRunConfig,
    base_url: str,
    rules: SiteRules,
    cache: UrlCache | None,
) -> set[str]:
    """Steps 3, 4, 6 and 7 in one bottom-up walk: each element is rewritten, or marked to
    be unwrapped or dropped, once everything inside it has been (``clean_tree`` then
    removes the marked ones). Returns the attribute names of the elements that stay, for
    step 5."""
    exclude_external = config.exclude_external_links
    social = config.exclude_social_media_links
    filtering = exclude_external or social or bool(rules.exclude_domains)
    exclude_external_images = config.exclude_external_images
    filter_images = exclude_external_images or bool(rules.exclude_domains or rules.social_domains)
    threshold = config.word_count_threshold
    judge = threshold > 1
    links: dict[str, tuple[str | None, bool]] = {}
    pages = UrlResolver(base_url, keep_fragment=True, cache=cache)
    files = UrlResolver(base_url, cache=cache)
    names: list[str] = []  # with repeats: one set at the end is cheaper than one update each
    add_names = names.extend
    structured: set[HtmlElement] = set()  # for judge: blocks with structure inside
    unwrapped: dict[HtmlElement, tuple[int, int]] = {}  # what each leaves in its parent
    in_code = AncestorCheck.tags(("pre", "code"))
    exempt = AncestorCheck.tags(_THRESHOLD_EXEMPT_ANCESTORS)
    marked: dict[HtmlElement, int] = {}  # parent -> its children marked to go or unwrap
    for el in reversed(list(wrapper.iterdescendants())):
        tag = el.tag
        if tag in _REWRITTEN:
            unwrap = False
            if tag == "a":
                href = el.get("href")
                if href is not None:
                    hit = links.get(href)
                    if hit is None:
                        hit = links[href] = _link_target(
                            href, pages, rules, filtering, exclude_external, social
                        )
                    url, keep = hit
                    if not keep:
                        unwrap = True
                    elif url is not None and url != href:
                        _set(el, "href", url)
            elif tag == "img":
                image = _image_src(el, files)
                if image is None or (
                    filter_images
                    and (
                        (exclude_external_images and not rules.is_internal(image[1]))
                        or rules.exclusion(image[1], True, exclude_external=False)
                    )
                ):
                    _drop(el, False, marked)
                    continue
                if image[0] != el.get("src"):
                    el.set("src", image[0])
            elif tag == "picture":
                unwrap = True
            else:  # video, audio, source, track
                src = el.get("src")
                if src:
                    resolved = files.resolve(src)
                    if resolved is None:
                        del el.attrib["src"]
                    else:
                        el.set("src", resolved[0])
                elif tag == "source" and el.getparent().tag == "picture":
                    unwrap = True  # lxml nests the <img> that follows inside <source>
            if unwrap:
                if el in structured:
                    structured.add(el.getparent())
                unwrapped[el] = _left(el, unwrapped)
                el.tag = _UNWRAPPED
                parent = el.getparent()
                marked[parent] = marked.get(parent, 0) + 1
                continue
        if judge:
            if tag in STRUCTURE or el in structured:
                structured.add(el.getparent())
            if (
                tag in TEXT_BLOCKS
                and el not in structured
                and word_count(text_content(el)) < threshold
                and not exempt(el)
            ):
                _drop(el, True, marked)
                continue
        held = len(el)
        if not held:  # most elements: _left's test inline
            if tag not in _KEEP_EMPTY:
                own = el.text
                if (not own or own.isspace()) and _removable(el, tag, in_code):
                    _drop(el, tag in TEXT_BLOCKS or bool(own), marked)
                    continue
        elif marked and held == marked.get(el) and tag not in _KEEP_EMPTY:
            children, text = _left(el, unwrapped)  # all its children go or unwrap
            if not children and text < _VISIBLE and _removable(el, tag, in_code):
                _drop(el, tag in TEXT_BLOCKS or text > _NO_TEXT, marked)
                continue
        add_names(el.keys())
    # The walk only marked what goes: removing it here, in C, keeps the work linear (moving
    # each tail by hand re-copied a growing text on every removal).
    if len(unwrapped) < sum(marked.values()):
        etree.strip_elements(wrapper, _REMOVED, with_tail=False)
    if unwrapped:
        etree.strip_tags(wrapper, _UNWRAPPED)
    return set(names)


def _strip_attributes(wrapper: HtmlElement, names: set[str], keep_data: bool) -> None:
    """Step 5: drop every attribute not in KEPT_ATTRIBUTES (nor ``data-*`` if kept).

    ``names`` are the attribute names in the tree; the simple ones go to
    ``etree.strip_attributes`` (C), unless there are so many that its matching of every
    attribute against every name would cost more than a visit; an element with another
    one gets its kept attributes set again."""
    names -= KEPT_ATTRIBUTES
    if keep_data:
        names = {name for name in names if not name.startswith("data-")}
    if not names:
        return
    simple = [name for name in names if _SIMPLE_NAME(name)]
    if len(simple) > _MAX_STRIPPED_NAMES:
        simple = []
    if simple:
        etree.strip_attributes(wrapper, *simple)
    if len(simple) < len(names):
        odd = names.difference(simple)
        for el in wrapper.iter():
            if not odd.isdisjoint(el.keys()):  # set again what stays: lxml may refuse the names
                kept = [(k, v) for k, v in el.items() if k not in names]
                el.attrib.clear()
                for name, value in kept:
                    _set(el, name, value)


def _link_target(
    href: str,
    resolver: UrlResolver,
    rules: SiteRules,
    filtering: bool,
    exclude_external: bool,
    social: bool,
) -> tuple[str | None, bool]:
    """(new href or None to leave it as written, whether the ``<a>`` stays)."""
    resolved = resolver.resolve(href)
    if resolved is None:
        stripped = href.strip()
        scheme = url_scheme(stripped)
        if not scheme or scheme in _UNWRAPPED_SCHEMES or scheme in ("http", "https"):
            return None, False
        return stripped, True
    url, host = resolved
    if filtering:
        reason = rules.exclusion(host, rules.is_internal(host), exclude_external=exclude_external)
        if reason == "social" and not social:
            reason = None
        if reason:
            return url, False
    return url, True


def _image_src(img: HtmlElement, resolver: UrlResolver) -> tuple[str, str] | None:
    """(URL, host) of what an ``<img>`` shows, lazy-loading attributes included, or None."""
    src = (img.get("src") or "").strip()
    lazy = not src or src.startswith("data:") or "lazy" in (img.get("class") or "")
    if lazy:
        for name in _LAZY_SRC:
            value = (img.get(name) or "").strip()
            if value and not value.startswith("data:"):
                src = value
                break
        else:
            if not src or src.startswith("data:"):
                src = ""
                for name in _SRCSETS:
                    value = (img.get(name) or "").strip()
                    if value and not value.startswith("data:"):
                        src = value.split(None, 1)[0].rstrip(",")
                        break
    if not src or src.startswith("data:"):
        return None
    return resolver.resolve(src)


#: What ``_left`` says of a text: none, only whitespace, or visible.
_NO_TEXT, _BLANK, _VISIBLE = 0, 1, 2


def _text_kind(text: str | None) -> int:
    if not text:
        return _NO_TEXT
    return _BLANK if text.isspace() else _VISIBLE


def _left(el: HtmlElement, unwrapped: dict[HtmlElement, tuple[int, int]]) -> tuple[int, int]:
    """(child elements, kind of text) that ``el`` will hold once its marked children are
    removed or unwrapped: ``len(el)`` and ``el.text`` of the cleaned tree."""
    children = 0
    own = el.text
    text = _NO_TEXT if not own else _BLANK if own.isspace() else _VISIBLE
    for child in el:
        tag = child.tag
        if tag == _UNWRAPPED:
            inner, inner_text = unwrapped[child]
            children += inner
            text = max(text, inner_text)
        elif tag != _REMOVED:
            children += 1
            if text == _VISIBLE:
                break  # el stays whatever else it holds
        if text < _VISIBLE:
            text = max(text, _text_kind(child.tail))
    return children, text


def _removable(el: HtmlElement, tag: str, in_code: AncestorCheck) -> bool:
    """Whether an element with nothing visible in it goes (step 7)."""
    return (tag != "a" or el.get("href") is not None) and not in_code(el)


def _drop(el: HtmlElement, separate: bool, marked: dict[HtmlElement, int]) -> None:
    """Mark ``el`` to be removed with its content, keeping its tail (after a space if
    ``separate``), and count it in ``marked`` for its parent."""
    parent = el.getparent()
    marked[parent] = marked.get(parent, 0) + 1
    if separate:
        tail = el.tail
        try:
            el.tail = " " + tail if tail else " "
        except ValueError:  # C0 controls: libxml2 keeps them from the page, lxml refuses them
            el.tail = " " + _CONTROL_CHARS.sub("", tail or "")
    el.tag = _REMOVED


def _set(el: HtmlElement, name: str, value: str) -> None:
    """``el.set(name, value)``, without the C0 controls lxml refuses (a name it still
    refuses leaves the attribute out)."""
    try:
        el.set(name, value)
    except ValueError:
        with contextlib.suppress(ValueError):
            el.set(_CONTROL_CHARS.sub("", name), _CONTROL_CHARS.sub("", value))
