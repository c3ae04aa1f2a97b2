"""Side by side with Crawl4AI 0.9.5: links, images and tables of every page of a corpus.

    .venv/bin/python bench/compare_crawl4ai.py [--corpus DIR] [--refresh] [--examples N]

For each page of the corpus (``pages/*.html.gz`` plus ``pages.jsonl`` giving each file's
URL; default ``../shared/corpus``) it runs Crawl4AI's own scraper (``c4ai_oracle.py
--strategies lxml``, in Crawl4AI's venv, default config) and ``c4scrapy.extract_page``
(default config), and compares per page the internal and external href sets, the image
src sets and the table counts. It prints the Jaccard index of each set (median, mean,
p10) and the table-count agreement, then every remaining difference, classified, with a
count and the reason: those rows are the README's "Differences from Crawl4AI".

Crawl4AI's output is normalised in these documented ways only:

- its relative URLs are resolved against the page's base URL (its ``<base href>`` when
  there is one), as a browser would: it does not absolutise image srcs, nor links under a
  relative ``<base href>``;
- ``mailto:``, ``tel:`` and ``javascript:`` links are dropped: c4scrapy does not report
  links that are not web pages (other schemes stay, and are counted as a difference);
- both sides' URLs go through one canonical form, ``w3lib.url.canonicalize_url``
  (sorted query, one percent-encoding, no fragment), because the two normalisers write
  the same URL differently.

The oracle's output is cached under ``bench/.cache/`` (keyed by the corpus listing and
the config); ``--refresh`` runs it again. A second oracle run with
``image_score_threshold=-1`` (and the same for c4scrapy) tells a score difference from a
filter difference.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

from c4scrapy import CrawlerRunConfig, extract_page
from c4scrapy.core.media import parse_srcset
from c4scrapy.core.page import parse_html
from c4scrapy.core.urls import host_of, normalize_url, registered_domain, url_scheme

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from lxml.html import HtmlElement

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
DEFAULT_CORPUS = SHARED / "corpus"
DEFAULT_ORACLE = SHARED / "tools" / "c4ai_oracle.py"
DEFAULT_ORACLE_PYTHON = ROOT.parent / "c4ai-venv" / "bin" / "python"
CACHE_DIR = ROOT / "bench" / ".cache"

LINK_SETS = ("internal", "external")
SETS = (*LINK_SETS, "images")
#: Links c4scrapy deliberately leaves out of PageItem.links (not web pages).
DROPPED_SCHEMES = ("mailto:", "tel:", "javascript:")
#: Query keys Crawl4AI drops as tracking parameters and c4scrapy keeps.
C4AI_ONLY_TRACKING = frozenset({"ref", "ref_src"})
#: Crawl4AI's get_base_domain keeps three labels when the second-to-last is one of these.
C4AI_SLDS = frozenset(
    {"co", "com", "org", "gov", "edu", "net", "mil", "int", "ac", "ad", "ae", "af", "ag"}
)
_DESCRIPTOR_IN_URL = re.compile(r"\s\d+(\.\d+)?[wx](\s|,|$)")
_HIDDEN = re.compile(r"display\s*:\s*none", re.IGNORECASE)


@dataclass(frozen=True)
class Kind:
    """One kind of difference: which set, who has the URL, and why."""

    key: str
    sets: str
    reason: str
    c4ai_bug: bool = False


KINDS = {
    k.key: k
    for k in (
        Kind(
            "no_dot_boundary",
            "internal/external",
            "Crawl4AI tests the host with a plain suffix match, so fingfx.thomsonreuters.com "
            "is internal on reuters.com; c4scrapy compares registered domains (PSL)",
            c4ai_bug=True,
        ),
        Kind(
            "psl_site",
            "internal/external",
            "c4scrapy decides internal by the Public Suffix List (x.blogspot.com, "
            "user.github.io are their own sites); Crawl4AI by its last-two-labels rule",
            c4ai_bug=True,
        ),
        Kind(
            "ref_param",
            "links",
            "Crawl4AI strips ref= and ref_src= as tracking parameters; c4scrapy keeps them "
            "(ref often selects content: ?ref=branch, affiliate and partner ids) and strips "
            "only utm_*, gclid, fbclid",
        ),
        Kind(
            "link_in_noscript",
            "links",
            "the link is inside <noscript>, which Crawl4AI deletes before reading links; "
            "c4scrapy reads the whole page as served",
            c4ai_bug=True,
        ),
        Kind(
            "area",
            "links",
            "<area href> (image maps) are links in c4scrapy; Crawl4AI reads only <a href>",
        ),
        Kind(
            "other_scheme",
            "links",
            "a non-web URL other than mailto:/tel:/javascript: (whatsapp:, callto:, sms:, "
            "a typo such as ttps:); Crawl4AI reports it as a link, c4scrapy reports only "
            "http(s) links",
        ),
        Kind(
            "malformed",
            "links",
            "a malformed URL (bad host or port) that c4scrapy's normaliser rejects",
        ),
        Kind(
            "whole_srcset",
            "images",
            "Crawl4AI also takes every data-*src*/data-*srcset* attribute value as one URL, "
            "so a whole lazy srcset ('a.jpg 300w, b.jpg 600w') becomes one bogus src; "
            "c4scrapy parses it into its URLs",
            c4ai_bug=True,
        ),
        Kind(
            "srcset_comma",
            "images",
            "Crawl4AI splits srcset on every comma, cutting CDN URLs that contain commas "
            "(w_320,c_limit) and data: URIs into pieces; c4scrapy parses srcset as browsers do",
            c4ai_bug=True,
        ),
        Kind(
            "img_in_noscript",
            "images",
            "the image is inside <noscript> (the no-JavaScript copy of a lazy image), which "
            "Crawl4AI deletes first; c4scrapy keeps it (de-duplicated against its twin)",
            c4ai_bug=True,
        ),
        Kind(
            "lazy_attribute",
            "images",
            "a lazy-loading attribute Crawl4AI does not read (data-original, data-lazy, or a "
            "relative data-*src* URL without 'http'); c4scrapy reads the common ones",
        ),
        Kind(
            "source_data_srcset",
            "images",
            "<picture><source data-srcset> (lazy sources); Crawl4AI reads only <source srcset>",
        ),
        Kind(
            "score_units",
            "images",
            "width/height written with units or spaces ('300px'): c4scrapy reads the number "
            "as a browser does, Crawl4AI needs bare digits, so the score differs",
        ),
        Kind(
            "score_placeholder_format",
            "images",
            "the format point: Crawl4AI takes it from a data: placeholder src (data:image/gif "
            "counts as a gif) or misses the lazy URL's format; c4scrapy looks past data: URLs",
            c4ai_bug=True,
        ),
        Kind(
            "score_position",
            "images",
            "the 'first half of the page's images' point: the page has <noscript> images, "
            "which c4scrapy sees (and leaves out of the count) and Crawl4AI deletes",
        ),
        Kind(
            "score_other",
            "images",
            "the score differs for another reason (see --examples)",
        ),
        Kind(
            "filter_case",
            "images",
            "c4scrapy's icon/logo/button test ignores case ('LOGO-CESF.png' is a logo); "
            "Crawl4AI's is case-sensitive",
        ),
        Kind(
            "filter_lazy_url",
            "images",
            "c4scrapy applies the icon/logo/button test to a lazy image's real URL when src "
            "is a placeholder; Crawl4AI only to the src attribute",
        ),
        Kind(
            "filter_hidden",
            "images",
            "a hidden image (display: none written with a space or in capitals, or the "
            "hidden attribute): c4scrapy drops it, Crawl4AI only matches 'display:none'",
            c4ai_bug=True,
        ),
        Kind("unexplained", "any", "not classified: see --examples"),
    )
}


# --- the two sides -------------------------------------------------------------------------


def load_manifest(corpus: Path) -> list[tuple[str, str]]:
    """``[(file name, URL)]`` from ``pages.jsonl``, sorted by file name."""
    rows = []
    with (corpus / "pages.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                rows.append((row["file"], row["url"]))
    return sorted(rows)


def read_page(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def run_oracle(
    args: argparse.Namespace, pages: list[tuple[str, str]], config: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Crawl4AI's scraper output per file name, from the cache or a fresh oracle run."""
    listing = "\n".join(f"{name} {url}" for name, url in pages)
    key = hashlib.sha1(f"{listing}\n{json.dumps(config, sort_keys=True)}".encode()).hexdigest()
    cache = args.cache_dir / f"oracle-{key[:16]}.jsonl"
    if args.refresh or not cache.exists():
        args.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        cmd = [
            str(args.oracle_python),
            str(args.oracle),
            str(args.corpus / "pages"),
            "--manifest",
            str(args.corpus / "pages.jsonl"),
            "--strategies",
            "lxml",
            "--config",
            json.dumps(config),
            "-q",
            "-o",
            str(tmp),
        ]
        started = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        tmp.replace(cache)
        print(f"oracle run ({config or 'default config'}): {time.perf_counter() - started:.1f} s")
    out = {}
    with cache.open(encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            out[Path(record["file"]).name] = record
    return out


# --- normalisation ---------------------------------------------------------------------------


def canonical(url: str) -> str:
    try:
        return canonicalize_url(url)
    except ValueError:
        return url


def base_of(doc: HtmlElement, url: str) -> str:
    """The page's base URL as a browser has it (``<base href>`` resolved, else the URL)."""
    base = doc.find(".//base[@href]")
    if base is not None and base.get("href", "").strip():
        return urljoin(url, base.get("href", "").strip())
    return url


def c4ai_url(raw: str, base: str) -> str:
    return canonical(urljoin(base, raw.strip()))


def strip_params(url: str, keys: frozenset[str]) -> str:
    parts = urlsplit(url)
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in keys]
    return canonical(urlunsplit(parts._replace(query=urlencode(pairs))))


