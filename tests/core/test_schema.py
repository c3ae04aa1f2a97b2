"""JSON CSS / XPath schema extraction: field types, scope, validation (the pipeline and crawls:
tests/components/test_pipelines.py)."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest

from c4scrapy import CrawlerRunConfig, JsonCssExtractionStrategy, JsonXPathExtractionStrategy
from c4scrapy.core.exceptions import ConfigError
from c4scrapy.core.layers import config_from_settings, resolve
from c4scrapy.core.page import parse_html
from c4scrapy.core.schema import element_text, load_schema_strategy
from c4scrapy.settings import C4Settings

PAGE = """<html><head><title>Shop</title></head><body>
<header><div class="product" data-sku="H0"><h2>Header promo</h2></div></header>
<main id="catalog">
  <div class="product" data-sku="A1">
    <h2>Widget <b>Pro</b></h2>
    <span class="price">Price: $19.99</span>
    <a class="more" href="/widget-pro">details</a>
    <img src="/img/w1.jpg" alt="Widget front"><img src="/img/w2.jpg" alt="Widget back">
    <ul class="specs"><li>Steel</li><li>2 kg</li></ul>
    <div class="vendor"><span class="name">Acme</span><span class="city">Paris</span></div>
    <p class="desc">Line one<br>line two<script>var x = 1;</script></p>
  </div>
  <div class="product" data-sku="B2">
    <h2>Gadget</h2>
    <span class="price">sold out</span>
    <div class="vendor"><span class="name">Bolt &amp; Co</span></div>
  </div>
  <div class="product"></div>
</main>
<table class="hn">
  <tr class="athing"><td><span class="titleline"><a href="/s/1">Story one</a></span></td></tr>
  <tr><td class="subtext"><span class="score">12 points</span></td></tr>
  <tr class="athing"><td><span class="titleline"><a href="/s/2">Story two</a></span></td></tr>
  <tr><td class="subtext"><span class="score">7 points</span></td></tr>
