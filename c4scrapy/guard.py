"""The private-address guard: a public page must not lead the crawl to a non-public address."""

from __future__ import annotations

import asyncio
import logging
import math
import socket
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.reactor import is_reactor_installed

from c4scrapy import _meta
from c4scrapy._runtime import C4Runtime
from c4scrapy.core.addresses import IPAddress, ip_of, is_local_name, is_public_ip
from c4scrapy.core.urls import host_of

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from typing_extensions import Self

logger = logging.getLogger(__name__)

Resolver = Callable[[str], Awaitable[list[str]]]

_HOSTS_CACHE_SIZE = 4096
#: How long a name that did not resolve counts as unresolvable before it is asked again.
UNRESOLVED_SECONDS = 30.0


async def resolve_host(host: str) -> list[str]:
    """The addresses the crawl's downloads connect to for ``host``: the answer of the
    reactor's resolver (``TWISTED_DNS_RESOLVER``), which Scrapy's DNS cache then keeps for
    its connections, so that the address the guard checked is the one connected to (no DNS
    rebinding in between); without a reactor, what ``getaddrinfo`` gives."""
    if is_reactor_installed():
        from twisted.internet import reactor

        core: Any = reactor  # IReactorCore.resolve, which mypy reads as unbound
        return [await maybe_deferred_to_future(core.resolve(host))]
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class AddressGuard:
    """The crawl's one guard (``C4Runtime.of(crawler).service(AddressGuard)``): decides
    whether hosts are public, from one DNS answer per host, kept for the crawl (an LRU of
    4096): the browser's proxy connects to the addresses the guard checked."""

    def __init__(self, runtime: C4Runtime) -> None:
        self.runtime = runtime
        self.allow_private = runtime.settings.allow_private_addresses
        self.dns_timeout = runtime.crawler.settings.getfloat("DNS_TIMEOUT", 60.0)
        self.resolve: Resolver = resolve_host  # tests put a resolver of their own here
        #: host -> (its addresses, until when they hold: for ever, or briefly for none)
        self._addresses: OrderedDict[str, tuple[tuple[IPAddress, ...], float]] = OrderedDict()
        self._logged: set[str] = set()  # the stats whose first refusal was logged

    async def guards(self, url: str) -> bool:
        """Whether what ``url`` links or redirects to must be public: true for a public
        ``url`` unless ``C4_ALLOW_PRIVATE_ADDRESSES``."""
        return not self.allow_private and await self.is_public(host_of(url))

    async def refuses(self, origin: str, target: str) -> bool:
        """Whether the guard refuses to go from the page ``origin`` to the URL ``target``."""
        return await self.guards(origin) and not await self.is_public(host_of(target))

    async def refusal(self, origin: str, target: str, what: str) -> str | None:
        """None if the guard lets ``what`` (a redirect...) go from ``origin`` to ``target``;
        else why not (the failed item's error), counted, the first one logged."""
        if not await self.refuses(origin, target):
            return None
        self.runtime.inc({"requests/refused/private_address": 1})
        stat = "c4/requests/refused/private_address"
        return self.explain(f"{what} from the public {origin}", host_of(target), stat)

    def explain(self, what: str, host: str, stat: str) -> str:
        """Why ``what`` (``"a redirect from the public URL"``) to the non-public ``host`` was
        refused; the first refusal counted in ``stat`` is logged too."""
        message = (
            f"refused {what} to the non-public address {host!r} "
            "(C4_ALLOW_PRIVATE_ADDRESSES=True allows it)"
        )
        if stat not in self._logged:
            self._logged.add(stat)
            logger.warning(
                "%s; further refusals are counted in %s",
                message,
                stat,
                extra={"spider": self.runtime.crawler.spider},
            )
        return message

    async def is_public(self, host: str) -> bool:
        """True if ``host`` is a public address, or a name whose every address is public.

        A name that does not resolve is not public.
        """
        addresses = await self.addresses(host)
        return bool(addresses) and all(is_public_ip(ip) for ip in addresses)

    async def addresses(self, host: str) -> tuple[IPAddress, ...]:
        """The addresses of ``host``: the one it spells, none for ``localhost`` (never
        public, whatever a resolver says), else the first DNS answer for it in this crawl;
        none while it does not resolve (asked again after ``UNRESOLVED_SECONDS``: a DNS
        failure may pass)."""
        if not host:
            return ()
        ip = ip_of(host)
        if ip is not None:
            return (ip,)
        if is_local_name(host):
            return ()
        known = self._addresses.get(host)
        if known is not None and known[1] > time.monotonic():
            self._addresses.move_to_end(host)
            return known[0]
        try:
            answer = await asyncio.wait_for(self.resolve(host), self.dns_timeout)
        except (OSError, asyncio.TimeoutError):
            answer = []
        found: dict[IPAddress, None] = {}
        for address in answer:
            ip = ip_of(address.partition("%")[0])
            if ip is None:  # not an address: the whole answer is suspect
                found.clear()
                break
            found[ip] = None
        addresses = tuple(found)
        until = time.monotonic() + UNRESOLVED_SECONDS if not addresses else math.inf
        self._addresses[host] = (addresses, until)
        self._addresses.move_to_end(host)
        if len(self._addresses) > _HOSTS_CACHE_SIZE:
            self._addresses.popitem(last=False)
        return addresses


class PrivateAddressMiddleware:
    """Downloader middleware: refuses a redirect hop to a non-public address when the
    redirect chain started at a public one (each hop Scrapy's RedirectMiddleware makes
    comes through ``process_request`` again), and a browser page that Chromium's own
    redirects (or the page's script) took from a public URL to a non-public one. The
    refusal ends as the failed PageItem of the requested URL, and is counted in
    ``c4/requests/refused/private_address``. What Chromium requests for a page goes
    through the same guard in ``c4scrapy.browser.setup.BrowserRequestFilter``."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.runtime = C4Runtime.enabled_for(crawler)
        self.guard = self.runtime.service(AddressGuard)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        chain = request.meta.get("redirect_urls")
        if not chain or self.guard.allow_private or _meta.HEAD in request.meta:
            return
        refused = await self.guard.refusal(chain[0], request.url, "a redirect")
        if refused:
            raise IgnoreRequest(refused)

    async def process_response(self, request: Request, response: Response) -> Response:
        if (
            "playwright" not in response.flags
            or self.guard.allow_private
            or host_of(response.url) == host_of(request.url)
        ):
            return response
        origin = _meta.requested_url(request)
        refused = await self.guard.refusal(origin, response.url, "the browser's navigation")
        if refused:
            raise IgnoreRequest(refused)
        return response
