"""Bytes or text to the lxml tree Scrapy's ``response.selector`` would build."""

from __future__ import annotations

import codecs

import charset_normalizer
import lxml.html
import parsel
from lxml import etree
from lxml.html import HtmlElement
from w3lib.encoding import (
    html_body_declared_encoding,
    http_content_type_encoding,
    read_bom,
    resolve_encoding,
    to_unicode,
)


def parse_html(html: str | bytes, url: str, content_type: str | None = None) -> HtmlElement:
    """Parse like Scrapy's ``response.selector`` does (parsel, lxml, huge trees allowed).

    Bytes are decoded as Scrapy decodes a response: BOM, then the Content-Type charset,
    then the ``<meta>`` charset, then detection (UTF-8, ASCII included, else
    charset_normalizer's best guess). UTF-8 bytes go to the parser undecoded, which gives
    the tree that decoding first would give, without the copies."""
    if isinstance(html, bytes):
        encoding, body = _body_encoding(html, content_type)
        if codecs.lookup(encoding).name == "utf-8" and _same_as_decoded(body):
            return parsel.Selector(body=body, encoding="utf-8", type="html", base_url=url).root
        html = to_unicode(body, encoding)
    return parsel.Selector(text=html, type="html", base_url=url).root


def parse_document(html: str) -> HtmlElement | None:
    """The ``lxml.html`` document of an HTML text (a content filter's input), or None if
    the text is blank or cannot be parsed."""
    if not html.strip():
        return None
    try:
        return lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return None


def _body_encoding(data: bytes, content_type: str | None) -> tuple[str, bytes]:
    """(encoding, bytes without BOM) as ``w3lib.encoding.html_to_unicode`` chooses them."""
    bom_encoding, bom = read_bom(data)
    if bom_encoding is not None and bom is not None:
        return bom_encoding, data[len(bom) :]
    encoding = (
        http_content_type_encoding(content_type or "")
        or html_body_declared_encoding(data)
        or _detect_encoding(data)
        or "ascii"
    )
    return (encoding + "-be" if encoding in ("utf-16", "utf-32") else encoding), data


def _same_as_decoded(body: bytes) -> bool:
    """Whether parsel's bytes path gives the tree of its text path: the bytes path strips
    ASCII whitespace and then removes NULs, the text path strips Unicode whitespace after
    removing them (and refuses an empty body)."""
    if b"\x00" in body:
        return False
    stripped = body.strip()
    return bool(stripped) and all(
        byte < 0x80 and not 0x1C <= byte <= 0x1F for byte in stripped[:1] + stripped[-1:]
    )


def _detect_encoding(data: bytes) -> str | None:
    """Scrapy's guess for a body that declares no encoding (``TextResponse``'s: ASCII or
    UTF-8, else charset_normalizer's best guess)."""
    try:
        data.decode("utf-8")
    except UnicodeError:
        match = charset_normalizer.from_bytes(data).best()
        return resolve_encoding(match.encoding) if match else None
    return "utf-8"
