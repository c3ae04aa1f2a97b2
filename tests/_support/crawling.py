"""Run a real ``scrapy crawl`` in a subprocess, as users do, and read its items and stats."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


@dataclasses.dataclass
class CrawlRun:
    items: list[dict[str, Any]]
    stats: dict[str, Any]
    log: str
    returncode: int
    stdout: str = ""

    def by_url(self) -> dict[str, dict[str, Any]]:
        return {item["url"]: item for item in self.items}


def run_crawl(
    tmp_path: Path,
    spider: str = "site",
    args: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    *,
    timeout: float = 180,
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
) -> CrawlRun:
    """``scrapy crawl SPIDER -a k=v ... -s k=v ... -O items.jsonl``, stats dumped as JSON."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    out = tmp_path / "items.jsonl"
    stats_file = tmp_path / "stats.json"
    log_file = tmp_path / "crawl.log"
    all_settings = {
        "LOG_FILE": str(log_file),
        "LOG_LEVEL": "DEBUG",
        "TEST_STATS_FILE": str(stats_file),
        "EXTENSIONS": json.dumps({"tests._support.statsdump.StatsDump": 0}),
        "ROBOTSTXT_OBEY": "False",
        "TELNETCONSOLE_ENABLED": "False",
        **{k: v if isinstance(v, str) else json.dumps(v) for k, v in (settings or {}).items()},
    }
    cmd = [sys.executable, "-m", "scrapy", "crawl", spider, "-O", str(out)]
    for key, value in (args or {}).items():
        cmd += ["-a", f"{key}={value}"]
    for key, value in all_settings.items():
        cmd += ["-s", f"{key}={value}"]
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    proc = subprocess.run(
        cmd, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout, check=False
    )
    items = []
    if out.exists():
        items = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    log = (log_file.read_text() if log_file.exists() else "") + proc.stderr
    return CrawlRun(items, stats, log, proc.returncode, proc.stdout)
