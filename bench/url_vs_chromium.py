"""c4scrapy's URL resolution against the browser's: ``new URL(href, base).href`` in the
system Chromium (through Playwright) on every href of real pages, plus a table of edge cases.

    .venv/bin/python bench/url_vs_chromium.py [--corpus ../shared/corpus]
        [--docs /usr/share/doc/python3.11/html] [--show 30] [--json out.json]

Every URL c4scrapy resolves is collected from each page (``a``/``area`` href, ``img`` src,
data-src and srcset URLs, ``video``/``audio``/``source``/``track`` src, ``link`` href),
with the page's base (its ``<base href>`` when it has one), and each distinct (href, base)
pair goes to both. c4scrapy also normalises, so Chromium's answer is put through the same
steps before the comparison: the tracking parameters are removed (``strip_tracking``), an
empty query (a bare ``?``) is dropped, a result that is not http(s) (``mailto:``, ``data:``...) counts as "not a web link" (None),
and so does a URL Chromium refuses. The fragment is compared (``keep_fragment=True``).
The disagreements that remain are printed by kind, with examples.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import lxml.html
from lxml import etree

from c4scrapy.core.media import parse_srcset
from c4scrapy.core.urls import normalize_url, strip_tracking

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CHROMIUM = "/usr/bin/chromium"
C0_SPACE = "".join(map(chr, range(0x21)))
BASE = "http://example.com/dir/page.html"

#: (href, base) pairs that browsers resolve in ways a plain RFC 3986 resolver does not.
EDGE_CASES: list[tuple[str, str]] = [
    ("\\", BASE),
    ("\\x.html", BASE),
    ("\\\\evil.com/x", BASE),
    ("\\\\evil.com\\x\\y", BASE),
    ("a\\b\\c.html", BASE),
    ("..\\up.html", BASE),
    ("/a\\..\\b", BASE),
    ("?q=a\\b", BASE),
    ("#frag\\x", BASE),
    ("http:\\\\host.com\\p", BASE),
    ("https:\\\\host.com\\p", BASE),
    ("http:foo.html", BASE),
    ("http:/foo.html", BASE),
    ("https:foo.html", BASE),
    ("http:///host.com/p", BASE),
    ("///host.com/p", BASE),
    ("//host.com", BASE),
    ("//", BASE),
    ("///", BASE),
    ("a\tb\nc\rd.html", BASE),
    ("ht\ttp://host.com/", BASE),
    ("\t\n /x.html \n\t", BASE),
    ("\x00\x01/x.html\x1f ", BASE),
    ("\x0b/x.html", BASE),
    ("\xa0/x.html", BASE),
    ("/x.html\xa0", BASE),
    ("/%2e%2e/x", BASE),
    ("/a/%2E/b", BASE),
    ("/a/.%2e/b", BASE),
    ("/a/b/..", BASE),
    ("/a/b/.", BASE),
    ("../../../../x", BASE),
    ("/a b", BASE),
    ('/a"b<c>d`e{f}g|h^i', BASE),
    ("/a%zzb", BASE),
    ("/ä?ä#ä", BASE),
    ("?a=b c&d='e'", BASE),
    ("http://HOST.com./", BASE),
    ("http://host.com:80/", BASE),
    ("http://host.com:/", BASE),
    ("https://host.com:443/", BASE),
    ("http://host.com:0080/", BASE),
    ("http://host.com:99999/", BASE),
    ("http://user@host.com/", BASE),
    ("http://:pw@host.com/", BASE),
    ("http://a b.com/", BASE),
    ("http://host%2ecom/", BASE),
    ("http://0x7f.1/", BASE),
    ("http://2130706433/", BASE),
    ("http://127.1/", BASE),
    ("http://[::1]/", BASE),
    ("http://[0:0::1]/", BASE),
    ("http://bücher.example/", BASE),
    ("http://EXAMPLE.com/%7Euser", BASE),
    ("javascript:alert(1)", BASE),
    ("mailto:a@b.com", BASE),
    ("data:text/html,x", BASE),
    ("ftp://host.com/x", BASE),
    ("HTTPS://Host.Com/X", BASE),
    ("", BASE),
    ("#", BASE),
    ("?", BASE),
    (".", BASE),
    ("..", BASE),
    ("./", BASE),
    ("x", "http://example.com"),
    ("x", "http://example.com/a/b?q=1#f"),
    ("?r=2", "http://example.com/a/b?q=1#f"),
    ("#g", "http://example.com/a/b?q=1#f"),
    ("", "http://example.com/a/b?q=1#f"),
]


def page_files(corpus: Path, docs: Path) -> list[tuple[Path, str]]:
    """(file, URL) of every page of the corpus (URLs from its manifest) and of the docs site
    (served at http://127.0.0.1:8800/)."""
    pages = []
    with (corpus / "pages.jsonl").open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    for row in rows:
        path = corpus / "pages" / row["file"]
        if path.exists():
            pages.append((path, row["url"]))
    for dirpath, dirnames, filenames in os.walk(docs):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(".html"):
                path = Path(dirpath, name)
                pages.append((path, "http://127.0.0.1:8800/" + path.relative_to(docs).as_posix()))
    return pages


def hrefs_of(data: bytes, url: str) -> list[tuple[str, str]]:
    """The (href, base) pairs c4scrapy resolves on one page."""
    try:
        doc = lxml.html.document_fromstring(data)
    except (etree.ParserError, ValueError):  # an empty or unparsable file has no hrefs
        return []
    base = url
    base_el = doc.find(".//base[@href]")
    if base_el is not None:
        base = normalize_url(base_el.get("href", ""), url) or url
    found = [el.get("href") for el in doc.iter("a", "area", "link")]
    for el in doc.iter("img", "source"):
        found.extend((el.get("src"), el.get("data-src")))
        for name in ("srcset", "data-srcset"):
            found.extend(u for u, _ in parse_srcset(el.get(name) or ""))
    for el in doc.iter("video", "audio", "track"):
        found.extend((el.get("src"), el.get("poster")))
    return [(href, base) for href in found if href is not None]


def as_c4scrapy_would(chrome: str | None) -> str | None:
    """Chromium's answer put through c4scrapy's normalisation steps that are not resolution."""
    if chrome is None or not chrome.startswith(("http://", "https://")):
        return None
    rest, hash_, fragment = chrome.partition("#")
    before, _, query = rest.partition("?")
    if query:
        query = strip_tracking(query)
    return before + ("?" + query if query else "") + hash_ + fragment


async def chromium_resolve(pairs: list[tuple[str, str]]) -> list[str | None]:
    from playwright.async_api import async_playwright

    out: list[str | None] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = await browser.new_page()
        for start in range(0, len(pairs), 5000):
            out.extend(
                await page.evaluate(
                    "pairs => pairs.map(([h, b]) => {"
                    " try { return new URL(h, b).href } catch (e) { return null } })",
                    pairs[start : start + 5000],
                )
            )
        version = browser.version
        await browser.close()
    print(f"Chromium {version}")
    return out


def kind_of(href: str, ours: str | None, theirs: str | None) -> str:
    """A label for a disagreement, to group them."""
    if ours is None or theirs is None:
        return f"{'c4scrapy' if ours is None else 'Chromium'} refuses"
    if "\\" in href:
        return "backslash"
    ours_host = ours.split("/")[2]
    theirs_host = theirs.split("/")[2]
    if ours_host != theirs_host:
        return "host"
    if ours.partition("#")[0] == theirs.partition("#")[0]:
        return "fragment encoding"
    if ours.partition("?")[0] == theirs.partition("?")[0]:
        return "query encoding"
    return "path"


def explanation(href: str, ours: str | None, theirs: str | None) -> str | None:
    """Why c4scrapy differs from Chromium on purpose, or None for an unexplained difference."""
    if ours is None and not href.strip(C0_SPACE):
        return "empty href: not a link for c4scrapy (a browser resolves it to the page)"
    if theirs is not None and theirs.endswith("#") and ours == theirs[:-1]:
        return "empty fragment: c4scrapy writes no bare '#' (the same resource)"
    if ours is None and theirs is not None and "%20" in theirs.split("/")[2]:
        return "space in host: Chromium writes %20 (no DNS name has one); WHATWG, c4scrapy refuse"
    return None


def compare(pairs: list[tuple[str, str]], chrome: list[str | None]) -> dict[str, Any]:
    kinds: dict[str, list[tuple[str, str, str | None, str | None]]] = defaultdict(list)
    for (href, base), theirs_raw in zip(pairs, chrome, strict=True):
        ours = normalize_url(href, base, keep_fragment=True)
        theirs = as_c4scrapy_would(theirs_raw)
        if ours != theirs:
            why = explanation(href, ours, theirs)
            kind = f"explained: {why}" if why else kind_of(href, ours, theirs)
            kinds[kind].append((href, base, ours, theirs))
    return kinds


def report(title: str, pairs: list[tuple[str, str]], chrome: list[str | None], show: int):
    kinds = compare(pairs, chrome)
    total = sum(len(v) for v in kinds.values())
    unexplained = sum(len(v) for k, v in kinds.items() if not k.startswith("explained"))
    print(
        f"\n## {title}: {len(pairs)} distinct (href, base) pairs, {total} disagreements, "
        f"{unexplained} unexplained\n"
    )
    for kind, rows in sorted(kinds.items(), key=lambda kv: (kv[0].startswith("ex"), -len(kv[1]))):
        print(f"### {kind}: {len(rows)}")
        for href, base, ours, theirs in rows[: 2 if kind.startswith("explained") else show]:
            print(f"  href={href!r} base={base}\n    c4scrapy={ours}\n    Chromium={theirs}")
    return {kind: len(rows) for kind, rows in kinds.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=SHARED / "corpus")
    parser.add_argument("--docs", type=Path, default=Path("/usr/share/doc/python3.11/html"))
    parser.add_argument("--show", type=int, default=10, help="examples per kind")
    parser.add_argument("--json", type=Path, help="write the counts and edge cases here")
    args = parser.parse_args(argv)

    seen: set[tuple[str, str]] = set()
    counts: Counter[str] = Counter()
    for path, url in page_files(args.corpus, args.docs):
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        counts["pages"] += 1
        for pair in hrefs_of(data, url):
            counts["hrefs"] += 1
            seen.add(pair)
    pairs = sorted(seen)
    print(f"{counts['pages']} pages, {counts['hrefs']} hrefs")
    chrome = asyncio.run(chromium_resolve(EDGE_CASES + pairs))
    edge, real = chrome[: len(EDGE_CASES)], chrome[len(EDGE_CASES) :]
    figures = {
        "pages": counts["pages"],
        "hrefs": counts["hrefs"],
        "pairs": len(pairs),
        "real": report("real pages", pairs, real, args.show),
        "edge": report("edge cases", EDGE_CASES, edge, len(EDGE_CASES)),
        "edge_cases": [
            [href, base, as_c4scrapy_would(theirs)]
            for (href, base), theirs in zip(EDGE_CASES, edge, strict=True)
        ],
    }
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
