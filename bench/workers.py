"""Throughput of one vs several ``scrapy crawl site`` workers sharing a Redis frontier.

    .venv/bin/python bench/workers.py [--pages 300] [--workers 1,2] [--repeat 1] [--query Q]
                                      [--latency S --concurrency N] [--trap]

Serves the Python 3.11 docs (``/usr/share/doc/python3.11/html``) on 127.0.0.1, starts a
private ``redis-server``, and crawls ``--pages`` pages (``-a max_pages``) with:

- ``memory``: one plain ``scrapy crawl site`` (Scrapy's own scheduler, no Redis): the
  baseline, to show what the shared frontier costs;
- ``redis xN``: N processes with ``SCHEDULER = "c4scrapy.contrib.redis.RedisScheduler"``
  (``SCHEDULER_PERSIST=True``), started together, for each N in ``--workers``;
- with ``--trap``, scrapy-redis' own scheduler next to c4scrapy's: ``stock x2`` (2 workers,
  ``SCHEDULER_PERSIST=True``), then the SCHEDULER_PERSIST trap: 2 workers with scrapy-redis'
  default ``SCHEDULER_PERSIST=False``, the first of which stops after 20 items
  (``CLOSESPIDER_ITEMCOUNT``), with scrapy-redis' scheduler (``stock early``) and with
  c4scrapy's (``c4 early``).

Each row gives the wall time from starting the processes to the last one exiting
(start-up included), the crawl time from the first spider opened to the last one closed
(start-up excluded, the idle wait included), pages (unique items) per second of crawl
time, its ratio to ``redis x1``, the items per
worker, the unique pages, the items and server requests for a page already crawled (must
be 0), and the CPU seconds of the crawl processes (the work is the same; a speed-up needs
idle cores: compare with the load average printed above the table). With ``--repeat`` the
configurations run interleaved and the table shows medians, so machine load hits all
alike. On 2 cores the ceiling for 2 workers is 2x (extraction is CPU-bound) minus the
HTTP server's own share of the CPU.

``--latency S --concurrency N`` make each answer take S seconds and each worker keep at
most N requests in flight (``CONCURRENT_REQUESTS``): a crawl bound by latency and
politeness rather than CPU, where more workers help even on a busy machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests._support.services import DOCS_SITE, DocsSite, RedisServer

EARLY_STOP = 20


@dataclasses.dataclass
class Config:
    name: str
    workers: int
    scheduler: str | None = None  # None: Scrapy's own, no Redis
    persist: bool = True
    early_stop: bool = False  # the first worker stops after EARLY_STOP items


@dataclasses.dataclass
class Result:
    wall: float
    span: float  # first spider opened -> last spider closed: start-up excluded
    cpu: float
    items: list[int]
    unique: int
    duplicate_items: int
    refetched: int


def crawl(
    workdir: Path,
    site: DocsSite,
    pages: int,
    config: Config,
    redis_url: str,
    query: str,
    concurrency: int,
) -> Result:
    args = {"url": site.url, "max_pages": str(pages)} | ({"query": query} if query else {})
    settings = {
        "LOG_LEVEL": "INFO",
        "ROBOTSTXT_OBEY": "False",
        "TELNETCONSOLE_ENABLED": "False",
        "FEED_EXPORT_FIELDS": "url",
    }
    if concurrency:
        settings |= {"CONCURRENT_REQUESTS": str(concurrency)}
        settings |= {"CONCURRENT_REQUESTS_PER_DOMAIN": str(concurrency)}
    if config.scheduler:
        settings |= {
            "SCHEDULER": config.scheduler,
            "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
            "REDIS_URL": redis_url,
            "SCHEDULER_PERSIST": str(config.persist),
            "C4_REDIS_IDLE_TIMEOUT": "1",
        }
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    processes = []
    cpu_before = _children_cpu()
    started = time.monotonic()
    for index in range(config.workers):
        out = workdir / f"worker{index}.jsonl"
        here = {
            **settings,
            "LOG_FILE": str(workdir / f"worker{index}.log"),
            "EXTENSIONS": json.dumps({"tests._support.statsdump.StatsDump": 0}),
            "TEST_STATS_FILE": str(workdir / f"worker{index}.stats.json"),
        }
        if config.early_stop and index == 0:
            here["CLOSESPIDER_ITEMCOUNT"] = str(EARLY_STOP)
        cmd = [sys.executable, "-m", "scrapy", "crawl", "site", "-O", str(out)]
        cmd += [part for key, value in args.items() for part in ("-a", f"{key}={value}")]
        cmd += [part for key, value in here.items() for part in ("-s", f"{key}={value}")]
        processes.append((out, subprocess.Popen(cmd, cwd=ROOT, env=env)))
    for _, process in processes:
        process.wait()
    wall = time.monotonic() - started
    lines = [out.read_text().splitlines() if out.exists() else [] for out, _ in processes]
    stats = []
    for index in range(config.workers):
        stats_file = workdir / f"worker{index}.stats.json"
        if stats_file.exists():
            stats.append(json.loads(stats_file.read_text()))
        else:  # the crawl did not run: say why rather than show a silent 0 in the table
            log = (workdir / f"worker{index}.log").read_text().splitlines()
            print("\n".join(log[-15:]), file=sys.stderr)
    opened = min((datetime.fromisoformat(s["start_time"]) for s in stats), default=None)
    closed = max((datetime.fromisoformat(s["finish_time"]) for s in stats), default=None)
    urls = Counter(json.loads(line)["url"] for worker in lines for line in worker)
    return Result(
        wall=wall,
        span=(closed - opened).total_seconds() if opened and closed else wall,
        cpu=_children_cpu() - cpu_before,
        items=[len(worker) for worker in lines],
        unique=len(urls),
        duplicate_items=sum(n - 1 for n in urls.values()),
        refetched=sum(n - 1 for n in site.page_hits.values()),
    )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--query", default="", help="-a query=... (link previews on)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per answer")
    parser.add_argument("--concurrency", type=int, default=0, help="CONCURRENT_REQUESTS")
    parser.add_argument("--trap", action="store_true", help="also the SCHEDULER_PERSIST trap")
    opts = parser.parse_args()
    if not (DOCS_SITE / "index.html").exists():
        print(f"{DOCS_SITE} is missing: apt-get install python3.11-doc", file=sys.stderr)
        return 2
    ours = "c4scrapy.contrib.redis.RedisScheduler"
    configs = [Config("memory", 1)]
    configs += [Config(f"redis x{n}", int(n), ours) for n in opts.workers.split(",")]
    if opts.trap:
        stock = "scrapy_redis.scheduler.Scheduler"
        configs += [
            Config("stock x2", 2, stock),
            Config("stock early", 2, stock, persist=False, early_stop=True),
            Config("c4 early", 2, ours, persist=False, early_stop=True),
        ]
    results: dict[str, list[Result]] = {config.name: [] for config in configs}
    with tempfile.TemporaryDirectory(prefix="c4-workers-") as tmp:
        tmpdir = Path(tmp)
        with RedisServer("/usr/bin/redis-server", tmpdir / "redis") as redis:
            for round_ in range(opts.repeat):
                for config in configs:
                    redis.client.flushdb()
                    workdir = tmpdir / f"{config.name.replace(' ', '-')}-{round_}"
                    workdir.mkdir()
                    with DocsSite(latency=opts.latency) as site:
                        result = crawl(
                            workdir,
                            site,
                            opts.pages,
                            config,
                            redis.url,
                            opts.query,
                            opts.concurrency,
                        )
                    results[config.name].append(result)
                    print(f"  round {round_ + 1} {config.name}: {result}", file=sys.stderr)
    _print_table(opts, configs, results)
    return 0


def _print_table(
    opts: argparse.Namespace, configs: list[Config], results: dict[str, list[Result]]
) -> None:
    print(
        f"\n{opts.pages} pages of the Python docs, query={opts.query!r}, latency {opts.latency} s,"
        f" concurrency {opts.concurrency or 'default'}, {opts.repeat} round(s),"
        f" {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end"
    )
    header = (
        f"{'config':<12} {'wall s':>7} {'crawl s':>7} {'pages/s':>8} {'speed-up':>8}"
        f" {'items per worker':<17} {'unique':>6} {'dup items':>9} {'refetched':>9} {'CPU s':>6}"
    )
    print(header)
    print("-" * len(header))
    one = results.get("redis x1")
    base = statistics.median(r.unique / r.span for r in one) if one else None
    for config in configs:
        runs = results[config.name]
        wall = statistics.median(r.wall for r in runs)
        span = statistics.median(r.span for r in runs)
        rate = statistics.median(r.unique / r.span for r in runs)
        last = runs[-1]
        speedup = f"{rate / base:.2f}x" if base else "-"
        print(
            f"{config.name:<12} {wall:>7.1f} {span:>7.1f} {rate:>8.1f} {speedup:>8}"
            f" {'/'.join(map(str, last.items)):<17} {last.unique:>6}"
            f" {max(r.duplicate_items for r in runs):>9} {max(r.refetched for r in runs):>9}"
            f" {statistics.median(r.cpu for r in runs):>6.1f}"
        )


if __name__ == "__main__":
    sys.exit(main())
