"""Pause and resume: a 500-page crawl stopped with SIGINT halfway, resumed from its JOBDIR.

The union of both runs' items holds every page exactly once, including the pages whose
requests were in flight when the signal came (Scrapy's graceful stop lets them finish),
and no request ever fell back to the scheduler's memory queue (which JOBDIR would lose).
"""

from __future__ import annotations

import json
import pickle
import signal
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests._support.crawling import ROOT
from tests._support.services import (
    DOCS_SITE,
    DocsSite,
    project_env,
    scrapy_crawl_command,
    wait_for,
)
from tests._support.tools import require_tool

pytestmark = pytest.mark.slow

PAGES = 500
STOP_AT = 250


class LineCounter:
    """Counts the lines of a growing file, reading only what was appended since last time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.lines = 0

    def __call__(self) -> int:
        if self.path.exists():
            with self.path.open("rb") as fh:
                fh.seek(self.offset)
                chunk = fh.read()
            self.offset += len(chunk)
            self.lines += chunk.count(b"\n")
        return self.lines


def _run(
    tmp_path: Path,
    name: str,
    site_url: str,
    jobdir: Path,
    *,
    pages: int = PAGES,
    query: str | None = "asyncio event loop",
) -> tuple[list[str], Any]:
    out = tmp_path / f"{name}.jsonl"
    settings = {
        "JOBDIR": jobdir,
        "LOG_FILE": tmp_path / f"{name}.log",
        "LOG_LEVEL": "INFO",
        "ROBOTSTXT_OBEY": "False",
        "FEED_EXPORT_FIELDS": "url,success,links",
        "TEST_STATS_FILE": tmp_path / f"{name}.stats.json",
        "EXTENSIONS": json.dumps({"tests._support.statsdump.StatsDump": 0}),
    }
    args: dict[str, Any] = {"url": site_url, "max_pages": pages}
    if query:
        args["query"] = query
    return scrapy_crawl_command(out, args, settings), out


def _urls(path: Path) -> list[str]:
    return [json.loads(line)["url"] for line in path.read_text().splitlines() if line]


def _stats(tmp_path: Path, name: str) -> dict[str, Any]:
    return json.loads((tmp_path / f"{name}.stats.json").read_text())


def test_sigint_and_resume_crawl_every_page_exactly_once(tmp_path):
    require_tool("python3.11-doc", str(DOCS_SITE / "index.html"))
    jobdir = tmp_path / "job"
    env = project_env(ROOT)
    with DocsSite() as site:
        first_cmd, first_out = _run(tmp_path, "first", site.url, jobdir)
        with (tmp_path / "first.stderr").open("wb") as stderr:
            first = subprocess.Popen(first_cmd, cwd=ROOT, env=env, stderr=stderr)
        try:
            lines = LineCounter(first_out)
            wait_for(
                lambda: lines() >= STOP_AT or first.poll() is not None,
                timeout=240,
                what=f"{STOP_AT} items",
            )
            assert first.poll() is None, (tmp_path / "first.stderr").read_text()[-3000:]
            first.send_signal(signal.SIGINT)
            at_signal = lines.lines
            first.wait(timeout=120)
        finally:
            if first.poll() is None:
                first.kill()
        second_cmd, second_out = _run(tmp_path, "second", site.url, jobdir)
        second = subprocess.run(
            second_cmd, cwd=ROOT, env=env, capture_output=True, timeout=300, check=False
        )
        hits = site.page_hits

    first_urls, second_urls = _urls(first_out), _urls(second_out)
    first_stats, second_stats = _stats(tmp_path, "first"), _stats(tmp_path, "second")
    assert first_stats["finish_reason"] == "shutdown"
    assert second_stats["finish_reason"] == "finished", second.stderr.decode()[-3000:]
    assert STOP_AT <= at_signal <= len(first_urls) < PAGES, "stopped halfway"
    # Requests taken from the queue before the signal, in flight at it, still made items:
    assert first_stats["scheduler/dequeued"] == len(first_urls)
    assert second_stats["scheduler/dequeued"] == len(second_urls)

    union = Counter(first_urls + second_urls)
    assert [url for url, count in union.items() if count > 1] == [], "no page twice"
    assert len(union) == PAGES, "no page lost"
    assert not set(first_urls) & set(second_urls)

    paths = {url.removeprefix(site.url.rstrip("/")) for url in union}
    assert set(hits) == paths, "the server saw exactly the pages in the items"
    assert {path: n for path, n in hits.items() if n != 1} == {}, "each page fetched once"

    log = (tmp_path / "second.log").read_text()
    assert "Resuming crawl (" in log  # the count varies with requests in flight at SIGINT
    for stats in (first_stats, second_stats):
        assert stats.get("scheduler/unserializable", 0) == 0
        assert stats.get("scheduler/enqueued/memory", 0) == 0
    # The first run usually discovers all 500 before the signal; the resumed run admits only
    # what it had not (how many depends on timing), never a page twice or past max_pages.
    enqueued = [stats.get("scheduler/enqueued/disk", 0) for stats in (first_stats, second_stats)]
    assert sum(enqueued) == PAGES, enqueued

    state = pickle.loads((jobdir / "spider.state").read_bytes())
    assert len(state["c4_seen"]) == PAGES, "max_pages is counted across the pause"


KILL_PAGES = 150


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (Linux /proc), forkserver children included."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        for task in Path(f"/proc/{todo.pop()}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


@pytest.mark.parametrize("kill_at", [1, 40, 110])
def test_killed_crawl_resumes_with_every_page_exactly_once(tmp_path, kill_at):
    """SIGKILL (no chance to save Scrapy's queue) at several points, then resume: the
    union of the runs' items holds every page once, and no extraction process of the
    killed run is left behind."""
    require_tool("python3.11-doc", str(DOCS_SITE / "index.html"))
    jobdir = tmp_path / "job"
    env = project_env(ROOT)

    def command(name: str) -> tuple[list[str], Path]:
        return _run(tmp_path, name, site.url, jobdir, pages=KILL_PAGES, query=None)

    with DocsSite() as site:
        first_cmd, first_out = command("first")
        first = subprocess.Popen(first_cmd, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
        try:
            lines = LineCounter(first_out)
            wait_for(
                lambda: lines() >= kill_at or first.poll() is not None, timeout=240, what="items"
            )
            assert first.poll() is None, "the first run ended before it was killed"
            helpers = _descendants(first.pid)  # the extraction forkserver and its workers
            first.kill()
            first.wait(timeout=60)
        finally:
            if first.poll() is None:
                first.kill()
        assert len(helpers) >= 2
        wait_for(
            lambda: not any(Path(f"/proc/{pid}").exists() for pid in helpers),
            timeout=20,
            what="the killed crawl's extraction processes to end",
        )
        second_cmd, second_out = command("second")
        second = subprocess.run(
            second_cmd, cwd=ROOT, env=env, capture_output=True, timeout=300, check=False
        )

    def complete_urls(path: Path) -> list[str]:
        urls = []
        for line in path.read_text().splitlines():
            try:
                urls.append(json.loads(line)["url"])
            except ValueError:  # the line the kill cut short
                pass
        return urls

    first_urls, second_urls = complete_urls(first_out), _urls(second_out)
    union = Counter(first_urls + second_urls)
    assert [url for url, count in union.items() if count > 1] == [], "no page twice"
    assert len(union) == KILL_PAGES, (len(first_urls), len(second_urls))
    stats = _stats(tmp_path, "second")
    assert stats["finish_reason"] == "finished", second.stderr.decode()[-3000:]
    assert stats["c4/jobdir/recovered"] == 1
    assert stats.get("c4/jobdir/items_skipped", 0) == len(first_urls)
    log = (tmp_path / "second.log").read_text()
    assert "did not stop cleanly (killed?)" in log
    assert not (jobdir / "c4-running").exists(), "a clean stop removes the mark"
