from __future__ import annotations

import pytest

from c4scrapy.core.traps import TrapRules

RULES = TrapRules()


@pytest.mark.parametrize(
    ("url", "verdict"),
    [
        ("http://h/", None),
        ("http://h/docs/api/index.html", None),
        ("http://h/2020/01/01/post.html", None),
        ("http://h/a/b/a/b/a/b/x.html", None),  # each segment 3 times: allowed
        ("http://h/a/b/a/b/a/b/a/b/x.html", "repeated_segment"),
        ("http://h/a/a/a/a/", "repeated_segment"),
        ("http://h/////page.html", "repeated_segment"),  # a server that ignores "//"
        ("http://h//page.html", None),
        ("http://h/" + "/".join(f"s{i}" for i in range(20)), None),
        ("http://h/" + "/".join(f"s{i}" for i in range(21)), "path_segments"),
        ("http://h/?q=" + "x" * 2040, "url_length"),
        ("http://h/?q=" + "x" * 2030, None),
    ],
)
def test_trap_rules(url: str, verdict: str | None) -> None:
    assert RULES.verdict(url) == verdict


def test_rules_can_be_turned_off() -> None:
    off = TrapRules(max_url_length=0, max_path_segments=0, max_segment_repeats=0)
    assert off.verdict("http://h/" + "a/" * 100 + "?" + "x" * 5000) is None
