"""TEMPORARY interface placeholder: replaced by the content helper."""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass
class DefaultMarkdownGenerator:
    content_filter: Any = None
    options: dict[str, Any] | None = None
