"""Crawl throughput against plain Scrapy, on two local sites, in one interleaved run.

    .venv/bin/python bench/crawl_throughput.py [--rounds 3] [--profile] [--json FILE]

Three crawls of the same site, rounds alternating A, B, C, every one a real ``scrapy``
process with the feed export on (``-O items.jsonl``), markdown on (the default) and the
same settings (16 concurrent requests, 8 per domain, no delay, robots.txt off):

- **A, plain**: ``scrapy runspider bench/crawl_throughput.py`` outside any project: the
  ``PlainSpider`` below follows ``a::attr(href)``, same site only, each URL once, at most
  ``max_pages`` pages, and yields ``{url, status}`` per page. Nothing of c4scrapy loaded.
- **B, add-on**: the same spider with ``-s ADDONS={"c4scrapy.Addon": 100}``: c4scrapy
  extracts every page and emits its PageItem next to the spider's own item.
- **C, site**: ``scrapy crawl site -a url=ROOT -a max_pages=N`` in this project.

Sites: the Python 3.11 docs (``/usr/share/doc/python3.11/html``, served by
``python -m c4scrapy serve``; ``max_pages`` above its size, so every mode crawls all of it)
and the corpus site (``bench/corpus_site.py --copies 8``: the 136 real-world pages at their
URL paths and 7 more times under ``/copyN/``, and an index linking them; 1089 pages: one
copy crawls in about 2 s, too short to measure).

Reported: pages/s (responses over the crawl's ``elapsed_time_seconds``, median of the
rounds) and its ratio to A (target >= 0.8); "at most vs A", the most pages/s that mode's
CPU per page allows on the machine's cores (``cpu_bound``: each process on one core at
most, all of them on the cores), over A's measured pages/s; CPU ms per page of the crawl process (user +
system, ``getrusage``, from spider_opened to spider_closed), of its extraction processes
(stat ``c4/extract/worker_cpu_seconds``) and of the HTTP server (``/proc``, the whole
crawl); "cores busy", pages/s times all that CPU per page (the machine has 2); peak RSS of
the crawl process (``ru_maxrss``) and of each extraction process. With ``--inline``, B0
and C0 are B and C with ``C4_EXTRACT_PROCESSES=0``. With
``--profile``, one more crawl per mode and site runs under cProfile (enabled from
spider_opened to spider_closed, the crawl process's main thread only), and its CPU is split
into parts by the cumulative time of their entry functions (``PARTS``), with
``C4_EXTRACT_PROCESSES=0`` so that extraction and markdown are among them; "the rest" is the
profile's total less those parts and less the time waiting in ``epoll.poll`` (idle). cProfile slows Python code about twice, so read the
split as shares, not as absolute costs.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import json
import os
import pstats
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urldefrag, urlsplit

import scrapy
from scrapy import signals

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from scrapy.crawler import Crawler
    from scrapy.http import Response

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve()
DOCS = Path("/usr/share/doc/python3.11/html")

#: How many times the corpus site serves each page (``--corpus-copies``).
CORPUS_COPIES = 8

#: The settings every crawl gets (A and B have no project; C's project sets the same).
COMMON = {
    "CONCURRENT_REQUESTS": "16",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
    "DOWNLOAD_DELAY": "0",
    "ROBOTSTXT_OBEY": "False",
    "TELNETCONSOLE_ENABLED": "False",
    "FEED_EXPORT_ENCODING": "utf-8",
    "LOG_LEVEL": "INFO",
}

#: Profile parts: (file suffix, function name) whose cumulative time is the part. Nested
#: parts (markdown inside extraction) are subtracted from their parent.
PARTS: dict[str, list[tuple[str, str]]] = {
    "download": [
        ("twisted/internet/tcp.py", "doRead"),
        ("twisted/internet/tcp.py", "doWrite"),
        ("twisted/internet/tcp.py", "doConnect"),
        ("scrapy/core/downloader/handlers/http11.py", "download_request"),
    ],
    "extraction": [("c4scrapy/core/page.py", "extract_page")],
    "markdown": [("c4scrapy/core/cleaned_html.py", "generate_markdown")],
    "item export": [("scrapy/extensions/feedexport.py", "item_scraped")],
}
NESTED = {"markdown": "extraction"}


class PlainSpider(scrapy.Spider):
    """The baseline: follows every ``<a href>`` of its own site, each URL once."""

    name = "plain"

    def __init__(self, url: str, max_pages: str = "1000", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start_url = url
        self.host = urlsplit(url).netloc
        self.max_pages = int(max_pages)
        self.seen = {url}

    async def start(self) -> AsyncIterator[scrapy.Request]:
        yield scrapy.Request(self.start_url, callback=self.parse)

    def parse(self, response: Response) -> Iterator[Any]:
        yield {"url": response.url, "status": response.status}
        if not hasattr(response, "css"):
            return
        for href in response.css("a::attr(href)").getall():
            url = urldefrag(response.urljoin(href))[0]
            parts = urlsplit(url)
            if parts.netloc != self.host or parts.scheme not in ("http", "https"):
                continue
            if url not in self.seen and len(self.seen) < self.max_pages:
                self.seen.add(url)
                yield scrapy.Request(url, callback=self.parse)


class StatsToFile:
    """Writes the crawl's final stats to ``BENCH_STATS_FILE`` as JSON, with the process's
    CPU seconds from spider_opened to spider_closed (start-up and shutdown left out), and
    with ``BENCH_PROFILE_FILE`` set, a cProfile dump of that same span."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.cpu = 0.0
        self.profiler: cProfile.Profile | None = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StatsToFile:
        return cls(crawler)

    @staticmethod
    def _cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    def spider_opened(self, spider: scrapy.Spider) -> None:
        self.cpu = self._cpu()
        if self.crawler.settings.get("BENCH_PROFILE_FILE"):
            self.profiler = cProfile.Profile()
            self.profiler.enable()

    def spider_closed(self, spider: scrapy.Spider, reason: str) -> None:
        if self.profiler is not None:
            self.profiler.disable()
            self.profiler.dump_stats(self.crawler.settings["BENCH_PROFILE_FILE"])
        assert self.crawler.stats is not None
        stats = {
            **self.crawler.stats.get_stats(),
            "finish_reason": reason,
            "bench_cpu_seconds": self._cpu() - self.cpu,
        }
        path = self.crawler.settings["BENCH_STATS_FILE"]
        Path(path).write_text(json.dumps(stats, default=str), encoding="utf-8")


