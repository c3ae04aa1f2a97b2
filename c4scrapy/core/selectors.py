"""CSS selectors compiled once to lxml XPath (parsel's translator, as Scrapy uses), and
``text_content``, which the extraction uses instead of ``HtmlElement``'s methods because it
reads the page through plain ``etree._Element`` proxies (``plain_proxies``)."""

from __future__ import annotations

import contextlib
from functools import lru_cache
from typing import TYPE_CHECKING

import lxml.html
from cssselect import parse
from cssselect.xpath import XPathExpr
from lxml import etree
from parsel.csstranslator import HTMLTranslator

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from lxml.html import HtmlElement


class _OneStepTranslator(HTMLTranslator):
    """parsel's translation with each combinator as a condition on the compound to its
    right (``div p`` -> ``p[ancestor::div]``, ``h2 + p`` ->
    ``p[preceding-sibling::*[1][self::h2]]``), so that a whole selector list is one
    ``descendant-or-self::*[...]`` step from one node. libxml2 merges the node sets of a
    path step's many context nodes, and of a union, pairwise: ``div p`` or ``h2, p`` on
    40,000 ``<div><h2/><p/></div>`` took 3 s and 8 s, quadratic in the matches."""

    def xpath_descendant_combinator(self, left: XPathExpr, right: XPathExpr) -> XPathExpr:
        return right.add_condition(f"ancestor::{left}")

    def xpath_child_combinator(self, left: XPathExpr, right: XPathExpr) -> XPathExpr:
        return right.add_condition(f"parent::{left}")

    def xpath_direct_adjacent_combinator(self, left: XPathExpr, right: XPathExpr) -> XPathExpr:
        return right.add_condition(f"preceding-sibling::*[1][self::{left}]")

    def xpath_indirect_adjacent_combinator(self, left: XPathExpr, right: XPathExpr) -> XPathExpr:
        return right.add_condition(f"preceding-sibling::{left}")


_translator = HTMLTranslator()
_one_step = _OneStepTranslator()
_STRING = etree.XPath("string()", smart_strings=False)
_PLAIN_LOOKUP = etree.ElementDefaultClassLookup()


@lru_cache(maxsize=512)
def compile_css(selector: str) -> etree.XPath:
    """Compile a CSS selector; raises on invalid syntax."""
    return etree.XPath(_translator.css_to_xpath(selector))


@lru_cache(maxsize=512)
def _compile_document_css(selector: str) -> etree.XPath:
    """``compile_css`` as one step (``_OneStepTranslator``), for a document's root: there
    a combinator's left side can only be inside the root, as in parsel's form."""
    groups = parse(selector)
    if any(group.pseudo_element for group in groups):
        return compile_css(selector)
    steps = [str(_one_step.xpath(group.parsed_tree)) for group in groups]
    if len(steps) == 1:
        return etree.XPath(f"descendant-or-self::{steps[0]}")
    return etree.XPath("descendant-or-self::*[" + " or ".join(f"self::{s}" for s in steps) + "]")


@lru_cache(maxsize=512)
def compile_xpath(expression: str) -> etree.XPath:
    return etree.XPath(expression)


def select(root: HtmlElement, selector: str) -> list[HtmlElement]:
    """Elements under ``root`` matching a CSS selector, in document order (linear in the
    document when ``root`` is its root element)."""
    compiled = _compile_document_css(selector) if root.getparent() is None else None
    if compiled is None:
        compiled = compile_css(selector)
    return [el for el in compiled(root) if isinstance(el.tag, str)]


class AncestorCheck:
    """The nearest ``marked`` ancestor of an element, each ancestor looked at once over all
    the questions (a walk up per element is O(n x depth) under deep nesting). The answers
    hold while the ancestors asked about keep their tags and places."""

    def __init__(self, marked: Callable[[HtmlElement], bool]) -> None:
        self.marked = marked
        self.known: dict[HtmlElement, HtmlElement | None] = {}  # node -> nearest, self too

    def nearest(self, el: HtmlElement) -> HtmlElement | None:
        path = []
        node = el.getparent()
        found = None
        while node is not None:
            if node in self.known:
                found = self.known[node]
                break
            if self.marked(node):
                found = self.known[node] = node
                break
            path.append(node)
            node = node.getparent()
        for node in path:
            self.known[node] = found
        return found

    def __call__(self, el: HtmlElement) -> bool:
        return self.nearest(el) is not None

    @classmethod
    def tags(cls, tags: Iterable[str]) -> AncestorCheck:
        names = frozenset(tags)
        return cls(lambda el: el.tag in names)


def under_marked(
    elements: Iterable[HtmlElement], marked: Callable[[HtmlElement], bool]
) -> list[bool]:
    """For each element, whether one of its ancestors is ``marked`` (``AncestorCheck``)."""
    check = AncestorCheck(marked)
    return [check(el) for el in elements]


def text_content(el: HtmlElement) -> str:
    """All the text inside ``el`` (``HtmlElement.text_content()``, for any element)."""
    return (el.text or "") if not len(el) else _STRING(el)


@contextlib.contextmanager
def plain_proxies(element: HtmlElement) -> Iterator[None]:
    """Within the block, the elements of ``element``'s document are read as plain
    ``etree._Element`` proxies.

    ``lxml.html`` decides the class of every element proxy it creates by a Python call
    (``HtmlElementClassLookup.lookup``): about a microsecond, which is most of the cost of
    walking a tree. Scrapy's ``response.selector`` (parsel) parses each page with a parser
    of its own, so this sets that parser's lookup to lxml's C default for the duration and
    then puts the ``lxml.html`` one back. Proxies that exist keep their class; trees made by
    a shared parser (``lxml.html.fromstring``) are left alone.
    """
    parser = element.getroottree().parser
    if type(parser) is not lxml.html.HTMLParser or parser is lxml.html.html_parser:
        yield
        return
    parser.set_element_class_lookup(_PLAIN_LOOKUP)
    try:
        yield
    finally:
        parser.set_element_class_lookup(lxml.html.HtmlElementClassLookup())
