"""Crawl throughput with c4scrapy on and off, over the same pages of a local site.

    .venv/bin/python bench/crawl_throughput.py [--site DIR] [--pages 500] [--rounds 2]

Serves ``--site`` (default: the Python 3.11 docs, ``/usr/share/doc/python3.11/html``) on
127.0.0.1 with ``python -m c4scrapy serve``, then crawls it with real ``scrapy``
processes, the project's settings for both (16 concurrent requests, 8 per domain, no
delay; robots.txt off since a directory has none):

- **on**: ``scrapy crawl site -a url=ROOT -a max_pages=N -O items.jsonl``: c4scrapy
  extracts every page (links, media, tables, metadata, cleaned_html, markdown) and the
  spider follows the internal links it found;
- **off**: ``scrapy runspider bench/crawl_throughput.py -s C4_ENABLED=false``: the
  ``PlainSpider`` below, a plain Scrapy spider following ``response.css("a::attr(href)")``,
  admitted only to the URLs the first *on* crawl fetched (so both fetch the same pages)
  and exporting ``{url, status}`` items.

Rounds alternate on/off and the medians are reported: pages per second (responses over
the crawl's ``elapsed_time_seconds``; also over the whole process, start-up included),
the on/off ratio (target: on keeps >= 70% of off), and peak memory (``ru_maxrss`` of
each crawl process, from ``os.wait4``).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urldefrag

import scrapy
from scrapy import signals
from scrapy.http import HtmlResponse
from w3lib.url import canonicalize_url

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from scrapy.crawler import Crawler
    from scrapy.http import Response

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve()


class PlainSpider(scrapy.Spider):
    """The baseline: follows every ``<a href>`` it is allowed to, yields ``{url, status}``."""

    name = "plain"

    def __init__(self, url: str, urls_file: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start_url = url
        self.allowed = set(Path(urls_file).read_text(encoding="utf-8").split())
        self.seen = {canonicalize_url(url)}

    async def start(self) -> AsyncIterator[scrapy.Request]:
        yield scrapy.Request(self.start_url, callback=self.parse)

    def parse(self, response: Response) -> Iterator[Any]:
        yield {"url": response.url, "status": response.status}
        if not isinstance(response, HtmlResponse):
            return
        for href in response.css("a::attr(href)").getall():
            url = urldefrag(response.urljoin(href))[0]
            key = canonicalize_url(url)
            if key in self.allowed and key not in self.seen:
                self.seen.add(key)
                yield scrapy.Request(url, callback=self.parse)


class StatsToFile:
    """Writes the crawl's final stats to ``BENCH_STATS_FILE`` as JSON."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StatsToFile:
        return cls(crawler)

    def spider_closed(self, spider: scrapy.Spider, reason: str) -> None:
        assert self.crawler.stats is not None
        stats = {**self.crawler.stats.get_stats(), "finish_reason": reason}
        path = self.crawler.settings["BENCH_STATS_FILE"]
        Path(path).write_text(json.dumps(stats, default=str), encoding="utf-8")


# --- the driver --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(directory: Path) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    cmd = [sys.executable, "-m", "c4scrapy", "serve", str(directory), "--port", str(port)]
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert server.stdout is not None
    line = server.stdout.readline()  # "serving DIR on URL" once it listens
    if "serving" not in line:
        server.kill()
        raise SystemExit(f"the site server did not start: {line!r}")
    return server, f"http://127.0.0.1:{port}/"


def run_crawl(cmd: list[str], workdir: Path, label: str) -> dict[str, Any]:
    """One crawl process: its stats, wall time and peak RSS."""
    stats_file = workdir / f"{label}.stats.json"
    settings = {
        "BENCH_STATS_FILE": str(stats_file),
        "EXTENSIONS": json.dumps({"crawl_throughput.StatsToFile": 0}),
        "LOG_LEVEL": "INFO",
        "LOG_FILE": str(workdir / f"{label}.log"),
        "ROBOTSTXT_OBEY": "False",
        "C4_PROGRESS": "False",
    }
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parent), str(ROOT)])}
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if proc.returncode != 0 or not stats_file.exists():
        raise SystemExit(f"{label} crawl failed (rc={proc.returncode}); see {workdir}")
    stats = json.loads(stats_file.read_text(encoding="utf-8"))
    responses = stats.get("response_received_count", 0)
    elapsed = float(stats["elapsed_time_seconds"])
    return {
        "responses": responses,
        "items": stats.get("item_scraped_count", 0),
        "elapsed": elapsed,
        "wall": wall,
        "pages_per_s": responses / elapsed,
        "pages_per_s_wall": responses / wall,
        "maxrss_mib": usage.ru_maxrss / 1024,
        "extract_s": stats.get("c4/extract_seconds", 0.0),
    }


