"""The docs' "Link & Media" (sections 1, 3, 4, 5) and "Content Selection" (1.1, 1.2, 2.1,
2.2, 7) examples, run as Scrapy crawls against local pages.

Each example is a function holding Crawl4AI's code (shared/seeds) unchanged except where it
creates the crawler: ``await crawler.arun(url, config=config)`` becomes ``arun(path,
config)``. To pay for one crawl rather than one per example, the module fixture runs each
example up to its ``arun`` call and keeps the ``CrawlerRunConfig`` object the docs' code
built; one real ``scrapy crawl`` (the tiny ``ExamplesSpider``) then fetches every example's
page with that config in ``request.meta["c4"]``; each test then runs its example again,
whole, its ``arun`` returning the page's PageItem, and the docs' reading code runs on it as
is (attribute access, and ``result.links.get("internal", [])`` since links and media are
dicts). The MHTML example needs the browser, so it gets its own crawl with ``C4_BROWSER``.
The JsonCss/LLM extraction and iframe examples are tested with their features
(test_schema, test_llm_crawl, test_browser).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import scrapy

from c4scrapy import CacheMode, CrawlerRunConfig, PageItem
from tests._support.crawling import run_crawl
from tests._support.servers import LocalServer
from tests._support.tools import require_tool

Arun = Callable[..., PageItem]
Example = Callable[[Arun], Any]


class ExamplesSpider(scrapy.Spider):
    """Requests each (URL, config) of a pickled list, the config in ``request.meta["c4"]``."""

    name = "docs_examples"

    def __init__(self, requests: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pages: list[tuple[str, CrawlerRunConfig]] = pickle.loads(Path(requests).read_bytes())

    async def start(self):
        for url, config in self.pages:
            yield scrapy.Request(url, callback=self.parse, meta={"c4": config})

    def parse(self, response: scrapy.http.Response) -> list[Any]:
        return []  # c4scrapy emits the page's PageItem


def crawl(
    workdir: Path, pages: list[tuple[str, CrawlerRunConfig]], **settings: Any
) -> dict[str, PageItem]:
    """One ``scrapy crawl`` of these pages; their PageItems by URL."""
    workdir.mkdir(parents=True, exist_ok=True)
    requests = workdir / "requests.pickle"
    requests.write_bytes(pickle.dumps(pages))
    run = run_crawl(
        workdir,
        spider=ExamplesSpider.name,
        args={"requests": requests},
        settings={"SPIDER_MODULES": "tests.e2e.test_docs_examples", **settings},
    )
    items = {item["url"]: PageItem(**item) for item in run.items}
    assert set(items) == {url for url, _ in pages}, run.log[-3000:]
    return items


class _Recorded(Exception):
    """Stops an example at its ``arun`` call while the fixture collects the configs."""


class Examples:
    """The examples' pages, crawled together; ``replay`` runs one example on its item."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.requests: dict[str, tuple[str, CrawlerRunConfig]] = {}
        self.items: dict[str, PageItem] = {}

    def record(self, example: Example) -> None:
        def arun(path: str, config: CrawlerRunConfig | None = None) -> PageItem:
            url = f"{self.base_url}{path.lstrip('/')}?example={example.__name__}"
            self.requests[example.__name__] = (url, config or CrawlerRunConfig())
            raise _Recorded

        with pytest.raises(_Recorded):
            example(arun)

    def replay(self, example: Example) -> Any:
        url, recorded = self.requests[example.__name__]

        def arun(path: str, config: CrawlerRunConfig | None = None) -> PageItem:
            assert (config or CrawlerRunConfig()) == recorded
            return self.items[url]

        return example(arun)


SOCIAL = (
    '<a href="https://www.facebook.com/kidocode">Facebook</a> '
    '<a href="https://twitter.com/kidocode">Twitter</a> '
    '<a href="https://x.com/kidocode">X</a> '
    '<a href="https://www.linkedin.com/company/kidocode">LinkedIn</a>'
)
PLACEHOLDER = "data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw=="

