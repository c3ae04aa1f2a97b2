"""Per-page extraction time: c4scrapy vs a plain lxml parse vs Crawl4AI, in one run.

    .venv/bin/python bench/extract_speed.py [--sites corpus,docs] [--repeat 3] [--profile 15]
                                            [--budget]

Sites: ``corpus`` is ``../shared/corpus`` (real web pages; URLs from ``pages.jsonl``),
``docs`` the Python 3.11 documentation in ``/usr/share/doc/python3.11/html`` (Sphinx pages,
URL ``http://127.0.0.1:8800/{relpath}``). For every page, each timing is the median of
``--repeat`` runs, and the table gives the median over the pages:

- ``lxml.html.fromstring(bytes)``: the floor, a plain parse of the same bytes;
- c4scrapy's parse alone (charset + parsel; the tree Scrapy's ``response.selector`` builds once
  per response and shares with the callback);
- ``extract_page(bytes, url, markdown_generator=None)``: parse, links, media, tables,
  metadata, cleaned_html: what Crawl4AI's ``scrap()`` computes;
- ``extract_page(bytes, url)``: the same plus markdown (the default config);
- Crawl4AI 0.9.5 through ``c4ai_oracle.py --strategies lxml,pipeline --floor`` in its own
  venv: ``scrap`` (LXMLWebScrapingStrategy), ``pipeline`` (scrap + fit_html + markdown,
  what ``arun()`` pays after the fetch) and that process's own floor
  (``lxml.html.fromstring`` of the decoded text).

Every run of extract_page starts from the URL cache that the pages before it left (a
crawl's state when it reaches the page), not from one its own previous run warmed.
Ratios are taken against the floor measured in the same process, page by page
interleaved, and the two processes take turns over ``--chunks`` slices of the site, so
that machine load hits both alike. Then ``budget`` prints what 3x the floor leaves for
Python (``--budget``: that table alone), and one pass of the full ``extract_page`` over each
site runs under cProfile and the top functions by own time are printed.
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import lxml.html
from lxml import etree

import c4scrapy.core.page as page_module
from c4scrapy import CrawlerRunConfig, extract_page
from c4scrapy.core.page import parse_html
from c4scrapy.core.selectors import plain_proxies
from c4scrapy.core.urls import UrlCache

if TYPE_CHECKING:
    from collections.abc import Callable

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
DEFAULT_ORACLE = SHARED / "tools" / "c4ai_oracle.py"
DEFAULT_ORACLE_PYTHON = ROOT.parent / "c4ai-venv" / "bin" / "python"
HTML_SUFFIXES = (".html", ".htm", ".html.gz", ".htm.gz", ".xhtml")


@dataclass
class Site:
    name: str
    root: Path
    oracle_args: list[str]
    urls: dict[Path, str] = field(default_factory=dict)


def html_files(root: Path) -> list[Path]:
    """The HTML files under ``root`` in the order the oracle walks them."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        found.extend(
            Path(dirpath, name).resolve()
            for name in sorted(filenames)
            if name.lower().endswith(HTML_SUFFIXES)
        )
    return found


def corpus_site(corpus: Path) -> Site:
    manifest = corpus / "pages.jsonl"
    with manifest.open(encoding="utf-8") as fh:
        urls = {row["file"]: row["url"] for row in map(json.loads, filter(str.strip, fh))}
    site = Site("corpus", corpus / "pages", ["--manifest", str(manifest)])
    site.urls = {path: urls[path.name] for path in html_files(site.root) if path.name in urls}
    return site


def docs_site(root: Path, base_url: str) -> Site:
    site = Site("docs", root, ["--base-url", base_url + "{relpath}"])
    for path in html_files(root):
        relpath = path.relative_to(root.resolve()).as_posix().removesuffix(".gz")
        site.urls[path] = base_url + relpath
    return site


