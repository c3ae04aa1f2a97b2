"""Adaptive rendering: ``browser=false``, ``true`` and ``auto`` on a site mixing
server-rendered pages and pages written by JavaScript.

    .venv/bin/python bench/adaptive.py [--ssr 80] [--js 5] [--rounds 3] [--json FILE]

Builds the mixed site of ``tests/_support/mixed_site.py`` (an index, ``--ssr``
server-rendered pages, and ``--js`` pages of each JavaScript kind: an empty app root, a
``<noscript>`` warning, scripts without text), serves it on 127.0.0.1, and crawls all of
it with ``scrapy crawl site -a browser=MODE`` in interleaved rounds (http, browser, auto).
Reported per mode (median of the rounds): pages/s (items over Scrapy's elapsed time,
browser launch included), CPU seconds of the crawl process and its children (Chromium and
Playwright's driver; ``os.wait4``, start-up included), pages rendered, and how many
pages have the same links and markdown words as with ``browser=true``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests._support.mixed_site import write_mixed_site
from tests._support.servers import LocalServer

MODES = {"http": "false", "browser": "true", "auto": "auto"}
NOTE = (
    "Pages rendered with ``auto``: the JavaScript pages (signals), and the first two pages "
    "without a signal (probes, ``C4_BROWSER_AUTO_PROBES``). Same links and markdown words as "
    "``browser=true`` on every page is the goal; ``browser=false`` shows what plain HTTP misses."
)


def crawl(start: str, mode: str, workdir: Path) -> dict[str, Any]:
    out = workdir / f"{mode}.jsonl"
    stats_file = workdir / f"{mode}.stats.json"
    cmd = [sys.executable, "-m", "scrapy", "crawl", "site", "-a", f"url={start}"]
    cmd += ["-a", f"browser={MODES[mode]}", "-O", str(out)]
    settings = {
        "LOG_FILE": str(workdir / f"{mode}.log"),
        "LOG_LEVEL": "INFO",
        "ROBOTSTXT_OBEY": "False",
        "TEST_STATS_FILE": str(stats_file),
        "EXTENSIONS": json.dumps({"tests._support.statsdump.StatsDump": 0}),
        "CONCURRENT_REQUESTS": "8",
    }
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0 or not stats_file.exists():
        raise SystemExit(f"{mode} crawl failed; see {workdir}")
    stats = json.loads(stats_file.read_text(encoding="utf-8"))
    items = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line]
    return {
        "items": {item["url"]: item for item in items},
        "pages_per_s": len(items) / float(stats["elapsed_time_seconds"]),
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rendered": stats.get("playwright/page_count", 0),
    }


def _links_and_words(item: dict[str, Any]) -> tuple[list[str], list[str]]:
    links = item["links"]["internal"] + item["links"]["external"]
    markdown = item["markdown"] or {}
    text = markdown.get("raw_markdown", "") if isinstance(markdown, dict) else markdown
    return sorted(link["href"] for link in links), text.split()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ssr", type=int, default=80, help="server-rendered pages")
    parser.add_argument("--js", type=int, default=5, help="pages of each JavaScript kind")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write the results (bench/results format)")
    args = parser.parse_args(argv)

    runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        paths = write_mixed_site(site, n=args.js, ssr=args.ssr)
        with LocalServer(site) as server:
            start = server.url + "index.html"
            for round_ in range(args.rounds):
                for mode in MODES:
                    workdir = Path(tmp) / f"{mode}-{round_}"
                    workdir.mkdir()
                    runs[mode].append(crawl(start, mode, workdir))
                    print(f"  {mode} {round_ + 1}: {runs[mode][-1]['pages_per_s']:.1f} pages/s")
    reference = runs["browser"][0]["items"]
    rows = []
    for mode, results in runs.items():
        matching = [
            sum(
                1
                for url, item in run["items"].items()
                if url in reference and _links_and_words(item) == _links_and_words(reference[url])
            )
            for run in results
        ]
        rate = statistics.median(r["pages_per_s"] for r in results)
        rows.append(
            [
                f"``browser={MODES[mode]}``",
                f"{statistics.median(len(r['items']) for r in results):.0f}",
                f"{rate:.1f}",
                f"{statistics.median(r['cpu'] for r in results):.1f}",
                f"{statistics.median(r['rendered'] for r in results):.0f}",
                f"{min(matching)} / {len(reference)}",
            ]
        )
        print(" | ".join(rows[-1]))
    js_pages = 3 * args.js
    if args.json:
        data = {
            "title": "Adaptive rendering",
            "order": 45,
            "date": datetime.date.today().isoformat(),
            "command": ("python bench/adaptive.py " + " ".join(argv or sys.argv[1:])).strip(),
            "machine": "2 shared cores (other sessions busy); the modes run interleaved",
            "tables": [
                {
                    "caption": f"The mixed site: an index, {args.ssr} server-rendered pages and "
                    f"{js_pages} pages written by JavaScript ({len(paths)} in all); "
                    f"``scrapy crawl site``, median of {args.rounds} rounds",
                    "columns": [
                        "mode",
                        "items",
                        "pages/s",
                        "CPU s (crawl + Chromium)",
                        "pages rendered",
                        "pages as with browser=true",
                    ],
                    "rows": rows,
                    "notes": [NOTE],
                }
            ],
        }
        args.json.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
