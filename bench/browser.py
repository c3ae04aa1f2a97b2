"""Browser pages on a long crawl: throughput, leaks and Chromium's memory.

    .venv/bin/python bench/browser.py [--pages 300] [--concurrency 8] [--repeat 1]
                                      [--modes http,browser,no-images,block-images,captures]
                                      [--capture-concurrency 1,2,4,8] [--json FILE]

Serves the Python 3.11 docs (``/usr/share/doc/python3.11/html``) on 127.0.0.1, finds the
first ``--pages`` pages with a plain ``scrapy crawl site``, then fetches exactly those
pages once per mode with ``scrapy runspider bench/browser.py`` (the ``url_list`` spider
below, the project's settings and add-on):

- ``http``: plain Scrapy HTTP (the baseline);
- ``browser``: every page through scrapy-playwright and the system Chromium;
- ``unguarded``: browser with ``C4_ALLOW_PRIVATE_ADDRESSES`` (Chromium without the guard's
  proxy: what the proxy costs);
- ``no-images``: browser with ``exclude_all_images`` (a per-page route aborts images);
- ``block-images``: browser with ``C4_BROWSER_BLOCK_RESOURCES=image`` (images aborted,
  still reported from the HTML);
- ``screenshot``: browser with ``screenshot`` (files in a temporary
  ``C4_BROWSER_CAPTURES_DIR``);
- ``captures``: browser with ``screenshot``, ``pdf`` and ``capture_mhtml`` (files too).

``screenshot`` and ``captures`` run once per ``--capture-concurrency`` value
(``C4_BROWSER_CAPTURE_CONCURRENCY``), shown as ``screenshot@N``; for them the table adds
the median seconds a page waited for a capture slot and spent capturing
(``item.c4["browser"]["capture_wait_seconds"]`` and ``capture_seconds``).

While each crawl runs, a thread samples every Chromium process the crawl started (RSS and
PSS from ``/proc``, every 0.2 s). The table gives pages/s (items over Scrapy's elapsed
time, browser launch included; with ``--repeat N`` the median round, the modes run
interleaved so that the machine's load hits all alike) and the ratio to ``http``, the peak
summed PSS and RSS of Chromium (RSS counts shared pages once per process; PSS is the
real share) in the first and second half of the crawl (bounded memory: the second half
is not higher; with ``--repeat``, the highest of the rounds), the Scrapy process's peak
RSS, scrapy-playwright's page counters (pages opened vs closed: equal means no page left
open; contexts), image requests vs aborted ones, and the Chromium processes still alive
after the crawl exited (must be 0).
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
from pathlib import Path
from typing import Any

import scrapy

ROOT = Path(__file__).resolve().parent.parent
DOCS_SITE = Path("/usr/share/doc/python3.11/html")

MODES: dict[str, dict[str, str]] = {
    "http": {},
    "browser": {"C4_BROWSER": "True"},
    "unguarded": {"C4_BROWSER": "True", "C4_ALLOW_PRIVATE_ADDRESSES": "True"},
    "no-images": {"C4_BROWSER": "True", "C4_EXCLUDE_ALL_IMAGES": "True"},
    "block-images": {"C4_BROWSER": "True", "C4_BROWSER_BLOCK_RESOURCES": "image"},
    "screenshot": {"C4_BROWSER": "True", "C4_SCREENSHOT": "True"},
    "captures": {
        "C4_BROWSER": "True",
        "C4_SCREENSHOT": "True",
        "C4_PDF": "True",
        "C4_CAPTURE_MHTML": "True",
    },
}
CAPTURE_MODES = ("screenshot", "captures")


class UrlListSpider(scrapy.Spider):
    """``-a urls=FILE``: request each URL of FILE (one a line); c4scrapy emits the items."""

    name = "url_list"

    def __init__(self, urls: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.urls = Path(urls).read_text().split()

    async def start(self):
        for url in self.urls:
            yield scrapy.Request(url, callback=self.parse)

    def parse(self, response):
        return None


# --- measuring ----------------------------------------------------------------------------


def _process_table() -> dict[int, tuple[int, str]]:
    table: dict[int, tuple[int, str]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry.name}/cmdline", "rb") as fh:
                command = fh.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):
            continue
        if fields[0] != "Z":
            table[int(entry.name)] = (int(fields[1]), command)
    return table


def _memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in KiB, (0, 0) when it is gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            values = dict(line.split(":", 1) for line in fh if ":" in line)
        return int(values["Rss"].split()[0]), int(values["Pss"].split()[0])
    except (OSError, KeyError, ValueError):
        return 0, 0


class MemorySampler(threading.Thread):
    """Samples the Chromium processes under ``root_pid`` (and ``root_pid`` itself)."""

    def __init__(self, root_pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.root_pid = root_pid
        self.interval = interval
        self.samples: list[tuple[float, int, int, int, int]] = []  # t, rss, pss, procs, py
        self.chromium_pids: set[int] = set()
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            table = _process_table()
            browser = [pid for pid, (_, cmd) in table.items() if self._under_root(pid, table)]
            browser = [pid for pid in browser if "chromium" in table[pid][1]]
            self.chromium_pids.update(browser)
            memory = [_memory_kib(pid) for pid in browser]
            python_rss, _ = _memory_kib(self.root_pid)
            self.samples.append(
                (
                    time.monotonic(),
                    sum(rss for rss, _ in memory),
                    sum(pss for _, pss in memory),
                    len(browser),
                    python_rss,
                )
            )
            self.stopping.wait(self.interval)

    def _under_root(self, pid: int, table: dict[int, tuple[int, str]]) -> bool:
        while pid > 1:
            pid = table.get(pid, (0, ""))[0]
            if pid == self.root_pid:
                return True
        return False

    def halves(self) -> tuple[dict[str, int], dict[str, int]]:
        """Peak (PSS, RSS, processes) over the first and the second half of the crawl."""
        with_browser = [s for s in self.samples if s[3]]
        middle = len(with_browser) // 2
        return _peaks(with_browser[:middle]), _peaks(with_browser[middle:])

    def survivors(self) -> int:
        table = _process_table()
        return sum(1 for pid in self.chromium_pids if pid in table)


def _peaks(samples: list[tuple[float, int, int, int, int]]) -> dict[str, int]:
    return {
        "rss": max((s[1] for s in samples), default=0),
        "pss": max((s[2] for s in samples), default=0),
        "procs": max((s[3] for s in samples), default=0),
    }


# --- crawling -----------------------------------------------------------------------------


def run_scrapy(args: list[str], workdir: Path, settings: dict[str, str]) -> dict[str, Any]:
    stats_file = workdir / "stats.json"
    out = workdir / "items.jsonl"
    all_settings = {
        "LOG_LEVEL": "INFO",
        "LOG_FILE": str(workdir / "crawl.log"),
        "ROBOTSTXT_OBEY": "False",
        "TELNETCONSOLE_ENABLED": "False",
        "C4_PROGRESS": "False",
        "FEED_EXPORT_FIELDS": "url,success,media,c4",
        "TEST_STATS_FILE": str(stats_file),
        "EXTENSIONS": json.dumps({"tests._support.statsdump.StatsDump": 0}),
        **settings,
    }
    command = [sys.executable, "-m", "scrapy", *args, "-O", str(out)]
    for key, value in all_settings.items():
        command += ["-s", f"{key}={value}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    sampler = MemorySampler(process.pid)
    sampler.start()
    returncode = process.wait()
    wall = time.monotonic() - started
    sampler.stopping.set()
    sampler.join()
    time.sleep(0.5)  # let the reaper catch up before counting survivors
    items = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    return {
        "returncode": returncode,
        "wall": wall,
        "items": items,
        "stats": stats,
        "memory": sampler.halves(),
        "python_rss": max((s[4] for s in sampler.samples), default=0),
        "survivors": sampler.survivors(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8, help="CONCURRENT_REQUESTS")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--repeat", type=int, default=1, help="rounds, modes interleaved")
    parser.add_argument("--json", type=Path, help="write the figures as JSON here")
    parser.add_argument(
        "--capture-concurrency",
        default="",
        help="C4_BROWSER_CAPTURE_CONCURRENCY values for the capture modes, e.g. 1,2,4,8",
    )
    options = parser.parse_args()
    if not (DOCS_SITE / "index.html").exists():
        print(f"{DOCS_SITE} is missing: apt-get install python3.11-doc", file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT))
    from tests._support.servers import LocalServer

    class QuietServer(LocalServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            if not isinstance(sys.exc_info()[1], ConnectionError):  # the browser hung up
                super().handle_error(request, client_address)

    modes = options.modes.split(",")
    unknown = set(modes) - set(MODES)
    if unknown:
        parser.error(f"unknown modes {sorted(unknown)}; choose from {list(MODES)}")
    limits = [int(n) for n in options.capture_concurrency.split(",") if n.strip()]
    runs_of: list[tuple[str, str, dict[str, str]]] = []  # (label, mode, settings)
    for mode in modes:
        if mode in CAPTURE_MODES and limits:
            runs_of += [
                (f"{mode}@{n}", mode, {"C4_BROWSER_CAPTURE_CONCURRENCY": str(n)}) for n in limits
            ]
        else:
            runs_of.append((mode, mode, {}))
    common = {
        "CONCURRENT_REQUESTS": str(options.concurrency),
        "CONCURRENT_REQUESTS_PER_DOMAIN": str(options.concurrency),
    }
    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="c4-bench-browser-") as tmp,
        QuietServer(DOCS_SITE) as site,
    ):
        workdir = Path(tmp)
        (workdir / "discover").mkdir()
        found = run_scrapy(
            ["crawl", "site", "-a", f"url={site.url}", "-a", f"max_pages={options.pages}"],
            workdir / "discover",
            {**common, "FEED_EXPORT_FIELDS": "url,success"},
        )
        urls = [item["url"] for item in found["items"] if item["success"]][: options.pages]
        url_file = workdir / "urls.txt"
        url_file.write_text("\n".join(urls) + "\n")
        print(f"{len(urls)} pages of {site.url}, CONCURRENT_REQUESTS={options.concurrency}")
        runs: dict[str, list[dict[str, Any]]] = {label: [] for label, _, _ in runs_of}
        for round_ in range(options.repeat):
            for label, mode, extra in runs_of:
                run_dir = workdir / f"{label}-{round_}"
                run_dir.mkdir()
                settings = {**common, **MODES[mode], **extra}
                if mode in CAPTURE_MODES:
                    settings["C4_BROWSER_CAPTURES_DIR"] = str(run_dir / "captures")
                result = run_scrapy(
                    ["runspider", str(Path(__file__).resolve()), "-a", f"urls={url_file}"],
                    run_dir,
                    settings,
                )
                runs[label].append(result)
                print(f"  {label}: {len(result['items'])} items in {result['wall']:.1f} s")
        medians = {label: _median_run(results) for label, results in runs.items()}
    base = medians.get("http")
    rows = [_figures(label, result, base) for label, result in medians.items()]
    _print_table(rows)
    if options.json:
        figures = {
            "command": "bench/browser.py " + " ".join(sys.argv[1:]),
            "date": time.strftime("%Y-%m-%d"),
            "pages": len(urls),
            "concurrent_requests": options.concurrency,
            "rows": rows,
        }
        options.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def _rate(result: dict[str, Any]) -> float:
    elapsed = result["stats"].get("elapsed_time_seconds") or result["wall"]
    return len(result["items"]) / elapsed


def _median_run(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median pages/s, with the memory peaks of all runs of the mode."""
    median = sorted(results, key=_rate)[len(results) // 2]
    halves = [r["memory"] for r in results]
    peak = {
        key: tuple(max(h[i][key] for h in halves) for i in (0, 1))
        for key in ("pss", "rss", "procs")
    }
    memory = tuple({key: peak[key][i] for key in peak} for i in (0, 1))
    return {
        **median,
        "memory": memory,
        "python_rss": max(r["python_rss"] for r in results),
        "survivors": sum(r["survivors"] for r in results),
    }


def _figures(label: str, result: dict[str, Any], base: dict[str, Any] | None) -> dict[str, Any]:
    """One row: the figures of a mode's (median) run."""
    stats = result["stats"]
    first, second = result["memory"]
    infos = [(item.get("c4") or {}).get("browser") or {} for item in result["items"]]
    row: dict[str, Any] = {
        "mode": label,
        "pages": len(result["items"]),
        "failed": sum(1 for item in result["items"] if not item["success"]),
        "pages_per_s": round(_rate(result), 3),
        "vs_http": round(_rate(result) / _rate(base), 3) if base else None,
        "scrapy_rss_mib": round(result["python_rss"] / 1024),
    }
    if label != "http":
        row.update(
            chromium_pss_mib=[round(first["pss"] / 1024), round(second["pss"] / 1024)],
            chromium_rss_mib=round(max(first["rss"], second["rss"]) / 1024),
            chromium_procs=max(first["procs"], second["procs"]),
            pages_opened=stats.get("playwright/page_count", 0),
            pages_closed=stats.get("playwright/page_count/closed", 0),
            contexts=stats.get("playwright/context_count", 0),
            image_requests=stats.get("playwright/request_count/resource_type/image", 0),
            image_requests_aborted=stats.get("playwright/request_count/aborted", 0),
            left_alive=result["survivors"],
        )
    for key in ("capture_wait_seconds", "capture_seconds"):
        values = sorted(info[key] for info in infos if key in info)
        if values:
            row[key] = {"median": values[len(values) // 2], "max": values[-1]}
    return row


def _print_table(rows: list[dict[str, Any]]) -> None:
    header = (
        "| mode | pages | failed | pages/s | vs http | Chromium PSS peak 1st/2nd half (MiB) "
        "| RSS peak (MiB) | procs | Scrapy RSS (MiB) | pages opened/closed | contexts "
        "| images req/aborted | left alive | capture wait s, median (max) "
        "| capture s, median (max) |"
    )
    print()
    print(header)
    print("|" + "---|" * header.count(" | ") + "---|")

    def timing(row: dict[str, Any], key: str) -> str:
        value = row.get(key)
        return f"{value['median']:.2f} ({value['max']:.1f})" if value else "-"

    for row in rows:
        ratio = "-" if row["vs_http"] is None else f"{row['vs_http']:.3f}"
        cells = [row["mode"], row["pages"], row["failed"], f"{row['pages_per_s']:.2f}", ratio]
        if "chromium_pss_mib" in row:
            cells += [
                " / ".join(map(str, row["chromium_pss_mib"])),
                row["chromium_rss_mib"],
                row["chromium_procs"],
                row["scrapy_rss_mib"],
                f"{row['pages_opened']}/{row['pages_closed']}",
                row["contexts"],
                f"{row['image_requests']}/{row['image_requests_aborted']}",
                row["left_alive"],
            ]
        else:
            cells += ["-", "-", "-", row["scrapy_rss_mib"], "-", "-", "-", "-"]
        cells += [timing(row, "capture_wait_seconds"), timing(row, "capture_seconds")]
        print("| " + " | ".join(str(cell) for cell in cells) + " |")


if __name__ == "__main__":
    sys.exit(main())
