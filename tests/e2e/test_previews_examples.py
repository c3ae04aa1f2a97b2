"""The docs' "Advanced Link Head Extraction & Scoring" examples, run as ``scrapy crawl``.

Each example is Crawl4AI's code (shared/seeds, Link & Media, section 2) unchanged except
where it creates the crawler: instead of ``AsyncWebCrawler().arun(url, config=config)``,
``arun`` passes the same ``CrawlerRunConfig`` to a real ``scrapy crawl site`` through
``C4_*`` settings (``C4_LINK_PREVIEW_CONFIG`` as JSON, ``C4_SCORE_LINKS``, ...) and
returns the start page's item as a ``PageItem``. The pages are local.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from c4scrapy import CrawlerRunConfig, LinkPreviewConfig, PageItem
from tests._support.crawling import run_crawl

Arun = Callable[[str, CrawlerRunConfig], PageItem]


def _page(title: str, description: str = "", links: tuple[tuple[str, str], ...] = ()) -> str:
    anchors = "".join(f'<p><a href="{href}">{text}</a></p>' for href, text in links)
    meta = f'<meta name="description" content="{description}">' if description else ""
    return (
        f"<html><head><title>{title}</title>{meta}</head>"
        f"<body><main><h1>{title}</h1>{anchors}</main></body></html>"
    )


SITE = {
    # a small docs.python.org
    "/3/index.html": _page(
        "3.13.5 Documentation",
        "The official Python documentation.",
        (
            ("/3.15/", "Python 3.15 (in development)"),
            ("/3/tutorial/index.html", "Tutorial"),
            ("/3/library/index.html", "Library Reference"),
            ("/3/reference/index.html", "Language Reference"),
            ("/3/c-api/index.html", "Python/C API reference manual"),
            ("/3/howto/index.html", "Python HOWTOs"),
            ("/3/faq/index.html", "FAQs"),
            ("/3/glossary.html", "Glossary"),
            ("/3/about.html", "About the documentation"),
            ("/3/bugs.html", "Reporting issues"),
            ("/3/download.html", "Download these documents"),
            ("/3/copyright.html", "Copyright"),
            ("https://www.python.org/", "Python.org"),
        ),
    ),
    "/3.15/index.html": _page("3.15.0a0 Documentation", "The official Python documentation."),
    "/3/tutorial/index.html": _page("The Python Tutorial", "A guide to the language."),
    "/3/library/index.html": _page("The Python Standard Library", "API documentation."),
    "/3/reference/index.html": _page("The Python Language Reference", "Syntax and semantics."),
    "/3/c-api/index.html": _page("Python/C API Reference Manual", "API documentation for C."),
    "/3/howto/index.html": _page("Python HOWTOs", "Guides to specific topics."),
    "/3/faq/index.html": _page("Python Frequently Asked Questions"),
    "/3/glossary.html": _page("Glossary"),
    "/3/about.html": _page("About this documentation"),
    "/3/bugs.html": _page("Dealing with Bugs"),
    "/3/download.html": _page("Download Python documentation"),
    "/3/copyright.html": _page("Copyright"),
    # a machine-learning site, with a partner site (external: another host)
    "/ml/index.html": _page(
        "scikit-learn: machine learning in Python",
        links=(
            ("/ml/docs/neural_networks.html", "Neural network models"),
            ("/ml/tutorial/basics.html", "An introduction to machine learning"),
            ("/ml/guide/clustering.html", "Clustering"),
            ("/ml/docs/install.html", "Installing"),
            ("/ml/about.html", "About us"),
            ("{partner}/docs/deep-learning.html", "Deep learning with neural networks"),
            ("{partner}/blog/party.html", "Our summer party"),
        ),
    ),
    "/ml/docs/neural_networks.html": _page(
        "Neural network models (supervised)",
        "Multi-layer perceptrons: machine learning with neural networks.",
    ),
    "/ml/tutorial/basics.html": _page(
        "An introduction to machine learning", "Learning problems and neural networks."
    ),
    "/ml/guide/clustering.html": _page("Clustering", "K-means, DBSCAN and friends."),
    "/ml/docs/install.html": _page("Installing scikit-learn"),
    "/ml/about.html": _page("About us"),
    "/docs/deep-learning.html": _page(
        "Deep learning", "Neural networks for machine learning at scale."
    ),
    "/blog/party.html": _page("Our summer party"),
    # an API reference
    "/api/index.html": _page(
        "Example API",
        links=(
            ("/api/users/list.html", "List users"),
            ("/api/users/create.html", "Create a user"),
            ("/api/orders/list.html", "List orders"),
            ("/api/deprecated/legacy.html", "Legacy endpoint"),
            ("/reference/errors.html", "Errors"),
            ("/blog/changelog.html", "Changelog"),
        ),
    ),
    "/api/users/list.html": _page("GET /users - list users"),
    "/api/users/create.html": _page("POST /users - create a user"),
    "/api/orders/list.html": _page("GET /orders - list orders"),
    "/api/deprecated/legacy.html": _page("GET /legacy - deprecated"),
    "/reference/errors.html": _page("Error codes"),
    "/blog/changelog.html": _page("Changelog"),
    # a site with good and bad links
    "/shop/index.html": (
        "<html><head><title>Acme shop: widgets and guides</title></head><body>"
        "<nav><a href='/shop/login/'>here</a> <a href='/shop/cart/'>click here</a></nav>"
        "<main><h1>Widgets and guides</h1>"
        "<a href='/docs/widget-guide.html' title='The widget guide'>"
        "The complete widgets guide for beginners</a>"
        "<a href='/shop/blog/widgets-news.html'>Widgets news of the week</a>"
        "<a href='/shop/a/b/c/d/e/f/x7f9g2h'>x</a></main></body></html>"
    ),
}


@pytest.fixture(scope="module")
def docs_site(tmp_path_factory):
    from tests._support.servers import LocalServer

    root = tmp_path_factory.mktemp("examples-site")
    with LocalServer(root) as server:
        partner = server.url.replace("127.0.0.1", "localhost").rstrip("/")
        for path, html in SITE.items():
            target = root / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(html.replace("{partner}", partner))
        yield server


@pytest.fixture
def arun(docs_site, tmp_path) -> Arun:
    """``crawler.arun(url, config=config)`` as a one-page ``scrapy crawl``."""

    def run(path: str, config: CrawlerRunConfig) -> PageItem:
        default = CrawlerRunConfig().to_dict()
        settings = {
            f"C4_{name.upper()}": value
            for name, value in config.to_dict().items()
            if name not in ("markdown_generator", "extraction_strategy") and value != default[name]
        }
        run = run_crawl(
            tmp_path, args={"url": docs_site.url + path.lstrip("/"), "depth": 0}, settings=settings
        )
        assert len(run.items) == 1, run.log[-2000:]
        return PageItem(**run.items[0])

    return run


def test_complete_working_example(arun, capsys):
    def extract_link_heads_example():
        """
        Complete example showing link head extraction with scoring.
        This will crawl a documentation site and extract head content from internal links.
        """

        # Configure link head extraction
        config = CrawlerRunConfig(
            # Enable link head extraction with detailed configuration
            link_preview_config=LinkPreviewConfig(
                include_internal=True,  # Extract from internal links
                include_external=False,  # Skip external links for this example
                max_links=10,  # Limit to 10 links for demo
                concurrency=5,  # Process 5 links simultaneously
                timeout=10,  # 10 second timeout per link
                query="API documentation guide",  # Query for contextual scoring
                score_threshold=0.3,  # Only include links scoring above 0.3
                verbose=True,  # Show detailed progress
            ),
            # Enable intrinsic scoring (URL quality, text relevance)
            score_links=True,
            # Keep output clean
            only_text=True,
            verbose=True,
        )

        result = arun("/3/index.html", config)  # was: AsyncWebCrawler().arun(URL, config)

        if result.success:
            print(f"✅ Successfully crawled: {result.url}")
            print(f"📄 Page title: {result.metadata.get('title', 'No title')}")

            # Access links (now enhanced with head data and scores)
            internal_links = result.links.get("internal", [])
            external_links = result.links.get("external", [])

            print(f"\n🔗 Found {len(internal_links)} internal links")
            print(f"🌍 Found {len(external_links)} external links")

            # Count links with head data
            links_with_head = [
                link for link in internal_links if link.get("head_data") is not None
            ]
            print(f"🧠 Links with head data extracted: {len(links_with_head)}")

            # Show the top 3 scoring links
            print("\n🏆 Top 3 Links with Full Scoring:")
            for i, link in enumerate(links_with_head[:3]):
                print(f"\n{i + 1}. {link['href']}")
                print(f"   Link Text: '{link.get('text', 'No text')[:50]}...'")

                # Show all three score types
                intrinsic = link.get("intrinsic_score")
                contextual = link.get("contextual_score")
                total = link.get("total_score")

                if intrinsic is not None:
                    print(f"   📊 Intrinsic Score: {intrinsic:.2f}/10.0 (URL quality & context)")
                if contextual is not None:
                    print(f"   🎯 Contextual Score: {contextual:.3f} (BM25 relevance to query)")
                if total is not None:
                    print(f"   ⭐ Total Score: {total:.3f} (combined final score)")

                # Show extracted head data
                head_data = link.get("head_data", {})
                if head_data:
                    title = head_data.get("title", "No title")
                    description = head_data.get("meta", {}).get("description", "No description")

                    print(f"   📰 Title: {title[:60]}...")
                    if description:
                        print(f"   📝 Description: {description[:80]}...")

                    # Show extraction status
                    status = link.get("head_extraction_status", "unknown")
                    print(f"   ✅ Extraction Status: {status}")
        else:
            print(f"❌ Crawl failed: {result.error_message}")
        return result

    result = extract_link_heads_example()
    out = capsys.readouterr().out
    assert "📄 Page title: 3.13.5 Documentation" in out
    assert "🔗 Found 12 internal links" in out
    assert "🌍 Found 1 external links" in out
    assert "🧠 Links with head data extracted: 10" in out  # max_links
    assert "/3.15/\n   Link Text: 'Python 3.15 (in development)...'" in out
    assert "📰 Title: 3.15.0a0 Documentation..." in out
    assert "📝 Description: The official Python documentation...." in out
    assert "✅ Extraction Status: valid" in out
    assert "⭐ Total Score:" in out
    # score_threshold=0.3 applies to the contextual score; heads below it are kept, flagged
    glossary = next(link for link in result.all_links() if link["href"].endswith("glossary.html"))
    assert glossary["contextual_score"] == 0.0
    assert glossary["head_extraction_status"] == "below_threshold"
    assert glossary["head_data"]["title"] == "Glossary"


def test_research_assistant(arun, capsys):
    def research_assistant():
        config = CrawlerRunConfig(
            link_preview_config=LinkPreviewConfig(
                include_internal=True,
                include_external=True,
                include_patterns=["*/docs/*", "*/tutorial/*", "*/guide/*"],
                query="machine learning neural networks",
                max_links=20,
                score_threshold=0.5,  # Only high-relevance links
                verbose=True,
            ),
            score_links=True,
        )

        result = arun("/ml/index.html", config)  # was: AsyncWebCrawler().arun(URL, config)

        if result.success:
            # Get high-scoring links
            good_links = [
                link
                for link in result.links.get("internal", [])
                if link.get("total_score", 0) > 0.7
            ]

            print(f"🎯 Found {len(good_links)} highly relevant links:")
            for link in good_links[:5]:
                print(f"⭐ {link['total_score']:.3f} - {link['href']}")
                # The docs' ``link.get('head_data', {})`` fails (in Crawl4AI too) when a link
                # above 0.7 was not previewed: its head_data is None, not missing.
                print(f"   {(link.get('head_data') or {}).get('title', 'No title')}")
        return result

    result = research_assistant()
    out = capsys.readouterr().out
    assert "🎯 Found 5 highly relevant links:" in out
    assert "   Neural network models (supervised)" in out
    links = {link["href"].split("/", 3)[3]: link for link in result.all_links()}
    status = {path: link["head_extraction_status"] for path, link in links.items()}
    assert status == {
        "ml/docs/neural_networks.html": "valid",
        "ml/tutorial/basics.html": "valid",
        "ml/guide/clustering.html": "below_threshold",
        "ml/docs/install.html": "below_threshold",
        "ml/about.html": "skipped",  # matches no include pattern
        "docs/deep-learning.html": "valid",  # external: the partner site
        "blog/party.html": "skipped",
    }
    best = max(result.all_links(), key=lambda link: link["total_score"])
    assert best["head_extraction_status"] == "valid"
    assert best["contextual_score"] == 1.0


def test_api_discovery(arun, capsys):
    def api_discovery():
        config = CrawlerRunConfig(
            link_preview_config=LinkPreviewConfig(
                include_internal=True,
                include_patterns=["*/api/*", "*/reference/*"],
                exclude_patterns=["*/deprecated/*"],
                max_links=100,
                concurrency=15,
                verbose=False,  # Clean output
            ),
            score_links=True,
        )

        result = arun("/api/index.html", config)  # was: AsyncWebCrawler().arun(URL, config)

        if result.success:
            api_links = result.links.get("internal", [])

            # Group by endpoint type
            endpoints = {}
            for link in api_links:
                if link.get("head_data"):
                    title = link["head_data"].get("title", "")
                    if "GET" in title:
                        endpoints.setdefault("GET", []).append(link)
                    elif "POST" in title:
                        endpoints.setdefault("POST", []).append(link)

            for method, links in endpoints.items():
                print(f"\n{method} Endpoints ({len(links)}):")
                for link in links[:3]:
                    print(f"  • {link['href']}")

    api_discovery()
    out = capsys.readouterr().out
    assert "GET Endpoints (2):" in out  # not the deprecated one
    assert "POST Endpoints (1):" in out
    assert "/api/users/create.html" in out
    assert "deprecated" not in out


def test_link_quality_analysis(arun, capsys):
    def quality_analysis():
        config = CrawlerRunConfig(
            link_preview_config=LinkPreviewConfig(
                include_internal=True,
                max_links=200,
                concurrency=20,
            ),
            score_links=True,
        )

        result = arun("/shop/index.html", config)  # was: AsyncWebCrawler().arun(URL, config)

        if result.success:
            links = result.links.get("internal", [])

            # Analyze intrinsic scores
            scores = [link.get("intrinsic_score", 0) for link in links]
            avg_score = sum(scores) / len(scores) if scores else 0

            print("📊 Link Quality Analysis:")
            print(f"   Average intrinsic score: {avg_score:.2f}/10.0")
            print(f"   High quality links (>7.0): {len([s for s in scores if s > 7.0])}")
            print(f"   Low quality links (<3.0): {len([s for s in scores if s < 3.0])}")

            # Find problematic links
            bad_links = [link for link in links if link.get("intrinsic_score", 0) < 2.0]

            if bad_links:
                print("\n⚠️  Links needing attention:")
                for link in bad_links[:5]:
                    print(f"   {link['href']} (score: {link.get('intrinsic_score', 0):.1f})")

    quality_analysis()
    out = capsys.readouterr().out
    assert "High quality links (>7.0): 1" in out  # the titled, descriptive guide link
    attention = out.split("Links needing attention:")[1]
    for path in ("/shop/login/", "/shop/cart/", "/shop/a/b/c/d/e/f/x7f9g2h"):
        assert path in attention
    assert "widget-guide" not in attention
