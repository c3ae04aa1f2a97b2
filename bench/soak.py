"""Memory over a long crawl: does anything grow with the pages crawled?

    .venv/bin/python bench/soak.py [--copies 40] [--json FILE]

Serves the corpus site (``bench/corpus_site.py --copies N``: the 136 real-world pages N
times over, 5,441 pages with 40 copies) and crawls all of it with ``scrapy crawl site``
(feed export on, the project's settings), once as is and once with ``-a query=...``
(link previews of every page's internal links, scored). Every 0.25 s it reads the resident
memory (``VmRSS``) of the crawl process and of its descendants (the extraction workers
and their forkserver) and how many items the feed holds. Reported per crawl: RSS at 10%,
50% and 100% of the pages, the growth from 25% to 100% per 1,000 pages, and the peaks.
Crawl4AI users report memory that grows with every page (issues #742, #980, #1608); a crawl
whose caches are bounded levels off once they are full.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import crawl_throughput

ROOT = HERE.parent
QUERY = "privacy policy cookies"
SAMPLE_SECONDS = 0.25


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (from /proc, by parent pid)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class Sampler(threading.Thread):
    """(seconds, items in the feed, crawl RSS KiB, descendants' RSS KiB), 4 times a second."""

    def __init__(self, pid: int, feed: Path) -> None:
        super().__init__(daemon=True)
        self.pid, self.feed = pid, feed
        self.samples: list[tuple[float, int, int, int]] = []
        self.done = threading.Event()

    def run(self) -> None:
        started, items, offset = time.perf_counter(), 0, 0
        while not self.done.is_set():
            if self.feed.exists():
                with self.feed.open("rb") as fh:
                    fh.seek(offset)
                    chunk = fh.read()
                items += chunk.count(b"\n")
                offset += len(chunk)
            own = rss_kib(self.pid)
            if own:
                others = sum(rss_kib(child) for child in descendants(self.pid))
                self.samples.append((time.perf_counter() - started, items, own, others))
            self.done.wait(SAMPLE_SECONDS)


def soak(base: str, pages: int, query: str | None, workdir: Path) -> dict[str, Any]:
    label = "query" if query else "plain"
    feed = workdir / f"{label}.jsonl"
    cmd = [sys.executable, "-m", "scrapy", "crawl", "site", "-a", f"url={base}"]
    cmd += ["-a", f"max_pages={pages}", "-O", str(feed)]
    if query:
        cmd += ["-a", f"query={query}"]
    stats_file = workdir / f"{label}.stats.json"
    settings = {
        **crawl_throughput.COMMON,
        "LOG_FILE": str(workdir / f"{label}.log"),
        "BENCH_STATS_FILE": str(stats_file),
        "EXTENSIONS": json.dumps({"crawl_throughput.StatsToFile": 0}),
    }
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)])}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    sampler = Sampler(proc.pid, feed)
    sampler.start()
    proc.wait()
    sampler.done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"the {label} crawl failed; see {workdir}")
    samples = sampler.samples
    total = samples[-1][1]
    stats = json.loads(stats_file.read_text(encoding="utf-8"))
    previews = "-"
    if query:
        previews = f"{stats.get('c4/previews/fetched', 0)} / {stats.get('c4/previews/evicted', 0)}"

    def at(share: float) -> tuple[float, int, int, int]:
        return next(s for s in samples if s[1] >= share * total)

    quarter, end = at(0.25), samples[-1]
    growth = (end[2] - quarter[2]) / max(end[1] - quarter[1], 1) * 1000 / 1024
    return {
        "crawl": f"``scrapy crawl site``{f' -a query={query!r}' if query else ''}",
        "items": total,
        "seconds": end[0],
        "rss": {f"{int(share * 100)}%": at(share)[2] / 1024 for share in (0.1, 0.5, 1.0)},
        "growth_mib_per_1000": growth,
        "peak_mib": max(s[2] for s in samples) / 1024,
        "workers_50_mib": at(0.5)[3] / 1024,
        "workers_peak_mib": max(s[3] for s in samples) / 1024,
        "previews": previews,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=40, help="corpus copies served")
    parser.add_argument("--json", type=Path, help="write the results (bench/results format)")
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="a setting for all"
    )
    args = parser.parse_args(argv)
    crawl_throughput.COMMON.update(item.split("=", 1) for item in args.set)
    crawl_throughput.CORPUS_COPIES = args.copies
    pages = 1 + 136 * args.copies
    server, base = crawl_throughput.start_server("corpus")
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for query in (None, QUERY):
                result = soak(base, pages, query, Path(tmp))
                rss = result["rss"]
                rows.append(
                    [
                        result["crawl"],
                        str(result["items"]),
                        f"{result['seconds']:.0f}",
                        *(f"{value:.0f}" for value in rss.values()),
                        f"{result['growth_mib_per_1000']:+.1f}",
                        f"{result['peak_mib']:.0f}",
                        f"{result['workers_50_mib']:.0f} / {result['workers_peak_mib']:.0f}",
                        result["previews"],
                    ]
                )
    finally:
        server.kill()
    columns = [
        "crawl",
        "items",
        "s",
        "crawl RSS MiB at 10%",
        "at 50%",
        "at 100%",
        "MiB per 1,000 pages, 25% to 100%",
        "crawl peak MiB",
        "workers + forkserver MiB at 50% / peak",
        "previews fetched / evicted from the cache",
    ]
    caption = (
        f"The corpus site served {args.copies} times ({pages} pages), crawled whole, feed "
        "export on; RSS sampled every 0.25 s"
    )
    print(f"\n{caption}\n")
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    if args.json:
        result = {
            "title": "Memory over a long crawl",
            "order": 65,
            "date": datetime.date.today().isoformat(),
            "command": "python bench/soak.py " + " ".join(argv or sys.argv[1:]),
            "machine": "2 shared cores, 24 GB",
            "tables": [{"caption": caption, "columns": columns, "rows": rows}],
        }
        args.json.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
