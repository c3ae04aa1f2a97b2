"""Throughput of one vs several ``scrapy crawl site`` workers sharing a Redis frontier.

    .venv/bin/python bench/workers.py [--pages 300] [--workers 1,2] [--repeat 1] [--query Q]

Serves the Python 3.11 docs (``/usr/share/doc/python3.11/html``) on 127.0.0.1, starts a
private ``redis-server``, and crawls ``--pages`` pages (``-a max_pages``, one budget shared
by all workers) with:

- ``memory``: one plain ``scrapy crawl site`` (Scrapy's own scheduler, no Redis): the
  baseline, to show what the shared frontier costs;
- ``redis xN``: N processes with ``SCHEDULER = "c4scrapy.distributed.RedisScheduler"``,
  started together, for each N in ``--workers``.

Each row gives the wall time from starting the processes to the last one exiting
(start-up included), pages per second, the speed-up over ``redis x1``, the items per
worker, and how many pages the server was asked for more than once (must be 0). With
``--repeat`` the configurations run interleaved and the table shows medians, so machine
load hits all alike. On a 2-core machine the ceiling for 2 workers is 2x (each worker
is CPU-bound on extraction) minus the HTTP server's own share of the CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.services import DOCS_SITE, DocsSite, RedisServer


def crawl(
    workdir: Path, site_url: str, pages: int, workers: int, redis_url: str | None, query: str
) -> dict[str, object]:
    args = {"url": site_url, "max_pages": str(pages)}
    if query:
        args["query"] = query
    settings = {
        "LOG_LEVEL": "INFO",
        "ROBOTSTXT_OBEY": "False",
        "TELNETCONSOLE_ENABLED": "False",
        "FEED_EXPORT_FIELDS": "url",
    }
    if redis_url:
        settings |= {
            "SCHEDULER": "c4scrapy.distributed.RedisScheduler",
            "REDIS_URL": redis_url,
            "SCHEDULER_PERSIST": "True",
            "C4_REDIS_IDLE_TIMEOUT": "1",
        }
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    processes = []
    started = time.monotonic()
    for index in range(workers):
        out = workdir / f"worker{index}.jsonl"
        cmd = [sys.executable, "-m", "scrapy", "crawl", "site", "-O", str(out)]
        cmd += [part for key, value in args.items() for part in ("-a", f"{key}={value}")]
        settings_here = {**settings, "LOG_FILE": str(workdir / f"worker{index}.log")}
        cmd += [part for key, value in settings_here.items() for part in ("-s", f"{key}={value}")]
        processes.append((out, subprocess.Popen(cmd, cwd=ROOT, env=env)))
    for _, process in processes:
        process.wait()
    wall = time.monotonic() - started
    per_worker = [len(out.read_text().splitlines()) for out, _ in processes]
    urls = Counter(
        json.loads(line)["url"] for out, _ in processes for line in out.read_text().splitlines()
    )
    return {
        "wall": wall,
        "items": per_worker,
        "unique": len(urls),
        "duplicate_items": sum(n - 1 for n in urls.values()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--query", default="", help="-a query=... (link previews on)")
    opts = parser.parse_args()
    counts = [int(n) for n in opts.workers.split(",")]
    if not (DOCS_SITE / "index.html").exists():
        print(f"{DOCS_SITE} is missing: apt-get install python3.11-doc", file=sys.stderr)
        return 2
    configs = [("memory", 1, False)] + [(f"redis x{n}", n, True) for n in counts]
    results: dict[str, list[dict[str, object]]] = {name: [] for name, _, _ in configs}
    refetched: dict[str, list[int]] = {name: [] for name, _, _ in configs}
    with tempfile.TemporaryDirectory(prefix="c4-workers-") as tmp:
        tmpdir = Path(tmp)
        with RedisServer("/usr/bin/redis-server", tmpdir / "redis") as redis:
            for round_ in range(opts.repeat):
                for name, workers, shared in configs:
                    redis.client.flushdb()
                    workdir = tmpdir / f"{name.replace(' ', '')}-{round_}"
                    workdir.mkdir()
                    with DocsSite() as site:
                        result = crawl(
                            workdir,
                            site.url,
                            opts.pages,
                            workers,
                            redis.url if shared else None,
                            opts.query,
                        )
                        hits = site.page_hits
                    results[name].append(result)
                    refetched[name].append(sum(n - 1 for n in hits.values()))
                    print(
                        f"  round {round_ + 1} {name}: {result['wall']:.1f} s, items {result['items']}",
                        file=sys.stderr,
                    )
    load = os.getloadavg()[0]
    print(f"\n{opts.pages} pages of the Python docs, query={opts.query!r}, "
          f"{opts.repeat} round(s), {os.cpu_count()} CPUs, load average {load:.1f}")  # fmt: skip
    header = (
        f"{'config':<10} {'wall s':>7} {'pages/s':>8} {'speed-up':>8} {'items per worker':<20}"
    )
    header += f" {'unique':>6} {'dup items':>9} {'refetched':>9}"
    print(header)
    print("-" * len(header))
    base = statistics.median(r["wall"] for r in results["redis x1"]) if 1 in counts else None
    for name, _, _ in configs:
        wall = statistics.median(float(r["wall"]) for r in results[name])
        last = results[name][-1]
        speedup = f"{base / wall:.2f}x" if base else "-"
        print(
            f"{name:<10} {wall:>7.1f} {opts.pages / wall:>8.1f} {speedup:>8} "
            f"{'/'.join(map(str, last['items'])):<20} {last['unique']:>6} "
            f"{max(r['duplicate_items'] for r in results[name]):>9} {max(refetched[name]):>9}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
