"""``MarkdownGenerationResult``: Crawl4AI's markdown result that is also the markdown string.

See docs/features/markdown.rst."""

from __future__ import annotations

import re
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["MarkdownGenerationResult", "citations"]

_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
# [text](url "title") with one level of nested brackets in the text (an image inside a
# link), a URL in <...> or with balanced parentheses, and an optional quoted title.
_LINK = re.compile(
    r"""(?P<bang>!?)\[(?P<text>(?:[^\[\]\\]|\\.|\[(?:[^\[\]\\]|\\.)*\](?:\([^()\s]*\))?)*)\]
    \(\s*(?P<url><[^<>\n]*>|(?:[^()\s]|\([^()\s]*\))+)
    (?:\s+(?:"(?P<title>(?:[^"\\]|\\.)*)"|'(?P<title2>(?:[^'\\]|\\.)*)'))?\s*\)""",
    re.VERBOSE,
)


class MarkdownGenerationResult(str):
    """The markdown text, with Crawl4AI's ``MarkdownGenerationResult`` attributes."""

    fit_markdown: str | None
    fit_html: str | None

    def __new__(
        cls, raw_markdown: str = "", fit_markdown: str | None = None, fit_html: str | None = None
    ) -> Self:
        self = super().__new__(cls, raw_markdown)
        self.fit_markdown = fit_markdown
        self.fit_html = fit_html
        return self

    @property
    def raw_markdown(self) -> str:
        return str.__str__(self)

    @property
    def markdown(self) -> str:
        return str.__str__(self)

    @cached_property
    def _citations(self) -> tuple[str, str]:
        return citations(str.__str__(self))

    @property
    def markdown_with_citations(self) -> str:
        return self._citations[0]

    @property
    def references_markdown(self) -> str:
        return self._citations[1]

    def __str__(self) -> str:
        return str.__str__(self)

    def __repr__(self) -> str:
        return f"MarkdownGenerationResult({str.__repr__(self)})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str.__str__(self), self.fit_markdown, self.fit_html))

    def __copy__(self) -> MarkdownGenerationResult:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> MarkdownGenerationResult:
        return self

    def model_dump(self) -> dict[str, str | None]:
        """All five fields as a dict (Crawl4AI's pydantic ``model_dump``)."""
        return {
            "raw_markdown": self.raw_markdown,
            "markdown_with_citations": self.markdown_with_citations,
            "references_markdown": self.references_markdown,
            "fit_markdown": self.fit_markdown,
            "fit_html": self.fit_html,
        }


def citations(markdown: str) -> tuple[str, str]:
    """(markdown with citations, references markdown) as Crawl4AI writes them."""
    numbers: dict[str, int] = {}
    descriptions: list[tuple[str, str]] = []

    def cite(match: re.Match[str]) -> str:
        text = match["text"]
        if not match["bang"] and "](" in text:  # an image inside the link: cite it too
            text = _LINK.sub(cite, text)
        url = match["url"]
        if url.startswith("<") and url.endswith(">"):
            url = url[1:-1]
        title = match["title"] if match["title"] is not None else match["title2"]
        number = numbers.get(url)
        if number is None:
            number = numbers[url] = len(numbers) + 1
            desc = [part for part in (title, text if text != title else None) if part]
            descriptions.append((url, ": " + " - ".join(desc) if desc else ""))
        return f"![{text}⟨{number}⟩]" if match["bang"] else f"{text}⟨{number}⟩"

    parts: list[str] = []
    last = 0
    for fence in _FENCE.finditer(markdown):
        parts.append(_LINK.sub(cite, markdown[last : fence.start()]))
        parts.append(fence.group(0))
        last = fence.end()
    parts.append(_LINK.sub(cite, markdown[last:]))
    references = "".join(
        f"⟨{n}⟩ {url}{desc}\n" for n, (url, desc) in enumerate(descriptions, start=1)
    )
    return "".join(parts), "\n\n## References\n\n" + references
