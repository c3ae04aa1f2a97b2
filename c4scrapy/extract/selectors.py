"""CSS selectors compiled once to lxml XPath (parsel's translator, as Scrapy uses)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from lxml import etree
from parsel.csstranslator import HTMLTranslator

if TYPE_CHECKING:
    from lxml.html import HtmlElement

_translator = HTMLTranslator()


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
