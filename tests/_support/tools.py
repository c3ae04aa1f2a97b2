"""System tools the end-to-end tests need (Chromium, redis-server, scrapyd)."""

from __future__ import annotations

import os
import shutil

import pytest

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
