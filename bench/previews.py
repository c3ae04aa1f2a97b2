"""Link previews on a real documentation site: shown, not claimed.

    .venv/bin/python bench/previews.py [--pages 300] [--compare 30] [--pace 8:2]

Serves the Python 3.11 docs (``/usr/share/doc/python3.11/html``, 530 Sphinx pages) on
127.0.0.1 with a small server of its own that logs every request (path, who asked, bytes
it managed to send before the client hung up) and, with ``--pace KIB:MS``, sends bodies
in KIB-KiB pieces MS milliseconds apart, like a network link (8:2 is about 4 MB/s per
connection). Without pacing, loopback hands a client up to 64 KiB per read, so stopping
after ``</head>`` can only save what a single read does not already hold. Then, in one
run, with real ``scrapy`` processes and the project's settings:

1. **Crawl**: ``scrapy crawl site -a url=ROOT -a max_pages=N -a link_preview={}`` (previews
   of up to 100 internal links per page, in Scrapy's usual order). Reports whether it
   finished, how many previews were fetched against how many unique URLs (from the
   ``c4_head``-flagged requests the server saw and from the ``c4/previews/*`` stats), and
   the median bytes read per preview against the median full size of the same pages.
2. **Side by side with Crawl4AI 0.9.5** (``shared/tools/c4ai_oracle.py``, pipeline
   strategy, ``link_preview_config`` with the same selection) on the same ``--compare``
   pages: wall time of each process, preview requests, unique URLs, bytes sent.
   c4scrapy downloads the pages (``scrapy runspider bench/previews.py``, the ``PagesSpider``
   below); the oracle reads them from disk.
3. **Query-guided crawl**: ``-a query="asyncio event loop"`` against the same crawl without
   a query, stopped after 50 items (``CLOSESPIDER_ITEMCOUNT``): how many of the first 50
   pages have "asyncio" in their title.
4. **Hostile targets** (``--hostile``, on a server of its own): a page linking 12 gzip
   bombs (200 MB of HTML in 200 KB each), and a page linking 100 URLs that never answer:
   the crawl's wall time, peak RSS, ERROR lines and the links' preview statuses.
   ``--code DIR`` runs the crawls with another checkout's c4scrapy (e.g. before a change).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import scrapy

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

ROOT = Path(__file__).resolve().parent.parent
DOCS = Path("/usr/share/doc/python3.11/html")
C4AI_PYTHON = Path("/work/c4ai-venv/bin/python")
ORACLE = ROOT.parent / "shared" / "tools" / "c4ai_oracle.py"
QUERY = "asyncio event loop"
RANGE = re.compile(r"bytes=(\d+)-(\d*)$")
HEAD_LOG = re.compile(r"Head preview of (\S+): (\w+).*?\((\d+) bytes read\)")


class PagesSpider(scrapy.Spider):
    """Downloads the URLs listed in ``-a urls=FILE`` (one per line) and follows nothing:
    c4scrapy's add-on builds each PageItem and previews its links."""

    name = "pages"

    def __init__(self, urls: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.page_urls = Path(urls).read_text().split()

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.page_urls:
            yield scrapy.Request(url, callback=self.parse)

    def parse(self, response: Any) -> None:
        return None


# --- the server ---------------------------------------------------------------------


class BenchServer(ThreadingHTTPServer):
    """Serves DOCS like a static web server (nginx, Apache, a CDN: byte ranges honoured,
    unless ``ranges`` is off, like ``python -m http.server``), optionally paced, and logs
    what each request cost."""

    request_queue_size = 128  # the default 5 drops connections under a crawl's previews
    daemon_threads = True

    def __init__(self, chunk: int, delay: float, *, ranges: bool) -> None:
        self.chunk, self.delay, self.ranges = chunk, delay, ranges
        self.log: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), BenchHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hang up early on purpose: that is the point of a preview

    def take_log(self) -> list[dict[str, Any]]:
        with self.lock:
            log, self.log = self.log, []
        return log


