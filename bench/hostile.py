"""What hostile responses cost a crawl: peak memory and the longest stall of the reactor.

    .venv/bin/python bench/hostile.py [--only NAME ...] [--json bench/results/hostile.json]

Each case is one ``scrapy crawl site`` (a real process, the project's settings) of a local
server whose start page links one hostile response (or, for ``hanging-links``, a page of
links that never answer). Printed per case: the item's outcome, the crawl's wall time,
peak RSS of the crawl process (``ru_maxrss``) and of its largest extraction process (stat
``c4/extract/worker_peak_rss_mib``), and the longest stall of its event loop
(the largest gap between ticks of a 50 ms looping call, from ``StallMeter`` below).
Target (issue 13): no case above 1.5 GB nor a stall over a few seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class StallMeter:
    """Extension: the longest gap between ticks of a 50 ms looping call, in stats."""

    def __init__(self, crawler: Any) -> None:
        from scrapy import signals
        from scrapy.utils.asyncio import create_looping_call

        self.crawler = crawler
        self.last = 0.0
        self.worst = 0.0
        self.call = create_looping_call(self.tick)
        crawler.signals.connect(self.opened, signal=signals.spider_opened)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Any) -> StallMeter:
        return cls(crawler)

    def tick(self) -> None:
        now = time.perf_counter()
        if self.last:
            self.worst = max(self.worst, now - self.last)
        self.last = now

    def opened(self, spider: Any) -> None:
        self.call.start(0.05)

    def closed(self, spider: Any, reason: str) -> None:
        if self.call.running:
            self.call.stop()
        stats = {
            k: v for k, v in self.crawler.stats.get_stats().items() if isinstance(v, (int, float))
        }
        stats["stall_seconds"] = round(self.worst, 3)
        Path(os.environ["HOSTILE_STATS"]).write_text(json.dumps(stats))


MB = 1024 * 1024


def _bomb(size: int, feed: Callable[[bytes], bytes], end: Callable[[], bytes]) -> bytes:
    """``size`` bytes of HTML (mostly spaces) through a compressor (``feed`` then ``end``),
    built a MiB at a time so that this process stays small (a child's peak RSS starts from
    its parent's)."""
    chunk = b" " * MB
    parts = [feed(b"<html><body>")]
    parts.extend(feed(chunk) for _ in range(size // MB))
    parts.append(end())
    return b"".join(parts)


def _gzip_bomb(size: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip stream
    return _bomb(size, packer.compress, packer.flush)


def _brotli_bomb(size: int) -> bytes:
    import brotli

    packer = brotli.Compressor(quality=5)
    return _bomb(size, packer.process, packer.finish)


def _zstd_bomb(size: int) -> bytes:
    from scrapy.utils._compression import zstd  # the module Scrapy decodes zstd with

    packer = zstd.ZstdCompressor()
    return _bomb(size, packer.compress, packer.flush)


def cases() -> dict[str, Any]:
    """name -> (headers, body, extra ``-a`` arguments) of the hostile response."""
    html = {"Content-Type": "text/html"}
    divs = b"<html><body>" + b"<div></div>" * 120_000 + b"</body></html>"
    nested = b"<html><body>" + b"<div>" * 100_000 + b"x" + b"</div>" * 100_000
    attrs = b"<html><body><p " + b" ".join(b'a%d="x"' % i for i in range(200_000)) + b">x</p>"
    words = b"<html><body><p>" + b"x" * (20 * MB) + b"</p></body></html>"
    links = b"<html><body>" + b"".join(b'<a href="/l%d">l</a>' % i for i in range(200_000))
    sections = b"<html><body>" + b"<h2>title</h2><p>some words here</p>" * 75_000
    gzip = {**html, "Content-Encoding": "gzip"}
    return {
        "gzip-bomb-200MB": (gzip, _gzip_bomb(200 * MB), {}),
        "gzip-bomb-1GB": (gzip, _gzip_bomb(1024 * MB), {}),
        "brotli-bomb-1GB": ({**html, "Content-Encoding": "br"}, _brotli_bomb(1024 * MB), {}),
        "zstd-bomb-1GB": ({**html, "Content-Encoding": "zstd"}, _zstd_bomb(1024 * MB), {}),
        "empty-divs-120k": (html, divs, {}),
        "nested-100k": (html, nested, {}),
        "attributes-200k": (html, attrs, {}),
        "one-word-20MB": (html, words, {}),
        "links-200k": (html, links, {}),
        "big-page-15MB": (html, b"<html><body>" + b"<p>word word word</p>" * (15 * MB // 22), {}),
        "target-elements-2.8MB": (html, sections, {"target_elements": "h2,p"}),
        # 2 million header lines (16 MB) before a small page: parsed whole by Twisted
        "header-lines-2M": ({**html, "X-Pad": "b" + "\r\nX-Pad: b" * 2_000_000}, b"<p>x</p>", {}),
    }


def serve(name: str, headers: dict[str, str], body: bytes) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == "/":
                page = b'<html><body><a href="/hostile">x</a></body></html>'
                self._send(200, {"Content-Type": "text/html"}, page)
            elif self.path == "/hostile":
                self._send(200, headers, body)
            else:
                self._send(404, {"Content-Type": "text/html"}, b"no")

        def _send(self, status: int, head: dict[str, str], data: bytes) -> None:
            self.send_response(status)
            for key, value in head.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def run_case(
    name: str, headers: dict[str, str], body: bytes, args: dict[str, str], workdir: Path
) -> dict[str, Any]:
    server, url = serve(name, headers, body)
    stats_file = workdir / f"{name}.stats.json"
    out = workdir / f"{name}.jsonl"
    cmd = [
        sys.executable, "-m", "scrapy", "crawl", "site", "-a", f"url={url}", "-O", str(out),
        "-s", "LOG_LEVEL=WARNING", "-s", "ROBOTSTXT_OBEY=False",
        "-a", "depth=1", "-s", 'EXTENSIONS={"bench.hostile.StallMeter": 0}',
    ]  # fmt: skip
    for key, value in args.items():
        cmd += ["-a", f"{key}={value}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOSTILE_STATS": str(stats_file)}
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    server.shutdown()
    items = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    hostile = [item for item in items if item["url"].endswith("/hostile")]
    stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    outcome = "no item"
    if hostile:
        item = hostile[0]
        outcome = "ok" if item["success"] else (item.get("error_message") or "")[:70]
    return {
        "case": name,
        "response_bytes": len(body) + sum(len(k) + len(v) + 4 for k, v in headers.items()),
        "items": len(items),
        "outcome": outcome,
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "worker_rss_mb": stats.get("c4/extract/worker_peak_rss_mib"),
        "stall_seconds": stats.get("stall_seconds"),
        "exit": os.waitstatus_to_exitcode(status),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", help="case names")
    parser.add_argument("--json", type=Path, help="also write the table as JSON here")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (headers, body, spider_args) in cases().items():
            if args.only and name not in args.only:
                continue
            row = run_case(name, headers, body, spider_args, Path(tmp))
            rows.append(row)
            print(
                f"{row['case']:18} {row['response_bytes'] / MB:8.1f} MB  {row['seconds']:6.1f} s  "
                f"peak {row['peak_rss_mb']:5d} MB  worker {row['worker_rss_mb']} MB  "
                f"stall {row['stall_seconds']} s  "
                f"items {row['items']}  {row['outcome']}",
                flush=True,
            )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        columns = ["case", "response", "outcome", "seconds", "peak RSS", "extraction process"]
        columns += ["longest stall"]
        payload = {
            "title": "Hostile responses",
            "order": 60,
            "date": time.strftime("%Y-%m-%d"),
            "command": ".venv/bin/python bench/hostile.py --json bench/results/hostile.json",
            "machine": "2 shared cores, 24 GB",
            "notes": [
                (
                    "One ``scrapy crawl site`` per case against a local server whose start page "
                    "links the hostile response; peak RSS of the crawl process and of its largest "
                    "extraction process (C4_EXTRACT_PROCESSES), and the longest "
                    "gap between ticks of a 50 ms looping call (how long the crawl stalled). "
                    "Target: under 1.5 GB and a few seconds."
                )
            ],
            "tables": [
                {
                    "caption": "One hostile response per crawl",
                    "columns": columns,
                    "rows": [
                        [
                            row["case"],
                            f"{row['response_bytes'] / MB:.1f} MB",
                            row["outcome"],
                            row["seconds"],
                            f"{row['peak_rss_mb']} MB",
                            f"{row['worker_rss_mb']} MB" if row["worker_rss_mb"] else "-",
                            f"{row['stall_seconds']} s",
                        ]
                        for row in rows
                    ],
                }
            ],
        }
        args.json.write_text(json.dumps(payload, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