HOME = f"""<html><head><title>KidoCode: coding school for kids</title></head><body>
<nav><a href="/">Home</a> <a href="/degrees/technology" title="KidoCode Tech Program">
Technology Degree</a> <a href="/about.html">About</a></nav>
<main><h1>Coding school for kids</h1>
<p>Children learn programming, game design and robotics with real teachers.</p>
<figure><img src="/img/classroom.jpg" alt="coding school for kids" width="800" height="450">
<figcaption>Kids learning to code in our classroom</figcaption></figure>
<img src="{PLACEHOLDER}" data-src="/img/robot.png" alt="robot kit" width="400" height="300">
<img src="https://cdn.partner-images.net/banner.jpg" alt="partner banner" width="728"
 height="300">
<img src="/img/icon-search.png" alt="search" width="16" height="16">
<video src="/media/intro.mp4" poster="/img/poster.jpg" width="640" height="360"></video>
<audio controls><source src="/media/podcast.mp3" type="audio/mpeg"></audio>
<p>Read the <a href="/docs/guide.html">guide</a> or see the code on
<a href="https://github.com/kidocode/site">GitHub</a>.</p></main>
<aside><a href="https://suspiciousads.com/click?id=1">Win a prize</a>
<a href="https://win.suspiciousads.com/x">More prizes</a>
<a href="https://spammyads.com/offer">Offer</a></aside>
<footer>{SOCIAL} <a href="mailto:hello@kidocode.com">Mail us</a></footer>
</body></html>"""

STORIES = "".join(
    f'<tr class="athing" id="{i}"><td class="title"><span class="titleline">'
    f'<a href="https://news.example.org/{i}">Story number {i}</a></span></td></tr>'
    f'<tr><td class="subtext">{i} points by someone</td></tr><tr class="spacer"></tr>'
    for i in range(1, 41)
)
NEWEST = f"""<html><head><title>New Links | Hacker News</title></head><body>
<center><table id="hnmain"><tr><td><a href="/news">Hacker News</a> <a href="/newest">new</a>
</td></tr><tr><td><table class="itemlist">{STORIES}</table></td></tr>
<tr><td><a href="/newsguidelines.html">Guidelines</a></td></tr></table></center>
</body></html>"""

LONG = "sentence with plenty of words so that it clears any word count threshold easily"
POST = f"""<html><head><title>Scrapy meets Crawl4AI</title></head><body>
<header><nav><a href="/">Home</a> <a href="/blog/">Blog</a></nav>
<p class="tagline">Acme engineering blog: notes on crawling, parsing and extraction work.</p>
</header>
<main class="content" id="main-content">
<article class="main-content"><h2>Scrapy meets Crawl4AI</h2>
<p>The first paragraph is a long {LONG} in the article body.</p>
<p>Short note.</p>
<p>Read the <a href="/docs/guide.html">guide</a> and the code on
<a href="https://github.com/acme/widgets">GitHub</a>, a {LONG}.</p>
<img src="/img/diagram.png" alt="architecture diagram" width="600" height="400">
<img src="https://cdn.partner-images.net/ad.jpg" alt="partner ad" width="300" height="250">
<form action="/search"><input name="q"><button>Search the whole site for more articles
about crawling and extraction</button></form>
</article>
<nav class="related"><a href="/related/1.html">Related post about crawling</a></nav>
</main>
<aside class="sidebar"><h3>About the author</h3><p>Jane writes about crawlers; this is a
{LONG} in the sidebar.</p><a href="/authors/jane.html">Jane's page</a>
<a href="https://twitter.com/jane">Jane on Twitter</a>
<a href="https://spammytrackers.net/t">sponsored</a></aside>
<footer><p>Copyright Acme; all rights reserved, and a {LONG} in the footer.</p>
<a href="/privacy.html">Privacy</a> <a href="https://adtrackers.com/pixel">tracker</a></footer>
</body></html>"""

PAGES = {"index.html": HOME, "newest": NEWEST, "blog-post": POST, "article": POST}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("docs-examples-site")
    for name, html in PAGES.items():
        (root / name).write_text(html)
    with LocalServer(root) as server:
        for name in ("newest", "blog-post", "article"):  # extension-less pages, as on the web
            html = PAGES[name]
            server.routes[f"/{name}"] = lambda handler, html=html: (
                200,
                {"Content-Type": "text/html; charset=utf-8"},
                html,
            )
        yield server