class BenchHandler(SimpleHTTPRequestHandler):
    server: BenchServer

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, directory=str(DOCS), **kwargs)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path /= "index.html"
        try:
            source = path.open("rb")
        except OSError:
            self.send_error(404)
            self._record(0, 0)
            return
        with source:
            size = path.stat().st_size
            modified = self.date_time_string(int(path.stat().st_mtime))
            first, last = 0, size - 1
            wanted = RANGE.match(self.headers.get("Range", "")) if self.server.ranges else None
            if wanted and self.headers.get("If-Range", modified) == modified:
                first = int(wanted.group(1))
                last = min(int(wanted.group(2) or last), last)
                if first >= size:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    self._record(0, size)
                    return
            self.send_response(206 if wanted and (first, last) != (0, size - 1) else 200)
            self.send_header("Content-Type", self.guess_type(str(path)))
            self.send_header("Content-Length", str(last - first + 1))
            self.send_header("Last-Modified", modified)
            if self.server.ranges:
                self.send_header("Accept-Ranges", "bytes")
            if wanted:
                self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
            self.end_headers()
            source.seek(first)
            sent, left = 0, last - first + 1
            try:
                while left > 0 and (data := source.read(min(self.server.chunk, left))):
                    self.wfile.write(data)
                    sent += len(data)
                    left -= len(data)
                    if self.server.delay and left:
                        time.sleep(self.server.delay)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self._record(sent, size)

    def _record(self, sent: int, size: int) -> None:
        agent = self.headers.get("User-Agent", "")
        who = "crawl4ai" if "Chrome" in agent else "c4scrapy"
        preview = who == "crawl4ai" or self.headers.get("Accept-Encoding") == "identity"
        entry = {
            "path": unquote(urlsplit(self.path).path),
            "who": who,
            "preview": preview,
            "ranged": "Range" in self.headers,
            "sent": sent,
            "size": size,
        }
        with self.server.lock:
            self.server.log.append(entry)


# --- runs ---------------------------------------------------------------------------


def scrapy_run(
    out: Path, command: list[str], args: dict[str, Any], settings: dict[str, Any]
) -> dict[str, Any]:
    """A ``scrapy crawl``/``runspider`` process: wall time, items, stats and its log."""
    out.mkdir(parents=True, exist_ok=True)
    all_settings = {
        "LOG_FILE": out / "crawl.log",
        "LOG_LEVEL": "DEBUG",
        "ROBOTSTXT_OBEY": False,
        "TEST_STATS_FILE": out / "stats.json",
        "EXTENSIONS": json.dumps({"tests._support.statsdump.StatsDump": 0}),
        "C4_PROGRESS": False,
        "FEED_EXPORT_FIELDS": "url,success,metadata,links,c4",
        **settings,
    }
    cmd = [sys.executable, "-m", "scrapy", *command, "-O", str(out / "items.jsonl")]
    cmd += [f"-a{k}={v}" for k, v in args.items()]
    cmd += [f"-s{k}={v}" for k, v in all_settings.items()]
    started = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - started
    items = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    log = (out / "crawl.log").read_text()
    stats = json.loads((out / "stats.json").read_text())
    return {"wall": wall, "items": items, "stats": stats, "log": log}


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def crawl_with_previews(server: BenchServer, work: Path, pages: int) -> list[str]:
    run = scrapy_run(
        work / "crawl",
        ["crawl", "site"],
        {"url": server.url, "max_pages": pages, "link_preview": "{}"},
        {},
    )
    requests = server.take_log()
    baseline = scrapy_run(
        work / "crawl-without-previews",
        ["crawl", "site"],
        {"url": server.url, "max_pages": pages},
        {"LOG_LEVEL": "INFO"},
    )
    server.take_log()
    stats = run["stats"]
    fetches = HEAD_LOG.findall(run["log"])
    fetched_urls = Counter(url for url, _, _ in fetches)
    preview_paths = Counter(r["path"] for r in requests if r["preview"])
    page_paths = [urlsplit(item["url"]).path for item in run["items"]]
    sizes = {}
    for url, _, _ in fetches:
        path = DOCS / unquote(urlsplit(url).path).lstrip("/")
        if path.is_file():
            sizes[url] = path.stat().st_size
    read = [int(size) for url, status, size in fetches if status == "valid" and url in sizes]
    full = [sizes[url] for url, status, _ in fetches if status == "valid" and url in sizes]
    ratios = [
        int(size) / sizes[url]
        for url, status, size in fetches
        if url in sizes and status == "valid"
    ]
    server_sent = [r["sent"] for r in requests if r["preview"]]

    print(f"\n## 1. A {len(run['items'])}-page crawl with previews ({stats['finish_reason']})\n")
    rows = [
        ("pages (items)", len(run["items"])),
        ("wall time, whole process (s)", f"{run['wall']:.1f}"),
        ("  the same crawl without previews (s)", f"{baseline['wall']:.1f}"),
        ("previews requested (links)", stats.get("c4/previews/requested", 0)),
        ("  fetched", stats.get("c4/previews/fetched", 0)),
        ("  from the cache", stats.get("c4/previews/from_cache", 0)),
        ("  joined a fetch in flight", stats.get("c4/previews/shared_inflight", 0)),
        ("heads from pages the crawl downloaded", stats.get("c4/previews/own_heads", 0)),
        ("unique URLs fetched (log)", len(fetched_urls)),
        ("URLs fetched more than once (log)", sum(1 for n in fetched_urls.values() if n > 1)),
        ("preview requests the server saw", sum(preview_paths.values())),
        ("  with a Range header", sum(1 for r in requests if r["preview"] and r["ranged"])),
        (
            "  continuing a range (c4/previews/range_continuations)",
            stats.get("c4/previews/range_continuations", 0),
        ),
        (
            "paths previewed more than once (server)",
            sum(1 for n in preview_paths.values() if n > 1),
        ),
        ("median bytes read per valid preview", f"{median(read):,.0f}"),
        ("median full size of those pages", f"{median(full):,.0f}"),
        ("median read / full size", f"{median(ratios):.1%}"),
        ("median bytes the server sent per preview", f"{median(server_sent):,.0f}"),
        ("statuses", dict(Counter(status for _, status, _ in fetches))),
    ]
    table(("measure", "value"), rows)
    return [item["url"] for item in run["items"] if item.get("success")] or page_paths


