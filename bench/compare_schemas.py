"""Schema extraction side by side with Crawl4AI 0.9.5 on the real-page corpus.

    .venv/bin/python bench/compare_schemas.py [--schemas examples/schemas/*.json]
        [--corpus /work/shared/corpus] [--limit N] [--out out/compare_schemas]

For every schema and every page of the corpus (136 news/blog pages), it runs c4scrapy's
strategy (``extract_tree`` on the page parsed once, as the crawl does) and Crawl4AI's
``JsonCssExtractionStrategy`` / ``JsonXPathExtractionStrategy`` (through
``/work/shared/tools/c4ai_oracle.py --schema`` in Crawl4AI's own venv), then compares the
records page by page:

- ``same``: identical records;
- ``spacing``: identical once whitespace inside strings is collapsed (Crawl4AI's XPath
  text keeps newlines and runs of spaces);
- ``glued``: identical once all whitespace is removed (Crawl4AI's CSS text joins text
  nodes with no space: "Widget <b>Pro</b>" is "WidgetPro");
- ``differs``: anything else (the first examples are written to ``--out``).

Times are per page (the median of ``--repeat`` runs), then the median over the corpus:
c4scrapy's extraction alone (what a crawl pays: Scrapy has parsed the page already),
c4scrapy's parse + extraction (the same work as Crawl4AI's, which parses the raw HTML
itself), and Crawl4AI's ``strategy.run(url, [html])`` (the call the oracle makes), timed by
a helper process in Crawl4AI's venv. The two sides are timed page by page, one right after
the other, so a busy machine slows both alike and the ratios hold.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from c4scrapy.core.page import parse_html
from c4scrapy.core.schema import load_schema_strategy

C4AI_PYTHON = "/work/c4ai-venv/bin/python"
ORACLE = "/work/shared/tools/c4ai_oracle.py"

#: Runs in Crawl4AI's venv: reads {"schema", "file", "url", "repeat"} lines, answers the
#: median seconds of Crawl4AI's strategy.run() on that page (strategy chosen as the oracle's
#: --schema-type auto does).
TIMER = """
import gzip, json, statistics, sys, time
from crawl4ai import JsonCssExtractionStrategy, JsonXPathExtractionStrategy
strategies = {}
for line in sys.stdin:
    job = json.loads(line)
    if job["schema"] not in strategies:
        schema = json.load(open(job["schema"]))
        xpath = str(schema.get("baseSelector", "")).startswith(("/", "./", "("))
        cls = JsonXPathExtractionStrategy if xpath else JsonCssExtractionStrategy
        strategies[job["schema"]] = cls(schema)
    strategy = strategies[job["schema"]]
    with gzip.open(job["file"]) as page:
        html = page.read().decode("utf-8", "replace")
    runs = []
    for _ in range(job["repeat"]):
        started = time.perf_counter()
        strategy.run(job["url"], [html])
        runs.append(time.perf_counter() - started)
    print(json.dumps(statistics.median(runs)), flush=True)