def read_page(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def timed(
    repeat: int, fn: Callable[..., Any], *args: Any, reset: Callable[[], None] | None = None
) -> float:
    runs = []
    for _ in range(repeat):
        if reset is not None:
            reset()
        started = time.perf_counter()
        fn(*args)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


Pages = list[tuple[Path, str]]


def first_visit(cache: UrlCache) -> Callable[[], None]:
    """A reset that puts ``cache`` back as it is now (what the pages before left for the
    site; the per-page tables emptied), so that every repeat of a page sees it for the
    first time after the pages before it (as a crawl does), not warmed by its own previous
    run."""
    saved = dict(cache.shared)

    def reset() -> None:
        cache.clear()
        cache.shared.update(saved)

    return reset


def measure_ours(pages: Pages, repeat: int) -> dict[str, Any]:
    """Median seconds per page for each c4scrapy variant, floor interleaved."""
    no_markdown = CrawlerRunConfig(markdown_generator=None)
    full = CrawlerRunConfig()
    series: dict[str, list[float]] = {"floor": [], "parse": [], "no_markdown": [], "full": []}
    sizes, failures = [], 0
    cache = UrlCache()  # the crawl's: what the pages before left
    first_path, first_url = pages[0]
    extract_page(read_page(first_path), first_url, full, cache=cache)  # warm-up: imports
    for path, url in pages:
        data = read_page(path)
        sizes.append(len(data))
        series["floor"].append(timed(repeat, lxml.html.fromstring, data))
        series["parse"].append(timed(repeat, parse_html, data, url))
        reset = first_visit(cache)
        run = partial(extract_page, cache=cache)
        series["no_markdown"].append(timed(repeat, run, data, url, no_markdown, reset=reset))
        series["full"].append(timed(repeat, run, data, url, full, reset=reset))
        if not extract_page(data, url, full, cache=cache).success:
            failures += 1
    return {"series": series, "sizes": sizes, "failures": failures}


def measure_crawl4ai(args: argparse.Namespace, site: Site, pages: Pages) -> dict[str, Any]:
    """The oracle on these pages: a tree of links to them keeps their relative paths."""
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp, "pages")
        for path, _ in pages:
            link = tree / path.relative_to(site.root.resolve())
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(path)
        out = Path(tmp, "oracle.jsonl")
        cmd = [str(args.oracle_python), str(args.oracle), str(tree), *site.oracle_args]
        cmd += ["--strategies", "lxml,pipeline", "--floor", "--repeat", str(args.repeat)]
        subprocess.run([*cmd, "-q", "-o", str(out)], check=True, stdout=subprocess.DEVNULL)
        series: dict[str, list[float]] = {"floor": [], "lxml": [], "pipeline": []}
        errors = 0
        with out.open(encoding="utf-8") as fh:
            for line in fh:
                record = json.loads(line)
                if record.get("error"):
                    errors += 1
                    continue
                series[record["strategy"]].append(record["seconds"])
                if record["strategy"] == "lxml":
                    series["floor"].append(record["floor"]["fromstring"])
    return {"series": series, "errors": errors}


