"""``EXTENSIONS = {"tests._support.fake_dns.PublicExample": 0}``: in a crawl process, the
private-address guard resolves ``public.example`` to a public address (93.184.216.34), so
that a local test server can play a public site (Chromium reaches it through
``--host-resolver-rules``). Other names resolve as usual."""

from __future__ import annotations

from typing import TYPE_CHECKING

from c4scrapy._runtime import C4Runtime
from c4scrapy.guard import AddressGuard, resolve_host

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

PUBLIC_HOST = "public.example"


async def _resolve(host: str) -> list[str]:
    if host == PUBLIC_HOST:
        return ["93.184.216.34"]
    return await resolve_host(host)


class PublicExample:
    def __init__(self, crawler: Crawler) -> None:
        C4Runtime.of(crawler).service(AddressGuard).resolve = _resolve

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PublicExample:
        return cls(crawler)