</table>
</body></html>"""

DOC = parse_html(PAGE, "https://shop.example/")


def _records(fields: list[dict[str, Any]], *, base: str = "div.product", xpath: bool = False):
    cls = JsonXPathExtractionStrategy if xpath else JsonCssExtractionStrategy
    strategy = cls({"name": "t", "baseSelector": base, "fields": fields})
    return strategy.extract_tree(DOC)


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ({"selector": "h2", "type": "text"}, ["Header promo", "Widget Pro", "Gadget"]),
        (
            {"selector": ".price", "type": "regex", "pattern": r"\$([0-9.]+)", "default": "?"},
            ["?", "19.99", "?"],
        ),
        (
            {"selector": "a.more", "type": "attribute", "attribute": "href"},
            [None, "/widget-pro", None],
        ),
        (
            {
                "selector": "a",
                "type": ["attribute", "regex"],
                "attribute": "href",
                "pattern": "/(.*)",
            },
            [None, "widget-pro", None],
        ),
        (
            {"selector": "h2", "type": "html"},
            ["<h2>Header promo</h2>", "<h2>Widget <b>Pro</b></h2>", "<h2>Gadget</h2>"],
        ),
        (
            {"selector": "h2", "type": "text", "transform": "uppercase"},
            ["HEADER PROMO", "WIDGET PRO", "GADGET"],
        ),
        ({"selector": "p.desc", "type": "text"}, [None, "Line one line two", None]),
        (
            {"selector": "img", "type": "attribute", "attribute": "alt"},
            [None, "Widget front", None],
        ),
        ({"selector": ".missing", "type": "text", "default": "n/a"}, ["n/a", "n/a", "n/a"]),
        ({"type": "attribute", "attribute": "data-sku"}, ["H0", "A1", "B2"]),
        (
            {"selector": "ul.specs li", "type": "list", "fields": [{"name": "s", "type": "text"}]},
            [[], [{"s": "Steel"}, {"s": "2 kg"}], []],
        ),
        (
            {
                "selector": ".vendor",
                "type": "nested",
                "fields": [
                    {"name": "name", "selector": ".name", "type": "text"},
                    {"name": "city", "selector": ".city", "type": "text"},
                ],
            },
            [{}, {"name": "Acme", "city": "Paris"}, {"name": "Bolt & Co"}],
        ),
        (
            {
                "type": "nested",
                "fields": [{"name": "sku", "type": "attribute", "attribute": "data-sku"}],
            },
            [{"sku": "H0"}, {"sku": "A1"}, {"sku": "B2"}],
        ),
        (
            {
                "selector": "img",
                "type": "nested_list",
                "fields": [
                    {"name": "src", "type": "attribute", "attribute": "src"},
                    {"name": "file", "type": "computed", "expression": "src.split('/')[-1]"},
                ],
            },
            [
                [],
                [
                    {"src": "/img/w1.jpg", "file": "w1.jpg"},
                    {"src": "/img/w2.jpg", "file": "w2.jpg"},
                ],
                [],
            ],
        ),
    ],
)
def test_field_types(field: dict[str, Any], expected: list[Any]) -> None:
    strategy = JsonCssExtractionStrategy(
        {
            "baseSelector": "div.product[data-sku]",
            "baseFields": [{"name": "sku", "type": "attribute", "attribute": "data-sku"}],
            "fields": [{"name": "v", **field}],
        }
    )
    records = strategy.extract_tree(DOC)
    assert [record["sku"] for record in records] == ["H0", "A1", "B2"]
    assert [record.get("v") for record in records] == expected


def test_text_keeps_word_spacing_unlike_crawl4ai_css() -> None:
    root = parse_html("<h2>Widget <b>Pro</b></h2><ul><li>a</li><li>b</li></ul>", "http://x/")
    assert element_text(root.find(".//h2")) == "Widget Pro"
    assert element_text(root.find(".//ul")) == "a b"
    assert element_text(parse_html("<p><b>Wid</b><i>get</i></p>", "http://x/")) == "Widget"


def test_computed_fields_and_empty_records() -> None:
    fields = [
        {"name": "title", "selector": "h2", "type": "text"},
        {"name": "price", "selector": ".price", "type": "regex", "pattern": r"([0-9.]+)"},
        {
            "name": "label",
            "type": "computed",
            "expression": "title.lower() + ' at ' + str(float(price) * 2) if price else None",
        },
        {"name": "short", "type": "computed", "function": lambda r: r["title"][:3]},
    ]
    records = _records(fields, base="main div.product")
    assert records == [
        {"title": "Widget Pro", "price": "19.99", "label": "widget pro at 39.98", "short": "Wid"},
        {"title": "Gadget", "short": "Gad"},
    ]  # the empty <div class="product"> gives no record


def test_css_and_xpath_agree_and_xpath_takes_css_shorthand() -> None:
    css = _records(
        [
            {"name": "t", "selector": "h2", "type": "text"},
            {"name": "p", "selector": "span.price", "type": "text"},
        ]
    )
    xpath = _records(
        [
            {"name": "t", "selector": ".//h2", "type": "text"},
            {"name": "p", "selector": "span.price", "type": "text"},
        ],
        base="//div[contains(@class, 'product')]",
        xpath=True,
    )
    assert css == xpath
    assert _records(
        [
            {"name": "sku", "selector": "@data-sku", "type": "text"},
            {"name": "n", "selector": "count(.//li)", "type": "text"},
        ],
        base="//main/div",
        xpath=True,
    )[0] == {"sku": "A1", "n": "2"}


def test_source_moves_to_the_next_sibling_row() -> None:
    fields = [
        {"name": "title", "selector": "span.titleline a", "type": "text"},
        {
            "name": "score",
            "source": "+ tr",
            "selector": ".score",
            "type": "regex",
            "pattern": r"(\d+)",
        },
    ]
    expected = [{"title": "Story one", "score": "12"}, {"title": "Story two", "score": "7"}]
    assert _records(fields, base="tr.athing") == expected
    xpath_fields = [fields[0], {**fields[1], "source": "following-sibling::tr[1]"}]
    assert _records(xpath_fields, base="//tr[@class='athing']", xpath=True) == expected


def test_scope_limits_records_to_the_css_selector_matches() -> None:
    strategy = JsonCssExtractionStrategy(
        {
            "baseSelector": "div.product",
            "fields": [{"name": "sku", "type": "attribute", "attribute": "data-sku"}],
        }
    )
    scopes = DOC.xpath("//main")
    assert strategy.extract_tree(DOC, scopes) == [{"sku": "A1"}, {"sku": "B2"}]
    assert len(strategy.extract_tree(DOC)) == 3


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"fields": []}, "baseSelector: expected a non-empty selector"),
        ({"baseSelector": "div[", "fields": []}, "baseSelector: invalid CSS selector 'div['"),
        ({"baseSelector": "div"}, "fields: missing"),
        (
            {"baseSelector": "div", "fields": [], "basefields": []},
            "unknown key 'basefields' (did you mean 'baseFields'?)",
        ),
        (
            {"baseSelector": "div", "fields": [{"name": "a", "type": "txt"}]},
            "fields[0] ('a'): type: 'txt' is not one of",
        ),
        (
            {"baseSelector": "div", "fields": [{"name": "a", "type": "text", "selector": "p >"}]},
            "fields[0] ('a'): selector: invalid CSS selector 'p >'",
        ),
        (
            {"baseSelector": "div", "fields": [{"name": "a", "type": "attribute"}]},
            "fields[0] ('a'): attribute: the attribute name is missing",
        ),
        (
            {"baseSelector": "div", "fields": [{"name": "a", "type": "regex", "pattern": r"\d+"}]},
            "fields[0] ('a'): pattern '\\\\d+' has no group 1",
        ),
        (
            {"baseSelector": "div", "fields": [{"name": "a", "type": "regex", "pattern": "("}]},
            "fields[0] ('a'): pattern: invalid regex",
        ),
        (
            {
                "baseSelector": "div",
                "fields": [{"name": "a", "type": "text", "transform": "title"}],
            },
            "transform: 'title' is not one of lowercase, uppercase, strip",
        ),
        (
            {"baseSelector": "div", "fields": [{"name": "a", "type": "list", "fields": []}]},
            "fields[0] ('a'): selector: a list field needs a selector",
        ),
        (
            {
                "baseSelector": "div",
                "fields": [
                    {
                        "name": "n",
                        "type": "nested",
                        "fields": [{"name": "b", "type": "text", "atribute": "x"}],
                    }
                ],
            },
            "fields[0] ('n').fields[0] ('b'): unknown key 'atribute'",
        ),
        (
            {
                "baseSelector": "div",
                "fields": [
                    {"name": "c", "type": "computed", "expression": "__import__('os').system('x')"}
                ],
            },
            "call not allowed",
        ),
        (
            {
                "baseSelector": "div",
                "fields": [{"name": "c", "type": "computed", "expression": "title.__class__"}],
            },
            "attribute '__class__' not allowed",
        ),
        (
            {"baseSelector": "div", "fields": [{"name": "c", "type": "computed"}]},
            "computed fields need a function (callable) or an expression",
        ),
        (
            {
                "baseSelector": "div",
                "fields": [{"name": "a", "type": "text", "source": "following-sibling::p"}],
            },
            "source: expected '+ <selector>'",
        ),
    ],
)
def test_invalid_schemas_fail_naming_the_field(schema: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        JsonCssExtractionStrategy(schema)
    assert message in str(error.value)


def test_invalid_xpath_names_the_field() -> None:
    with pytest.raises(ConfigError, match=r"fields\[0\] \('a'\): selector: invalid XPath"):
        JsonXPathExtractionStrategy(
            {
                "baseSelector": "//div",
                "fields": [{"name": "a", "selector": ".//[", "type": "text"}],
            }
        )


@pytest.mark.parametrize(
    ("schema", "schema_type", "expected"),
    [
        ({"baseSelector": "div.x", "fields": []}, None, JsonCssExtractionStrategy),
        ({"baseSelector": "//div", "fields": []}, None, JsonXPathExtractionStrategy),
        ({"baseSelector": "(//div)[1]", "fields": []}, None, JsonXPathExtractionStrategy),
        (
            {"type": "xpath", "baseSelector": "div", "fields": []},
            None,
            JsonXPathExtractionStrategy,
        ),
        ({"baseSelector": "div", "fields": []}, "xpath", JsonXPathExtractionStrategy),
    ],
)
def test_schema_type_detection(schema, schema_type, expected, tmp_path) -> None:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(schema))
    assert type(load_schema_strategy(str(path), schema_type)) is expected
    assert type(load_schema_strategy(json.dumps(schema), schema_type)) is expected


def test_strategies_pickle_and_config_accepts_schemas(tmp_path) -> None:
    schema = {
        "name": "P",
        "baseSelector": "div.product",
        "fields": [{"name": "title", "selector": "h2", "type": "text"}],
    }
    strategy = pickle.loads(pickle.dumps(JsonCssExtractionStrategy(schema)))
    assert strategy == JsonCssExtractionStrategy(schema)
    assert strategy.extract_tree(DOC)[1] == {"title": "Widget Pro"}
    as_layer = resolve(CrawlerRunConfig(), {"extraction_strategy": schema}, source="meta")
    assert as_layer.extraction_strategy == strategy
    path = tmp_path / "p.json"
    path.write_text(json.dumps(schema))
    assert config_from_settings(
        {"C4_EXTRACTION_STRATEGY": str(path)}, C4Settings.names()
    ).extraction_strategy == (strategy)
    with pytest.raises(ConfigError, match=r"setting C4_EXTRACTION_STRATEGY: .*cannot read"):
        config_from_settings(
            {"C4_EXTRACTION_STRATEGY": str(tmp_path / "nope.json")}, C4Settings.names()
        )
    with pytest.raises(ConfigError, match="extraction_strategy: expected JsonCssExtraction"):
        CrawlerRunConfig(extraction_strategy=42)