# --- the examples: the docs' code, with arun(path, config) for crawler.arun(url, config) -------


def link_extraction_basic(arun: Arun) -> PageItem:  # Link & Media 1.1
    result = arun("/index.html")  # was: await crawler.arun("https://www.example.com")
    if result.success:
        internal_links = result.links.get("internal", [])
        external_links = result.links.get("external", [])  # noqa: F841 (unused in the docs)
        print(f"Found {len(internal_links)} internal links.")
        print(f"Found {len(internal_links)} external links.")
        print(f"Found {len(result.media)} media items.")

        # Each link is typically a dictionary with fields like:
        # { "href": "...", "text": "...", "title": "...", "base_domain": "..." }
        if internal_links:
            print("Sample Internal Link:", internal_links[0])
    else:
        print("Crawl failed:", result.error_message)
    return result


def excluding_external_and_social_links(arun: Arun) -> PageItem:  # Link & Media 3.1
    crawler_cfg = CrawlerRunConfig(
        exclude_external_links=True,  # No links outside primary domain
        exclude_social_media_links=True,  # Skip recognized social media domains
    )
    result = arun("/index.html", crawler_cfg)
    if result.success:
        print("[OK] Crawled:", result.url)
        print("Internal links count:", len(result.links.get("internal", [])))
        print("External links count:", len(result.links.get("external", [])))
        # Likely zero external links in this scenario
    else:
        print("[ERROR]", result.error_message)
    return result


def excluding_specific_domains(arun: Arun) -> PageItem:  # Link & Media 3.2
    crawler_cfg = CrawlerRunConfig(exclude_domains=["suspiciousads.com"])
    return arun("/index.html", crawler_cfg)


def accessing_media(arun: Arun) -> PageItem:  # Link & Media 4.1
    result = arun("/index.html")
    if result.success:
        # Get images
        images_info = result.media.get("images", [])
        print(f"Found {len(images_info)} images in total.")
        for i, img in enumerate(images_info[:3]):  # Inspect just the first 3
            print(f"[Image {i}] URL: {img['src']}")
            print(f"           Alt text: {img.get('alt', '')}")
            print(f"           Score: {img.get('score')}")
            print(f"           Description: {img.get('desc', '')}\n")
    return result


def excluding_external_images(arun: Arun) -> PageItem:  # Link & Media 4.2
    crawler_cfg = CrawlerRunConfig(exclude_external_images=True)
    return arun("/index.html", crawler_cfg)


def excluding_all_images(arun: Arun) -> PageItem:  # Link & Media 3.2, "Excluding All Images"
    crawler_cfg = CrawlerRunConfig(exclude_all_images=True)
    return arun("/index.html", crawler_cfg)


def putting_it_all_together(arun: Arun) -> PageItem:  # Link & Media 5
    # Suppose we want to keep only internal links, remove certain domains,
    # and discard external images from the final crawl data.
    crawler_cfg = CrawlerRunConfig(
        exclude_external_links=True,
        exclude_domains=["spammyads.com"],
        exclude_social_media_links=True,  # skip Twitter, Facebook, etc.
        exclude_external_images=True,  # keep only images from main domain
        wait_for_images=True,  # ensure images are loaded
        verbose=True,
    )
    result = arun("/index.html", crawler_cfg)
    if result.success:
        print("[OK] Crawled:", result.url)

        # 1. Links
        in_links = result.links.get("internal", [])
        ext_links = result.links.get("external", [])
        print("Internal link count:", len(in_links))
        print(
            "External link count:", len(ext_links)
        )  # should be zero with exclude_external_links=True

        # 2. Images
        images = result.media.get("images", [])
        print("Images found:", len(images))

        # Let's see a snippet of these images
        for i, img in enumerate(images[:3]):  # noqa: B007 (the docs' loop)
            print(f"  - {img['src']} (alt={img.get('alt', '')}, score={img.get('score', 'N/A')})")
    else:
        print("[ERROR] Failed to crawl. Reason:", result.error_message)
    return result