def crawl_on(base: str, pages: int, workdir: Path, label: str) -> dict[str, Any]:
    out = workdir / f"{label}.jsonl"
    cmd = [sys.executable, "-m", "scrapy", "crawl", "site", "-a", f"url={base}"]
    cmd += ["-a", f"max_pages={pages}", "-O", str(out)]
    result = run_crawl(cmd, workdir, label)
    result["out"] = out
    return result


def crawl_off(base: str, urls_file: Path, workdir: Path, label: str) -> dict[str, Any]:
    out = workdir / f"{label}.jsonl"
    cmd = [sys.executable, "-m", "scrapy", "runspider", str(HERE), "-a", f"url={base}"]
    cmd += ["-a", f"urls_file={urls_file}", "-s", "C4_ENABLED=false", "-O", str(out)]
    return run_crawl(cmd, workdir, label)


def report(runs: dict[str, list[dict[str, Any]]], pages: int, site: Path) -> dict[str, Any]:
    def median(mode: str, key: str) -> float:
        return statistics.median(run[key] for run in runs[mode])

    rounds = len(runs["on"])
    print(f"\n## Crawl of {site}: {pages} pages, c4scrapy on vs off (median of {rounds})\n")
    print("| mode | responses | pages/s (crawl) | pages/s (process) | peak RSS MiB |")
    print("|---|---|---|---|---|")
    for mode, label in (("off", "c4scrapy off (plain spider)"), ("on", "c4scrapy on (site)")):
        print(
            f"| {label} | {median(mode, 'responses'):.0f} | {median(mode, 'pages_per_s'):.1f} "
            f"| {median(mode, 'pages_per_s_wall'):.1f} | {median(mode, 'maxrss_mib'):.0f} |"
        )
    ratio = median("on", "pages_per_s") / median("off", "pages_per_s")
    wall_ratio = median("on", "pages_per_s_wall") / median("off", "pages_per_s_wall")
    extract_share = median("on", "extract_s") / median("on", "elapsed")
    print(
        f"\non/off throughput: {ratio:.0%} over the crawl ({wall_ratio:.0%} with process "
        f"start-up); target >= 70%.\nc4scrapy's extraction took "
        f"{median('on', 'extract_s'):.1f} s of the {median('on', 'elapsed'):.1f} s crawl "
        f"({extract_share:.0%})."
    )
    for mode in ("off", "on"):
        line = ", ".join(f"{run['pages_per_s']:.1f}" for run in runs[mode])
        print(f"  {mode} rounds, pages/s: {line}")
    return {
        "pages": pages,
        "ratio": ratio,
        "ratio_process": wall_ratio,
        **{
            f"{mode}_{key}": median(mode, key)
            for mode in ("on", "off")
            for key in ("pages_per_s", "pages_per_s_wall", "maxrss_mib", "responses")
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--site", type=Path, default=Path("/usr/share/doc/python3.11/html"))
    parser.add_argument("--pages", type=int, default=500, help="max_pages of the crawl")
    parser.add_argument("--rounds", type=int, default=2, help="on/off pairs (median)")
    parser.add_argument("--keep", type=Path, help="keep logs, stats and items in this dir")
    parser.add_argument("--json", type=Path, help="write the figures as JSON here")
    args = parser.parse_args(argv)

    if not (args.site / "index.html").exists():
        raise SystemExit(f"{args.site} has no index.html (install python3.11-doc?)")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        server, base = start_server(args.site)
        try:
            runs: dict[str, list[dict[str, Any]]] = {"on": [], "off": []}
            first = crawl_on(base, args.pages, workdir, "on-1")
            runs["on"].append(first)
            urls_file = workdir / "urls.txt"
            with first["out"].open(encoding="utf-8") as fh:
                urls = {canonicalize_url(json.loads(line)["url"]) for line in fh if line.strip()}
            urls_file.write_text("\n".join(sorted(urls)), encoding="utf-8")
            for round_ in range(1, args.rounds + 1):
                runs["off"].append(crawl_off(base, urls_file, workdir, f"off-{round_}"))
                if round_ > 1:
                    runs["on"].append(crawl_on(base, args.pages, workdir, f"on-{round_}"))
        finally:
            server.terminate()
            server.wait(timeout=10)
        figures = report(runs, args.pages, args.site)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