def side_by_side(server: BenchServer, work: Path, urls: list[str], count: int) -> None:
    chosen = urls[:count]
    url_file = work / "compare-urls.txt"
    url_file.write_text("\n".join(chosen) + "\n")
    preview = {"include_internal": True, "max_links": 100, "concurrency": 10, "timeout": 5}

    ours = scrapy_run(
        work / "compare-c4scrapy",
        ["runspider", str(Path(__file__).resolve())],
        {"urls": url_file},
        {"C4_LINK_PREVIEW_CONFIG": json.dumps(preview), "C4_SCORE_LINKS": True},
    )
    ours_requests = server.take_log()

    files = work / "compare-files"
    for url in chosen:
        rel = unquote(urlsplit(url).path).lstrip("/") or "index.html"
        if rel.endswith("/"):
            rel += "index.html"
        target = files / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(DOCS / rel, target)
    scratch = work / "c4ai-home"
    started = time.perf_counter()
    subprocess.run(
        [
            str(C4AI_PYTHON),
            str(ORACLE),
            str(files),
            "--base-url",
            server.url + "{relpath}",
            "--strategies",
            "pipeline",
            "--config",
            json.dumps({"link_preview_config": preview, "score_links": True}),
            "--scratch-home",
            str(scratch),
            "--page-timeout",
            "600",
            "-q",
            "-o",
            str(work / "c4ai.jsonl"),
        ],
        check=True,
        capture_output=True,
    )
    theirs_wall = time.perf_counter() - started
    theirs_requests = server.take_log()
    theirs = [json.loads(line) for line in (work / "c4ai.jsonl").read_text().splitlines()]

    def heads(links: list[dict[str, Any]]) -> int:
        return sum(1 for link in links if link.get("head_data"))

    ours_heads = sum(heads(item["links"]["internal"]) for item in ours["items"])
    theirs_heads = sum(heads(page["links"]["internal"]) for page in theirs)
    rows = []
    for name, wall, requests, with_heads in (
        ("c4scrapy", ours["wall"], ours_requests, ours_heads),
        ("Crawl4AI 0.9.5", theirs_wall, theirs_requests, theirs_heads),
    ):
        previews = [r for r in requests if r["preview"]]
        rows.append(
            (
                name,
                f"{wall:.1f}",
                len(previews),
                len({r["path"] for r in previews}),
                f"{sum(r['sent'] for r in previews):,}",
                f"{median([r['sent'] for r in previews]):,.0f}",
                with_heads,
            )
        )
    print(f"\n## 2. Side by side on the same {len(chosen)} pages\n")
    table(
        (
            "",
            "wall (s)",
            "preview requests",
            "unique URLs",
            "bytes sent",
            "median per request",
            "links with head_data",
        ),
        rows,
    )
    print(
        "\nc4scrapy's wall time includes downloading the pages and Scrapy's start-up; the "
        "oracle reads the pages from disk. Crawl4AI fetches each URL once per run through "
        "its own disk cache and skips URLs it deems nonsense (see the reference, section 8)."
    )


