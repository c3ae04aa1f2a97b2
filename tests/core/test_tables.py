"""Data tables (c4scrapy.core.tables) on HTML snippets."""

from __future__ import annotations

from collections import Counter
from typing import Any

import lxml.html
import pytest

from c4scrapy import extract_page
from c4scrapy.core.config import CrawlerRunConfig
from c4scrapy.core.page import parse_html
from c4scrapy.core.tables import extract_tables

EVERYTHING = -100  # a threshold that keeps every table with rows, to look at scores


def run(
    html: str, *, skip: Any = frozenset(), **config: Any
) -> tuple[list[dict[str, Any]], Counter[str]]:
    doc = parse_html(f"<html><body>{html}</body></html>", "https://example.com/")
    counts: Counter[str] = Counter()
    cfg = CrawlerRunConfig.from_mapping(config)
    return extract_tables([doc], cfg, skip=skip, counts=counts), counts


def one(html: str, **config: Any) -> dict[str, Any]:
    tables, _ = run(html, **{"table_score_threshold": EVERYTHING, **config})
    assert len(tables) == 1
    return tables[0]


EMPLOYEES = (
    '<table id="staff" class="data wide"><caption>Employee <b>Directory</b></caption>'
    "<thead><tr><th>Name</th><th>Age</th><th>Location</th></tr></thead>"
    "<tbody><tr><td>John Doe</td><td>34</td><td>New York</td></tr>"
    "<tr><td>Jane Smith</td><td>28</td><td>San Francisco</td></tr></tbody></table>"
)


def test_full_table() -> None:
    tables, counts = run(EMPLOYEES)
    assert tables == [
        {
            "headers": ["Name", "Age", "Location"],
            "rows": [["John Doe", "34", "New York"], ["Jane Smith", "28", "San Francisco"]],
            "caption": "Employee Directory",
            "summary": "",
            "metadata": {
                "row_count": 2,
                "column_count": 3,
                "has_headers": True,
                "has_caption": True,
                "has_summary": False,
                "id": "staff",
                "class": "data wide",
                "score": 12.0,
            },
        }
    ]
    assert counts == Counter({"tables/found": 1, "tables/kept": 1})


LONG = "x" * 85


@pytest.mark.parametrize(
    ("html", "score"),
    [
        pytest.param(EMPLOYEES, 12, id="thead-tbody-caption"),
        pytest.param(
            '<table summary="Facts"><tr><th>Name</th><td>Ann</td></tr>'
            "<tr><th>Age</th><td>3</td></tr></table>",
            8,
            id="key-value-with-summary",
        ),
        pytest.param(
            "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr>"
            "<tr><td>e</td><td>f</td></tr></table>",
            4,
            id="td-only-3x2",
        ),
        pytest.param(f"<table><tr><td>{LONG}</td></tr></table>", 5, id="one-long-cell"),
        pytest.param(
            "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>",
            2,
            id="ragged-rows-variance-below-1",
        ),
        pytest.param(
            "<table><tr><td>a</td><td>b</td><td>c</td><td>d</td></tr><tr><td>e</td></tr></table>",
            2,
            id="ragged-rows-variance-above-1",
        ),
        pytest.param(
            '<table data-a="1" data-b="2"><tr><td>a</td></tr></table>', 3, id="data-attributes"
        ),
        pytest.param(f"<table><tr><td>{'y' * 25}</td></tr></table>", 4, id="density-above-10"),
        pytest.param(
            '<table role="presentation"><tr><td>a</td><td>b</td></tr>'
            "<tr><td>c</td><td>d</td></tr></table>",
            1,
            id="role-presentation",
        ),
        pytest.param(
            "<table><tr><td>x</td></tr><tbody><tr><th>h</th></tr></tbody></table>",
            6,
            id="th-first-in-its-section",
        ),
    ],
)
def test_score(html: str, score: float) -> None:
    assert one(html)["metadata"]["score"] == score


@pytest.mark.parametrize(
    ("threshold", "kept"), [(12, 1), (12.5, 0), (8, 2), (4, 3), (EVERYTHING, 3)]
)
def test_threshold(threshold: float, kept: int) -> None:
    html = (
        EMPLOYEES
        + '<table summary="Facts"><tr><th>Name</th><td>Ann</td></tr><tr><th>Age</th><td>3</td>'
        "</tr></table><table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>"
        "<table></table><table><tbody></tbody></table>"
    )
    tables, counts = run(html, table_score_threshold=threshold)
    assert len(tables) == kept
    assert counts == Counter({"tables/found": 5, "tables/kept": kept})


def test_default_threshold_skips_layout_and_plain_grids() -> None:
    html = (
        '<table role="presentation"><tr><td>menu</td><td>'
        "<p>All of the page's content lives in here.</p></td></tr></table>"
        "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>"
    )
    assert run(html)[0] == []


