from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.servers import LocalServer

HERE = Path(__file__).resolve().parent
DEMO_SITE = HERE.parent / "examples" / "demo_site"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_tool(name: str, path: str | None = None) -> str:
    """The path of a system tool; skip without it locally, fail without it in CI."""
    found = path if path and os.path.exists(path) else shutil.which(name)
    if not found:
        message = f"{name} is not installed (make test installs it when run as root)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="session")
def demo_server():
    """The demo site (examples/demo_site) on 127.0.0.1, random port."""
    with LocalServer(DEMO_SITE) as server:
        yield server


@pytest.fixture
def site_server(tmp_path):
    """An empty site in tmp_path on 127.0.0.1; add files or ``server.routes[path] = fn``."""
    (tmp_path / "site").mkdir(exist_ok=True)
    with LocalServer(tmp_path / "site") as server:
        yield server