def jaccard(a: set[str], b: set[str]) -> float:
    return 1.0 if not a and not b else len(a & b) / len(a | b)


# --- classification --------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    kind: str
    side: str  # "ours" (only c4scrapy has the URL), "theirs", or "moved" (other bucket)
    url: str


@dataclass
class Page:
    """One page, both sides, and the evidence needed to explain a difference."""

    name: str
    url: str
    doc: HtmlElement
    base: str
    ours: dict[str, set[str]]
    theirs: dict[str, set[str]]
    raw_theirs: dict[str, str]  # canonical URL -> Crawl4AI's raw href/src
    ours_all_images: set[str]  # c4scrapy's images at image_score_threshold=-1
    theirs_all_images: dict[str, dict[str, Any]]  # Crawl4AI's, same threshold
    tables: tuple[int, int]
    normalised: Counter[str]
    differences: list[Difference] = field(default_factory=list)

    def add(self, kind: str, side: str, url: str) -> None:
        self.differences.append(Difference(kind, side, url))


def c4ai_base_domain(url: str) -> str:
    """Crawl4AI's ``get_base_domain`` (reference section 3), to explain its decisions."""
    netloc = urlsplit(url).netloc.lower().split("@")[-1].split(":")[0].removeprefix("www.")
    labels = netloc.split(".")
    if len(labels) > 2 and labels[-2] in C4AI_SLDS:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def classify_moved(page: Page, url: str) -> str:
    host = host_of(url)
    base = c4ai_base_domain(page.url).replace("www.", "")
    bare = host.replace("www.", "")
    if bare.endswith(base) and bare != base and not bare.endswith("." + base):
        return "no_dot_boundary"
    if registered_domain(host) != registered_domain(host_of(page.url)):
        return "psl_site"
    return "psl_site" if bare.endswith(base) != (url in page.ours["internal"]) else "unexplained"


