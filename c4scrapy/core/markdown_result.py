"""``MarkdownGenerationResult``: Crawl4AI's markdown result that is also the markdown string.

``PageItem.markdown`` is one of these. It *is* the raw markdown (a ``str`` subclass: feeds,
JSON, ``str()``, slicing and ``in`` see the markdown text), and it has Crawl4AI's
attributes:

- ``raw_markdown``: the markdown (the string itself, as a plain ``str``);
- ``markdown_with_citations``: every link ``[text](url "title")`` becomes ``text⟨n⟩`` and
  every image ``![alt](src)`` becomes ``![alt⟨n⟩]``, numbered by distinct URL in order of
  first appearance (a URL seen again gets its first number); autolinks ``<url>`` and
  fenced code blocks are left as they are;
- ``references_markdown``: ``"\\n\\n## References\\n\\n"`` then one line per number,
  ``⟨n⟩ url: title - text`` (``: title`` alone when the text is the title, ``: text`` when
  there is no title, nothing after the URL when both are empty);
- ``fit_markdown`` and ``fit_html``: the content filter's output (None without a filter,
  as ``PageItem.fit_markdown`` / ``fit_html``).

The citations are computed from the markdown when first read, so they cost nothing
unless used and are never stored: a pickled or exported result carries the markdown and
the fit fields only, and gives the same citations back. In a JSON feed the item's
``markdown`` is the markdown string and ``fit_markdown`` / ``fit_html`` are its sibling
fields; ``PageItem(**row)`` rebuilds the whole result from them.
"""

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
