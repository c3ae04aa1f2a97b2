"""``python -m c4scrapy``: the core on files, a local static server, and crawl summaries.

- ``extract FILE[.gz] --url URL [--config JSON|@file.json]``: one PageItem as JSON on stdout
  (the same code the spider middleware runs);
- ``serve DIR [--port N]``: serve a directory on 127.0.0.1 (the demo site, test sites);
- ``summary FILE.jsonl``: pages, failures, links, images, tables of a crawl's output.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import gzip
import json
import sys
from collections import Counter
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m c4scrapy", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("extract", help="extract one saved page (HTML or .gz) to JSON")
    p.add_argument("file", type=Path)
    p.add_argument("--url", required=True, help="the page's URL (links resolve against it)")
    p.add_argument("--config", help="CrawlerRunConfig fields as JSON, or @file.json")
    p.add_argument("--indent", type=int, default=2)
    p = sub.add_parser("serve", help="serve a directory on 127.0.0.1")
    p.add_argument("directory", type=Path)
    p.add_argument("--port", type=int, default=8765)
    p = sub.add_parser("summary", help="summarise a crawl's JSON Lines output")
    p.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    return {"extract": _extract, "serve": _serve, "summary": _summary}[args.command](args)


def _extract(args: argparse.Namespace) -> int:
    from c4scrapy import ConfigError, extract_page

    try:
        data = args.file.read_bytes()
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    if args.file.suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            print(f"error: {args.file} is not valid gzip: {exc}", file=sys.stderr)
            return 2
    config: Any = None
    if args.config:
        text = args.config
        if text.startswith("@"):
            text = Path(text[1:]).read_text()
        try:
            config = json.loads(text)
        except ValueError as exc:
            print(f"error: --config is not valid JSON: {exc}", file=sys.stderr)
            return 2
    try:
        page = extract_page(data, args.url, config)
    except ConfigError as exc:
        print(f"error: --config: {exc}", file=sys.stderr)
        return 2
    json.dump(dataclasses.asdict(page), sys.stdout, indent=args.indent or None, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0 if page.success else 1


class _QuietHandler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: files are sent with a Content-Length

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    # socketserver's default backlog of 5 drops connections under Scrapy's 16 at once
    # (1 s SYN retries: a crawl of the docs ran at a quarter of its speed)
    request_queue_size = 128
    daemon_threads = True


def _serve(args: argparse.Namespace) -> int:
    handler = functools.partial(_QuietHandler, directory=str(args.directory))
    with _Server(("127.0.0.1", args.port), handler) as server:
        print(f"serving {args.directory} on http://127.0.0.1:{server.server_port}/", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
    return 0


def _summary(args: argparse.Namespace) -> int:
    totals: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    with args.file.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            item = json.loads(line)
            totals["pages"] += 1
            if not item.get("success"):
                totals["failed"] += 1
                errors[item.get("error_message") or "?"] += 1
            links = item.get("links") or {}
            totals["internal links"] += len(links.get("internal", []))
            totals["external links"] += len(links.get("external", []))
            totals["previewed links"] += sum(
                1
                for link in links.get("internal", []) + links.get("external", [])
                if link.get("head_extraction_status") == "valid"
            )
            media = item.get("media") or {}
            totals["images"] += len(media.get("images", []))
            totals["videos"] += len(media.get("videos", []))
            totals["tables"] += len(item.get("tables") or [])
    width = max(map(len, totals), default=0)
    for key in (
        "pages",
        "failed",
        "internal links",
        "external links",
        "previewed links",
        "images",
        "videos",
        "tables",
    ):
        print(f"{key:<{width}}  {totals[key]}")
    for message, count in errors.most_common(5):
        print(f"  failed x{count}: {message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
