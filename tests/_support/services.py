"""Real servers for the deploy tests and bench/workers.py: redis-server, the docs site, polling.

Each starts on 127.0.0.1 on a free port, lives in its own temporary directory and is
stopped by its own PID when the ``with`` block ends.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tests._support.servers import Handler, LocalServer

if TYPE_CHECKING:
    from typing_extensions import Self

#: The Python 3.11 documentation (Debian's python3.11-doc): 530 real Sphinx pages.
DOCS_SITE = Path("/usr/share/doc/python3.11/html")

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(
    check: Callable[[], T], *, timeout: float, interval: float = 0.05, what: str = "condition"
) -> T:
    """Poll ``check`` until it returns something truthy; TimeoutError naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


class DocsSite(LocalServer):
    """The docs site, logging each request and telling page fetches from preview fetches.

    c4scrapy's head fetches ask for ``Accept-Encoding: identity`` (c4scrapy.previews); the
    crawl's page requests ask for compressed bodies. ``latency`` seconds pass before each
    answer, as on a slow or distant server.
    """

    def __init__(self, root: Path = DOCS_SITE, latency: float = 0.0) -> None:
        super().__init__(root)
        self.latency = latency
        self.requests: list[tuple[str, bool]] = []  # (path, is a preview); append is atomic

        def factory(*args: Any, **kwargs: Any) -> Handler:
            return _PreviewAwareHandler(*args, directory=str(root), **kwargs)

        self.RequestHandlerClass = factory

    @property
    def page_hits(self) -> Counter[str]:
        return Counter(path for path, preview in self.requests if not preview)

    @property
    def head_hits(self) -> Counter[str]:
        return Counter(path for path, preview in self.requests if preview)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a preview hung up after </head>
            super().handle_error(request, client_address)


class _PreviewAwareHandler(Handler):
    server: DocsSite
    # One connection per request: Twisted silently re-sends a GET whose reused keep-alive
    # connection dropped, which would show up here as a second fetch of the page.
    protocol_version = "HTTP/1.0"

    def _handle(self, *, head: bool) -> None:
        preview = self.headers.get("Accept-Encoding") == "identity"
        self.server.requests.append((self.path.split("?", 1)[0], preview))
        if self.server.latency:
            time.sleep(self.server.latency)
        super()._handle(head=head)


class RedisServer:
    """``redis-server`` on loopback, no persistence, data dir in ``workdir``."""

    def __init__(self, executable: str, workdir: Path) -> None:
        self.executable = executable
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        import redis

        self.workdir.mkdir(parents=True, exist_ok=True)
        log = self.workdir / "redis.log"
        self.process = subprocess.Popen(
            [self.executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir), "--logfile", str(log)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        self.client = redis.Redis.from_url(self.url)

        def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {log.read_text()[-2000:]}")
            try:
                return bool(self.client.ping())
            except redis.ConnectionError:
                return False

        wait_for(ready, timeout=20, what="redis-server")
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)


def scrapy_crawl_command(
    out: Path, args: dict[str, Any], settings: dict[str, Any], spider: str = "site"
) -> list[str]:
    """``python -m scrapy crawl SPIDER -o OUT -a k=v ... -s k=v ...`` (feed appended)."""
    cmd = [sys.executable, "-m", "scrapy", "crawl", spider, "-o", str(out)]
    for key, value in args.items():
        cmd += ["-a", f"{key}={value}"]
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    return cmd


def project_env(root: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(root)}
