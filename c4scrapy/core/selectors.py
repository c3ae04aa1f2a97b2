"""CSS selectors compiled once to lxml XPath (parsel's translator, as Scrapy uses), and
``text_content``, which the extraction uses instead of ``HtmlElement``'s methods because it
reads the page through plain ``etree._Element`` proxies (``plain_proxies``)."""

from __future__ import annotations

import contextlib
from functools import lru_cache
from typing import TYPE_CHECKING

import lxml.html
from lxml import etree
from parsel.csstranslator import HTMLTranslator

if TYPE_CHECKING:
    from collections.abc import Iterator

    from lxml.html import HtmlElement

_translator = HTMLTranslator()
_STRING = etree.XPath("string()", smart_strings=False)
_PLAIN_LOOKUP = etree.ElementDefaultClassLookup()


@lru_cache(maxsize=512)
def compile_css(selector: str) -> etree.XPath:
    """Compile a CSS selector; raises on invalid syntax."""
    return etree.XPath(_translator.css_to_xpath(selector))


@lru_cache(maxsize=512)
def compile_xpath(expression: str) -> etree.XPath:
    return etree.XPath(expression)


def select(root: HtmlElement, selector: str) -> list[HtmlElement]:
    """Elements under ``root`` matching a CSS selector, in document order."""
    return [el for el in compile_css(selector)(root) if isinstance(el.tag, str)]


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