def using_css_selector(arun: Arun) -> PageItem:  # Content Selection 1.1
    config = CrawlerRunConfig(
        # e.g., first 30 items from Hacker News
        css_selector=".athing:nth-child(-n+30)"
    )
    result = arun("/newest", config)  # was: url="https://news.ycombinator.com/newest"
    print("Partial HTML length:", len(result.cleaned_html))
    return result


def using_target_elements(arun: Arun) -> PageItem:  # Content Selection 1.2
    config = CrawlerRunConfig(
        # Target article body and sidebar, but not other content
        target_elements=["article.main-content", "aside.sidebar"]
    )
    result = arun("/blog-post", config)  # was: url="https://example.com/blog-post"
    print("Markdown focused on target elements")
    print("Links from entire page still available:", len(result.links.get("internal", [])))
    return result


def filtering_basic_overview(arun: Arun) -> PageItem:  # Content Selection 2.1
    config = CrawlerRunConfig(
        # Content thresholds
        word_count_threshold=10,  # Minimum words per block
        # Tag exclusions
        excluded_tags=["form", "header", "footer", "nav"],
        # Link filtering
        exclude_external_links=True,
        exclude_social_media_links=True,
        # Block entire domains
        exclude_domains=["adtrackers.com", "spammynews.org"],
        exclude_social_media_domains=["facebook.com", "twitter.com"],
        # Media filtering
        exclude_external_images=True,
    )
    return arun("/article", config)


def filtering_example_usage(arun: Arun) -> PageItem:  # Content Selection 2.2
    config = CrawlerRunConfig(
        css_selector="main.content",
        word_count_threshold=10,
        excluded_tags=["nav", "footer"],
        exclude_external_links=True,
        exclude_social_media_links=True,
        exclude_domains=["ads.com", "spammytrackers.net"],
        exclude_external_images=True,
        cache_mode=CacheMode.BYPASS,
    )
    result = arun("/article", config)  # was: url="https://news.ycombinator.com"
    print("Cleaned HTML length:", len(result.cleaned_html))
    return result


def combining_selection_methods(arun: Arun) -> PageItem:  # Content Selection 7
    # Target specific content but preserve page context
    config = CrawlerRunConfig(
        # Focus markdown on main content and sidebar
        target_elements=["#main-content", ".sidebar"],
        # Global filters applied to entire page
        excluded_tags=["nav", "footer", "header"],
        exclude_external_links=True,
        # Use basic content thresholds
        word_count_threshold=15,
        cache_mode=CacheMode.BYPASS,
    )
    result = arun("/article", config)  # was: url="https://example.com/article"
    print("Content focuses on specific elements, but all links still analyzed")
    print(f"Internal links: {len(result.links.get('internal', []))}")
    print(f"External links: {len(result.links.get('external', []))}")
    return result


EXAMPLES = [
    link_extraction_basic,
    excluding_external_and_social_links,
    excluding_specific_domains,
    accessing_media,
    excluding_external_images,
    excluding_all_images,
    putting_it_all_together,
    using_css_selector,
    using_target_elements,
    filtering_basic_overview,
    filtering_example_usage,
    combining_selection_methods,
]


@pytest.fixture(scope="module")
def examples(site: LocalServer, tmp_path_factory: pytest.TempPathFactory) -> Examples:
    examples = Examples(site.url)
    for example in EXAMPLES:
        examples.record(example)
    workdir = tmp_path_factory.mktemp("docs-examples-crawl")
    examples.items = crawl(workdir, list(examples.requests.values()))
    return examples


