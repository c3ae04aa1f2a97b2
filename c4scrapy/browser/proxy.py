"""The guard's proxy: every connection Chromium makes goes to an address the private-address
guard allows, and to the very address it checked.

Playwright shows ``BrowserRequestFilter`` the requests of a page, but not the hops of
Chromium's own redirects, nor what a service worker fetches, and Chromium resolves names
itself, after the guard did (DNS rebinding). Launched with this proxy (loopback included),
Chromium connects nowhere by itself: the proxy resolves each host through
``AddressGuard.addresses`` (one answer per host for the crawl), refuses a host none of
whose addresses is public, and connects to a checked address. The hosts the crawl itself
asks the browser for are let through whatever their addresses (an intranet crawl).

Plain HTTP requests are forwarded one per connection (``Connection: close`` both ways);
``CONNECT`` (HTTPS, WebSockets) becomes a tunnel. See docs/features/safety.rst.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import OrderedDict
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import IgnoreRequest

from c4scrapy._compat import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
)
from c4scrapy.core.addresses import is_local_name, is_public_ip
from c4scrapy.guard import AddressGuard

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine

    from c4scrapy._runtime import C4Runtime

    OpenConnection = Callable[..., Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]

logger = logging.getLogger(__name__)

#: The longest request or response head the proxy reads (Chromium's are a few KiB).
HEAD_LIMIT = 64 * 1024
#: How long a client may take to send its request head, and a server to accept a connection.
HEAD_TIMEOUT = 30.0
CONNECT_TIMEOUT = 30.0
CHUNK = 64 * 1024
#: The header of the proxy's own answers (its refusals and failures), for the handler.
MARK = "X-C4scrapy-Proxy"
#: The most (host, port) whose last failure the proxy keeps for the handler.
FAILURES_KEPT = 1024
#: Request and response headers that concern one connection, not the message.
_HOP_BY_HOP = frozenset(
    {b"connection", b"proxy-connection", b"keep-alive", b"proxy-authorization", b"te"}
)


class Refused(Exception):
    """What the proxy answers instead of connecting: an HTTP status and why (``error``: the
    exception a download that met it ends with, as Scrapy's own downloads would)."""

    def __init__(self, status: int, reason: str, error: Exception | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.error = error


class GuardProxy:
    """The crawl's proxy for its guarded browser (a runtime service): ``url()`` binds it on
    127.0.0.1 (for Chromium's launch options), ``serve()`` starts it on the crawl's event
    loop, and it closes when the engine stops."""

    def __init__(self, runtime: C4Runtime) -> None:
        self.runtime = runtime
        self.guard = runtime.service(AddressGuard)
        #: Non-public hosts the crawl asked the browser for pages of (``ask``).
        self.asked_hosts: set[str] = set()
        self.open_connection: OpenConnection = asyncio.open_connection  # tests route here
        #: (host, port) -> why the proxy's last connection there failed, for ``failure``
        self._failures: OrderedDict[tuple[str, int], Exception] = OrderedDict()
        self._socket: socket.socket | None = None
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[asyncio.Task[None]] = set()
        runtime.crawler.signals.connect(self.close, signal=signals.engine_stopped)

    def url(self) -> str:
        """The proxy's URL, for ``PLAYWRIGHT_LAUNCH_OPTIONS["proxy"]``: its socket is bound
        now, and Chromium's first connection waits in its backlog until ``serve``."""
        if self._socket is None:
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.bind(("127.0.0.1", 0))
            listener.listen(128)
            listener.setblocking(False)
            self._socket = listener
        port = self._socket.getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def serve(self) -> None:
        if self._server is None:
            self.url()
            self._server = await asyncio.start_server(
                self._accepted, sock=self._socket, limit=HEAD_LIMIT
            )

    async def ask(self, host: str) -> None:
        """The crawl asks the browser for a page of ``host``: let it through if it is not
        public (a public host needs nothing)."""
        if host not in self.asked_hosts and not await self.guard.is_public(host):
            self.asked_hosts.add(host)

    def failure(self, url: str) -> Exception | None:
        """Why the proxy's last connection to ``url``'s host and port failed (None: it did
        not fail): ``CannotResolveHostError``, ``DownloadConnectionRefusedError``,
        ``DownloadTimeoutError`` or ``DownloadFailedError``, or ``IgnoreRequest`` for a
        refused non-public address. Chromium reports only that the proxy failed."""
        try:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme in ("https", "wss") else 80)
        except ValueError:
            return None
        return self._failures.get((parts.hostname or "", port))

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        elif self._socket is not None:
            self._socket.close()
        for task in list(self._connections):
            task.cancel()

    # -- one connection ----------------------------------------------------------------

    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._proxy(reader, writer)
        except Refused as refusal:
            body = f"c4scrapy: {refusal}\n".encode()
            with contextlib.suppress(ConnectionError):
                writer.write(
                    b"HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                    b"%s: %d\r\nConnection: close\r\n\r\n%s"
                    % (
                        refusal.status,
                        _REASONS[refusal.status],
                        len(body),
                        MARK.encode(),
                        refusal.status,
                        body,
                    )
                )
                await writer.drain()
        except (
            ConnectionError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            asyncio.TimeoutError,
        ):
            pass  # a client that went away, or never sent its request head in time
        finally:
            self._connections.discard(task)
            writer.close()

    async def _proxy(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
        except (asyncio.LimitOverrunError, ValueError):
            raise Refused(431, "request head too large") from None
        request_line, _, headers = head.partition(b"\r\n")
        try:
            method, target, version = request_line.decode("latin-1").split(" ")
        except ValueError:
            raise Refused(400, "not an HTTP request") from None
        tunnel = method == "CONNECT"
        if tunnel:
            host, port = _host_port(target, None)
        else:
            parts = urlsplit(target)
            if parts.scheme != "http" or not parts.hostname:
                raise Refused(400, f"not a URL this proxy forwards: {target[:200]!r}")
            host, port = _host_port(parts.netloc.rpartition("@")[2], 80)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        up_reader, up_writer = await self._connect(host, port)
        try:
            if tunnel:
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                answer = _copy(up_reader, writer)
            else:
                up_writer.write(
                    f"{method} {path} {version}\r\n".encode("latin-1") + _one_message(headers)
                )
                answer = _forward_response(up_reader, writer)
            # until either side is done: a server that never answers is given up with its
            # client (no timeout of the proxy's own)
            await _until_either(_copy(reader, up_writer), answer)
        finally:
            up_writer.close()

    async def _connect(
        self, host: str, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to a checked address of ``host`` (to ``host`` itself if the crawl
        asked for it); a failure is kept for ``failure``."""
        try:
            connection = await self._connect_checked(host, port)
        except Refused as refusal:
            logger.debug("The guard's proxy did not connect to %s:%d: %s", host, port, refusal)
            if refusal.error is not None:
                self._failures[host, port] = refusal.error
                self._failures.move_to_end((host, port))
                if len(self._failures) > FAILURES_KEPT:
                    self._failures.popitem(last=False)
            raise
        self._failures.pop((host, port), None)
        return connection

    async def _connect_checked(
        self, host: str, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if host in self.asked_hosts:
            targets: list[str] = [host]
        else:
            addresses = await self.guard.addresses(host)
            if not addresses and not is_local_name(host):
                why = f"DNS lookup failed: no address for {host!r} (the guard's proxy)"
                raise Refused(502, why, CannotResolveHostError(why))
            targets = [str(ip) for ip in addresses if is_public_ip(ip)]
            if not targets:
                self.runtime.inc({"browser/proxy_refused": 1})
                what = "a connection of the browser"
                why = self.guard.explain(what, host, "c4/browser/proxy_refused")
                raise Refused(403, why, IgnoreRequest(why))
        error: Exception = OSError("no address")
        for target in targets:
            try:
                return await asyncio.wait_for(
                    self.open_connection(target, port, limit=HEAD_LIMIT), CONNECT_TIMEOUT
                )
            except (OSError, asyncio.TimeoutError) as exc:
                error = exc
        why = f"cannot connect to {host!r} port {port} (the guard's proxy): {error!r}"
        if isinstance(error, socket.gaierror):
            raise Refused(502, why, CannotResolveHostError(why))
        if isinstance(error, ConnectionRefusedError):
            raise Refused(502, why, DownloadConnectionRefusedError(why))
        if isinstance(error, (asyncio.TimeoutError, TimeoutError)):
            raise Refused(502, why, DownloadTimeoutError(why))
        raise Refused(502, why, DownloadFailedError(why))


_REASONS = {400: b"Bad Request", 403: b"Forbidden", 431: b"Too Large", 502: b"Bad Gateway"}


def _host_port(netloc: str, default: int | None) -> tuple[str, int]:
    """(host, port) of ``host:port``, ``[v6]:port`` or (with a default port) ``host``."""
    host, colon, port = netloc.rpartition(":")
    if not colon or "]" in port:  # no port, or the colons of a bracketed IPv6 address
        host, port = netloc, ""
    host = host.strip("[]").lower()
    if not port and default is not None:
        return host, default
    if not port.isdigit() or not 0 < int(port) < 65536 or not host:
        raise Refused(400, f"not a host and port: {netloc[:200]!r}")
    return host, int(port)


def _one_message(headers: bytes) -> bytes:
    """The request's header lines without the ones of this hop, and ``Connection: close``:
    the server connection carries this one request (the next one may go elsewhere)."""
    kept = [
        line
        for line in headers.split(b"\r\n")
        if line and line.partition(b":")[0].strip().lower() not in _HOP_BY_HOP
    ]
    return b"\r\n".join([*kept, b"Connection: close", b"", b""])


async def _forward_response(up_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Pass the server's response, its heads (1xx ones too) with ``Connection: close`` so
    that Chromium sends no other request on this connection."""
    while True:
        head = await up_reader.readuntil(b"\r\n\r\n")
        status_line, _, headers = head.partition(b"\r\n")
        writer.write(status_line + b"\r\n" + _one_message(headers))
        status = status_line.split(b" ", 2)[1:2]
        if not (status and status[0].startswith(b"1") and status[0] != b"101"):
            break
    await _copy(up_reader, writer)


async def _until_either(*directions: Coroutine[Any, Any, None]) -> None:
    tasks = [asyncio.ensure_future(direction) for direction in directions]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
