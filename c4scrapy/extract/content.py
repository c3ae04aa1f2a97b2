"""TEMPORARY interface placeholder: replaced by the content helper."""

from __future__ import annotations

import copy
import dataclasses

import lxml.html


@dataclasses.dataclass
class ContentResult:
    cleaned_html: str | None = None
    markdown: str | None = None
    fit_markdown: str | None = None
    fit_html: str | None = None


def build_content(roots, config, base_url, rules, metadata) -> ContentResult:
    div = lxml.html.Element("div")
    for r in roots:
        div.append(copy.deepcopy(r))
    return ContentResult(cleaned_html=lxml.html.tostring(div, encoding="unicode"))