# --- the driver --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(site: str) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    if site == "docs":
        cmd = [sys.executable, "-m", "c4scrapy", "serve", str(DOCS), "--port", str(port)]
    else:
        cmd = [sys.executable, str(HERE.parent / "corpus_site.py"), "--port", str(port)]
        cmd += ["--copies", str(CORPUS_COPIES)]
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert server.stdout is not None
    line = server.stdout.readline()  # "serving ... on URL" once it listens
    if "serving" not in line:
        server.kill()
        raise SystemExit(f"the {site} server did not start: {line!r}")
    return server, f"http://127.0.0.1:{port}/"


def crawl_command(mode: str, base: str, pages: int, out: Path) -> tuple[list[str], Path]:
    """The crawl's command line and the directory it runs in."""
    if mode.endswith("0"):
        cmd, cwd = crawl_command(mode[0], base, pages, out)
        return [*cmd, "-s", "C4_EXTRACT_PROCESSES=0"], cwd
    if mode == "C":
        cmd = ["-m", "scrapy", "crawl", "site", "-a", f"url={base}", "-a", f"max_pages={pages}"]
        cwd = ROOT
    else:
        cmd = ["-m", "scrapy", "runspider", str(HERE), "-a", f"url={base}"]
        cmd += ["-a", f"max_pages={pages}"]
        if mode == "B":
            cmd += ["-s", 'ADDONS={"c4scrapy.Addon": 100}']
        cwd = out.parent  # no scrapy.cfg there: no project settings
    return [*cmd, "-O", str(out)], cwd


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a running process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_crawl(
    mode: str,
    base: str,
    pages: int,
    workdir: Path,
    label: str,
    profile: bool = False,
    server_pid: int | None = None,
) -> dict[str, Any]:
    """One crawl process: its stats, CPU (and the HTTP server's), wall time and peak RSS."""
    out = workdir / f"{label}.jsonl"
    stats_file = workdir / f"{label}.stats.json"
    args, cwd = crawl_command(mode, base, pages, out)
    settings = {
        **COMMON,
        "BENCH_STATS_FILE": str(stats_file),
        "EXTENSIONS": json.dumps({"crawl_throughput.StatsToFile": 0}),
        "LOG_FILE": str(workdir / f"{label}.log"),
    }
    for key, value in settings.items():
        args += ["-s", f"{key}={value}"]
    prof = workdir / f"{label}.prof"
    if profile:  # extraction in the profiled process: the split shows all of its parts
        args += ["-s", f"BENCH_PROFILE_FILE={prof}", "-s", "C4_EXTRACT_PROCESSES=0"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parent), str(ROOT)])}
    server_cpu = process_cpu(server_pid) if server_pid else 0.0
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *args], cwd=cwd, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    server_cpu = process_cpu(server_pid) - server_cpu if server_pid else 0.0
    if os.waitstatus_to_exitcode(status) != 0 or not stats_file.exists():
        raise SystemExit(f"{label} crawl failed; see {workdir}")
    stats = json.loads(stats_file.read_text(encoding="utf-8"))
    responses = stats.get("response_received_count", 0)
    elapsed = float(stats["elapsed_time_seconds"])
    cpu = float(stats["bench_cpu_seconds"])
    result = {
        "responses": responses,
        "items": stats.get("item_scraped_count", 0),
        "elapsed": elapsed,
        "wall": wall,
        "pages_per_s": responses / elapsed,
        "cpu_ms_per_page": 1000 * cpu / max(responses, 1),
        "worker_cpu_ms_per_page": 1000
        * float(stats.get("c4/extract/worker_cpu_seconds", 0))
        / max(responses, 1),
        "server_cpu_ms_per_page": 1000 * server_cpu / max(responses, 1),
        "maxrss_mib": usage.ru_maxrss / 1024,
        "worker_rss_mib": float(stats.get("c4/extract/worker_peak_rss_mib", 0)),
        "processes": int(stats.get("c4/extract/processes", 0)),
        "feed_mib": out.stat().st_size / 2**20 if out.exists() else 0.0,
    }
    if profile:
        result["parts"] = profile_parts(prof, responses)
    return result


