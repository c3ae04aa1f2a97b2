"""PageItem.markdown as Crawl4AI's MarkdownGenerationResult; markdown options; mermaid;
the content filter's names in config layers; NoExtractionStrategy."""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle

import pytest

from c4scrapy import (
    ConfigError,
    CrawlerRunConfig,
    DefaultMarkdownGenerator,
    MainContentFilter,
    MarkdownGenerationResult,
    NoExtractionStrategy,
    PageItem,
    PruningContentFilter,
    extract_page,
)
from c4scrapy.core.layers import config_from_settings, spider_config
from c4scrapy.core.markdown_result import citations

PAGE = "https://example.com/a/page.html"


@pytest.mark.parametrize(
    ("markdown", "cited", "references"),
    [
        (
            '[x](https://e.com/1 "T") and [y](https://e.com/2) then [z](https://e.com/1)',
            "x⟨1⟩ and y⟨2⟩ then z⟨1⟩",
            "⟨1⟩ https://e.com/1: T - x\n⟨2⟩ https://e.com/2: y\n",
        ),
        ('[Same](https://e.com/s "Same")', "Same⟨1⟩", "⟨1⟩ https://e.com/s: Same\n"),
        ("![alt](https://e.com/i.png)", "![alt⟨1⟩]", "⟨1⟩ https://e.com/i.png: alt\n"),
        (
            "[![logo](https://e.com/l.png)](https://e.com/)",
            "![logo⟨1⟩]⟨2⟩",
            "⟨1⟩ https://e.com/l.png: logo\n⟨2⟩ https://e.com/: ![logo⟨1⟩]\n",
        ),
        (
            "[wiki](https://w.org/A_(b)) <https://auto.link/>",
            "wiki⟨1⟩ <https://auto.link/>",
            "⟨1⟩ https://w.org/A_(b): wiki\n",
        ),
        ("```\n[not](https://e.com/code)\n```\n", "```\n[not](https://e.com/code)\n```\n", ""),
        ("no links", "no links", ""),
    ],
    ids=[
        "title-and-repeat",
        "text-is-title",
        "image",
        "image-link",
        "parens-autolink",
        "code",
        "none",
    ],
)
def test_citations_as_crawl4ai_writes_them(markdown: str, cited: str, references: str) -> None:
    assert citations(markdown) == (cited, "\n\n## References\n\n" + references)


def test_markdown_is_a_string_with_crawl4ai_attributes() -> None:
    html = '<p>See <a href="/b" title="Bee">b</a> and <a href="https://x.org/">x</a>.</p>'
    config = CrawlerRunConfig(markdown_generator=DefaultMarkdownGenerator(PruningContentFilter()))
    item = extract_page(html * 3, PAGE, config)
    md = item.markdown
    assert isinstance(md, str)
    assert isinstance(md, MarkdownGenerationResult)
    assert md == md.raw_markdown == str(md)
    assert type(md.raw_markdown) is str
    assert md.startswith('See [b](https://example.com/b "Bee")')
    assert md.markdown_with_citations.startswith("See b⟨1⟩ and x⟨2⟩.")
    assert md.references_markdown == (
        "\n\n## References\n\n⟨1⟩ https://example.com/b: Bee - b\n⟨2⟩ https://x.org/: x\n"
    )
    assert md.fit_markdown == item.fit_markdown
    assert md.fit_html == item.fit_html
    assert set(md.model_dump()) == {
        "raw_markdown",
        "markdown_with_citations",
        "references_markdown",
        "fit_markdown",
        "fit_html",
    }
    assert json.dumps({"m": md}) == json.dumps({"m": str(md)})


def test_markdown_result_round_trips() -> None:
    config = CrawlerRunConfig(markdown_generator=DefaultMarkdownGenerator(MainContentFilter()))
    item = extract_page("<p>" + "words of an article here " * 20 + "</p>", PAGE, config)
    for restored in (
        pickle.loads(pickle.dumps(item)),
        copy.deepcopy(item),
        PageItem(**json.loads(json.dumps(dataclasses.asdict(item)))),  # a feed's row
    ):
        md = restored.markdown
        assert isinstance(md, MarkdownGenerationResult)
        assert md == item.markdown
        assert md.fit_markdown == item.fit_markdown is not None
        assert md.fit_html == item.fit_html
        assert md.references_markdown == item.markdown.references_markdown
    row = json.loads(json.dumps(dataclasses.asdict(item)))
    assert isinstance(row["markdown"], str)
    # the item's fields and its markdown's stay one
    item.fit_markdown = "changed"
    assert item.markdown.fit_markdown == "changed"
    item.markdown = "plain"
    assert item.markdown.fit_markdown == "changed"
    assert item.markdown.raw_markdown == "plain"


