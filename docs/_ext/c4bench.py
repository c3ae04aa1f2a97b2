"""Sphinx extension: the benchmarks page is generated from ``bench/results/*.json``.

Each JSON file is one benchmark run, written by a benchmark script or by hand from its
output::

    {
      "title": "Extraction speed",          # section title
      "order": 10,                          # position on the page (default 100)
      "date": "2026-12-03",                 # when it was measured (YYYY-MM-DD)
      "commit": "331ed9c",                  # optional: the code measured
      "command": ".venv/bin/python bench/extract_speed.py --repeat 3",
      "machine": "2 shared cores, load average 3-7",
      "source": "...",                      # optional: where the figures were taken from
      "notes": ["reST paragraph", ...],     # optional, after the tables
      "tables": [{"caption": "...", "command": "...",  # command optional
                  "columns": ["...", ...], "rows": [["...", 1.5, ...], ...],
                  "notes": ["...", ...]}]
    }

Cells and notes are reST. At ``builder-inited`` the extension writes
``docs/_generated/benchmark-results.rst``, which ``benchmarks.rst`` includes; a file that
does not have this shape stops the build with a message naming it.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

REQUIRED = {"title": str, "date": str, "command": str, "machine": str, "tables": list}
OPTIONAL = {"order": int, "commit": str, "source": str, "notes": list}
TABLE_REQUIRED = {"caption": str, "columns": list, "rows": list}
TABLE_OPTIONAL = {"command": str, "notes": list}


def _check(data: Any, required: dict, optional: dict, where: str) -> None:
    if not isinstance(data, dict):
        raise ExtensionError(f"{where}: expected an object")
    for key, kind in required.items():
        if not isinstance(data.get(key), kind):
            raise ExtensionError(f"{where}: {key!r} is required ({kind.__name__})")
    for key, value in data.items():
        if key in required:
            continue
        if key not in optional:
            raise ExtensionError(f"{where}: unknown key {key!r}")
        if not isinstance(value, optional[key]):
            raise ExtensionError(f"{where}: {key!r} must be {optional[key].__name__}")


def load(path: Path) -> dict[str, Any]:
    """One results file, checked."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ExtensionError(f"{path}: invalid JSON: {exc}") from None
    _check(data, REQUIRED, OPTIONAL, str(path))
    try:
        datetime.date.fromisoformat(data["date"])
    except ValueError:
        raise ExtensionError(f"{path}: date must be YYYY-MM-DD, got {data['date']!r}") from None
    for i, table in enumerate(data["tables"]):
        where = f"{path}: tables[{i}]"
        _check(table, TABLE_REQUIRED, TABLE_OPTIONAL, where)
        width = len(table["columns"])
        for j, row in enumerate(table["rows"]):
            if not isinstance(row, list) or len(row) != width:
                raise ExtensionError(f"{where}: rows[{j}] must be a list of {width} cells")
    return data


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "\\-"
    return str(value).replace("\n", " ")


def _code(command: str, indent: str = "") -> list[str]:
    lines = [f"{indent}.. code-block:: bash", ""]
    lines += [f"{indent}   {line}" for line in command.splitlines()]
    return [*lines, ""]


def render(results: list[dict[str, Any]]) -> str:
    """The reST of every run, in ``order``."""
    out: list[str] = []
    for data in sorted(results, key=lambda d: (d.get("order", 100), d["title"])):
        out += [data["title"], "-" * len(data["title"]), ""]
        measured = data["date"]
        if data.get("commit"):
            measured += f", code at commit ``{data['commit']}``"
        out += [f":Measured: {measured}", f":Machine: {data['machine']}"]
        if data.get("source"):
            out += [f":Source: {data['source']}"]
        out += ["", *_code(data["command"])]
        for table in data["tables"]:
            out += [f".. list-table:: {table['caption']}", "   :header-rows: 1", ""]
            for row in [table["columns"], *table["rows"]]:
                out += [f"   * - {_cell(row[0])}"] + [f"     - {_cell(c)}" for c in row[1:]]
            out.append("")
            if table.get("command"):
                out += _code(table["command"])
            for note in table.get("notes", []):
                out += [note, ""]
        for note in data.get("notes", []):
            out += [note, ""]
    return "\n".join(out)


def generate(app: Sphinx) -> None:
    directory = Path(app.config.c4bench_results)
    files = sorted(directory.glob("*.json"))
    if not files:
        raise ExtensionError(f"no benchmark results in {directory}")
    text = render([load(path) for path in files])
    target = Path(app.srcdir) / "_generated" / "benchmark-results.rst"
    target.parent.mkdir(exist_ok=True)
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("c4bench_results", "", "env")
    app.connect("builder-inited", generate)
    return {"parallel_read_safe": True, "version": "1"}