def printed(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().out


def hrefs(result: PageItem, bucket: str) -> list[str]:
    """The bucket's hrefs, this site's as paths (its port changes from run to run)."""
    return [
        urlsplit(link["href"]).path
        if link["href"].startswith("http://127.0.0.1:")
        else link["href"]
        for link in result.links[bucket]
    ]


# --- Link & Media ------------------------------------------------------------------------------


def test_link_extraction_basic(examples: Examples, capsys: pytest.CaptureFixture[str]) -> None:
    result = examples.replay(link_extraction_basic)
    out = printed(capsys)
    assert "Found 4 internal links." in out
    assert (
        "Found 3 media items." in out
    )  # the docs print len(result.media): images, videos, audios
    assert "Sample Internal Link: {'href': " in out
    assert hrefs(result, "internal") == [
        "/",
        "/degrees/technology",
        "/about.html",
        "/docs/guide.html",
    ]
    technology = result.links["internal"][1]
    assert technology == {
        "href": technology["href"],
        "text": "Technology Degree",
        "title": "KidoCode Tech Program",
        "base_domain": "127.0.0.1",
    }
    external = result.links["external"]
    assert len(external) == 8  # mailto: is not a web link
    assert external[0] == {
        "href": "https://github.com/kidocode/site",
        "text": "GitHub",
        "title": "",
        "base_domain": "github.com",
    }


def test_excluding_external_and_social_links(examples, capsys) -> None:
    result = examples.replay(excluding_external_and_social_links)
    out = printed(capsys)
    assert f"[OK] Crawled: {result.url}" in out
    assert "Internal links count: 4" in out
    assert "External links count: 0" in out
    assert "Facebook" in result.markdown  # filters never cut text out of the content


def test_excluding_specific_domains(examples) -> None:
    result = examples.replay(excluding_specific_domains)
    external = hrefs(result, "external")
    assert not [href for href in external if "suspiciousads.com" in href]  # and subdomains
    assert "https://spammyads.com/offer" in external
    assert "https://github.com/kidocode/site" in external
    assert len(external) == 6


def test_accessing_media(examples, capsys) -> None:
    result = examples.replay(accessing_media)
    out = printed(capsys)
    assert "Found 3 images in total." in out
    images = result.media["images"]
    assert [image["src"].rsplit("/", 1)[-1] for image in images] == [
        "classroom.jpg",
        "robot.png",  # the lazy image's real URL, not its data: placeholder
        "banner.jpg",
    ]
    assert "[Image 0] URL: http://127.0.0.1:" in out
    assert "Alt text: coding school for kids" in out
    assert "Description: Kids learning to code in our classroom" in out  # its figcaption
    assert images[0]["score"] > 2
    assert {"src", "alt", "desc", "score", "type", "group_id", "format", "width", "height"} <= set(
        images[0]
    )
    assert images[0]["width"] == 800
    assert images[0]["height"] == 450
    [video] = result.media["videos"]
    assert video["src"].endswith("/media/intro.mp4")
    [audio] = result.media["audios"]
    assert audio["src"].endswith("/media/podcast.mp3")


def test_excluding_external_images(examples) -> None:
    result = examples.replay(excluding_external_images)
    sources = [image["src"].rsplit("/", 1)[-1] for image in result.media["images"]]
    assert sources == ["classroom.jpg", "robot.png"]


def test_excluding_all_images(examples) -> None:
    result = examples.replay(excluding_all_images)
    assert result.media["images"] == []
    assert result.media["videos"]  # only images are excluded


def test_putting_it_all_together(examples, capsys) -> None:
    result = examples.replay(putting_it_all_together)
    out = printed(capsys)
    assert "Internal link count: 4" in out
    assert "External link count: 0" in out
    assert "Images found: 2" in out
    assert "classroom.jpg (alt=coding school for kids, score=" in out
    assert result.success


# --- Content Selection ---------------------------------------------------------------------------


def test_using_css_selector(examples, capsys) -> None:
    result = examples.replay(using_css_selector)
    out = printed(capsys)
    assert f"Partial HTML length: {len(result.cleaned_html)}" in out
    # CSS semantics: the .athing rows among the first 30 rows (3 rows per story): 10 stories
    for i in range(1, 11):
        assert f"Story number {i}<" in result.cleaned_html
    assert "Story number 11" not in result.cleaned_html
    assert "subtext" not in result.cleaned_html
    assert "Guidelines" not in result.markdown
    # css_selector scopes everything, links included (Crawl4AI reads links from the whole page)
    assert len(result.links["external"]) == 10
    assert result.links["internal"] == []


def test_using_target_elements(examples, capsys) -> None:
    result = examples.replay(using_target_elements)
    out = printed(capsys)
    assert "Markdown focused on target elements" in out
    # links (and media, tables) still come from the entire page
    assert "Links from entire page still available: 6" in out
    assert "Scrapy meets Crawl4AI" in result.markdown
    assert "About the author" in result.markdown
    assert "Home" not in result.markdown  # header nav
    assert "Privacy" not in result.markdown  # footer
    assert "Related post" not in result.markdown  # in main, outside both targets
    assert len(result.media["images"]) == 2


def test_filtering_basic_overview(examples) -> None:
    result = examples.replay(filtering_basic_overview)
    markdown = result.markdown
    assert "first paragraph is a long sentence" in markdown
    assert "Short note" not in markdown  # word_count_threshold=10: a block under 10 words
    assert "Search the whole site" not in markdown  # excluded form
    assert "Acme engineering blog" not in markdown  # excluded header
    assert "Copyright" not in markdown  # excluded footer
    assert result.links["external"] == []  # exclude_external_links
    # links inside excluded tags are gone from links too; the rest stay
    assert hrefs(result, "internal") == ["/docs/guide.html", "/authors/jane.html"]
    assert [image["src"].rsplit("/", 1)[-1] for image in result.media["images"]] == ["diagram.png"]


def test_filtering_example_usage(examples, capsys) -> None:
    result = examples.replay(filtering_example_usage)
    out = printed(capsys)
    assert f"Cleaned HTML length: {len(result.cleaned_html)}" in out
    assert "Scrapy meets Crawl4AI" in result.cleaned_html
    assert "About the author" not in result.cleaned_html  # outside main.content
    assert "Related post" not in result.cleaned_html  # a nav, excluded
    assert "Short note" not in result.cleaned_html
    assert hrefs(result, "internal") == ["/docs/guide.html"]  # css_selector scopes links
    assert result.links["external"] == []


def test_combining_selection_methods(examples, capsys) -> None:
    result = examples.replay(combining_selection_methods)
    out = printed(capsys)
    # every link of the page but those in nav/footer/header (excluded everywhere) and externals
    assert "Internal links: 2" in out
    assert "External links: 0" in out
    assert hrefs(result, "internal") == ["/docs/guide.html", "/authors/jane.html"]
    assert "Scrapy meets Crawl4AI" in result.markdown
    assert "Short note" not in result.markdown  # a block under 15 words
    assert "### About the author" in result.markdown  # headings are never dropped
    assert "Jane writes about crawlers" in result.markdown
    assert "Related post" not in result.markdown
    assert "Copyright" not in result.markdown


# --- the browser example -------------------------------------------------------------------------


@pytest.mark.browser
def test_capturing_page_as_mhtml(site, tmp_path, monkeypatch, capsys) -> None:  # Link & Media 4.3
    require_tool("chromium", "/usr/bin/chromium")
    monkeypatch.chdir(tmp_path)  # the example writes example.mhtml in the current directory

    def main(arun: Arun) -> PageItem:
        crawler_cfg = CrawlerRunConfig(
            capture_mhtml=True  # Enable MHTML capture
        )
        result = arun("/index.html", crawler_cfg)  # was: "https://example.com"
        if result.success and result.mhtml:
            # Save the MHTML snapshot to a file
            with open("example.mhtml", "w", encoding="utf-8") as f:
                f.write(result.mhtml)
            print("MHTML snapshot saved to example.mhtml")
        else:
            print("Failed to capture MHTML:", result.error_message)
        return result

    examples = Examples(site.url)
    examples.record(main)
    # The crawler is created with the browser on: Crawl4AI always renders pages.
    examples.items = crawl(tmp_path / "crawl", list(examples.requests.values()), C4_BROWSER="true")
    result = examples.replay(main)
    assert "MHTML snapshot saved to example.mhtml" in printed(capsys)
    snapshot = (tmp_path / "example.mhtml").read_text(encoding="utf-8")
    assert snapshot.startswith("From: <Saved by Blink>")
    assert "Coding school for kids" in snapshot
    assert result.links["internal"]
