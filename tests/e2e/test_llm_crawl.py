"""LLM extraction end to end: a real ``scrapy crawl``, the pipeline, litellm's real client
and HTTP, against the local OpenAI-compatible server in ``tests/fake_llm.py``.

One crawl (litellm's import is paid once) covers everything, each test below reading its
part of it:

- ``scrapy crawl c4_llm_examples -a url=... -a llm_*=...``: the ``site`` spider and its
  ``-a llm_*`` arguments over pages that script the fake model's behaviour (a chunked
  catalogue, 429 then success, 500 on one chunk, malformed/fenced/trailing JSON, wrong
  schema, a cut-off reply, a slow reply within the timeout, one beyond it then a quick one);
- the same crawl also requests the Crawl4AI docs' examples (content selection 4.1, 4.2 and
  5; LLM strategies 5, 7 and 9), unchanged except where they create the crawler:
  ``arun(url, config=config)`` becomes ``Request(url, meta={"c4": config})``.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from typing import Any

import pytest
import scrapy
from pydantic import BaseModel

from c4scrapy import (
    CacheMode,
    CrawlerRunConfig,
    JsonCssExtractionStrategy,
    LLMConfig,
    LLMExtractionStrategy,
)
from c4scrapy.core.markdown import DefaultMarkdownGenerator, PruningContentFilter
from c4scrapy.spiders.site import SiteSpider
from tests._support.crawling import ROOT, CrawlRun, run_crawl
from tests._support.fake_llm import FakeLLM
from tests._support.servers import LocalServer

TOKEN = "sk-test-8c1d5e0f"
PRODUCT_SCHEMA = {
    "title": "Product",
    "type": "object",
    "properties": {"name": {"type": "string"}, "price": {"type": "string"}},
    "required": ["name", "price"],
}
FILLER = "The catalogue lists tools that every workshop needs, in stock and ready to ship today."


def _page(title: str, body: str) -> str:
    return f"<html><head><title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"


def _products(first: int, count: int, directive: str = "") -> str:
    sections = []
    for i in range(first, first + count):
        text = f"{directive} {FILLER}" if directive and i == first else FILLER
        sections.append(
            f"<h2>Section {i}</h2><ul><li><b>Widget {i}</b> — ${i}.50</li></ul><p>{text}</p>"
        )
    return "".join(sections)


SCRIPTED_PAGES = {
    "catalogue.html": _products(0, 24),
    "partial.html": _products(100, 4) + _products(200, 4, "FAKE-LLM:500") + _products(300, 4),
    "ratelimit.html": _products(1, 1, "FAKE-LLM:429-once"),
    "malformed.html": _products(2, 1, "FAKE-LLM:malformed"),
    "fenced.html": _products(3, 1, "FAKE-LLM:fenced"),
    "trailing.html": _products(4, 1, "FAKE-LLM:trailing"),
    "wrong.html": _products(5, 1, "FAKE-LLM:wrong-schema"),
    "cutoff.html": _products(6, 1, "FAKE-LLM:empty"),
    "slow.html": _products(7, 1, "FAKE-LLM:slow=1"),
    "tooslow.html": _products(8, 1, "FAKE-LLM:slow-once=7"),
    "retryafter.html": _products(9, 1, "FAKE-LLM:retry-after=2"),
    "retryafter-capped.html": _products(10, 1, "FAKE-LLM:retry-after=100"),
    "deep.html": _products(11, 1, "FAKE-LLM:deep"),
}


INSTRUCTION = "Extract every product with its name and price."


def _names(item: dict[str, Any]) -> list[str]:
    return [product["name"] for product in json.loads(item["extracted_content"])]


# -- the Crawl4AI docs' examples ------------------------------------------------------------


class ArticleData(BaseModel):
    headline: str
    summary: str


class Product(BaseModel):
    name: str
    price: str


class Entity(BaseModel):
    name: str
    description: str


class Relationship(BaseModel):
    entity1: Entity
    entity2: Entity
    description: str
    relation_type: str


class KnowledgeGraph(BaseModel):
    entities: list[Entity]
    relationships: list[Relationship]


def docs_example_configs(llm_url: str) -> dict[str, CrawlerRunConfig]:
    """The docs' configs, verbatim but for the provider (the local fake) and the token."""
    # Content selection, 4.1 Pattern-Based with JsonCssExtractionStrategy
    schema = {
        "name": "News Items",
        "baseSelector": "tr.athing",
        "fields": [
            {"name": "title", "selector": "span.titleline a", "type": "text"},
            {
                "name": "link",
                "selector": "span.titleline a",
                "type": "attribute",
                "attribute": "href",
            },
        ],
    }
    hn_config = CrawlerRunConfig(
        excluded_tags=["form", "header"],
        exclude_domains=["adsite.com"],
        css_selector="table.itemlist",
        cache_mode=CacheMode.BYPASS,
        extraction_strategy=JsonCssExtractionStrategy(schema),
    )
    # Content selection, 4.2 LLM-Based Extraction
    llm_strategy = LLMExtractionStrategy(
        llm_config=LLMConfig(
            provider="openai/article", api_token=os.getenv("FAKE_LLM_KEY"), base_url=llm_url
        ),
        schema=ArticleData.model_json_schema(),
        extraction_type="schema",
        instruction="Extract 'headline' and a short 'summary' from the content.",
    )
    article_config = CrawlerRunConfig(
        exclude_external_links=True,
        word_count_threshold=20,
        extraction_strategy=llm_strategy,
    )
    # Content selection, 5. Comprehensive Example
    blocks_schema = {
        "name": "ArticleBlock",
        "baseSelector": "div.article-block",
        "fields": [
            {"name": "headline", "selector": "h2", "type": "text"},
            {"name": "summary", "selector": ".summary", "type": "text"},
            {
                "name": "metadata",
                "type": "nested",
                "fields": [
                    {"name": "author", "selector": ".author", "type": "text"},
                    {"name": "date", "selector": ".date", "type": "text"},
                ],
            },
        ],
    }
    blocks_config = CrawlerRunConfig(
        css_selector="#main-content",
        word_count_threshold=10,
        excluded_tags=["nav", "footer"],
        exclude_external_links=True,
        exclude_domains=["somebadsite.com"],
        exclude_external_images=True,
        extraction_strategy=JsonCssExtractionStrategy(blocks_schema),
        cache_mode=CacheMode.BYPASS,
    )
    # LLM strategies, 5. Putting It in CrawlerRunConfig
    products_strategy = LLMExtractionStrategy(
        llm_config=LLMConfig(
            provider="openai/products", api_token="env:FAKE_LLM_KEY", base_url=llm_url
        ),
        schema=json.dumps(Product.model_json_schema()),  # the docs' Product.schema_json()
        extraction_type="schema",
        instruction="Extract all product objects with 'name' and 'price' from the content.",
        chunk_token_threshold=1000,
        overlap_rate=0.0,
        apply_chunking=True,
        input_format="markdown",
        extra_args={"temperature": 0.0, "max_tokens": 800},
    )
    products_config = CrawlerRunConfig(
        extraction_strategy=products_strategy, cache_mode=CacheMode.BYPASS
    )
    # LLM strategies, 9. Example: Building a Knowledge Graph
    kg_strategy = LLMExtractionStrategy(
        llm_config=LLMConfig(provider="openai/kg", api_token="env:FAKE_LLM_KEY", base_url=llm_url),
        schema=KnowledgeGraph.model_json_schema(),
        extraction_type="schema",
        instruction="Extract entities and relationships from the content. Return valid JSON.",
        chunk_token_threshold=1400,
        apply_chunking=True,
        input_format="html",
        extra_args={"temperature": 0.1, "max_tokens": 1500},
    )
    kg_config = CrawlerRunConfig(extraction_strategy=kg_strategy, cache_mode=CacheMode.BYPASS)
    # LLM strategies, 7. Input Format: fit_markdown after a PruningContentFilter, and
    # without a content filter (the markdown is used, and the item says so)
    fit_strategy = LLMExtractionStrategy(
        llm_config=LLMConfig(
            provider="openai/products", api_token="env:FAKE_LLM_KEY", base_url=llm_url
        ),
        schema=Product.model_json_schema(),
        instruction="Extract all product objects with 'name' and 'price' from the content.",
        input_format="fit_markdown",
    )
    fit_config = CrawlerRunConfig(
        markdown_generator=DefaultMarkdownGenerator(content_filter=PruningContentFilter()),
        extraction_strategy=fit_strategy,
    )
    return {
        "hn.html": hn_config,
        "article.html": article_config,
        "blocks.html": blocks_config,
        "products.html": products_config,
        "kg.html": kg_config,
        "fit.html": fit_config,
        "nofilter.html": CrawlerRunConfig(extraction_strategy=fit_strategy),
    }


