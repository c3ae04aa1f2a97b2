"""Pages per second of the LLM pipeline at C4_LLM_CONCURRENCY 1, 4 and 16.

    .venv/bin/python bench/llm.py [--pages 48] [--latency 0.25] [--concurrency 1 4 16]
    .venv/bin/python bench/llm.py --token-estimate [--corpus /work/shared/corpus]

A real ``scrapy crawl site -a llm_provider=... -a llm_base_url=...`` over a local site of
``--pages`` product pages (one chunk each), against the local OpenAI-compatible server of
``tests/fake_llm.py`` answering every call after ``--latency`` seconds (a model's
thinking time; the server handles calls in parallel). If the pipeline serialised its
calls, every row would be about ``1 / latency`` pages per second; with the crawl-wide
limit at N, it approaches ``N / latency`` until Scrapy's own concurrency or the CPU caps
it. Columns: LLM pages/s (pages over the span from the first call's start to the last
call's end, as the server saw them), the most calls the server had in flight at once,
the whole crawl's elapsed time (Scrapy's ``elapsed_time_seconds``; litellm is imported
while the spider opens, before that clock starts) and its pages/s.

``--token-estimate`` checks the chunker's token estimate instead: for the corpus pages'
markdown, cleaned HTML and prose paragraphs (paragraphs of more than 20 words without a
link), the ratio of c4scrapy's estimate and of Crawl4AI's (``words x 1.3``) to the real
token count of OpenAI's cl100k_base tokenizer (tiktoken, with the encoding file litellm
ships, so offline).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests._support.crawling import run_crawl
from tests._support.fake_llm import FakeLLM
from tests._support.servers import LocalServer

TOKEN = "sk-bench"


def build_site(root: Path, pages: int) -> None:
    root.mkdir(parents=True, exist_ok=True)
    links = "".join(f'<li><a href="/p{i}.html">page {i}</a></li>' for i in range(pages))
    (root / "index.html").write_text(f"<html><body><ul>{links}</ul></body></html>")
    for i in range(pages):
        products = "".join(f"<li><b>Widget {i}-{j}</b> — ${j}.99</li>" for j in range(5))
        (root / f"p{i}.html").write_text(
            f"<html><head><title>Page {i}</title></head><body><h1>Page {i}</h1>"
            f"<ul>{products}</ul><p>Everything a workshop needs, shipped today.</p></body></html>"
        )


def measure(site: Path, pages: int, latency: float, concurrency: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, LocalServer(site) as server:
        with FakeLLM(token=TOKEN, delay=latency) as fake:
            run = run_crawl(
                Path(tmp),
                args={
                    "url": server.url,
                    "llm_provider": "openai/products",
                    "llm_base_url": fake.url,
                    "llm_api_token": "env:BENCH_LLM_KEY",
                    "llm_instruction": "Extract every product with its name and price.",
                },
                settings={
                    "C4_LLM_CONCURRENCY": concurrency,
                    "LOG_LEVEL": "INFO",
                    "CONCURRENT_REQUESTS": 32,
                    "CONCURRENT_REQUESTS_PER_DOMAIN": 32,
                },
                env={"BENCH_LLM_KEY": TOKEN},
                timeout=600,
            )
        calls = [c for c in fake.calls if c.status == 200]
        if fake.problems or len(run.items) != pages + 1 or len(calls) != pages + 1:
            raise SystemExit(f"crawl went wrong: {fake.problems or run.log[-2000:]}")
        span = max(c.finished for c in calls) - min(c.started for c in calls)
        elapsed = run.stats["elapsed_time_seconds"]
        return {
            "llm_pages_per_s": len(calls) / span,
            "max_in_flight": fake.max_in_flight,
            "elapsed": elapsed,
            "crawl_pages_per_s": len(run.items) / elapsed,
        }


def token_estimate(corpus: Path, limit: int) -> None:
    from c4scrapy import extract_page
    from c4scrapy.core.chunking import estimate_tokens
    from c4scrapy.core.llm.client import import_litellm

    litellm = import_litellm()  # offline: local cost map, and tiktoken's file ships with it
    os.environ.setdefault(
        "TIKTOKEN_CACHE_DIR", str(Path(litellm.__file__).parent / "litellm_core_utils/tokenizers")
    )
    import tiktoken

    encoding = tiktoken.get_encoding("cl100k_base")
    texts: dict[str, list[str]] = {"markdown": [], "cleaned_html": [], "prose": []}
    rows = [json.loads(line) for line in (corpus / "pages.jsonl").read_text().splitlines()]
    for row in rows[:limit]:
        with gzip.open(corpus / "pages" / row["file"]) as page:
            item = extract_page(page.read(), row["url"])
        texts["markdown"].append(item.markdown or "")
        texts["cleaned_html"].append(item.cleaned_html or "")
        paragraphs = (item.markdown or "").split("\n\n")
        texts["prose"].append(
            "\n\n".join(p for p in paragraphs if "](" not in p and len(p.split()) > 20)
        )
    print(f"estimated / real tokens (cl100k_base), {limit} corpus pages, texts > 200 words")
    header = f"{'input':<13} {'texts':>5} {'c4scrapy median':>15} {'p10-p90':>11} "
    header += f"{'Crawl4AI median':>15} {'p10-p90':>11}"
    print(header)
    print("-" * len(header))
    for kind, values in texts.items():
        values = [t for t in values if len(t.split()) > 200]
        real = [len(encoding.encode(t, disallowed_special=())) for t in values]
        ours = [estimate_tokens(t) / n for t, n in zip(values, real, strict=True)]
        theirs = [len(t.split()) * 1.3 / n for t, n in zip(values, real, strict=True)]
        cells = []
        for ratios in (ours, theirs):
            deciles = statistics.quantiles(ratios, n=10)
            cells.append(
                f"{statistics.median(ratios):>15.2f} {deciles[0]:>5.2f}-{deciles[-1]:<5.2f}"
            )
        print(f"{kind:<13} {len(values):>5} {cells[0]} {cells[1]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=48)
    parser.add_argument("--latency", type=float, default=0.25)
    parser.add_argument("--concurrency", type=int, nargs="*", default=[1, 4, 16])
    parser.add_argument("--token-estimate", action="store_true")
    parser.add_argument("--corpus", type=Path, default=Path("/work/shared/corpus"))
    parser.add_argument("--limit", type=int, default=136)
    args = parser.parse_args()
    if args.token_estimate:
        token_estimate(args.corpus, args.limit)
        return
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        build_site(site, args.pages)
        print(
            f"{args.pages + 1} pages, 1 chunk each, fake model latency {args.latency}s "
            f"(serialised calls would give {1 / args.latency:.1f} pages/s)"
        )
        header = (
            f"{'C4_LLM_CONCURRENCY':>18} {'LLM pages/s':>11} {'max in flight':>13} "
            f"{'crawl s':>8} {'crawl pages/s':>13} {'vs concurrency 1':>16}"
        )
        print(header)
        print("-" * len(header))
        base = None
        for concurrency in args.concurrency:
            row = measure(site, args.pages, args.latency, concurrency)
            base = base or row["llm_pages_per_s"]
            print(
                f"{concurrency:>18} {row['llm_pages_per_s']:>11.1f} {row['max_in_flight']:>13} "
                f"{row['elapsed']:>8.1f} {row['crawl_pages_per_s']:>13.1f} "
                f"{row['llm_pages_per_s'] / base:>15.1f}x",
                flush=True,
            )


if __name__ == "__main__":
    main()
