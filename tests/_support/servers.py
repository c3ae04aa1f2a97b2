"""Local HTTP servers for the tests: static files plus scripted dynamic routes."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from typing_extensions import Self

#: A route answers (status, headers, body); body may be an iterable of chunks (streamed,
#: with ``delay`` seconds between chunks to simulate slow servers).
Route = Callable[["Handler"], tuple[int, dict[str, str], Any]]


class Handler(SimpleHTTPRequestHandler):
    server: LocalServer
    # One request per connection: Twisted silently re-sends a GET when a reused keep-alive
    # connection drops, which would show up here as a page fetched twice.
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_HEAD(self) -> None:
        self._handle(head=True)

    def do_GET(self) -> None:
        self._handle(head=False)

    def _handle(self, *, head: bool) -> None:
        path = self.path.split("?", 1)[0]
        self.server.hits[path] += 1
        route = self.server.routes.get(path)
        if route is None:
            if head:
                return super().do_HEAD()
            return super().do_GET()
        status, headers, body = route(self)
        chunks = [body] if isinstance(body, (bytes, str)) else body
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if isinstance(body, (bytes, str)):
            data = body.encode() if isinstance(body, str) else body
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if not head:
                self.wfile.write(data)
            return
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            for chunk in chunks:
                if isinstance(chunk, (int, float)):
                    time.sleep(chunk)  # a pause in a slow body (server side, not the test)
                    continue
                self.wfile.write(chunk.encode() if isinstance(chunk, str) else chunk)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass


class LocalServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's backlog of 5 drops connections under a crawl's 16 at once (and its
    # link previews): 1 s SYN retries, download timeouts
    request_queue_size = 128

    def __init__(self, root: Path, host: str = "127.0.0.1") -> None:
        self.root = root
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()

        def factory(*args: Any, **kwargs: Any) -> Handler:
            return Handler(*args, directory=str(root), **kwargs)

        super().__init__((host, 0), factory)
        # A short poll interval: shutdown() waits for one, at the end of every test.
        self.thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.server_address[0]}:{self.server_address[1]}/"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