class LLMExamplesSpider(SiteSpider):
    """The ``site`` spider (its ``-a llm_*`` arguments make the crawl's LLM strategy), plus
    one request per docs example with that example's config in ``meta["c4"]``."""

    name = "c4_llm_examples"

    def __init__(self, docs: str, llm_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.docs = docs
        self.configs = docs_example_configs(llm_url)

    async def start(self):
        async for request in super().start():
            yield request
        for page, config in self.configs.items():
            yield scrapy.Request(self.docs + page, meta={"c4": config}, callback=self.example)

    def example(self, response):
        return []

    def closed(self, reason: str) -> None:
        kg = self.configs["kg.html"].extraction_strategy
        kg.show_usage()
        self.logger.info("knowledge graph usage: %s", json.dumps(kg.total_usage.as_dict()))


DOCS_PAGES = {
    "hn.html": """<html><body><header><form><input name="q"></form></header>
<table class="itemlist">
<tr class="athing"><td><span class="titleline"><a href="https://example.org/a">Show HN: a
 <i>tiny</i> crawler</a></span></td></tr><tr><td class="subtext">10 points</td></tr>
<tr class="athing"><td><span class="titleline"><a href="/item?id=2">Ask HN: scraping?</a>
</span></td></tr><tr><td class="subtext">4 points</td></tr>
</table>
<table class="sidebar"><tr class="athing"><td><span class="titleline"><a href="/ad">Ad</a>
</span></td></tr></table></body></html>""",
    "article.html": _page(
        "Crawlers learn to read",
        "<p>Scrapy crawls the web politely while c4scrapy turns every page into clean markdown "
        "and structured data for language models. It keeps links, media and tables too, as "
        "<a href='https://other.example/x'>elsewhere</a> explains.</p><p>Short line.</p>",
    ),
    "blocks.html": """<html><body><nav><a href="/">home</a></nav>
<div id="main-content">
 <div class="article-block"><h2>First story</h2><p class="summary">What happened first.</p>
  <span class="author">Ada</span> <span class="date">2024-05-01</span></div>
 <div class="article-block"><h2>Second story</h2><p class="summary">And then this.</p>
  <span class="author">Grace</span></div>
</div>
<aside><div class="article-block"><h2>Sponsored</h2></div></aside>
<footer>(c) news</footer></body></html>""",
    "products.html": _page("Products", _products(40, 3)),
    "fit.html": _page(
        "Fit",
        '<nav><a href="/a">Home</a> | <a href="/b">Shop</a> | <a href="/c">Cart</a></nav>'
        + _products(50, 2)
        + '<footer><a href="/t">Terms</a> <a href="/p">Privacy</a></footer>',
    ),
    "nofilter.html": _page("No filter", _products(60, 1)),
    "kg.html": _page(
        "History of computing",
        "<p>Ada Lovelace worked with Charles Babbage. Charles Babbage designed the "
        "Analytical Engine.</p><p>Alan Turing inspired John Von Neumann.</p>",
    ),
}


# -- the crawl and its tests ------------------------------------------------------------


@pytest.fixture(scope="module")
def crawl(tmp_path_factory) -> tuple[CrawlRun, FakeLLM, dict[str, dict[str, Any]]]:
    tmp = tmp_path_factory.mktemp("llm")
    site = tmp / "site"
    (site / "docs").mkdir(parents=True)
    links = "".join(f'<p><a href="/{name}">{name}</a></p>' for name in SCRIPTED_PAGES)
    (site / "index.html").write_text(_page("Shop", links))
    for name, body in SCRIPTED_PAGES.items():
        (site / name).write_text(_page(name, body))
    for name, body in DOCS_PAGES.items():
        (site / "docs" / name).write_text(body)
    schema_file = tmp / "product.json"
    schema_file.write_text(json.dumps(PRODUCT_SCHEMA))
    with LocalServer(site) as server, FakeLLM(token=TOKEN, delay=0.2) as fake:
        run = run_crawl(
            tmp,
            spider="c4_llm_examples",
            args={
                "url": server.url,
                "docs": server.url + "docs/",
                "llm_url": fake.url,
                "llm_provider": "openai/products",
                "llm_base_url": fake.url,
                "llm_api_token": "env:FAKE_LLM_KEY",
                "llm_instruction": INSTRUCTION,
                "llm_schema": str(schema_file),
                "llm_chunk_token_threshold": 120,
                "llm_overlap_rate": 0.1,
                "llm_temperature": 0.2,
            },
            settings={
                "SPIDER_MODULES": "tests.e2e.test_llm_crawl",
                "C4_LLM_CONCURRENCY": 3,
                "C4_LLM_TIMEOUT": 5,
                "C4_LLM_MAX_RETRIES": 1,
                "C4_LLM_BACKOFF_BASE_DELAY": 0.05,
                "C4_LLM_RETRY_AFTER_MAX": 3,
            },
            env={"FAKE_LLM_KEY": TOKEN},
        )
    pages = {item["url"].split("/", 3)[-1]: item for item in run.items}
    return run, fake, pages


def test_the_crawl_ran_cleanly(crawl) -> None:
    run, fake, pages = crawl
    assert fake.problems == []  # every prompt passed the server's checks
    assert set(pages) == {"", *SCRIPTED_PAGES, *(f"docs/{name}" for name in DOCS_PAGES)}
    assert all(item["success"] for item in run.items)
    assert "c4scrapy LLM extraction: openai/products (litellm 1." in run.log


def test_chunks_follow_the_threshold_and_merge_in_order(crawl) -> None:
    _, fake, pages = crawl
    strategy = LLMExtractionStrategy(
        LLMConfig("openai/products"), chunk_token_threshold=120, overlap_rate=0.1
    )
    catalogue = pages["catalogue.html"]
    expected_chunks = strategy.chunks(catalogue["markdown"])
    report = catalogue["c4"]["llm"]
    assert report["chunks"] == len(expected_chunks) >= 5
    assert report["failed_chunks"] == 0
    assert report["complete"] is True
    assert _names(catalogue) == [f"Widget {i}" for i in range(24)]  # overlap repeats once
    calls = fake.calls_for(catalogue["url"])
    assert {call.content for call in calls} == set(expected_chunks)
    for call in calls:
        assert "\n\n* **Widget" in call.content  # newlines and markdown kept
        assert f"<user_request>\n{INSTRUCTION}\n</user_request>" in call.prompt
        assert '"required": [\n    "name",\n    "price"\n  ]' in call.prompt
        assert call.params["temperature"] == 0.2  # LLMConfig.temperature is sent


def test_usage_per_page_and_in_stats(crawl) -> None:
    run, fake, _ = crawl

    def received(call: Any) -> bool:  # not the answers the crawl stopped waiting for
        done = "total_tokens" in call.usage  # a slow answer may still be in the making
        return call.status == 200 and done and call.finished - call.started < 5

    llm_items = [item for item in run.items if "llm" in item["c4"]]
    assert len(llm_items) == run.stats["c4/llm/pages"] == len(SCRIPTED_PAGES) + 1 + 5
    for item in llm_items:
        answered = [c for c in fake.calls_for(item["url"]) if received(c)]
        usage = item["c4"]["llm"]["usage"]
        assert usage["prompt"] == sum(c.usage["prompt_tokens"] for c in answered)
        assert usage["completion"] == sum(c.usage["completion_tokens"] for c in answered)
        assert usage["total"] == usage["prompt"] + usage["completion"]
    answered = [c for c in fake.calls if received(c)]
    assert run.stats["c4/llm/tokens/total"] == sum(c.usage["total_tokens"] for c in answered)
    assert run.stats["c4/llm/requests"] == len(fake.calls)


def test_a_failed_chunk_marks_the_page_partial(crawl) -> None:
    run, _, pages = crawl
    partial = pages["partial.html"]["c4"]["llm"]
    assert partial["failed_chunks"] == 1
    assert partial["complete"] is False
    assert [e["reason"] for e in partial["errors"]] == ["server_error"]
    assert partial["requests"] >= partial["chunks"] + 1  # the failing chunk was retried
    names = _names(pages["partial.html"])
    assert "Widget 100" in names
    assert "Widget 300" in names
    assert "Widget 201" not in names
    assert run.stats["c4/llm/pages/partial"] == 1


@pytest.mark.parametrize(
    ("page", "product"),
    [
        ("ratelimit.html", 1),  # 429 once, then the answer
        ("tooslow.html", 8),  # a timeout, then the answer
        ("fenced.html", 3),
        ("trailing.html", 4),
        ("slow.html", 7),  # within the timeout
    ],
)
def test_retries_and_json_recovery(crawl, page, product) -> None:
    report = crawl[2][page]["c4"]["llm"]
    assert _names(crawl[2][page]) == [f"Widget {product}"]
    assert report["errors"] == []
    if page in ("ratelimit.html", "tooslow.html"):
        assert report["retries"] >= 1


@pytest.mark.parametrize(
    ("page", "reason"),
    [
        ("malformed.html", "invalid_json"),
        ("deep.html", "invalid_json"),  # 100,000 '[': an error, not a RecursionError
        ("wrong.html", "schema_mismatch"),
        ("cutoff.html", "max_tokens"),
    ],
)
def test_errors_are_errors_not_data(crawl, page, reason) -> None:
    run, _, pages = crawl
    assert pages[page]["extracted_content"] is None
    assert [e["reason"] for e in pages[page]["c4"]["llm"]["errors"]] == [reason]
    assert run.stats["c4/llm/errors/invalid_json"] == 2
    assert run.stats[f"c4/llm/errors/{reason}"] >= 1
    assert run.stats["c4/llm/pages/failed"] == 4
    assert "Traceback" not in run.log


@pytest.mark.parametrize(
    ("page", "delays"),
    [
        ("retryafter.html", [2.0]),  # the provider's Retry-After: 2
        ("retryafter-capped.html", [3.0]),  # Retry-After: 100, capped by the setting
        ("ratelimit.html", [0.0]),  # Retry-After: 0
        ("tooslow.html", [0.05]),  # a timeout has no Retry-After: the backoff
    ],
)
def test_retry_after_is_honoured_and_capped(crawl, page, delays) -> None:
    run, _, pages = crawl
    report = pages[page]["c4"]["llm"]
    assert report["retry_delays"] == delays
    assert report["errors"] == []
    assert run.stats["c4/llm/retry_after"] == 3
    assert run.stats["c4/llm/retry_seconds"] >= 5.0


def test_concurrency_is_capped_and_the_token_never_leaks(crawl) -> None:
    run, fake, _ = crawl
    assert 2 <= fake.max_in_flight <= 3
    assert run.stats["c4/llm/max_concurrent"] <= 3
    assert TOKEN not in run.log
    assert TOKEN not in json.dumps(run.items)


def test_the_docs_examples(crawl) -> None:
    run, fake, pages = crawl
    items = {name: pages[f"docs/{name}"] for name in DOCS_PAGES}
    data = {name: json.loads(item["extracted_content"]) for name, item in items.items()}
    assert data["hn.html"] == [
        {"title": "Show HN: a tiny crawler", "link": "https://example.org/a"},
        {"title": "Ask HN: scraping?", "link": "/item?id=2"},
    ]  # the sidebar's row is outside css_selector
    assert data["blocks.html"] == [
        {
            "headline": "First story",
            "summary": "What happened first.",
            "metadata": {"author": "Ada", "date": "2024-05-01"},
        },
        {"headline": "Second story", "summary": "And then this.", "metadata": {"author": "Grace"}},
    ]
    assert data["article.html"] == [
        {
            "headline": "Crawlers learn to read",
            "summary": "Scrapy crawls the web politely while c4scrapy turns every page into "
            "clean markdown and structured data for language models.",
        }
    ]
    assert data["products.html"] == [
        {"name": f"Widget {i}", "price": f"${i}.50"} for i in range(40, 43)
    ]
    (graph,) = data["kg.html"]
    assert [e["name"] for e in graph["entities"]] == [
        "Ada Lovelace",
        "Charles Babbage",
        "Analytical Engine",
        "Alan Turing",
        "John Von Neumann",
    ]
    assert [r["relation_type"] for r in graph["relationships"]] == [
        "worked_with",
        "designed_the",
        "inspired",
    ]

    (products_call,) = fake.calls_for(items["products.html"]["url"])
    assert products_call.params["temperature"] == 0.0
    assert products_call.params["max_tokens"] == 800
    (kg_call,) = fake.calls_for(items["kg.html"]["url"])
    assert "<p>Ada Lovelace worked with Charles Babbage." in kg_call.content  # input_format html
    assert kg_call.params["max_tokens"] == 1500
    article_call = fake.calls_for(items["article.html"]["url"])[0]
    assert "Short line." not in article_call.content  # word_count_threshold=20
    assert "elsewhere" in article_call.content  # exclude_external_links: text kept
    assert "other.example" not in article_call.content
    assert f'knowledge graph usage: {{"prompt": {kg_call.usage["prompt_tokens"]}' in run.log
    fit = items["fit.html"]
    (fit_call,) = fake.calls_for(fit["url"])
    assert fit["c4"]["llm"]["input_format"] == "fit_markdown"
    assert fit_call.content == fit["fit_markdown"]
    assert "Privacy" in fit["markdown"]
    assert "Privacy" not in fit_call.content
    assert [p["name"] for p in data["fit.html"]] == ["Widget 50", "Widget 51"]
    nofilter = items["nofilter.html"]["c4"]["llm"]
    assert nofilter["input_format"] == "markdown"
    assert "needs a content filter" in nofilter["input_note"]
    assert [p["name"] for p in data["nofilter.html"]] == ["Widget 60"]
    assert run.stats["c4/schema/News Items/items"] == 2


def test_docs_example_requests_survive_jobdir_pickling(monkeypatch) -> None:
    monkeypatch.setenv("FAKE_LLM_KEY", TOKEN)
    spider = LLMExamplesSpider(
        url="http://127.0.0.1:1/", docs="http://127.0.0.1:1/docs/", llm_url="http://127.0.0.1:2/v1"
    )
    for page, config in spider.configs.items():
        request = scrapy.Request(spider.docs + page, meta={"c4": config}, callback=spider.example)
        restored = pickle.loads(pickle.dumps(request.to_dict(spider=spider)))
        strategy = restored["meta"]["c4"].extraction_strategy
        assert type(strategy) is type(config.extraction_strategy)


def test_litellm_is_not_imported_until_an_llm_strategy_runs() -> None:
    code = (
        "import sys, c4scrapy, c4scrapy.pipelines, c4scrapy.core.llm.strategy, c4scrapy.spiders.site;"
        "from c4scrapy.core.layers import spider_config;"
        "spider_config({'llm_provider': 'openai/x', 'llm_instruction': 'x'});"
        "print('litellm' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


# -- secrets: a key planted through every source never shows in what the crawl writes -------

PLANTED = {
    "arg": "sk-planted-arg-7d1f0c2b9e",  # -a llm_api_token=KEY
    "settings": "sk-planted-settings-4a8e6b",  # a strategy in C4_EXTRACTION_STRATEGY
    "literal": "sk-planted-literal-93c5d1",  # LLMConfig(api_token=KEY) in meta
    "env_name": "sk-planted-envname-0b7e4f",  # LLMConfig(api_token="env:NAME")
    "openai_env": "sk-planted-openai-6e2a9d",  # no token: litellm reads OPENAI_API_KEY
}
ECHO_PAGES = {
    "echo401.html": _products(70, 1, "FAKE-LLM:echo-auth=401"),  # not retried
    "echo500.html": _products(71, 1, "FAKE-LLM:echo-auth=500"),  # retried, then failed
}


def _echo_config(llm_url: str, token: str | None) -> CrawlerRunConfig:
    return CrawlerRunConfig(
        extraction_strategy=LLMExtractionStrategy(
            llm_config=LLMConfig(provider="openai/products", api_token=token, base_url=llm_url),
            schema=Product.model_json_schema(),
        )
    )


class LLMSecretsSpider(SiteSpider):
    """The ``site`` spider over the echo pages with ``-a llm_api_token``, plus the same
    pages with each other source's key in ``meta["c4"]``; a settings-level strategy too."""

    name = "c4_llm_secrets"

    def __init__(self, llm_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.llm_url = llm_url

    @classmethod
    def update_settings(cls, settings: Any) -> None:
        super().update_settings(settings)
        config = _echo_config(settings["FAKE_LLM_URL"], PLANTED["settings"])
        settings.set("C4_EXTRACTION_STRATEGY", config.extraction_strategy, priority="spider")

    async def start(self):
        async for request in super().start():
            yield request
        tokens = {
            "literal": PLANTED["literal"],
            "env_name": "env:PLANTED_KEY",
            "openai_env": None,
        }
        for source, token in tokens.items():
            for page in ECHO_PAGES:
                yield scrapy.Request(
                    f"{self.url.rsplit('/', 1)[0]}/{page}?{source}",
                    meta={"c4": _echo_config(self.llm_url, token)},
                    callback=self.example,
                )

    def example(self, response):
        return []


@pytest.mark.parametrize("crawl_wide", ["arg", "settings"])
def test_api_keys_never_appear_in_anything_the_crawl_writes(tmp_path, crawl_wide) -> None:
    site = tmp_path / "site"
    site.mkdir()
    links = "".join(f'<p><a href="/{name}">{name}</a></p>' for name in ECHO_PAGES)
    (site / "index.html").write_text(_page("Echo", links))
    for name, body in ECHO_PAGES.items():
        (site / name).write_text(_page(name, body))
    with LocalServer(site) as server, FakeLLM() as fake:
        args = {"url": server.url + "index.html", "llm_url": fake.url}
        if crawl_wide == "arg":  # else the strategy in C4_EXTRACTION_STRATEGY is the crawl's
            args |= {
                "llm_provider": "openai/products",
                "llm_base_url": fake.url,
                "llm_schema": json.dumps(Product.model_json_schema()),
                "llm_api_token": PLANTED["arg"],
            }
        run = run_crawl(
            tmp_path / "crawl",
            spider="c4_llm_secrets",
            args=args,
            settings={
                "SPIDER_MODULES": "tests.e2e.test_llm_crawl",
                "FAKE_LLM_URL": fake.url,
                "C4_LLM_MAX_RETRIES": 1,
                "C4_LLM_BACKOFF_BASE_DELAY": 0.01,
            },
            env={"PLANTED_KEY": PLANTED["env_name"], "OPENAI_API_KEY": PLANTED["openai_env"]},
        )
    # every source's key really went out, and the provider echoed it back
    sent = {call.authorization for call in fake.calls}
    used = {crawl_wide, "literal", "env_name", "openai_env"}
    assert sent == {f"Bearer {PLANTED[source]}" for source in used}
    llm_items = [item for item in run.items if "llm" in item["c4"]]
    assert len(llm_items) == 1 + 2 + 2 * 3  # the index page too
    errors = [error for item in llm_items for error in item["c4"]["llm"]["errors"]]
    assert sorted(error["reason"] for error in errors) == ["auth_error"] * 4 + ["server_error"] * 4
    assert all("Incorrect API key provided: Bearer ***" in error["message"] for error in errors)
    assert "Overridden settings" in run.log  # (Scrapy dumps only its own settings' values)
    written = {
        "log file and stderr": run.log,
        "stdout": run.stdout,
        "items": (tmp_path / "crawl" / "items.jsonl").read_text(),
        "stats": (tmp_path / "crawl" / "stats.json").read_text(),
    }
    leaks = {
        (source, where, text.count(key))
        for source, key in PLANTED.items()
        for where, text in written.items()
        if key in text
    }
    assert leaks == set()