def measure(args: argparse.Namespace, site: Site) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both sides, alternating chunk by chunk so that machine load hits both alike."""
    pages = list(site.urls.items())[: args.limit or None]
    size = -(-len(pages) // args.chunks)
    ours: dict[str, Any] = {"series": defaultdict(list), "sizes": [], "failures": 0}
    theirs: dict[str, Any] = {"series": defaultdict(list), "errors": 0}
    for start in range(0, len(pages), size):
        chunk = pages[start : start + size]
        for total, part in ((ours, measure_ours(chunk, args.repeat)),
                            (theirs, measure_crawl4ai(args, site, chunk))):  # fmt: skip
            for key, values in part.pop("series").items():
                total["series"][key].extend(values)
            for key, value in part.items():
                total[key] += value
    ours["pages"] = len(pages)
    return ours, theirs


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def print_site(site: Site, ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    o, t = ours["series"], theirs["series"]
    size = statistics.median(ours["sizes"]) / 1024
    print(f"\n## {site.name}: {ours['pages']} pages, median {size:.0f} KB ({site.root})\n")
    print("| what | median ms/page | total s | x floor (medians) | x floor (totals) |")
    print("|---|---|---|---|---|")
    rows = [
        ("c4scrapy process: lxml.html.fromstring(bytes) (floor)", o["floor"], o["floor"]),
        (
            "c4scrapy parse alone (charset + parsel, the tree Scrapy builds)",
            o["parse"],
            o["floor"],
        ),
        ("**extract_page, markdown off** (= what scrap computes)", o["no_markdown"], o["floor"]),
        ("**extract_page, full** (with markdown)", o["full"], o["floor"]),
        ("Crawl4AI process: lxml.html.fromstring(text) (floor)", t["floor"], t["floor"]),
        ("**Crawl4AI scrap** (LXMLWebScrapingStrategy)", t["lxml"], t["floor"]),
        ("**Crawl4AI pipeline** (scrap + fit_html + markdown)", t["pipeline"], t["floor"]),
    ]
    summary: dict[str, Any] = {"pages": ours["pages"], "median_kb": round(size, 1)}
    for label, values, floor in rows:
        median = statistics.median(values)
        ratio = median / statistics.median(floor)
        total_ratio = sum(values) / sum(floor)
        print(
            f"| {label} | {ms(median)} | {sum(values):.2f} | {ratio:.1f}x | {total_ratio:.1f}x |"
        )
        summary[label] = {
            "median_ms": median * 1000,
            "x_floor": ratio,
            "x_floor_total": total_ratio,
        }
    scrap_speedup = statistics.median(t["lxml"]) / statistics.median(o["no_markdown"])
    pipeline_speedup = statistics.median(t["pipeline"]) / statistics.median(o["full"])
    print(
        f"\nc4scrapy is {scrap_speedup:.1f}x faster than Crawl4AI's scrap (markdown off) and "
        f"{pipeline_speedup:.1f}x faster than its pipeline (with markdown), medians per page."
    )
    if ours["failures"] or theirs["errors"]:
        print(
            f"pages with success=False in c4scrapy: {ours['failures']}; "
            f"oracle errors: {theirs['errors']}"
        )
    summary["speedup_scrap"] = scrap_speedup
    summary["speedup_pipeline"] = pipeline_speedup
    return summary


#: What ``budget`` times inside extract_page, where extract_page calls it: (module,
#: function, label); functions with one label add up.
BUDGET_PARTS = (
    (page_module, "extract_links", "links"),
    (page_module, "extract_media", "media"),
    (page_module, "extract_tables", "tables"),
    (page_module, "extract_metadata", "metadata"),
    (page_module, "sniff_not_html", "the not-HTML check"),
    (page_module, "clean_html", "cleaned_html"),
    (etree, "strip_elements", "removal"),
    (etree, "strip_tags", "removal"),
    (etree, "strip_attributes", "removal"),
    (lxml.html, "tostring", "serialise"),
)


def budget(site: Site, repeat: int, limit: int) -> dict[str, Any]:
    """What the 3x target leaves for Python: per page, as multiples of the floor, the
    parts any cleaned_html built on lxml pays whatever the code around them does (the
    parse, one visit of every element, the C-level removals, the serialisation), and how
    the rest of extract_page (markdown off) splits."""
    config = CrawlerRunConfig(markdown_generator=None)
    series: dict[str, list[float]] = defaultdict(list)
    counts: dict[str, list[int]] = defaultdict(list)
    cache = UrlCache()
    for path, url in list(site.urls.items())[: limit or None]:
        data = read_page(path)
        floor = timed(repeat, lxml.html.fromstring, data)
        parse = timed(repeat, parse_html, data, url)
        visit = timed(repeat, _parse_and_visit, data, url) - parse
        whole, parts = _timed_parts(data, url, config, repeat, cache)
        removal, serialise = parts.pop("removal"), parts.pop("serialise")
        cleaning = parts.pop("cleaned_html")
        figures = {
            "parse": parse,
            "visit": visit,
            "removal": removal,
            "serialise": serialise,
            "fixed": parse + visit + removal + serialise,
            **parts,
            "cleaning rules": cleaning - visit - removal - serialise,
            "glue": whole - parse - cleaning - sum(parts.values()),
            "whole": whole,
        }
        figures["rest"] = whole - figures["fixed"]
        for key, value in figures.items():
            series[key].append(value / floor)
        tree = lxml.html.fromstring(data)
        counts["elements"].append(sum(1 for _ in tree.iter(etree.Element)))
        counts["links"].append(sum(1 for _ in tree.iter("a", "area")))
        counts["images"].append(sum(1 for _ in tree.iter("img")))
    median = {key: statistics.median(values) for key, values in series.items()}
    sizes = {key: statistics.median(values) for key, values in counts.items()}
    print(f"\n### {site.name}: what 3x the floor leaves for Python (medians per page)\n")
    print(
        f"Median page: {sizes['elements']:.0f} elements, {sizes['links']:.0f} links, "
        f"{sizes['images']:.0f} images.\n"
    )
    print("| part | x floor |")
    print("|---|---|")
    rows = [
        ("parse (charset + parsel), and freeing the tree", "parse"),
        ("one Python visit of every element (plain proxies, nothing done)", "visit"),
        ("C-level removals (strip_elements, strip_tags, strip_attributes)", "removal"),
        ("serialising cleaned_html (lxml.html.tostring)", "serialise"),
        ("**fixed part** (the sum)", "fixed"),
        *((label, label) for label in ("links", "media", "tables", "metadata")),
        ("the not-HTML check", "the not-HTML check"),
        ("cleaned_html's rules (rewriting, pruning; beyond the fixed part)", "cleaning rules"),
        ("glue (scopes, rules, the item)", "glue"),
        ("**the rest**", "rest"),
        ("**extract_page, markdown off**", "whole"),
    ]
    for label, key in rows:
        print(f"| {label} | {median[key]:.2f}x |")
    left = 3 - median["fixed"]
    print(
        f"\nUnder 3x, the rest would have to fit in {left:.2f}x the floor: "
        f"{left / median['rest']:.0%} of what it costs now."
    )
    return {"x_floor": median, "median_page": sizes}


def _timed_parts(
    data: bytes, url: str, config: CrawlerRunConfig, repeat: int, cache: UrlCache
) -> tuple[float, dict[str, float]]:
    """Seconds of extract_page (first visit of ``cache``) and of each ``BUDGET_PARTS``
    label, from its fastest run."""
    spent: dict[str, float] = {}

    def timing(label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed_part(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[label] += time.perf_counter() - started

        return timed_part

    originals = [(module, name, getattr(module, name)) for module, name, _ in BUDGET_PARTS]
    for (module, name, function), (*_, label) in zip(originals, BUDGET_PARTS, strict=True):
        setattr(module, name, timing(label, function))
    reset = first_visit(cache)
    best: tuple[float, dict[str, float]] = (float("inf"), {})
    try:
        for _ in range(repeat):
            reset()
            spent.update(dict.fromkeys((label for *_, label in BUDGET_PARTS), 0.0))
            started = time.perf_counter()
            extract_page(data, url, config, cache=cache)
            whole = time.perf_counter() - started
            if whole < best[0]:
                best = (whole, dict(spent))
    finally:
        for module, name, function in originals:
            setattr(module, name, function)
    return best


def _parse_and_visit(data: bytes, url: str) -> None:
    doc = parse_html(data, url)
    with plain_proxies(doc):
        for _ in doc.iter():
            pass


#: (label, file suffix, function) of extract_page's parts, for the time-by-part table.
PARTS = (
    ("parse (charset + parsel)", "core/page.py", "parse_html"),
    ("metadata", "core/metadata.py", "extract_metadata"),
    ("links", "core/links.py", "extract_links"),
    ("media", "core/media.py", "extract_media"),
    ("tables", "core/tables.py", "extract_tables"),
    ("cleaned_html", "core/cleaned_html.py", "clean_html"),
    ("markdown", "core/cleaned_html.py", "generate_markdown"),
)


def profile(site: Site, top: int, limit: int) -> None:
    """One pass of the full extract_page under cProfile: time by part, then hot spots."""
    pages = [(read_page(p), url) for p, url in list(site.urls.items())[: limit or None]]
    config = CrawlerRunConfig()
    cache = UrlCache()
    profiler = cProfile.Profile()
    profiler.enable()
    for data, url in pages:
        extract_page(data, url, config, cache=cache)
    profiler.disable()
    stats = pstats.Stats(profiler)
    entries = stats.stats  # type: ignore[attr-defined]
    total = sum(own for _, _, own, _, _ in entries.values())
    whole = next(
        (cum for (f, _, n), (*_, cum, _) in entries.items() if n == "extract_page"), total
    )
    print(f"\n### {site.name}: extract_page by part (cProfile, {whole:.2f} s in all)\n")
    print("| part | cumulative s | share |")
    print("|---|---|---|")
    for label, suffix, name in PARTS:
        cumulative = sum(
            cum
            for (filename, _, function), (*_, cum, _) in entries.items()
            if function == name and filename.endswith(suffix)
        )
        print(f"| {label} | {cumulative:.2f} | {cumulative / whole:.0%} |")
    rows = sorted(entries.items(), key=lambda kv: kv[1][2], reverse=True)
    print(f"\n### {site.name}: top {top} functions by own time\n")
    print("| function | calls | own s | own % | cumulative s |")
    print("|---|---|---|---|---|")
    for (filename, line, name), (_, calls, own, cumulative, _) in rows[:top]:
        where = _short(filename)
        print(
            f"| {where}:{line} {name} | {calls} | {own:.3f} | {own / total:.1%} "
            f"| {cumulative:.3f} |"
        )


def _short(filename: str) -> str:
    if filename.startswith(("~", "<")):
        return "builtin"
    path = Path(filename)
    for anchor in ("c4scrapy", "site-packages"):
        if anchor in path.parts:
            return "/".join(path.parts[path.parts.index(anchor) + (anchor != "c4scrapy") :])
    return path.name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sites", default="corpus,docs", help="comma list of corpus,docs")
    parser.add_argument("--corpus", type=Path, default=SHARED / "corpus")
    parser.add_argument("--docs", type=Path, default=Path("/usr/share/doc/python3.11/html"))
    parser.add_argument("--docs-url", default="http://127.0.0.1:8800/")
    parser.add_argument("--repeat", type=int, default=3, help="runs per page (median)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N pages per site")
    parser.add_argument("--chunks", type=int, default=4, help="alternate the sides N times")
    parser.add_argument("--profile", type=int, default=15, help="top N hot spots (0: none)")
    parser.add_argument("--oracle", type=Path, default=DEFAULT_ORACLE)
    parser.add_argument(
        "--oracle-python",
        type=Path,
        default=Path(os.environ.get("C4AI_PYTHON", DEFAULT_ORACLE_PYTHON)),
    )
    parser.add_argument(
        "--budget", action="store_true", help="only the table of what 3x leaves for Python"
    )
    parser.add_argument("--json", type=Path, help="write the figures as JSON here")
    args = parser.parse_args(argv)

    sites = {
        "corpus": lambda: corpus_site(args.corpus),
        "docs": lambda: docs_site(args.docs, args.docs_url),
    }
    figures = {}
    for name in args.sites.split(","):
        site = sites[name.strip()]()
        started = time.perf_counter()
        if not args.budget:
            ours, theirs = measure(args, site)
            figures[site.name] = print_site(site, ours, theirs)
        figures.setdefault(site.name, {})["budget"] = budget(site, args.repeat, args.limit)
        print(f"({site.name} measured in {time.perf_counter() - started:.0f} s)")
    if args.profile and not args.budget:
        for name in args.sites.split(","):
            profile(sites[name.strip()](), args.profile, args.limit)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