def test_td_only_table_does_not_repeat_its_first_row() -> None:
    table = one("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>")
    assert table["headers"] == ["Column 1", "Column 2"]
    assert table["rows"] == [["a", "b"], ["c", "d"]]
    assert table["metadata"]["has_headers"] is False
    assert table["metadata"]["row_count"] == 2


@pytest.mark.parametrize(
    ("html", "headers", "rows"),
    [
        pytest.param(
            "<table><tr><th>A</th><th>B</th></tr><tr><td>1</td><td>2</td></tr></table>",
            ["A", "B"],
            [["1", "2"]],
            id="th-first-row-without-thead",
        ),
        pytest.param(
            "<table><tr><td></td><th>A</th><th>B</th></tr><tr><th>r</th><td>1</td><td>2</td>"
            "</tr></table>",
            ["", "A", "B"],
            [["r", "1", "2"]],
            id="empty-corner-cell",
        ),
        pytest.param(
            '<table><tr><th scope="row">Name</th><td>Ann</td></tr>'
            '<tr><th scope="row">Age</th><td>3</td></tr></table>',
            ["Column 1", "Column 2"],
            [["Name", "Ann"], ["Age", "3"]],
            id="th-scope-row-is-data",
        ),
        pytest.param(
            "<table><thead><tr><th>H</th><td>also header</td></tr></thead>"
            "<tbody><tr><th scope=row>k</th><td>v</td></tr></tbody></table>",
            ["H", "also header"],
            [["k", "v"]],
            id="thead-td-and-row-header",
        ),
        pytest.param(
            '<table><thead><tr><th rowspan="2">Name</th><th colspan="2">Score</th></tr>'
            "<tr><th>Math</th><th>Art</th></tr></thead>"
            "<tr><td>Ann</td><td>1</td><td>2</td></tr></table>",
            ["Name", "Score / Math", "Score / Art"],
            [["Ann", "1", "2"]],
            id="two-header-rows",
        ),
        pytest.param(
            "<table><tr><th>A</th><th>B</th></tr><tr><th>C</th><th>D</th></tr></table>",
            ["A", "B"],
            [["C", "D"]],
            id="all-th-table",
        ),
        pytest.param(
            "<table><tfoot><tr><td>total</td><td>3</td></tr></tfoot><thead><tr><th>k</th>"
            "<th>v</th></tr></thead><tbody><tr><td>a</td><td>1</td></tr>"
            "<tr><td>b</td><td>2</td></tr></tbody></table>",
            ["k", "v"],
            [["a", "1"], ["b", "2"], ["total", "3"]],
            id="thead-first-tfoot-last",
        ),
        pytest.param(
            "<table><tr><th>A</th></tr><tr><td>1</td><td>2</td><td>3</td></tr></table>",
            ["A", "", ""],
            [["1", "2", "3"]],
            id="rows-wider-than-headers",
        ),
    ],
)
def test_headers_and_rows(html: str, headers: list[str], rows: list[list[str]]) -> None:
    table = one(html)
    assert table["headers"] == headers
    assert table["rows"] == rows
    assert table["metadata"]["column_count"] == len(headers)


def test_rowspan_colspan_grid() -> None:
    table = one(
        "<table><tr><th>a</th><th>b</th><th>c</th></tr>"
        '<tr><td rowspan="2">1</td><td colspan="2">2-3</td></tr>'
        '<tr><td>5</td><td rowspan="3">6</td></tr>'
        "<tr><td>7</td><td>8</td></tr>"
        '<tr><td colspan="2">9-10</td></tr></table>'
    )
    assert table["rows"] == [
        ["1", "2-3", "2-3"],
        ["1", "5", "6"],
        ["7", "8", "6"],
        ["9-10", "9-10", "6"],
    ]


@pytest.mark.parametrize(
    ("attrs", "rows"),
    [
        pytest.param('colspan="2;"', [["x", "x", "y"], ["a", "b", "c"]], id="colspan-2;"),
        pytest.param('colspan="abc"', [["x", "y", ""], ["a", "b", "c"]], id="colspan-abc"),
        pytest.param('colspan="0"', [["x", "y", ""], ["a", "b", "c"]], id="colspan-0"),
        pytest.param('colspan="-2"', [["x", "y", ""], ["a", "b", "c"]], id="colspan-negative"),
        pytest.param('colspan=" +2 "', [["x", "x", "y"], ["a", "b", "c"]], id="colspan-plus"),
        pytest.param('rowspan="0"', [["x", "y", ""], ["x", "a", "b", "c"]], id="rowspan-0"),
        pytest.param(
            'rowspan="99999999999"', [["x", "y", ""], ["x", "a", "b", "c"]], id="rowspan-huge"
        ),
        pytest.param('rowspan="1.5"', [["x", "y", ""], ["a", "b", "c"]], id="rowspan-decimal"),
    ],
)
def test_junk_spans(attrs: str, rows: list[list[str]]) -> None:
    table = one(
        f"<table><tr><td {attrs}>x</td><td>y</td></tr><tr><td>a</td><td>b</td><td>c</td></tr></table>"
    )
    width = table["metadata"]["column_count"]
    assert table["rows"] == [row + [""] * (width - len(row)) for row in rows]


