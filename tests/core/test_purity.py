"""The core is pure: no module under c4scrapy/core imports Scrapy, Twisted, Playwright or
itemadapter, nor any c4scrapy module outside c4scrapy.core (``make lint`` checks the same,
indirect imports included, with import-linter)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import c4scrapy.core

CORE = Path(c4scrapy.core.__file__).parent
FORBIDDEN = {"scrapy", "twisted", "playwright", "scrapy_playwright", "itemadapter"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(CORE.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, at any depth."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            found.append((node.lineno, base))
            if base == "c4scrapy":  # from c4scrapy import x: x may be a shell module
                found += [(node.lineno, f"c4scrapy.{alias.name}") for alias in node.names]
    return found


def violations(path: Path) -> list[str]:
    bad = []
    for line, name in imported_modules(path):
        top = name.split(".")[0]
        outside_core = top == "c4scrapy" and not name.startswith("c4scrapy.core")
        if top in FORBIDDEN or (outside_core and name != "c4scrapy"):
            bad.append(f"{path.relative_to(CORE.parent.parent)}:{line}: imports {name}")
    return bad


@pytest.mark.parametrize(
    "path", sorted(CORE.rglob("*.py")), ids=lambda p: str(p.relative_to(CORE))
)
def test_core_module_imports_nothing_forbidden(path):
    assert violations(path) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import scrapy.http", ["imports scrapy.http"]),
        ("from twisted.internet import defer", ["imports twisted.internet"]),
        ("def f():\n    from playwright.async_api import Page", ["imports playwright.async_api"]),
        ("from c4scrapy import _runtime", ["imports c4scrapy._runtime"]),
        ("from c4scrapy.middlewares import failed_page", ["imports c4scrapy.middlewares"]),
        ("from ... import settings", ["imports c4scrapy.settings"]),
        ("from ...pipelines import x", ["imports c4scrapy.pipelines"]),
        ("from ..schema import x", []),
        ("from .urls import UrlCache", []),
        ("from c4scrapy.core.urls import UrlCache", []),
        ("import lxml.html", []),
    ],
)
def test_the_check_catches_each_kind_of_import(tmp_path, monkeypatch, source, expected):
    """Run on a file placed at c4scrapy/core/llm/probe.py (relative imports resolve there)."""
    root = tmp_path / "c4scrapy" / "core" / "llm"
    root.mkdir(parents=True)
    probe = root / "probe.py"
    probe.write_text(source + "\n")
    monkeypatch.setattr(f"{__name__}.CORE", tmp_path / "c4scrapy" / "core")
    found = violations(probe)
    assert [v.split(": ", 1)[1] for v in found] == expected
