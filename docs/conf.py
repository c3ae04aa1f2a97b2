"""Sphinx configuration of the c4scrapy docs (``make docs``; ``make test`` builds them with -W)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

project = "c4scrapy"
author = "c4scrapy developers"
copyright = "2026, c4scrapy developers"

extensions = [
    "sphinx_scrapy",  # :setting: / :reqmeta: / :stat: roles and directives, as Scrapy's docs
    "myst_parser",  # CHANGES.md
    "c4bench",  # benchmarks.rst from bench/results/*.json
]

# The docs build offline (CI has no network): no intersphinx inventories are fetched.
scrapy_intersphinx_disable = ["python", "scrapy"]
html_baseurl = "https://c4scrapy.readthedocs.io/en/latest/"

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_generated"]  # _generated/ is included, not a page
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]
nitpicky = True  # a :setting: / :stat: / :reqmeta: that names no entry fails the build

html_theme = "sphinx_rtd_theme"
html_title = "c4scrapy"

c4bench_results = str(HERE.parent / "bench" / "results")
