"""Main-content quality: the content filters on the article-extraction corpus.

    .venv/bin/python bench/content_quality.py [--limit N] [--json PATH]

For each of the 136 pages of ``shared/corpus`` with a ground-truth ``articleBody``, the page
goes through ``extract_page`` once (default config: cleaned_html and markdown), then each
filter (``PruningContentFilter()``, ``BM25ContentFilter()`` (query: the page's title and
meta, as without a crawl query), ``MainContentFilter()``) runs on that cleaned_html as the
markdown generator runs it, giving fit_html and fit_markdown.

Scores are the benchmark's (scrapinghub/article-extraction-benchmark, ``evaluate.py``):
4-word shingles of ``\\w+`` tokens (case kept) counted with multiplicity; per page,
true/false positives and negatives normalised by their sum; precision averaged over the
pages that predicted something, recall over the pages with a ground truth; F1 of the two
averages. "F1" is the text of fit_html (block elements separated by newlines), "md F1" the
fit_markdown text as it is (link URLs count as words there, so it is lower).

Cost (timed in a second pass over the pages: each filter and the library in turn, in an
order that rotates from page to page, each after ``gc.collect()``): median milliseconds
per page of ``filter_content`` on the cleaned_html; for
MainContentFilter also of ``trafilatura.extract`` called directly on the same cleaned_html
(wrapped in ``<html><body>``, the form the filter gives it) with the filter's options
(``favor_precision=True``, no comments), and their ratio. Tokens:
median per page of ``markdown`` and of ``fit_markdown``, by ``litellm.token_counter(model=
"gpt-4o")`` (o200k_base, bundled with litellm). A row ``trafilatura.extract`` scores
trafilatura's own plain text (same call, same options) for reference.

The table is printed and written as JSON (``bench/results/content_quality.json`` by
default) for the docs.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import gzip
import json
import os
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import lxml.html

from c4scrapy import (
    BM25ContentFilter,
    CrawlerRunConfig,
    DefaultMarkdownGenerator,
    MainContentFilter,
    PruningContentFilter,
    extract_page,
)

CORPUS = ROOT.parent.parent / "shared" / "corpus"
if not CORPUS.exists():
    CORPUS = Path("/work/shared/corpus")
TOKEN = re.compile(r"\w+")
BLOCKS = frozenset(
    {
        *[
            "p",
            "div",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "li",
            "ul",
            "ol",
            "dl",
            "dt",
            "dd",
            "table",
            "tr",
            "td",
            "th",
            "caption",
        ],
        *[
            "blockquote",
            "pre",
            "br",
            "hr",
            "figure",
            "figcaption",
            "section",
            "article",
            "header",
            "footer",
        ],
        *["nav", "aside", "main", "img"],
    }
)


# --- the benchmark's scoring ------------------------------------------------------------


def shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    tokens = TOKEN.findall(text or "")
    return Counter(
        tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens[i : i + n]
    )


def match(true: str, pred: str) -> tuple[float, float, float]:
    """(tp, fp, fn) over shingles, normalised by their sum."""
    t, p = shingles(true), shingles(pred)
    tp = sum((t & p).values())
    fp = sum((p - t).values())
    fn = sum((t - p).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def scores(rows: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    """(F1, precision, recall): per-page precision and recall averaged, F1 of the averages."""

    def ratio(a: float, b: float, fp: float, fn: float) -> float:
        if fp == fn == 0:
            return 1.0
        return a / (a + b) if a + b else 0.0

    precision = statistics.mean(ratio(tp, fp, fp, fn) for tp, fp, fn in rows if tp + fp > 0)
    recall = statistics.mean(ratio(tp, fn, fp, fn) for tp, fp, fn in rows if tp + fn > 0)
    return 2 * precision * recall / (precision + recall), precision, recall


def html_text(html: str) -> str:
    """The text of an HTML fragment, a newline around each block element."""
    if not html or not html.strip():
        return ""
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag in BLOCKS:
            el.text = "\n" + (el.text or "")
            el.tail = "\n" + (el.tail or "")
    return root.text_content()


# --- the run ----------------------------------------------------------------------------


def pages(limit: int | None) -> list[dict[str, Any]]:
    text = (CORPUS / "ground-truth.jsonl").read_text(encoding="utf-8")
    rows = [json.loads(line) for line in text.splitlines()]
    return rows[:limit] if limit else rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N pages")
    parser.add_argument(
        "--json", type=Path, default=ROOT / "bench" / "results" / "content_quality.json"
    )
    args = parser.parse_args()

    import litellm
    import trafilatura

    def tokens(text: str | None) -> int:
        return litellm.token_counter(model="gpt-4o", text=text or "") if text else 0

    filters = {
        "PruningContentFilter()": PruningContentFilter(),
        "BM25ContentFilter()": BM25ContentFilter(),
        "MainContentFilter()": MainContentFilter(),
    }
    config = CrawlerRunConfig()
    results: dict[str, dict[str, list[Any]]] = {
        name: {"html": [], "md": [], "ms": [], "fit_tokens": []} for name in filters
    }
    reference: dict[str, list[Any]] = {"html": [], "ms": []}
    markdown_tokens: list[int] = []
    cleaned_pages: list[tuple[str, Any]] = []
    rows = pages(args.limit)
    for row in rows:
        html = gzip.decompress((CORPUS / "pages" / row["file"]).read_bytes())
        item = extract_page(html, row["url"], config)
        cleaned = item.cleaned_html or ""
        truth = row["articleBody"]
        markdown_tokens.append(tokens(item.markdown))
        cleaned_pages.append((cleaned, item.metadata))
        for name, content_filter in filters.items():
            chunks = content_filter.filter_content(cleaned, metadata=item.metadata)
            fit_html = "\n".join(f"<div>{chunk}</div>" for chunk in chunks)
            _, fit_markdown, _ = DefaultMarkdownGenerator(content_filter=_Fixed(chunks)).generate(
                "<p></p>", row["url"]
            )
            result = results[name]
            result["html"].append(match(truth, html_text(fit_html)))
            result["md"].append(match(truth, fit_markdown or ""))
            result["fit_tokens"].append(tokens(fit_markdown))
        wrapped = f"<html><body>{cleaned}</body></html>"
        text = trafilatura.extract(wrapped, include_comments=False, favor_precision=True)
        reference["html"].append(match(truth, text or ""))

    # Timing apart from scoring: per page, every filter and the library in turn (the order
    # rotating from page to page), each after a garbage collection.
    def library(cleaned: str, metadata: Any) -> Any:
        wrapped = f"<html><body>{cleaned}</body></html>"
        return trafilatura.extract(wrapped, include_comments=False, favor_precision=True)

    runners: list[tuple[list[float], Any]] = [
        (results[name]["ms"], content_filter.filter_content)
        for name, content_filter in filters.items()
    ]
    runners.append((reference["ms"], library))
    for n, (cleaned, metadata) in enumerate(cleaned_pages):
        for times, run in runners[n % len(runners) :] + runners[: n % len(runners)]:
            gc.collect()
            started = time.perf_counter()
            run(cleaned, metadata=metadata)
            times.append((time.perf_counter() - started) * 1000)

    table = []
    for name, result in results.items():
        f1, precision, recall = scores(result["html"])
        md_f1 = scores(result["md"])[0]
        table.append(
            {
                "filter": name,
                "f1": round(f1, 3),
                "precision": round(precision, 3),
                "recall": round(recall, 3),
                "fit_markdown_f1": round(md_f1, 3),
                "ms_per_page": round(statistics.median(result["ms"]), 1),
                "markdown_tokens": statistics.median(markdown_tokens),
                "fit_markdown_tokens": statistics.median(result["fit_tokens"]),
            }
        )
    f1, precision, recall = scores(reference["html"])
    library_ms = statistics.median(reference["ms"])
    main_ms = table[-1]["ms_per_page"]
    table.append(
        {
            "filter": "trafilatura.extract",
            "f1": round(f1, 3),
            "precision": round(precision, 3),
            "recall": round(recall, 3),
            "fit_markdown_f1": None,
            "ms_per_page": round(library_ms, 1),
            "markdown_tokens": None,
            "fit_markdown_tokens": None,
        }
    )
    header = (
        f"{'filter':<24} {'F1':>6} {'P':>6} {'R':>6} {'md F1':>6} {'ms/page':>8} "
        f"{'md tok':>7} {'fit tok':>7}"
    )
    print(f"{len(rows)} pages, {datetime.date.today()}")
    print(header)
    for r in table:
        print(
            f"{r['filter']:<24} {r['f1']:>6.3f} {r['precision']:>6.3f} {r['recall']:>6.3f} "
            f"{_fmt(r['fit_markdown_f1']):>6} {r['ms_per_page']:>8.1f} "
            f"{_fmt(r['markdown_tokens']):>7} {_fmt(r['fit_markdown_tokens']):>7}"
        )
    ratio = main_ms / library_ms if library_ms else float("nan")
    print(f"MainContentFilter cost vs trafilatura.extract on the same bytes: {ratio:.2f}x")
    payload = results_file(table, len(rows), ratio, trafilatura.__version__)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"written {args.json}")


def results_file(
    table: list[dict[str, Any]], pages: int, ratio: float, version: str
) -> dict[str, Any]:
    """The run in the shape of ``bench/results/*.json`` (docs/_ext/c4bench.py)."""
    columns = ["filter", "F1", "P", "R", "md F1", "ms/page", "markdown tokens", "fit tokens"]
    keys = ["filter", "f1", "precision", "recall", "fit_markdown_f1", "ms_per_page"]
    keys += ["markdown_tokens", "fit_markdown_tokens"]
    return {
        "title": "Main-content quality",
        "order": 40,
        "date": datetime.date.today().isoformat(),
        "command": ".venv/bin/python bench/content_quality.py",
        "machine": "2 shared cores",
        "notes": [
            (
                f"{pages} pages of ``shared/corpus`` against their annotated article body, scored "
                "as the article-extraction benchmark scores (4-word shingles of ``\\w+`` tokens, "
                "per-page precision and recall averaged, F1 of the averages). F1 is the text of "
                "fit_html; md F1 is fit_markdown as written (link URLs count against it). Tokens: "
                '``litellm.token_counter(model="gpt-4o")``, medians per page.'
            ),
            (
                f"MainContentFilter costs {ratio:.2f}x ``trafilatura.extract`` (trafilatura "
                f"{version}) called directly on the same bytes."
            ),
        ],
        "tables": [
            {
                "caption": "Content filters on the corpus",
                "columns": columns,
                "rows": [["-" if row[k] is None else row[k] for k in keys] for row in table],
            }
        ],
    }


class _Fixed:
    """A content filter that returns chunks already computed (to convert them)."""

    def __init__(self, chunks: list[str]) -> None:
        self.chunks = chunks

    def filter_content(self, html: str) -> list[str]:
        return self.chunks


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) and value < 1 else f"{value:g}"


if __name__ == "__main__":
    main()
