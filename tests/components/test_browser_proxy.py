"""The guard's proxy for Chromium (``GuardProxy``), spoken to over real sockets as Chromium
speaks to it: absolute-form requests for plain HTTP, ``CONNECT`` tunnels for the rest.

"public.example" is a public host whose address (93.184.216.34) the proxy reaches at the
local test server; the server's own address, 127.0.0.1, is not public."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import deferred_f_from_coro_f
from scrapy.utils.test import get_crawler

from c4scrapy._compat import CannotResolveHostError, DownloadConnectionRefusedError
from c4scrapy._runtime import C4Runtime
from c4scrapy.browser.proxy import GuardProxy, Refused, _host_port

PUBLIC = "93.184.216.34"


@pytest.mark.parametrize(
    ("netloc", "default", "expected"),
    [
        ("example.com:443", None, ("example.com", 443)),
        ("Example.COM:8080", 80, ("example.com", 8080)),
        ("example.com", 80, ("example.com", 80)),
        ("[::1]:443", None, ("::1", 443)),
        ("[2001:db8::1]", 80, ("2001:db8::1", 80)),
        ("127.0.0.1:0", None, None),
        ("127.0.0.1:65536", None, None),
        ("example.com", None, None),  # CONNECT needs a port
        ("example.com:http", None, None),
        (":443", None, None),
    ],
)
def test_host_and_port_of_a_request_target(netloc, default, expected):
    if expected is None:
        with pytest.raises(Refused):
            _host_port(netloc, default)
    else:
        assert _host_port(netloc, default) == expected


class _World:
    """The proxy of one crawl, a resolver whose answers the test scripts, and the
    addresses the proxy connected to."""

    def __init__(self, server: Any, answers: dict[str, list[list[str]]]) -> None:
        self.server_port = server.server_address[1]
        self.runtime = C4Runtime.of(get_crawler(settings_dict={"ADDONS": {}}))
        self.proxy = self.runtime.service(GuardProxy)
        self.answers = answers
        self.lookups: list[str] = []
        self.connected: list[str] = []
        self.proxy.guard.resolve = self._resolve
        self.proxy.open_connection = self._open

    async def _resolve(self, host: str) -> list[str]:
        self.lookups.append(host)
        answers = self.answers.get(host)
        if not answers:
            raise OSError(f"cannot resolve {host}")
        return answers.pop(0) if len(answers) > 1 else answers[0]

    async def _open(self, host: str, port: int, **kwargs: Any) -> Any:
        self.connected.append(host)
        return await asyncio.open_connection("127.0.0.1" if host == PUBLIC else host, port)

    async def ask(self, raw: bytes) -> bytes:
        """Send ``raw`` to the proxy and read until it closes the connection."""
        await self.proxy.serve()
        port = int(self.proxy.url().rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(raw)
        answer = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        return answer

    def stat(self, name: str) -> Any:
        return self.runtime.crawler.stats.get_value(f"c4/{name}")


def _routes(server: Any, seen: list[dict[str, str]]) -> None:
    def page(handler: Any) -> tuple[int, dict[str, str], bytes]:
        seen.append({"path": handler.path, **dict(handler.headers)})
        return 200, {"Content-Type": "text/plain", "Keep-Alive": "timeout=5"}, b"PAGE"

    server.routes["/page"] = page


@deferred_f_from_coro_f
async def test_plain_http_goes_to_the_checked_address_one_request_per_connection(site_server):
    seen: list[dict[str, str]] = []
    _routes(site_server, seen)
    world = _World(site_server, {"public.example": [[PUBLIC]]})
    answer = await world.ask(
        f"GET http://public.example:{world.server_port}/page?q=1 HTTP/1.1\r\n"
        f"Host: public.example:{world.server_port}\r\n"
        "Proxy-Connection: keep-alive\r\nProxy-Authorization: Basic eA==\r\n"
        "X-Kept: yes\r\n\r\n".encode()
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 200")
    assert body == b"PAGE"
    assert b"\r\nConnection: close" in head
    assert b"Keep-Alive" not in head
    (request,) = seen
    assert request["path"] == "/page?q=1"  # origin-form
    assert request["X-Kept"] == "yes"
    assert request["Connection"] == "close"
    assert "Proxy-Connection" not in request
    assert "Proxy-Authorization" not in request
    assert world.connected == [PUBLIC]


@deferred_f_from_coro_f
async def test_a_non_public_address_is_refused_unless_the_crawl_asked_for_its_host(
    site_server,
):
    seen: list[dict[str, str]] = []
    _routes(site_server, seen)
    world = _World(site_server, {"public.example": [[PUBLIC]]})
    port = world.server_port
    refused = await world.ask(f"GET http://127.0.0.1:{port}/page HTTP/1.1\r\n\r\n".encode())
    assert refused.startswith(b"HTTP/1.1 403 Forbidden")
    assert b"refused a connection of the browser to the non-public address '127.0.0.1'" in (
        refused
    )
    tunnel = await world.ask(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n".encode())
    assert tunnel.startswith(b"HTTP/1.1 403 Forbidden")
    assert world.stat("browser/proxy_refused") == 2
    assert seen == []
    assert world.connected == []

    await world.proxy.ask("127.0.0.1")  # the crawl renders a page of it: an intranet crawl
    await world.proxy.ask("public.example")  # public: nothing to let through
    assert world.proxy.asked_hosts == {"127.0.0.1"}
    answer = await world.ask(
        f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n"
        f"GET /page HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    )
    assert answer.startswith(b"HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.0 200")
    assert answer.endswith(b"PAGE")
    assert len(seen) == 1


@deferred_f_from_coro_f
async def test_a_host_keeps_its_first_answer_for_the_crawl(site_server):
    """DNS rebinding: the name answers a public address, then a private one; the proxy
    checked the first and connects to it every time, with one look-up."""
    seen: list[dict[str, str]] = []
    _routes(site_server, seen)
    world = _World(site_server, {"rebind.example": [[PUBLIC], ["127.0.0.1"]]})
    port = world.server_port
    for _ in range(2):
        answer = await world.ask(
            f"CONNECT rebind.example:{port} HTTP/1.1\r\n\r\nGET /page HTTP/1.0\r\n\r\n".encode()
        )
        assert answer.startswith(b"HTTP/1.1 200")
        assert answer.endswith(b"PAGE")
    assert world.lookups == ["rebind.example"]
    assert world.connected == [PUBLIC, PUBLIC]


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"NONSENSE\r\n\r\n", b"400"),
        (b"GET /relative HTTP/1.1\r\n\r\n", b"400"),
        (b"GET ftp://public.example/ HTTP/1.1\r\n\r\n", b"400"),
        (b"CONNECT public.example HTTP/1.1\r\n\r\n", b"400"),
        (b"CONNECT nowhere.example:443 HTTP/1.1\r\n\r\n", b"502"),
        (b"CONNECT localhost:443 HTTP/1.1\r\n\r\n", b"403"),
        (b"CONNECT [::ffff:127.0.0.1]:443 HTTP/1.1\r\n\r\n", b"403"),
        (b"GET http://public.example/ HTTP/1.1\r\nX: " + b"a" * 70_000 + b"\r\n\r\n", b"431"),
    ],
)
@deferred_f_from_coro_f
async def test_what_the_proxy_answers_instead_of_connecting(site_server, request_bytes, status):
    world = _World(site_server, {"public.example": [[PUBLIC]]})
    answer = await world.ask(request_bytes)
    assert answer.startswith(b"HTTP/1.1 " + status), answer[:200]
    assert world.connected == []


@deferred_f_from_coro_f
async def test_a_server_that_never_answers_is_given_up_with_its_client(site_server):
    """No timeout of the proxy's own: when Chromium gives up on a silent server, so does the
    proxy (the server sees its connection closed)."""
    closed = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # the request, then the end of the connection
        closed.set()
        writer.close()

    silent_server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = silent_server.sockets[0].getsockname()[1]
    world = _World(site_server, {"silent.example": [[PUBLIC]]})
    world.proxy.open_connection = lambda host, _port, **kw: asyncio.open_connection(
        "127.0.0.1", port, **kw
    )
    await world.proxy.serve()
    proxy_port = int(world.proxy.url().rsplit(":", 1)[1])
    _, writer = await asyncio.open_connection("127.0.0.1", proxy_port)
    writer.write(b"GET http://silent.example/ HTTP/1.1\r\nHost: silent.example\r\n\r\n")
    await writer.drain()
    writer.close()  # Chromium's navigation timed out
    await asyncio.wait_for(closed.wait(), 10)
    silent_server.close()


@deferred_f_from_coro_f
async def test_the_handler_learns_why_a_connection_failed(site_server):
    """Chromium reports a failed tunnel as ERR_TUNNEL_CONNECTION_FAILED: the proxy keeps
    why, by host and port, for the download's error (and forgets it once it connects)."""
    world = _World(site_server, {"public.example": [[PUBLIC]]})
    port = world.server_port
    for target in ("nowhere.example:443", "127.0.0.1:8443"):
        await world.ask(f"CONNECT {target} HTTP/1.1\r\n\r\n".encode())
    assert isinstance(world.proxy.failure("https://nowhere.example/x"), CannotResolveHostError)
    refused = world.proxy.failure("https://127.0.0.1:8443/")
    assert isinstance(refused, IgnoreRequest)
    assert "non-public address '127.0.0.1'" in str(refused)
    assert world.proxy.failure("https://public.example/") is None  # never failed

    async def down(host: str, port: int, **kwargs: Any) -> Any:
        raise ConnectionRefusedError(111, "Connection refused")

    world.proxy.open_connection = down
    tunnel = f"CONNECT public.example:{port} HTTP/1.1\r\n\r\nGET /page HTTP/1.0\r\n\r\n"
    assert (await world.ask(tunnel.encode())).startswith(b"HTTP/1.1 502")
    failed = world.proxy.failure(f"https://public.example:{port}/")
    assert isinstance(failed, DownloadConnectionRefusedError)
    world.proxy.open_connection = world._open  # the server is back
    assert (await world.ask(tunnel.encode())).startswith(b"HTTP/1.1 200")
    assert world.proxy.failure(f"https://public.example:{port}/") is None
