"""Link previews: each linked page's ``<head>``, fetched once per crawl, and link scores."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from c4scrapy import _meta
from c4scrapy._runtime import C4Runtime
from c4scrapy.core.items import PageItem
from c4scrapy.core.previews import link_priorities
from c4scrapy.previews.service import LinkPreviews

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from scrapy.crawler import Crawler
    from scrapy.http import Response

    from c4scrapy.core.config import CrawlerRunConfig

__all__ = ["LinkPreviews", "previewed_links"]


async def previewed_links(
    crawler: Crawler, page_or_response: PageItem | Response
) -> AsyncIterator[tuple[dict[str, Any], int]]:
    """``(link, priority)`` for every link of a page, each as soon as its preview is scored.

    ``page_or_response`` is a PageItem or the response a callback got (its
    ``meta["c4_page"]``). The page's previews run once however many ask (the item
    pipeline too). ``priority`` is a Scrapy request priority from the link's total score,
    best first. Without ``link_preview_config`` every link comes at once, scored by
    what it has.
    """
    runtime = C4Runtime.of(crawler)
    config: CrawlerRunConfig
    if isinstance(page_or_response, PageItem):
        page = page_or_response
        config = page.source.config if page.source is not None else runtime.config
    else:
        found = page_or_response.meta.get(_meta.PAGE)
        request = page_or_response.request
        if not isinstance(found, PageItem) or request is None:
            return
        page, config = found, runtime.config_for(request)
    previews = runtime.service(LinkPreviews)
    async for link in previews.previewed_links(page, config):
        (priority,) = link_priorities([link], config.query, previews.weights)
        yield link, priority
