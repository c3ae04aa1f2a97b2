"""Data tables of a page, scored. See docs/features/tables.rst."""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Any

from lxml import etree

from c4scrapy.core.media import BREAKS, NO_TEXT, element_text, scope_elements
from c4scrapy.core.selectors import text_content
from c4scrapy.core.text import collapse_whitespace

if TYPE_CHECKING:
    from collections.abc import Container, Sequence

    from lxml.html import HtmlElement

    from c4scrapy.core.config import CrawlerRunConfig

COLSPAN_LIMIT = 1000  # the HTML standard's cap
ROWSPAN_LIMIT = 65534
#: Grid cells a table may have; only junk spans on long tables come near it.
MAX_SLOTS = 2_000_000

_SECTIONS = frozenset({"thead", "tbody", "tfoot"})
_NO_CELL_TEXT = NO_TEXT | {"table"}
_HIDDEN_TEXT = tuple(_NO_CELL_TEXT)
_INT_RE = re.compile(r"\s*\+?(\d{1,7})")
# What Crawl4AI's count of descendants sees: it has removed these before tables run.
_COUNT_NODES = etree.XPath(
    "count(descendant::*) + count(descendant::comment())"
    " - count(descendant::script | descendant::style | descendant::link | descendant::meta"
    " | descendant::noscript | descendant::noscript//*)"
)


def extract_tables(
    roots: Sequence[HtmlElement],
    config: CrawlerRunConfig,
    *,
    skip: Container[HtmlElement] = frozenset(),
    counts: Counter[str] | None = None,
) -> list[dict[str, Any]]:
    """The data tables of the scope in document order (see the module docstring)."""
    counts = counts if counts is not None else Counter()
    tables = scope_elements(roots, ("table",), skip)
    counts["tables/found"] += len(tables)
    out = []
    for table in tables:
        parts = _Parts(table)
        score = parts.score()
        if score is not None and score >= config.table_score_threshold:
            out.append(parts.data(score))
    counts["tables/kept"] += len(out)
    return out


def _owner(el: HtmlElement) -> HtmlElement | None:
    parent = el.getparent()
    while parent is not None and parent.tag != "table":
        parent = parent.getparent()
    return parent


class _Parts:
    """A table's own sections, rows and cells (not those of the tables inside it)."""

    def __init__(self, table: HtmlElement) -> None:
        self.table = table
        self.nested: list[HtmlElement] = []  # the outermost tables inside this one
        self.caption: HtmlElement | None = None
        self.has_thead = self.has_tbody = False
        head: list[HtmlElement] = []
        body: list[HtmlElement] = []
        foot: list[HtmlElement] = []
        for el in table.iter("tr", "thead", "tbody", "tfoot", "caption", "table"):
            if el is table or _owner(el) is not table:
                continue
            tag = el.tag
            if tag == "tr":
                section = el.getparent().tag
                (head if section == "thead" else foot if section == "tfoot" else body).append(el)
            elif tag == "table":
                self.nested.append(el)
            elif tag == "thead":
                self.has_thead = True
            elif tag == "tbody":
                self.has_tbody = True
            elif tag == "caption" and self.caption is None:
                self.caption = el
        self.rows = head + body + foot
        self.head_count = len(head)
        self.cells = [list(tr.iterchildren("td", "th")) for tr in self.rows]

    def score(self) -> float | None:
        """Crawl4AI's data-table score, or None for a table without rows."""
        table, rows, cells = self.table, self.rows, self.cells
        if not rows:
            return None
        score = 0.0
        if self.has_thead:
            score += 2
        if self.has_tbody:
            score += 1
        if any(cell.tag == "th" for row in cells for cell in row):
            score += 2
            if self.has_thead or any(
                _first_in_section(tr) and any(cell.tag == "th" for cell in row)
                for tr, row in zip(rows, cells, strict=True)
            ):
                score += 1
        if self.nested:
            score -= 3
        if (table.get("role") or "").strip().lower() in ("presentation", "none"):
            score -= 3
        widths = [len(row) for row in cells]
        mean = sum(widths) / len(widths)
        if sum((w - mean) ** 2 for w in widths) / len(widths) < 1:
            score += 2
        if self.caption is not None:
            score += 2
        if table.get("summary"):
            score += 1
        hidden = next(table.iterdescendants(*_HIDDEN_TEXT), None) is not None
        text = sum(_text_length(cell, hidden) for row in cells for cell in row)
        nodes = _COUNT_NODES(table) - sum(_COUNT_NODES(nested) for nested in self.nested)
        density = text / (nodes + 1e-5)
        if density > 20:
            score += 3
        elif density > 10:
            score += 2
        score += 0.5 * sum(1 for name in table.attrib if name.startswith("data-"))
        if len(rows) >= 2 and mean >= 2:
            score += 2
        return score

    def data(self, score: float) -> dict[str, Any]:
        header_count = self.head_count or _leading_header_rows(self.cells)
        grid = _grid(self.rows, self.cells, self._groups())
        width = max((len(row) for row in grid), default=0)
        for row in grid:
            row.extend([""] * (width - len(row)))
        headers = _headers(grid[:header_count]) if header_count else []
        if not headers:
            headers = [f"Column {i + 1}" for i in range(width)]
        rows = grid[header_count:]
        table = self.table
        caption = _cell_text(self.caption) if self.caption is not None else ""
        summary = collapse_whitespace(table.get("summary") or "")
        return {
            "headers": headers,
            "rows": rows,
            "caption": caption,
            "summary": summary,
            "metadata": {
                "row_count": len(rows),
                "column_count": width,
                "has_headers": bool(header_count),
                "has_caption": bool(caption),
                "has_summary": bool(summary),
                "id": table.get("id"),
                "class": table.get("class"),
                "score": score,
            },
        }

    def _groups(self) -> list[int]:
        """For each row, the index one past the last row of its row group."""
        ends = [0] * len(self.rows)
        end = len(self.rows)
        for i in range(len(self.rows) - 1, -1, -1):
            if i + 1 < len(self.rows) and not _same_group(self.rows[i], self.rows[i + 1]):
                end = i + 1
            ends[i] = end
        return ends


