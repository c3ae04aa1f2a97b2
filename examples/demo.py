"""``make demo``: serve examples/demo_site on 127.0.0.1, crawl it with ``site``, summarise.

python examples/demo.py [--port 8765] [--query "asyncio event loop"] [--out out/demo.jsonl]
"""

from __future__ import annotations

import argparse
import functools
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--query", default="asyncio event loop")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "demo.jsonl")
    args = parser.parse_args()
    handler = functools.partial(QuietHandler, directory=str(ROOT / "examples" / "demo_site"))
    with ThreadingHTTPServer(("127.0.0.1", args.port), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_port}/"
        print(f"demo site: {url}  query: {args.query!r}", flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        crawl = [
            sys.executable, "-m", "scrapy", "crawl", "site",
            "-a", f"url={url}", "-a", f"query={args.query}",
            "-a", "exclude_social_media_links=true",
            "-s", "LOG_LEVEL=WARNING", "-O", str(args.out),
        ]  # fmt: skip
        status = subprocess.run(crawl, cwd=ROOT, check=False).returncode
        server.shutdown()
    if status != 0:
        return status
    print(f"items: {args.out}")
    return subprocess.run(
        [sys.executable, "-m", "c4scrapy", "summary", str(args.out)], check=False
    ).returncode


if __name__ == "__main__":
    sys.exit(main())
