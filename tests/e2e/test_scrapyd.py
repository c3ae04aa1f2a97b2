"""Scrapyd: deploy with ``scrapyd-deploy``, schedule ``site`` through the JSON API, read items.

A real Scrapyd (from the test extra) runs on 127.0.0.1 with its own scrapyd.conf (eggs,
logs, items and dbs in a temporary directory, basic auth on). The project is deployed from
a copy of the repository's own scrapy.cfg / setup.py / setup.cfg with credentials from the
environment, as the README shows; the server address is a ``[deploy:test]`` target in the
user-level scrapy.cfg (``$XDG_CONFIG_HOME/scrapy.cfg``), which inherits ``[deploy]``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from tests._support.crawling import ROOT
from tests._support.services import free_port, wait_for

if TYPE_CHECKING:
    from typing_extensions import Self

pytestmark = pytest.mark.slow

PROJECT = "c4scrapy"
USERNAME, PASSWORD = "c4", "s3cret-for-tests"
BIN = Path(sys.executable).parent


def _copy_project(dest: Path) -> Path:
    """The files scrapyd-deploy reads, as a fresh checkout has them."""
    dest.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for name in ("scrapy.cfg", "setup.py", "setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    for name in ("c4scrapy", "spiders"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    return dest


class Scrapyd:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.auth = (USERNAME, PASSWORD)
        (workdir / "scrapyd.conf").write_text(
            "[scrapyd]\n"
            "bind_address = 127.0.0.1\n"
            f"http_port = {self.port}\n"
            f"eggs_dir = {workdir / 'eggs'}\n"
            f"logs_dir = {workdir / 'logs'}\n"
            f"items_dir = {workdir / 'items'}\n"
            f"dbs_dir = {workdir / 'dbs'}\n"
            "poll_interval = 0.2\n"
            "max_proc = 2\n"
            f"username = {USERNAME}\n"
            f"password = {PASSWORD}\n"
        )

    def __enter__(self) -> Self:
        with (self.workdir / "scrapyd.out").open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "scrapyd", "--pidfile="],
                cwd=self.workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_for(self._ready, timeout=60, what="Scrapyd")
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError((self.workdir / "scrapyd.out").read_text())
        try:
            return self.get("daemonstatus.json")["status"] == "ok"
        except requests.ConnectionError:
            return False

    def get(self, endpoint: str, **params: Any) -> dict[str, Any]:
        response = requests.get(self.url + endpoint, params=params, auth=self.auth, timeout=30)
        response.raise_for_status()
        return response.json()

    def post(self, endpoint: str, data: list[tuple[str, str]]) -> dict[str, Any]:
        response = requests.post(self.url + endpoint, data=data, auth=self.auth, timeout=30)
        response.raise_for_status()
        return response.json()


def _deploy(project: Path, xdg: Path, **credentials: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRAPYD_")}
    env.update(credentials, XDG_CONFIG_HOME=str(xdg))
    return subprocess.run(
        [str(BIN / "scrapyd-deploy"), "test"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_deploy_schedule_and_collect_items(tmp_path, demo_server):
    project = _copy_project(tmp_path / "project")
    (tmp_path / "scrapyd").mkdir()
    xdg = tmp_path / "xdg"
    xdg.mkdir()
    with Scrapyd(tmp_path / "scrapyd") as scrapyd:
        (xdg / "scrapy.cfg").write_text(f"[deploy:test]\nurl = {scrapyd.url}\n")

        refused = _deploy(project, xdg, SCRAPYD_USERNAME=USERNAME)
        assert refused.returncode == 1
        assert "Deploy failed (401)" in refused.stderr

        deployed = _deploy(project, xdg, SCRAPYD_USERNAME=USERNAME, SCRAPYD_PASSWORD=PASSWORD)
        assert deployed.returncode == 0, deployed.stderr
        answer = json.loads(deployed.stdout)
        assert answer["status"] == "ok"
        assert answer["project"] == PROJECT
        assert "site" in scrapyd.get("listspiders.json", project=PROJECT)["spiders"]

        job = scrapyd.post(
            "schedule.json",
            [
                ("project", PROJECT),
                ("spider", "site"),
                ("url", demo_server.url),
                ("query", "asyncio event loop"),
                ("setting", "C4_EXCLUDE_SOCIAL_MEDIA_LINKS=true"),
                ("setting", "DOWNLOAD_DELAY=0"),
            ],
        )
        assert job["status"] == "ok"
        jobid = job["jobid"]
        wait_for(
            lambda: scrapyd.get("status.json", job=jobid)["currstate"] == "finished",
            timeout=180,
            interval=0.2,
            what=f"job {jobid}",
        )
        served = requests.get(
            f"{scrapyd.url}items/{PROJECT}/site/{jobid}.jl", auth=scrapyd.auth, timeout=30
        )

    items_file = tmp_path / "scrapyd" / "items" / PROJECT / "site" / f"{jobid}.jl"
    items = [json.loads(line) for line in items_file.read_text().splitlines()]
    assert served.content == items_file.read_bytes(), "the items file is also served over HTTP"
    pages = {item["url"]: item for item in items}
    assert len(pages) == len(items) == 8, "one item per page of the demo site"
    home = pages[demo_server.url]
    assert {link["href"] for link in home["links"]["external"]} == {
        "https://github.com/acme/widgets"
    }, "-d setting=C4_EXCLUDE_SOCIAL_MEDIA_LINKS=true reached the crawl"
    internal = home["links"]["internal"]
    assert internal
    assert all(link["total_score"] is not None for link in internal), "-d query=... arrived"
    assert any(link["head_data"] for link in internal), "link previews ran under Scrapyd"

    log = (tmp_path / "scrapyd" / "logs" / PROJECT / "site" / f"{jobid}.log").read_text()
    assert "c4scrapy" in log
    assert "link preview on" in log
    assert "Spider closed (finished)" in log
    assert "Traceback" not in log