def test_no_filter_leaves_fit_fields_none() -> None:
    item = extract_page("<p>text</p>", PAGE)
    assert item.markdown.fit_markdown is None
    assert item.markdown.fit_html is None
    assert PageItem(url=PAGE).markdown is None


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"single_line_break": True}, "'single_line_break'=True is not supported"),
        ({"protect_links": True}, "'protect_links'=True"),
        ({"skip_internal_links": True}, "'skip_internal_links'=True"),
        ({"mark_code": False}, "'mark_code'=False"),
        ({"unicode_snob": False}, "'unicode_snob'=False"),
        ({"citations": True}, "'citations' is not supported"),
    ],
)
def test_markdown_options_refused_name_the_option(options: dict, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        DefaultMarkdownGenerator(options=options)


def test_markdown_options_honoured() -> None:
    html = "<table><tr><th>Name</th><th>N</th></tr><tr><td>a</td><td>12345</td></tr></table>"
    compact = DefaultMarkdownGenerator(options={"pad_tables": False}).generate(html)[0]
    padded = DefaultMarkdownGenerator(options={"pad_tables": True}).generate(html)[0]
    assert compact != padded
    assert "| Name |" in padded
    for options in (
        {"single_line_break": False, "protect_links": False, "skip_internal_links": False},
        {"mark_code": True, "unicode_snob": True},
    ):
        DefaultMarkdownGenerator(options=options)


MERMAID = """<p>Flow:</p><div class="mermaid"><svg id="mermaid-0" aria-roledescription="flowchart-v2"
xmlns="http://www.w3.org/2000/svg"><style>.node{fill:red}</style><g class="nodes">
<g class="node"><foreignObject><div><span class="nodeLabel">Fetch page</span></div></foreignObject></g>
<g class="node"><text><tspan>Parse</tspan></text></g></g>
<g class="edgeLabels"><g class="edgeLabel"><foreignObject><span class="edgeLabel">ok</span>
</foreignObject></g><g class="edgeLabel"><text>fail</text></g></g></svg></div><svg aria-roledescription="carousel"><text>icon</text></svg>"""


def test_mermaid_svg_becomes_a_fenced_block_with_its_labels() -> None:
    item = extract_page(MERMAID, PAGE)
    assert '<pre><code class="language-mermaid">' in item.cleaned_html
    assert "```mermaid\n%% flowchart-v2\nFetch page\nParse\nok\nfail\n```" in item.markdown
    assert "icon" not in item.markdown  # an svg that is not a diagram still goes
    assert "fill:red" not in item.markdown


@pytest.mark.parametrize(
    ("name", "filter_type"),
    [("main", MainContentFilter), ("pruning", PruningContentFilter), ("MAIN", MainContentFilter)],
)
def test_content_filter_by_name(name: str, filter_type: type) -> None:
    overrides = spider_config({"content_filter": name})
    config = CrawlerRunConfig().merged(
        {"markdown_generator": DefaultMarkdownGenerator(filter_type())}
    )
    from c4scrapy.core.layers import resolve

    resolved = resolve(CrawlerRunConfig(), overrides, source="-a")
    assert resolved.markdown_generator == config.markdown_generator
    settings = config_from_settings({"C4_MARKDOWN_GENERATOR": name}, ())
    assert isinstance(settings.markdown_generator.content_filter, filter_type)


def test_content_filter_errors_name_the_argument() -> None:
    with pytest.raises(ConfigError, match=r"-a content_filter: .*did you mean 'main'"):
        spider_config({"content_filter": "mian"})
    with pytest.raises(ConfigError, match="choose one"):
        spider_config({"content_filter": "main", "markdown_generator": "default"})
    with pytest.raises(ConfigError, match="C4_MARKDOWN_GENERATOR"):
        config_from_settings({"C4_MARKDOWN_GENERATOR": 3}, ())
    with pytest.raises(ConfigError, match="C4_MARKDOWN_GENERATOR"):
        config_from_settings({"C4_MARKDOWN_GENERATOR": "bm52"}, ())
    assert spider_config({"content_filter": "none"}) == {"markdown_generator": "default"}


def test_llm_fit_markdown_uses_the_configured_filter() -> None:
    overrides = spider_config(
        {"content_filter": "main", "llm_provider": "openai/x", "llm_input_format": "fit_markdown"}
    )
    assert overrides["markdown_generator"] == "main"


def test_no_extraction_strategy() -> None:
    strategy = NoExtractionStrategy()
    assert CrawlerRunConfig(extraction_strategy=strategy).extraction_strategy is None
    assert strategy.extract("u", "<p>x</p>") == [{"index": 0, "content": "<p>x</p>"}]
    assert strategy.run("u", ["a", "b"])[1] == {"index": 1, "tags": [], "content": "b"}
    assert pickle.loads(pickle.dumps(strategy)) == strategy