def _same_group(a: HtmlElement, b: HtmlElement) -> bool:
    pa, pb = a.getparent(), b.getparent()
    if pa is pb:
        return True
    # Rows directly in the table (or a stray wrapper) form one implicit body.
    return pa.tag not in _SECTIONS and pb.tag not in _SECTIONS


def _first_in_section(tr: HtmlElement) -> bool:
    previous = tr.getprevious()
    while previous is not None:
        if previous.tag == "tr":
            return False
        previous = previous.getprevious()
    return True


def _leading_header_rows(cells: list[list[HtmlElement]]) -> int:
    count = 0
    for row in cells:
        if not _is_header_row(row):
            break
        count += 1
    return 1 if count == len(cells) and count > 1 else count


def _is_header_row(row: list[HtmlElement]) -> bool:
    has_th = False
    for cell in row:
        if cell.tag == "th":
            if (cell.get("scope") or "").strip().lower() in ("row", "rowgroup"):
                return False
            has_th = True
        elif _text_length(cell):
            return False
    return has_th


def _headers(grid: list[list[str]]) -> list[str]:
    if len(grid) == 1:
        return list(grid[0])
    headers = []
    for column in zip(*grid, strict=True):
        texts: list[str] = []
        for text in column:
            if text and text not in texts:
                texts.append(text)
        headers.append(" / ".join(texts))
    return headers


def _span(value: str | None, limit: int) -> int:
    """A span attribute by the HTML rules for non-negative integers (0 if it says 0)."""
    if not value:
        return 1
    match = _INT_RE.match(value)
    return min(int(match.group(1)), limit) if match else 1


def _grid(
    rows: list[HtmlElement], cells: list[list[HtmlElement]], ends: list[int]
) -> list[list[str]]:
    """Lay the cells out as browsers do; bounded work whatever the spans say."""
    grid: list[list[str | None]] = [[] for _ in rows]
    width = max(50, min(COLSPAN_LIMIT, MAX_SLOTS // max(len(rows), 1)))
    budget = 2 * MAX_SLOTS
    for r, row_cells in enumerate(cells):
        row = grid[r]
        c = 0
        for cell in row_cells:
            while c < len(row) and row[c] is not None:
                c += 1  # taken by a rowspan from above
            if c >= width:
                break
            colspan = min(_span(cell.get("colspan"), COLSPAN_LIMIT) or 1, width - c)
            last = min(r + (_span(cell.get("rowspan"), ROWSPAN_LIMIT) or ends[r]), ends[r])
            budget -= (last - r) * colspan
            if budget < 0:  # spans so big that only junk explains them
                last = r + 1
            text = _cell_text(cell)
            for target in grid[r:last]:
                if len(target) < c + colspan:
                    target.extend([None] * (c + colspan - len(target)))
                for slot in range(c, c + colspan):
                    if target[slot] is None:
                        target[slot] = text
            c += colspan
    return [[text or "" for text in row] for row in grid]


def _cell_text(cell: HtmlElement) -> str:
    if not len(cell):
        return collapse_whitespace(cell.text or "")
    for el in cell.iterdescendants():
        tag = el.tag
        if tag in _NO_CELL_TEXT or tag == "br" or (tag in BREAKS and not _spaced(el, cell)):
            return element_text(cell, skip=_NO_CELL_TEXT)
    return collapse_whitespace(text_content(cell))


def _spaced(block: HtmlElement, cell: HtmlElement) -> bool:
    """True if whitespace already parts the block's text from the text around it, so
    that ``text_content()`` is right (``<td><p>a</p> <p>b</p></td>``, Sphinx's cells)."""
    parent = block.getparent()
    previous = block.getprevious()
    before = previous.tail if previous is not None else parent.text
    if before:
        if not before[-1].isspace():
            return False
    elif previous is not None or parent is not cell:
        return False
    tail = block.tail
    if tail:
        return tail[0].isspace()
    return block.getnext() is None and parent is cell


def _text_length(cell: HtmlElement, hidden: bool = True) -> int:
    """Length of a cell's stripped text without scripts, styles and nested tables."""
    length = len(text_content(cell).strip())
    if length and hidden:
        for el in cell.iterdescendants(*_HIDDEN_TEXT):
            if _top_hidden(el, cell):
                length -= len(text_content(el))
    return max(length, 0)


def _top_hidden(el: HtmlElement, cell: HtmlElement) -> bool:
    parent = el.getparent()
    while parent is not None and parent is not cell:
        if parent.tag in _NO_CELL_TEXT:
            return False
        parent = parent.getparent()
    return True
