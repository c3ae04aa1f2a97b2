"""How ``extract_page`` grows with its input, shape by shape (issue 13: bounded work per page).

    .venv/bin/python bench/extract_scaling.py [--sizes 10000,20000,40000,80000] [--shapes ...]

Each shape is a page built from ``n`` (the size of the thing that grows: siblings, depth,
attributes, characters of a token, links...). Every (shape, n) runs in a fresh Python
process that builds the page, then times one ``extract_page(bytes, url, config)`` and
reports its peak resident memory above what the process held before the call (the
C-level parse and tree included, which tracemalloc would miss). The table gives seconds,
MB and, from one size to the next, the growth ratio of the time: about 2 for linear work
when n doubles, 4 for quadratic. A shape passes when its last ratio is under 2.6 (n log n
with noise).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: shape -> (description, page builder source (a function of n returning HTML text),
#: config as a dict).
SHAPES: dict[str, tuple[str, str, dict[str, object]]] = {
    "siblings": ("n empty <div></div> siblings", "'<div></div>' * n", {}),
    "text_siblings": (
        "n one-word <p> siblings (word_count_threshold drops them)",
        "'<p>w</p>' * n",
        {"word_count_threshold": 2},
    ),
    "nesting": ("n nested <div>", "'<div>x' * n + '</div>' * n", {}),
    "nesting_inline": ("n nested <span>", "'<span>x' * n + '</span>' * n", {}),
    "attributes": (
        "one <div> with n attributes",
        "'<div ' + ' '.join(f'a{i}=v' for i in range(n)) + '>text</div>'",
        {},
    ),
    "deep_wide": (
        "n <p> with an empty <b> each, under 2,000 nested <div>",
        "'<div>' * 2000 + '<p><b></b>w</p>' * n + '</div>' * 2000",
        {"word_count_threshold": 2},
    ),
    "deep_images": (
        "n images under 2,000 nested <div>",
        (
            "'<div>' * 2000 + ''.join(f'<img src=\"/i{i}.jpg\" width=\"300\">' for i in range(n))"
            " + '</div>' * 2000"
        ),
        {},
    ),
    "long_word": ("a word of 10n characters", "'<p>' + 'x' * (10 * n) + '</p>'", {}),
    "long_href": (
        "a link whose href has 10n characters",
        "'<a href=\"/' + 'x' * (10 * n) + '\">t</a>'",
        {},
    ),
    "links": (
        "n distinct links",
        "''.join(f'<a href=\"/p{i}\">link {i}</a>' for i in range(n))",
        {},
    ),
    "images": (
        "n images with srcset",
        (
            '\'\'.join(f\'<img src="/i{i}.jpg" srcset="/i{i}w.jpg 800w" alt="a{i}" '
            'width="300">\' for i in range(n))'
        ),
        {},
    ),
    "tables": (
        "n/10 tables of 10 cells",
        (
            "''.join('<table><tr><th>h</th><th>k</th></tr>' + '<tr><td>1</td><td>2</td></tr>' * 4"
            " + '</table>' for _ in range(n // 10))"
        ),
        {},
    ),
    "target_elements": (
        "n <h2>/<p> pairs, target_elements=h2,p",
        "''.join(f'<div><h2>t{i}</h2><p>p {i} words here</p></div>' for i in range(n))",
        {"target_elements": ["h2", "p"]},
    ),
    "css_selector_list": (
        "n <h2>/<p> pairs, css_selector='h2, p'",
        "''.join(f'<div><h2>t{i}</h2><p>p {i} words here</p></div>' for i in range(n))",
        {"css_selector": "h2, p"},
    ),
    "excluded_selector": (
        "n <div class=ad> siblings with text, excluded_selector='.ad'",
        "''.join(f'<div class=\"ad\">ad {i}</div><p>keep {i}</p>' for i in range(n))",
        {"excluded_selector": ".ad"},
    ),
}

_CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from c4scrapy.core.config import CrawlerRunConfig
from c4scrapy.core.page import extract_page
from c4scrapy.core.urls import UrlCache
n = {n}
html = ('<html><head><title>t</title></head><body>' + ({builder}) + '</body></html>').encode()
config = CrawlerRunConfig(**json.loads({config!r}))
extract_page(b'<html><body><p>warm up</p></body></html>', 'http://example.com/', config)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
item = extract_page(html, 'http://example.com/dir/page.html', config, cache=UrlCache())
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": seconds, "mb": max(peak - before, 0) / 1024,
                  "bytes": len(html), "success": item.success,
                  "error": item.error_message}}))
"""


def run_one(shape: str, n: int, timeout: float) -> dict[str, object]:
    _, builder, config = SHAPES[shape]
    code = _CHILD.format(root=str(ROOT), n=n, builder=builder, config=json.dumps(config))
    try:
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
    except subprocess.TimeoutExpired:
        return {"seconds": None, "mb": None, "bytes": None, "success": None, "timeout": True}
    except subprocess.CalledProcessError as exc:
        return {"seconds": None, "mb": None, "bytes": None, "error": exc.stderr[-300:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,20000,40000,80000")
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--timeout", type=float, default=120, help="seconds per run")
    parser.add_argument("--json", type=Path, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    figures: dict[str, list[dict[str, object]]] = {}
    worst = 0.0
    print("| shape | n | KB of HTML | seconds | peak MB | time ratio | success |")
    print("|---|---|---|---|---|---|---|")
    for shape in args.shapes.split(","):
        rows = figures[shape] = []
        previous: float | None = None
        for n in sizes:
            row = run_one(shape, n, args.timeout)
            row["n"] = n
            rows.append(row)
            seconds = row.get("seconds")
            ratio = ""
            if isinstance(seconds, float) and previous:
                growth = seconds / previous
                ratio = f"{growth:.2f}"
                worst = max(worst, growth) if n == sizes[-1] else worst
            previous = seconds if isinstance(seconds, float) else None
            kb = f"{row['bytes'] / 1024:.0f}" if row.get("bytes") else "-"
            secs = f"{seconds:.3f}" if isinstance(seconds, float) else "timeout"
            mb = f"{row['mb']:.0f}" if isinstance(row.get("mb"), float) else "-"
            print(f"| {shape} | {n} | {kb} | {secs} | {mb} | {ratio} | {row.get('success')} |")
            sys.stdout.flush()
            if seconds is None:
                break
    print(f"\nLargest growth ratio at the last doubling: {worst:.2f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