"""


class Crawl4AITimer:
    def __init__(self, workdir: Path) -> None:
        env = {"CRAWL4_AI_BASE_DIRECTORY": str(workdir), "HOME": str(workdir), "PATH": "/usr/bin"}
        self.proc = subprocess.Popen(
            [C4AI_PYTHON, "-c", TIMER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )

    def __call__(self, schema: Path, file: Path, url: str, repeat: int) -> float:
        job = {"schema": str(schema), "file": str(file), "url": url, "repeat": repeat}
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline())

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def _normalise(value: Any, squash: str) -> Any:
    if isinstance(value, str):
        return "".join(value.split()) if squash == "all" else " ".join(value.split())
    if isinstance(value, list):
        return [_normalise(v, squash) for v in value]
    if isinstance(value, dict):
        return {k: _normalise(v, squash) for k, v in value.items()}
    return value


def classify(ours: list[Any], theirs: list[Any]) -> str:
    if ours == theirs:
        return "same"
    if _normalise(ours, "space") == _normalise(theirs, "space"):
        return "spacing"
    if _normalise(ours, "all") == _normalise(theirs, "all"):
        return "glued"
    return "differs"


def run_oracle(schema: Path, corpus: Path, limit: int | None, workdir: Path) -> dict[str, Any]:
    out = workdir / f"{schema.stem}.c4ai.jsonl"
    cmd = [C4AI_PYTHON, ORACLE, str(corpus / "pages"), "--schema", str(schema)]
    cmd += ["-o", str(out), "--repeat", "1", "-q"]
    if limit:
        cmd += ["--limit", str(limit)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    results = {}
    for line in out.read_text().splitlines():
        record = json.loads(line)
        results[Path(record["file"]).name] = record
    return results


def run_ours(
    schema: Path, pages: list[dict[str, Any]], corpus: Path, timer: Crawl4AITimer, repeat: int
) -> dict[str, Any]:
    strategy = load_schema_strategy(str(schema))
    results = {}
    for row in pages:
        file = corpus / "pages" / row["file"]
        with gzip.open(file) as page:
            data = page.read()
        c4ai = timer(schema, file, row["url"], repeat)
        extract_runs, total_runs = [], []
        for _ in range(repeat):
            started = time.perf_counter()
            doc = parse_html(data, row["url"])
            parsed = time.perf_counter()
            records = strategy.extract_tree(doc)
            done = time.perf_counter()
            extract_runs.append(done - parsed)
            total_runs.append(done - started)
        results[row["file"]] = {
            "records": json.loads(json.dumps(records)),
            "extract": statistics.median(extract_runs),
            "total": statistics.median(total_runs),
            "c4ai": c4ai,
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schemas", nargs="*", type=Path)
    parser.add_argument("--corpus", type=Path, default=Path("/work/shared/corpus"))
    parser.add_argument("--limit", type=int)
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "compare_schemas")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    schemas = args.schemas or sorted((ROOT / "examples" / "schemas").glob("*.json"))
    rows = [json.loads(line) for line in (args.corpus / "pages.jsonl").read_text().splitlines()]
    rows.sort(key=lambda row: row["file"])
    if args.limit:
        rows = rows[: args.limit]
    args.out.mkdir(parents=True, exist_ok=True)

    header = (
        f"{'schema':<13} {'type':<5} {'pages':>5} {'same':>5} {'spacing':>7} {'glued':>5} "
        f"{'differs':>7} {'records ours/c4ai':>17} {'ours extract':>12} {'ours parse+ex':>13} "
        f"{'c4ai':>8} {'c4ai/(parse+ex)':>15} {'c4ai/extract':>12}"
    )
    print(
        f"{len(rows)} pages of {args.corpus}; times in ms: per page the median of "
        f"{args.repeat} runs, then the median over the pages"
    )
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as tmp:
        timer = Crawl4AITimer(Path(tmp))
        for schema in schemas:
            theirs = run_oracle(schema, args.corpus, args.limit, Path(tmp))
            ours = run_ours(schema, rows, args.corpus, timer, args.repeat)
            counts = {"same": 0, "spacing": 0, "glued": 0, "differs": 0}
            examples = []
            ours_records = their_records = 0
            their_times = []
            for row in rows:
                mine = ours[row["file"]]["records"]
                other = theirs.get(row["file"], {})
                if other.get("extract_error") or other.get("extracted") is None:
                    counts["differs"] += 1
                    examples.append({"url": row["url"], "c4ai_error": other.get("extract_error")})
                    continue
                kind = classify(mine, other["extracted"])
                counts[kind] += 1
                ours_records += len(mine)
                their_records += len(other["extracted"])
                their_times.append(ours[row["file"]]["c4ai"])
                if kind == "differs" and len(examples) < 5:
                    examples.append({"url": row["url"], "ours": mine, "c4ai": other["extracted"]})
            (args.out / f"{schema.stem}.differences.json").write_text(
                json.dumps(examples, indent=1, ensure_ascii=False)
            )
            extract_ms = 1e3 * statistics.median(r["extract"] for r in ours.values())
            total_ms = 1e3 * statistics.median(r["total"] for r in ours.values())
            c4ai_ms = 1e3 * statistics.median(their_times) if their_times else float("nan")
            kind = load_schema_strategy(str(schema)).schema_type
            print(
                f"{schema.stem:<13} {kind:<5} {len(rows):>5} {counts['same']:>5} "
                f"{counts['spacing']:>7} {counts['glued']:>5} {counts['differs']:>7} "
                f"{f'{ours_records}/{their_records}':>17} {extract_ms:>12.2f} {total_ms:>13.2f} "
                f"{c4ai_ms:>8.2f} {c4ai_ms / total_ms:>14.1f}x {c4ai_ms / extract_ms:>11.0f}x",
                flush=True,
            )
        timer.close()
    print(f"\nexamples of differing pages: {args.out}/<schema>.differences.json")


if __name__ == "__main__":
    main()
