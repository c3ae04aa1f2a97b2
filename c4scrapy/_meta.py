"""The ``request.meta`` keys c4scrapy reads and writes, and what it asks of a response."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.http import HtmlResponse, XmlResponse

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.http import Response

#: The user's per-request config: a CrawlerRunConfig, a dict of its fields or JSON text;
#: False leaves the request to Scrapy alone.
CONFIG = "c4"
#: Where the callback finds the request's PageItem.
PAGE = "c4_page"

# Internal keys (c4scrapy's own bookkeeping; copies of response.meta are cleaned of them).
#: A link-preview request: fetched for its <head>, never extracted, never a page.
HEAD = "_c4_head"
#: The download failure a stand-in response carries to the spider middleware.
FAILURE = "_c4_failure"
#: The PageItem has been emitted (by the output or the exception path).
EMITTED = "_c4_emitted"
#: The user's own playwright_page_init_callback, run after c4scrapy's.
USER_PAGE_INIT = "_c4_user_page_init_callback"
#: Images are blocked on this browser page (for wait_for_images=False).
IMAGES_BLOCKED = "_c4_images_blocked"

#: ``browser="auto"``: which way the request goes and why (``{"mode", "reason"}``; a
#: browser re-request also carries its HTTP version's ``summary()``).
RENDER = "_c4_render"

#: A redirect hop the duplicate filter dropped, sent again to end as the request's item.
REDIRECT_DROPPED = "_c4_redirect_dropped"

#: (PageItem, stat counts) of a page an extraction process has extracted, for the
#: spider middleware to finish.
EXTRACTED = "_c4_extracted"

#: Keys that must not travel with ``meta=response.meta`` into follow-up requests.
PER_RESPONSE = (PAGE, FAILURE, EMITTED, RENDER, EXTRACTED)

#: ``Response.flags`` of the stand-in response for a failed download.
FAILURE_FLAG = "c4_failure"
#: ``Request.flags`` of link-preview requests (shown in Scrapy's "Crawled" lines).
HEAD_FLAG = "c4_head"


_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_XML_TYPES = frozenset({"text/xml", "application/xml"})


def requested_url(request: Request) -> str:
    """The URL the crawl asked for (before redirects)."""
    return request.meta.get("redirect_urls", [request.url])[0]


def content_type_header(response: Response) -> str:
    """The response's ``Content-Type`` header as sent, parameters included ("" if none)."""
    return (response.headers.get(b"Content-Type") or b"").decode("latin-1")


def content_type(response: Response) -> str:
    """The response's declared media type, lowercased, without parameters ("" if none)."""
    return content_type_header(response).split(";", 1)[0].strip().lower()


def declares_markup(response: Response) -> bool:
    """Declared as HTML, or as XML (which may be XHTML): what ``is_html`` may accept
    before reading the body."""
    declared = content_type(response)
    return declared in _HTML_TYPES or declared in _XML_TYPES or declared.endswith("+xml")


def is_html(response: Response) -> bool:
    """An HTML page: declared as HTML, XHTML served as XML, or undeclared and sniffed as
    HTML by Scrapy. A page declared as something else (an image, a PDF...) is not HTML,
    whatever its bytes look like, as browsers decide."""
    declared = content_type(response)
    if declared in _HTML_TYPES:
        return True
    if declared in _XML_TYPES or declared.endswith("+xml"):
        return b"<html" in response.body[:4096].lower()
    if declared:
        return False
    if isinstance(response, XmlResponse):
        return b"<html" in response.body[:4096].lower()
    return isinstance(response, HtmlResponse)