def guided(server: BenchServer, work: Path, first: int) -> None:
    asyncio_titles = sum(
        1
        for page in DOCS.rglob("*.html")
        if re.search(r"<title>[^<]*asyncio", page.read_text(errors="replace"), re.IGNORECASE)
    )
    rows = []
    prose = json.dumps({"intrinsic": 0.3, "contextual": 0.7})
    crawls = (
        ("no query (Scrapy's order)", {}, {}),
        (f'-a query="{QUERY}"', {"query": QUERY}, {}),
        (f"  and C4_SCORE_WEIGHTS={prose}", {"query": QUERY}, {"C4_SCORE_WEIGHTS": prose}),
    )
    for n, (label, args, settings) in enumerate(crawls):
        run = scrapy_run(
            work / f"guided-{n}",
            ["crawl", "site"],
            {"url": server.url, **args},
            {"CLOSESPIDER_ITEMCOUNT": first, "LOG_LEVEL": "INFO", **settings},
        )
        server.take_log()
        items = run["items"][:first]
        hits = [
            i + 1
            for i, item in enumerate(items)
            if "asyncio" in ((item.get("metadata") or {}).get("title") or "").lower()
        ]
        section = sum(1 for item in items if "/library/asyncio" in item["url"])
        rows.append((label, len(hits), hits[0] if hits else "-", section, f"{run['wall']:.1f}"))
    print(
        f"\n## 3. Pages with 'asyncio' in the title among the first {first} ({asyncio_titles} in the site)\n"
    )
    section_size = len(list(DOCS.glob("library/asyncio*.html")))
    table(
        (
            "crawl",
            f"in the first {first}",
            "first one at",
            f"library/asyncio*.html pages ({section_size} in the site)",
            "wall (s)",
        ),
        rows,
    )


def hostile(work: Path, code: Path) -> None:
    """Section 4: compression bombs and hanging links, each in one crawl of one page."""
    sys.path.insert(0, str(ROOT))
    from tests._support.servers import LocalServer

    site = work / "hostile-site"
    site.mkdir()
    html = {"Content-Type": "text/html"}
    bomb = gzip.compress(b"<html><head><title>Bomb</title>" + b" " * 200_000_000, 9)
    bombs = [f"/bomb{i}.html" for i in range(12)]
    hanging = [f"/hang{i}.html" for i in range(100)]
    for name, paths in (("bombs", bombs), ("hanging", hanging)):
        anchors = "".join(f'<a href="{p}">{p}</a>' for p in paths)
        (site / f"{name}.html").write_text(f"<html><head><title>{name}</title></head>{anchors}")
    rows = []
    with LocalServer(site) as server:
        for path in bombs:
            server.routes[path] = lambda h: (200, {**html, "Content-Encoding": "gzip"}, bomb)
        for path in hanging:
            server.routes[path] = lambda h: (200, html, [b"<html><head>", 30])
        for name in ("bombs", "hanging"):
            run = measured_run(work / f"hostile-{name}", server.url + f"{name}.html", code)
            statuses = Counter(
                link["head_extraction_status"]
                for item in run["items"]
                for link in item["links"]["internal"]
            )
            errors = sum(" ERROR: " in line for line in run["log"].splitlines())
            held = max(item["c4"].get("previews", {}).get("seconds", 0) for item in run["items"])
            rows.append(
                (
                    name,
                    len(run["items"]),
                    f"{run['wall']:.1f}",
                    f"{held:.1f}",
                    f"{run['maxrss'] / 1024:.0f}",
                    errors,
                    dict(statuses),
                    f"{run['stats'].get('c4/previews/bytes', 0):,}",
                )
            )
    print(f"\n## 4. Hostile preview targets (c4scrapy from {code})\n")
    header = (
        "page",
        "items",
        "wall (s)",
        "previews held the item (s)",
        "peak RSS (MB)",
        "ERROR lines",
        "statuses",
        "bytes read",
    )
    table(header, rows)