def ancestors(el: HtmlElement) -> Iterator[HtmlElement]:
    parent = el.getparent()
    while parent is not None:
        yield parent
        parent = parent.getparent()


def in_noscript(el: HtmlElement) -> bool:
    return any(a.tag == "noscript" for a in ancestors(el))


def link_elements(page: Page, url: str) -> list[HtmlElement]:
    return [
        a
        for a in page.doc.iter("a", "area")
        if a.get("href") is not None
        and (resolved := normalize_url(a.get("href", ""), page.base))
        and canonical(resolved) == url
    ]


def classify_link(page: Page, url: str, side: str) -> str:
    if side == "ours":
        elements = link_elements(page, url)
        if elements and all(in_noscript(a) for a in elements):
            return "link_in_noscript"
        if elements and all(a.tag == "area" for a in elements):
            return "area"
        return "unexplained"
    raw = page.raw_theirs.get(url, url)
    if url_scheme(urljoin(page.base, raw)) not in ("http", "https"):
        return "other_scheme"
    if normalize_url(raw, page.base) is None:
        return "malformed"
    return "unexplained"


def image_candidates(el: HtmlElement) -> Iterator[tuple[str, str]]:
    """Every (attribute, URL) an ``<img>``/``<source>`` may name, srcsets parsed properly."""
    for name, value in el.attrib.items():
        if name in ("srcset", "data-srcset") or (name.startswith("data-") and "srcset" in name):
            for candidate, _ in parse_srcset(value):
                yield name, candidate
        elif name in ("src", "data-src") or name.startswith("data-"):
            yield name, value.strip()