def test_huge_colspan_is_capped() -> None:
    table = one('<table><tr><td colspan="100000">x</td></tr><tr><td>a</td></tr></table>')
    assert table["metadata"]["column_count"] == 1000
    assert table["rows"][1][:2] == ["a", ""]


def test_junk_spans_on_a_long_table_stay_bounded() -> None:
    rows = '<tr><td colspan="1000" rowspan="65534">x</td><td rowspan="0">y</td></tr>' * 4000
    table = one(f"<table>{rows}</table>")
    assert table["metadata"]["row_count"] == 4000
    assert table["metadata"]["column_count"] == 500  # 2 million cells / 4000 rows
    assert table["rows"][-1] == ["x"] * 500


def test_rowspan_stops_at_its_row_group() -> None:
    table = one(
        '<table><thead><tr><th rowspan="5">H</th><th>I</th></tr></thead>'
        "<tbody><tr><td>a</td><td>b</td></tr></tbody></table>"
    )
    assert table["headers"] == ["H", "I"]
    assert table["rows"] == [["a", "b"]]


def test_nested_tables_are_judged_separately() -> None:
    html = (
        '<table role="presentation"><tr><td>Outer text'
        "<table><caption>Inner</caption><thead><tr><th>k</th><th>v</th></tr></thead>"
        "<tbody><tr><td>a</td><td>1</td></tr><tr><td>b</td><td>2</td></tr></tbody></table>"
        "</td><td>side</td></tr></table>"
    )
    kept, counts = run(html)
    assert [t["caption"] for t in kept] == ["Inner"]
    assert kept[0]["rows"] == [["a", "1"], ["b", "2"]]
    assert counts == Counter({"tables/found": 2, "tables/kept": 1})
    outer, inner = run(html, table_score_threshold=EVERYTHING)[0]
    assert outer["rows"] == [["Outer text", "side"]]
    assert outer["metadata"]["has_caption"] is False
    # nested -3, role -3, variance +2; the inner caption, th and text are not the outer's
    assert outer["metadata"]["score"] == -4
    assert inner["metadata"]["score"] == 12


@pytest.mark.parametrize(
    ("cell", "text"),
    [
        ("<td>  a \n\t b  </td>", "a b"),
        ("<td>line one<br>line two</td>", "line one line two"),
        ("<td><p>one</p><p>two</p></td>", "one two"),
        ("<td><p>one</p> <p>two</p></td>", "one two"),
        ("<td>a<b>b</b>c</td>", "abc"),
        ("<td>x<script>var s = 1;</script><style>p {}</style>y</td>", "xy"),
        ("<td>x<!-- note -->y</td>", "xy"),
        ("<td>&amp; &lt;b&gt;</td>", "& <b>"),
    ],
)
def test_cell_text(cell: str, text: str) -> None:
    assert one(f"<table><tr>{cell}</tr></table>")["rows"] == [[text]]


def test_skip_and_tree_not_modified() -> None:
    doc = parse_html(
        f'<html><body>{EMPLOYEES}<div id="gone">{EMPLOYEES}</div></body></html>',
        "https://example.com/",
    )
    before = lxml.html.tostring(doc)
    skip = set(doc.get_element_by_id("gone").iter())
    counts: Counter[str] = Counter()
    tables = extract_tables([doc], CrawlerRunConfig(), skip=skip, counts=counts)
    assert len(tables) == 1
    assert counts["tables/found"] == 1
    assert lxml.html.tostring(doc) == before


def test_overlapping_roots_count_a_table_once() -> None:
    doc = parse_html(f'<div id="a"><div id="b">{EMPLOYEES}</div></div>', "https://example.com/")
    roots = [doc.get_element_by_id("a"), doc.get_element_by_id("b")]
    assert len(extract_tables(roots, CrawlerRunConfig())) == 1


def test_extract_page_tables() -> None:
    counts: Counter[str] = Counter()
    item = extract_page(
        f"<html><body><main>{EMPLOYEES}</main><aside>{EMPLOYEES.replace('staff', 'x')}</aside>"
        "</body></html>",
        "https://example.com/",
        {"css_selector": "main"},
        counts=counts,
    )
    assert [t["metadata"]["id"] for t in item.tables] == ["staff"]
    assert counts["tables/found"] == 1
    assert counts["tables/kept"] == 1