def measured_run(out: Path, url: str, code: Path) -> dict[str, Any]:
    """``scrapy crawl site -a url=URL -a depth=0 -a link_preview={}`` with its peak RSS."""
    out.mkdir(parents=True)
    cmd = [sys.executable, "-m", "scrapy", "crawl", "site", "-O", str(out / "items.jsonl")]
    cmd += [f"-aurl={url}", "-adepth=0", "-alink_preview={}"]
    settings = {
        "LOG_FILE": out / "crawl.log",
        "LOG_LEVEL": "INFO",
        "TEST_STATS_FILE": out / "stats.json",
        "EXTENSIONS": json.dumps({"tests._support.statsdump.StatsDump": 0}),
        "C4_PROGRESS": False,
    }
    cmd += [f"-s{k}={v}" for k, v in settings.items()]
    env = {**os.environ, "PYTHONPATH": f"{code}{os.pathsep}{ROOT}"}
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=code, env=env, stdout=subprocess.DEVNULL)
    peak = 0
    status = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:  # VmHWM: this process's own peak (ru_maxrss counts the fork)
        try:
            text = status.read_text()
        except OSError:
            break
        if match := re.search(r"VmHWM:\s+(\d+) kB", text):
            peak = max(peak, int(match.group(1)))
        time.sleep(0.05)
    wall = time.perf_counter() - started
    items_file = out / "items.jsonl"
    items = [json.loads(line) for line in items_file.read_text().splitlines() if line.strip()]
    stats_file = out / "stats.json"
    return {
        "wall": wall,
        "maxrss": peak,  # KiB
        "items": items,
        "stats": json.loads(stats_file.read_text()) if stats_file.exists() else {},
        "log": (out / "crawl.log").read_text(),
    }


def table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--compare", type=int, default=30, help="pages for the side by side")
    parser.add_argument("--first", type=int, default=50, help="pages for the guided crawl")
    parser.add_argument("--pace", default="", help="KIB:MS, e.g. 8:2 (default: no pacing)")
    parser.add_argument("--skip", default="", help="comma list of crawl,compare,guided")
    parser.add_argument(
        "--no-ranges", action="store_true", help="ignore Range headers, like python -m http.server"
    )
    parser.add_argument("--hostile", action="store_true", help="only section 4")
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout whose c4scrapy runs")
    options = parser.parse_args()
    if options.hostile:
        with tempfile.TemporaryDirectory(prefix="c4-hostile-") as tmp:
            hostile(Path(tmp), options.code.resolve())
        return
    chunk, delay = 64 * 1024, 0.0
    if options.pace:
        kib, ms = options.pace.split(":")
        chunk, delay = int(float(kib) * 1024), float(ms) / 1000
    skip = set(options.skip.split(","))
    server = BenchServer(chunk, delay, ranges=not options.no_ranges)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    pacing = f"{chunk // 1024} KiB every {delay * 1000:g} ms" if delay else "none (loopback)"
    ranges = "ignored" if options.no_ranges else "honoured"
    print(f"# Link previews on {DOCS} at {server.url}; pacing: {pacing}; byte ranges {ranges}")
    try:
        with tempfile.TemporaryDirectory(prefix="c4-previews-") as tmp:
            work = Path(tmp)
            urls: list[str] = []
            if "crawl" not in skip:
                urls = crawl_with_previews(server, work, options.pages)
            if "compare" not in skip:
                if not urls:
                    urls = [server.url + "index.html"]
                side_by_side(server, work, urls, options.compare)
            if "guided" not in skip:
                guided(server, work, options.first)
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    main()