def producers(page: Page, url: str) -> list[tuple[HtmlElement, str, str]]:
    """The (element, attribute, raw value) that give this canonical image URL."""
    found = []
    for el in page.doc.iter("img", "source"):
        for name, raw in image_candidates(el):
            if raw and not raw.startswith("data:") and canonical(urljoin(page.base, raw)) == url:
                found.append((el, name, raw))
    return found


def srcset_cut(value: str) -> bool:
    """Whether Crawl4AI's comma split cuts one of this srcset's URLs."""
    return any("," in candidate for candidate, _ in parse_srcset(value))


def score_reason(page: Page, el: HtmlElement) -> str:
    width, height = el.get("width", ""), el.get("height", "")
    if any(v and not v.isdigit() and re.match(r"\s*\d", v) for v in (width, height)):
        return "score_units"
    src = el.get("src", "")
    if src.startswith("data:") or (not src and (el.get("data-src") or el.get("srcset"))):
        return "score_placeholder_format"
    if any(in_noscript(img) for img in page.doc.iter("img")):
        return "score_position"
    return "score_other"


def classify_image(page: Page, url: str, side: str) -> str:
    if side == "theirs":
        raw = page.raw_theirs.get(url, "")
        if _DESCRIPTOR_IN_URL.search(raw):
            return "whole_srcset"
        for el in page.doc.iter("img", "source"):
            for name, value in el.attrib.items():
                if "srcset" in name and raw and raw in value and srcset_cut(value):
                    return "srcset_comma"
        if url in page.ours_all_images:
            made = producers(page, url)
            return score_reason(page, made[0][0]) if made else "score_other"
        made = producers(page, url)
        if not made:
            return "unexplained"
        el = made[0][0]
        style = el.get("style", "")
        if el.get("hidden") is not None or (_HIDDEN.search(style) and "display:none" not in style):
            return "filter_hidden"
        words = ("button", "icon", "logo")
        src, alt = el.get("src", ""), el.get("alt", "")
        if any(w in (src + alt).lower() for w in words):
            return "filter_case"
        if src.startswith("data:") or not src:
            return "filter_lazy_url"
        return "unexplained"
    made = producers(page, url)
    if not made:
        return "unexplained"
    if all(in_noscript(el) for el, _, _ in made):
        return "img_in_noscript"
    for el, name, _ in made:
        if "srcset" in name and srcset_cut(el.get(name, "")):
            return "srcset_comma"
    for el, name, raw in made:
        if el.tag == "img" and name.startswith("data-") and "srcset" in name:
            if name != "data-srcset":
                return "whole_srcset"
            continue
        if el.tag == "source" and name != "srcset":
            return "source_data_srcset"
        read_by_c4ai = name in ("src", "data-src", "srcset", "data-srcset") or (
            "src" in name and "http" in raw
        )
        if el.tag == "img" and not read_by_c4ai:
            return "lazy_attribute"
    if url in page.theirs_all_images:
        return score_reason(page, made[0][0])
    return "unexplained"


