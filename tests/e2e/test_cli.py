"""``python -m c4scrapy``: extract saved pages, summarise crawl output."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

from tests._support.crawling import ROOT


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "c4scrapy", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_extract_gz_file_with_config(tmp_path):
    page = tmp_path / "page.html.gz"
    page.write_bytes(
        gzip.compress(b"<title>T</title><a href='/a'>A</a><a href='https://twitter.com/x'>tw</a>")
    )
    proc = cli(
        "extract",
        str(page),
        "--url",
        "https://example.com/",
        "--config",
        '{"exclude_social_media_links": true}',
    )
    assert proc.returncode == 0, proc.stderr
    item = json.loads(proc.stdout)
    assert item["metadata"]["title"] == "T"
    assert [link["href"] for link in item["links"]["internal"]] == ["https://example.com/a"]
    assert item["links"]["external"] == []


def test_extract_reports_errors_clearly(tmp_path):
    page = tmp_path / "page.html"
    page.write_text("<p>x</p>")
    proc = cli(
        "extract", str(page), "--url", "https://example.com/", "--config", '{"css_selectr": "p"}'
    )
    assert proc.returncode == 2
    assert (
        "unknown CrawlerRunConfig field 'css_selectr' (did you mean 'css_selector'?)"
        in proc.stderr
    )
    proc = cli("extract", str(tmp_path / "missing.html"), "--url", "https://example.com/")
    assert proc.returncode == 2
    assert "cannot read" in proc.stderr
    empty = tmp_path / "empty.html"
    empty.write_bytes(b"")
    proc = cli("extract", str(empty), "--url", "https://example.com/")
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["error_message"] == "empty document"


def test_summary(tmp_path):
    out = tmp_path / "items.jsonl"
    rows = [
        {
            "url": "a",
            "success": True,
            "links": {"internal": [{}], "external": []},
            "media": {"images": [{}, {}]},
            "tables": [{}],
        },
        {"url": "b", "success": False, "error_message": "HTTP 404"},
    ]
    out.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    proc = cli("summary", str(out))
    assert proc.returncode == 0
    lines = dict(
        line.rsplit(None, 1) for line in proc.stdout.splitlines() if not line.startswith(" ")
    )
    assert lines["pages"] == "2"
    assert lines["failed"] == "1"
    assert lines["images"] == "2"
    assert "failed x1: HTTP 404" in proc.stdout
