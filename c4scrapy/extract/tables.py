"""TEMPORARY interface placeholder: replaced by the tables helper."""

from __future__ import annotations

from typing import Any


def extract_tables(roots, config, *, skip=frozenset(), counts=None) -> list[dict[str, Any]]:
    return []