def classify(page: Page) -> None:
    ours, theirs = page.ours, page.theirs
    moved = (ours["internal"] & theirs["external"]) | (ours["external"] & theirs["internal"])
    for url in sorted(moved):
        page.add(classify_moved(page, url), "moved", url)
    our_links = ours["internal"] | ours["external"]
    their_links = theirs["internal"] | theirs["external"]
    only_ours = our_links - their_links
    only_theirs = their_links - our_links
    twins = {strip_params(url, C4AI_ONLY_TRACKING): url for url in only_ours}
    for url in sorted(only_theirs):
        twin = twins.get(strip_params(url, C4AI_ONLY_TRACKING))
        if twin in only_ours:
            page.add("ref_param", "ours", twin)
            page.add("ref_param", "theirs", url)
            only_ours.discard(twin)
        else:
            page.add(classify_link(page, url, "theirs"), "theirs", url)
    for url in sorted(only_ours):
        if strip_params(url, C4AI_ONLY_TRACKING) in their_links:  # Crawl4AI merged it
            page.add("ref_param", "ours", url)
        else:
            page.add(classify_link(page, url, "ours"), "ours", url)
    for url in sorted(ours["images"] - theirs["images"]):
        page.add(classify_image(page, url, "ours"), "ours", url)
    for url in sorted(theirs["images"] - ours["images"]):
        page.add(classify_image(page, url, "theirs"), "theirs", url)


# --- main ------------------------------------------------------------------------------------


