"""``EXTENSIONS = {"tests._support.fake_dns.PublicExample": 0}``: in a crawl process, the
private-address guard resolves ``public.example`` to a public address (93.184.216.34), and
the guard's proxy reaches that address at the local test server, so that the server can
play a public site with no request leaving the machine (without the proxy, Chromium is
told where public.example is by ``--host-resolver-rules``). Other names resolve as usual."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from c4scrapy._runtime import C4Runtime
from c4scrapy.browser.proxy import GuardProxy
from c4scrapy.guard import AddressGuard, resolve_host

if TYPE_CHECKING:
    import asyncio

    from scrapy.crawler import Crawler

PUBLIC_HOST = "public.example"
PUBLIC_ADDRESS = "93.184.216.34"


async def _resolve(host: str) -> list[str]:
    if host == PUBLIC_HOST:
        return [PUBLIC_ADDRESS]
    return await resolve_host(host)


class PublicExample:
    def __init__(self, crawler: Crawler) -> None:
        runtime = C4Runtime.of(crawler)
        runtime.service(AddressGuard).resolve = _resolve
        proxy = runtime.service(GuardProxy)
        connect = proxy.open_connection

        async def routed(
            host: str, port: int, **kwargs: Any
        ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
            return await connect("127.0.0.1" if host == PUBLIC_ADDRESS else host, port, **kwargs)

        proxy.open_connection = routed

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PublicExample:
        return cls(crawler)
