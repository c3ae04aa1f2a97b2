"""Spider-trap rules for URLs a crawl is about to follow (after Heritrix's decide rules)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from urllib.parse import urlsplit


@dataclasses.dataclass(frozen=True)
class TrapRules:
    """Limits on a URL to follow; 0 turns a rule off.

    - ``max_url_length``: characters in the whole URL (Heritrix: 2048);
    - ``max_path_segments``: ``/``-separated segments of the path (Heritrix: 20);
    - ``max_segment_repeats``: occurrences of any one segment in the path, empty segments
      (``//``) included: calendars, relative-link loops and servers that answer
      ``/a//b`` like ``/a/b`` make paths that repeat themselves without end.
    """

    max_url_length: int = 2048
    max_path_segments: int = 20
    max_segment_repeats: int = 3

    def verdict(self, url: str) -> str | None:
        """The rule ``url`` breaks (``url_length``, ``path_segments``,
        ``repeated_segment``), or None."""
        if self.max_url_length and len(url) > self.max_url_length:
            return "url_length"
        segments = urlsplit(url).path.split("/")[1:]
        if self.max_path_segments and len(segments) > self.max_path_segments:
            return "path_segments"
        if self.max_segment_repeats and len(segments) > self.max_segment_repeats:
            counts = Counter(segments[:-1])  # the last one is the page itself ("" for a dir)
            if counts and max(counts.values()) > self.max_segment_repeats:
                return "repeated_segment"
        return None