def profile_parts(path: Path, responses: int) -> dict[str, float]:
    """CPU ms per page of each part of ``PARTS`` (and "rest"), from a cProfile dump."""
    stats = pstats.Stats(str(path))
    table: dict[tuple[str, int, str], Any] = stats.stats  # type: ignore[attr-defined]
    total = stats.total_tt  # type: ignore[attr-defined]
    parts = dict.fromkeys(PARTS, 0.0)
    for (filename, _, function), (_, _, _, cumtime, _) in table.items():
        for part, entries in PARTS.items():
            if any(filename.endswith(f) and function == name for f, name in entries):
                parts[part] += cumtime
    idle = sum(
        row[2]
        for (_, _, function), row in table.items()
        if function == "<method 'poll' of 'select.epoll' objects>"
    )
    for child, parent in NESTED.items():
        parts[parent] -= parts[child]
    parts["rest"] = total - idle - sum(parts.values())
    return {part: 1000 * seconds / max(responses, 1) for part, seconds in parts.items()}


MODES = {
    "A": "A: plain spider",
    "B": "B: plain spider + c4scrapy.Addon",
    "C": "C: scrapy crawl site",
}
#: With --inline: B and C extracting in the crawl process (C4_EXTRACT_PROCESSES=0).
INLINE_MODES = {
    "B0": "B0: B, extraction in the crawl process",
    "C0": "C0: C, extraction in the crawl process",
}


