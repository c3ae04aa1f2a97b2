"""A local site of the real-world corpus pages: ``python bench/corpus_site.py [--port N]``.

Serves every page of ``/work/shared/corpus`` (decompressed, bytes unchanged) on
127.0.0.1 at its original URL's path and query, as ``text/html; charset=utf-8``, and an
index page at ``/`` that links all of them. The pages' own links mostly point to their
real hosts (so a same-site crawl does not follow them); root-relative ones reach this
server and answer 404 unless they name a corpus page. With ``--copies N`` every page is
also served under ``/copy2/`` ... ``/copyN/`` and the index links all N copies, for crawls
long enough to measure. Prints ``serving ... on URL`` once it listens.
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CORPUS = Path("/work/shared/corpus")


def build(corpus: Path = CORPUS, copies: int = 1) -> dict[str, bytes]:
    """``{path?query: body}`` for every corpus page (and its copies), and ``/`` the index
    linking them."""
    pages: dict[str, bytes] = {}
    with (corpus / "pages.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            parts = urlsplit(row["url"])
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            body = gzip.decompress((corpus / "pages" / row["file"]).read_bytes())
            pages[target] = body
            for copy in range(2, copies + 1):
                pages[f"/copy{copy}{target}"] = body
    links = "\n".join(
        f'<li><a href="{html.escape(target)}">{html.escape(target)}</a></li>'
        for target in sorted(pages)
    )
    index = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Corpus</title></head>"
        f"<body><h1>{len(pages)} pages</h1><ul>\n{links}\n</ul></body></html>"
    )
    pages["/"] = index.encode("utf-8")
    return pages


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default 5 drops connections under 16 at once
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a link preview stops reading after the head) is not an
        error; anything else is printed as usual."""
        exc = sys.exc_info()[1]
        if not isinstance(exc, (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def serve(port: int, corpus: Path = CORPUS, copies: int = 1) -> None:
    pages = build(corpus, copies)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            body = pages.get(self.path)
            status = 200 if body is not None else 404
            if body is None:
                body = b"<html><body>not found</body></html>"
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with _Server(("127.0.0.1", port), Handler) as server:
        print(f"serving {len(pages)} corpus pages on http://127.0.0.1:{port}/", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--copies", type=int, default=1, help="serve each page N times")
    args = parser.parse_args()
    serve(args.port, args.corpus, args.copies)
