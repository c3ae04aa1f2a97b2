"""TEMPORARY interface placeholder: replaced by the media helper."""

from __future__ import annotations

from typing import Any


def extract_media(
    roots, base_url, config, rules, *, skip=frozenset(), counts=None
) -> dict[str, list[dict[str, Any]]]:
    return {"images": [], "videos": [], "audios": []}
