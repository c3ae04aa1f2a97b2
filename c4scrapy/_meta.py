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

#: Keys that must not travel with ``meta=response.meta`` into follow-up requests.
PER_RESPONSE = (PAGE, FAILURE, EMITTED)

#: ``Response.flags`` of the stand-in response for a failed download.
FAILURE_FLAG = "c4_failure"
#: ``Request.flags`` of link-preview requests (shown in Scrapy's "Crawled" lines).
HEAD_FLAG = "c4_head"


def requested_url(request: Request) -> str:
    """The URL the crawl asked for (before redirects)."""
    return request.meta.get("redirect_urls", [request.url])[0]


def is_html(response: Response) -> bool:
    """An HTML page (an XHTML page served as XML included)."""
    if isinstance(response, HtmlResponse):
        return True
    return isinstance(response, XmlResponse) and b"<html" in response.body[:4096].lower()