def measure_site(
    site: str, pages: int, rounds: int, profile: bool, workdir: Path, modes: dict[str, str]
) -> dict[str, Any]:
    server, base = start_server(site)
    runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in modes}
    profiles: dict[str, dict[str, float]] = {}
    try:
        for round_ in range(1, rounds + 1):
            for mode in modes:
                label = f"{site}-{mode}{round_}"
                runs[mode].append(run_crawl(mode, base, pages, workdir, label, False, server.pid))
                print(f"  {site} {mode}{round_}: {runs[mode][-1]['pages_per_s']:.1f} pages/s")
        if profile:
            for mode in modes:
                result = run_crawl(mode, base, pages, workdir, f"{site}-{mode}-prof", True)
                profiles[mode] = result["parts"]
    finally:
        server.terminate()
        server.wait(timeout=10)

    def median(mode: str, key: str) -> float:
        return statistics.median(run[key] for run in runs[mode])

    rate = {mode: median(mode, "pages_per_s") for mode in modes}
    keys = ("responses", "items", "pages_per_s", "cpu_ms_per_page", "worker_cpu_ms_per_page")
    keys += ("server_cpu_ms_per_page",)
    keys += ("maxrss_mib", "worker_rss_mib", "processes", "feed_mib")
    return {
        "site": site,
        "pages": pages,
        "cores": len(os.sched_getaffinity(0)),
        "labels": modes,
        "rounds": {mode: [round(r["pages_per_s"], 1) for r in runs[mode]] for mode in modes},
        "modes": {mode: {key: median(mode, key) for key in keys} for mode in modes},
        **{f"ratio_{mode}": rate[mode] / rate["A"] for mode in modes if mode != "A"},
        "profile": profiles,
    }


SITE_TITLES = {
    "docs": "the Python 3.11 docs, every page (python -m c4scrapy serve)",
    "corpus": "the corpus site: an index and the 136 real-world pages, each at its own path "
    "and under /copy2/ ... /copy8/ (bench/corpus_site.py --copies 8)",
}


def cpu_bound(m: dict[str, float], cores: int) -> float:
    """The most pages/s a mode's CPU per page allows: each process on one core at most (the
    workers on as many as there are of them), all of them on ``cores``."""
    crawl, workers = m["cpu_ms_per_page"], m["worker_cpu_ms_per_page"]
    limits = [1000 / crawl, cores * 1000 / (crawl + workers + m["server_cpu_ms_per_page"])]
    if m["processes"]:
        limits.append(m["processes"] * 1000 / workers)
    return min(limits)