def compare_page(
    corpus: Path, name: str, url: str, oracle: dict[str, Any], oracle_all: dict[str, Any]
) -> Page:
    data = read_page(corpus / "pages" / name)
    doc = parse_html(data, url)
    item = extract_page(doc, url)
    item_all = extract_page(doc, url, CrawlerRunConfig(image_score_threshold=-1))
    base = base_of(doc, url)
    raw_theirs: dict[str, str] = {}
    normalised: Counter[str] = Counter()

    def theirs_set(entries: Iterable[dict[str, Any]], key: str) -> set[str]:
        out = set()
        for entry in entries:
            raw = entry.get(key) or ""
            if not raw or raw.strip().lower().startswith(DROPPED_SCHEMES):
                normalised["non-web links dropped (mailto:, tel:, javascript:)"] += bool(raw)
                continue
            if not urlsplit(raw.strip()).scheme:
                normalised[f"relative {'image srcs' if key == 'src' else 'hrefs'} resolved"] += 1
            url = c4ai_url(raw, base)
            raw_theirs.setdefault(url, raw)
            out.add(url)
        return out

    theirs = {k: theirs_set(oracle["links"][k], "href") for k in LINK_SETS}
    theirs["images"] = theirs_set(oracle["media"]["images"], "src")
    ours = {k: {canonical(link["href"]) for link in item.links[k]} for k in LINK_SETS}
    ours["images"] = {canonical(image["src"]) for image in item.media["images"]}
    page = Page(
        name=name,
        url=url,
        doc=doc,
        base=base,
        ours=ours,
        theirs=theirs,
        raw_theirs=raw_theirs,
        ours_all_images={canonical(image["src"]) for image in item_all.media["images"]},
        theirs_all_images={
            c4ai_url(image["src"], base): image
            for image in oracle_all["media"]["images"]
            if image.get("src")
        },
        tables=(len(item.tables), len(oracle["tables"])),
        normalised=normalised,
    )
    if not item.success:
        print(f"  c4scrapy failed on {name}: {item.error_message}", file=sys.stderr)
    classify(page)
    return page


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def report(pages: list[Page], examples: int) -> dict[str, Any]:
    print(f"\n## Agreement on {len(pages)} pages (Jaccard index per page, 1.0 = same set)\n")
    print("| set | median | mean | p10 | pages identical | c4scrapy total | Crawl4AI total |")
    print("|---|---|---|---|---|---|---|")
    summary: dict[str, Any] = {"pages": len(pages)}
    for name in SETS:
        scores = [jaccard(p.ours[name], p.theirs[name]) for p in pages]
        same = sum(score == 1.0 for score in scores)
        ours = sum(len(p.ours[name]) for p in pages)
        theirs = sum(len(p.theirs[name]) for p in pages)
        row = {
            "median": statistics.median(scores),
            "mean": statistics.mean(scores),
            "p10": percentile(scores, 0.1),
        }
        summary[name] = row
        print(
            f"| {name} hrefs | {row['median']:.3f} | {row['mean']:.3f} | {row['p10']:.3f} "
            f"| {same} | {ours} | {theirs} |".replace("images hrefs", "image srcs")
        )
    agree = sum(p.tables[0] == p.tables[1] for p in pages)
    summary["tables_agree"] = agree
    print(
        f"| table count | | | | {agree} | {sum(p.tables[0] for p in pages)} "
        f"| {sum(p.tables[1] for p in pages)} |"
    )
    print(f"\ntable-count agreement: {agree}/{len(pages)} pages ({agree / len(pages):.1%})")
    normalised = sum((p.normalised for p in pages), Counter())
    print("Crawl4AI's output, normalised: " + ", ".join(f"{n} {k}" for k, n in normalised.items()))
    for p in pages:
        if p.tables[0] != p.tables[1]:
            print(f"  tables differ: {p.url}: c4scrapy {p.tables[0]}, Crawl4AI {p.tables[1]}")

    counts: dict[str, Counter[str]] = defaultdict(Counter)
    page_counts: dict[str, set[str]] = defaultdict(set)
    samples: dict[str, list[str]] = defaultdict(list)
    for p in pages:
        for diff in p.differences:
            counts[diff.kind][diff.side] += 1
            page_counts[diff.kind].add(p.name)
            if len(samples[diff.kind]) < examples:
                samples[diff.kind].append(f"{diff.side:6} {diff.url}  (page {p.url})")
    print("\n## Remaining differences, classified (URLs only c4scrapy / only Crawl4AI has,")
    print("## or internal on one side and external on the other)\n")
    print("| difference | set | c4scrapy only | Crawl4AI only | other bucket | pages | why |")
    print("|---|---|---|---|---|---|---|")
    for key, kind in KINDS.items():
        if counts[key]:
            c = counts[key]
            bug = " (Crawl4AI bug)" if kind.c4ai_bug else ""
            print(
                f"| {key} | {kind.sets} | {c['ours']} | {c['theirs']} | {c['moved']} "
                f"| {len(page_counts[key])} | {kind.reason}{bug} |"
            )
    total = sum(sum(c.values()) for c in counts.values())
    print(f"\n{total} differing URLs in all; unexplained: {sum(counts['unexplained'].values())}")
    summary["differences"] = {
        key: {**counts[key], "pages": len(page_counts[key])} for key in KINDS if counts[key]
    }
    if examples:
        for key in KINDS:
            if samples[key]:
                print(f"\n{key}:")
                for line in samples[key]:
                    print(f"  {line}")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--oracle", type=Path, default=DEFAULT_ORACLE)
    parser.add_argument(
        "--oracle-python",
        type=Path,
        default=Path(os.environ.get("C4AI_PYTHON", DEFAULT_ORACLE_PYTHON)),
        help="the Python of Crawl4AI's venv (env C4AI_PYTHON)",
    )
    parser.add_argument("--cache-dir", type=Path, default=CACHE_DIR)
    parser.add_argument("--refresh", action="store_true", help="run the oracle again")
    parser.add_argument("--limit", type=int, default=0, help="only the first N pages")
    parser.add_argument("--examples", type=int, default=0, help="sample URLs per difference")
    parser.add_argument("--json", type=Path, help="write the summary as JSON here")
    args = parser.parse_args(argv)

    pages = load_manifest(args.corpus)
    if args.limit:
        pages = pages[: args.limit]
    oracle = run_oracle(args, pages, {})
    oracle_all = run_oracle(args, pages, {"image_score_threshold": -1})
    started = time.perf_counter()
    compared = [
        compare_page(args.corpus, name, url, oracle[name], oracle_all[name])
        for name, url in pages
        if name in oracle and not oracle[name].get("error")
    ]
    print(f"compared {len(compared)} pages in {time.perf_counter() - started:.1f} s")
    summary = report(compared, args.examples)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
