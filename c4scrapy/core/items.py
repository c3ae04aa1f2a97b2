"""PageItem: what a crawl yields for each requested URL (Crawl4AI's CrawlResult fields)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from c4scrapy.core.markdown_result import MarkdownGenerationResult

if TYPE_CHECKING:
    from collections.abc import Callable

    from lxml.html import HtmlElement

    from c4scrapy.core.config import CrawlerRunConfig

#: Bumped when a field changes meaning, so stored items can be told apart.
SCHEMA_VERSION = 1


class PageSource:
    """What the item pipelines need besides the item: the parsed page and its config.

    ``doc`` is the parsed page, or a function that parses it on first use (a page
    extracted in another process is parsed here only if a pipeline reads its tree).
    Held only while the item is inside the crawl (released once it is scraped or
    dropped), never exported and never pickled.
    """

    def __init__(
        self,
        doc: HtmlElement | Callable[[], HtmlElement | None] | None,
        config: CrawlerRunConfig,
        url: str,
    ) -> None:
        self._doc = doc
        self.config = config
        self.url = url

    @property
    def doc(self) -> HtmlElement | None:
        if callable(self._doc):
            self._doc = self._doc()
        return self._doc


@dataclasses.dataclass
class PageItem:
    """One page. Field names and meaning follow Crawl4AI's ``CrawlResult``.

    ``links`` is ``{"internal": [Link...], "external": [Link...]}``; ``media`` is
    ``{"images": [...], "videos": [...], "audios": [...]}``; ``tables`` is a list of
    ``{headers, rows, caption, summary, metadata}``. Failed pages have ``success=False``
    and an ``error_message``; every other field is then as complete as it could be.

    ``markdown`` is a ``MarkdownGenerationResult``: the markdown string, with Crawl4AI's
    ``raw_markdown``, ``markdown_with_citations``, ``references_markdown``,
    ``fit_markdown`` and ``fit_html`` (the last two always equal to the item's fields).
    A plain string given for it (``PageItem(**feed_row)``) is turned into one.
    """

    url: str
    success: bool = True
    status_code: int | None = None
    error_message: str | None = None
    redirected_url: str | None = None
    links: dict[str, list[dict[str, Any]]] = dataclasses.field(
        default_factory=lambda: {"internal": [], "external": []}
    )
    media: dict[str, list[dict[str, Any]]] = dataclasses.field(
        default_factory=lambda: {"images": [], "videos": [], "audios": []}
    )
    tables: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)
    cleaned_html: str | None = None
    markdown: MarkdownGenerationResult | None = None
    fit_markdown: str | None = None
    fit_html: str | None = None
    extracted_content: str | None = None
    screenshot: str | None = None
    pdf: str | None = None
    mhtml: str | None = None
    response_headers: dict[str, str] | None = None
    c4: dict[str, Any] = dataclasses.field(default_factory=dict)
    """c4scrapy's own bookkeeping: schema version, timings, per-feature errors and usage."""

    def __post_init__(self) -> None:
        self.c4.setdefault("schema_version", SCHEMA_VERSION)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "markdown":
            if isinstance(value, str):
                value = MarkdownGenerationResult(
                    value, self.__dict__.get("fit_markdown"), self.__dict__.get("fit_html")
                )
        elif name in ("fit_markdown", "fit_html"):
            markdown = self.__dict__.get("markdown")
            if isinstance(markdown, MarkdownGenerationResult) and getattr(markdown, name) != value:
                self.__dict__["markdown"] = MarkdownGenerationResult(
                    markdown.raw_markdown,
                    value if name == "fit_markdown" else markdown.fit_markdown,
                    value if name == "fit_html" else markdown.fit_html,
                )
        object.__setattr__(self, name, value)

    @property
    def source(self) -> PageSource | None:
        return self.__dict__.get("_source")

    def attach_source(
        self,
        doc: HtmlElement | Callable[[], HtmlElement | None] | None,
        config: CrawlerRunConfig,
        url: str,
    ) -> None:
        self.__dict__["_source"] = PageSource(doc, config, url)

    def release_source(self) -> None:
        self.__dict__.pop("_source", None)

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_source"}

    def all_links(self) -> list[dict[str, Any]]:
        return [*self.links.get("internal", []), *self.links.get("external", [])]