def tables(result: dict[str, Any]) -> list[dict[str, Any]]:
    site = result["site"]
    modes: dict[str, str] = result["labels"]
    plain = result["modes"]["A"]["pages_per_s"]
    rows = []
    for mode, label in modes.items():
        m = result["modes"][mode]
        ratio = "1" if mode == "A" else f"**{result[f'ratio_{mode}']:.2f}**"
        workers = f"{m['processes']:.0f} x {m['worker_rss_mib']:.0f}" if m["processes"] else "-"
        cpu = m["cpu_ms_per_page"] + m["worker_cpu_ms_per_page"] + m["server_cpu_ms_per_page"]
        rows.append(
            [
                label,
                f"{m['responses']:.0f}",
                f"{m['pages_per_s']:.1f}",
                ratio,
                f"{cpu_bound(m, result['cores']) / plain:.2f}",
                f"{m['cpu_ms_per_page']:.1f}",
                f"{m['worker_cpu_ms_per_page']:.1f}",
                f"{m['server_cpu_ms_per_page']:.1f}",
                f"{m['pages_per_s'] * cpu / 1000:.2f}",
                f"{m['maxrss_mib']:.0f}",
                workers,
                f"{m['feed_mib']:.1f}",
            ]
        )
    out = [
        {
            "caption": f"{SITE_TITLES[site]}; median of {len(result['rounds']['A'])} rounds",
            "columns": [
                "crawl",
                "responses",
                "pages/s",
                "vs A",
                f"at most vs A, {result['cores']} cores",
                "CPU ms/page, crawl process",
                "CPU ms/page, extraction processes",
                "CPU ms/page, HTTP server",
                "cores busy",
                "peak RSS MiB",
                "extraction processes x peak RSS MiB",
                "feed MiB",
            ],
            "rows": rows,
            "notes": [
                "Rounds, pages/s: "
                + "; ".join(
                    f"{mode} {', '.join(map(str, result['rounds'][mode]))}" for mode in modes
                )
            ],
        }
    ]
    if result["profile"]:
        names = [*PARTS, "rest"]
        out.append(
            {
                "caption": f"{SITE_TITLES[site]}: CPU ms per page by part, one crawl per mode "
                "under cProfile (about 2x slower than without; compare the shares), with "
                "C4_EXTRACT_PROCESSES=0 so that extraction and markdown run in the profiled "
                "process",
                "columns": ["crawl", *names, "total"],
                "rows": [
                    [
                        modes[mode],
                        *(f"{result['profile'][mode][n]:.1f}" for n in names),
                        f"{sum(result['profile'][mode].values()):.1f}",
                    ]
                    for mode in modes
                    if mode in result["profile"]
                ],
            }
        )
    return out


def print_result(result: dict[str, Any]) -> None:
    print(f"\n## {SITE_TITLES[result['site']]}\n")
    for table in tables(result):
        print(table["caption"])
        print("| " + " | ".join(table["columns"]) + " |")
        print("|" + "---|" * len(table["columns"]))
        for row in table["rows"]:
            print("| " + " | ".join(row) + " |")
        for note in table.get("notes", []):
            print(note)
        print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sites", default="docs,corpus", help="docs, corpus or both")
    parser.add_argument("--docs-pages", type=int, default=1000, help="max_pages on the docs")
    parser.add_argument(
        "--corpus-copies", type=int, default=8, help="each corpus page served N times"
    )
    parser.add_argument("--rounds", type=int, default=3, help="A/B/C rounds (median)")
    parser.add_argument("--profile", action="store_true", help="one cProfile crawl per mode")
    parser.add_argument("--keep", type=Path, help="keep logs, stats and items in this dir")
    parser.add_argument("--json", type=Path, help="write the results (bench/results format)")
    parser.add_argument(
        "--inline", action="store_true", help="also B0 and C0: C4_EXTRACT_PROCESSES=0"
    )
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="a setting for all"
    )
    args = parser.parse_args(argv)
    COMMON.update(item.split("=", 1) for item in args.set)
    global CORPUS_COPIES
    CORPUS_COPIES = args.corpus_copies
    modes = {**MODES, **(INLINE_MODES if args.inline else {})}

    if not (DOCS / "index.html").exists():
        raise SystemExit(f"{DOCS} has no index.html (install python3.11-doc?)")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for site in args.sites.split(","):
            pages = args.docs_pages if site == "docs" else 1 + 136 * args.corpus_copies
            results.append(measure_site(site, pages, args.rounds, args.profile, workdir, modes))
            print_result(results[-1])
    if args.json:
        command = "python bench/crawl_throughput.py " + " ".join(argv or sys.argv[1:])
        data = {
            "title": "Crawl throughput against plain Scrapy",
            "order": 20,
            "date": datetime.date.today().isoformat(),
            "command": command.strip(),
            "machine": "2 shared cores (other sessions busy); compare the modes within one "
            "run: rounds alternate A, B, C",
            "tables": [table for result in results for table in tables(result)],
            "notes": [
                "Target: B and C keep >= 80% of A's pages/s. "
                + " ".join(
                    f"{r['site']}: "
                    + ", ".join(f"{m}/A {r[f'ratio_{m}']:.2f}" for m in modes if m != "A")
                    + "."
                    for r in results
                )
            ],
        }
        args.json.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
