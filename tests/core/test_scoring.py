"""Contextual (BM25) and total link scores: plain functions, no crawl."""

from __future__ import annotations

import pytest

from c4scrapy.core.config import ConfigError
from c4scrapy.core.scoring.bm25 import contextual_scores, head_document
from c4scrapy.core.scoring.total import ScoreWeights, total_score

QUERY = "asyncio event loop"


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ("", 0.0),
        ("Privacy policy", 0.0),
        ("Event Loop", 0.6667),  # two of three query terms, short head
        ("asyncio — Asynchronous I/O", 0.3333),
        ("The asyncio event loop", 1.0),
        ("ASYNCIO: Event-Loop!", 1.0),  # case and punctuation do not matter
        ("Event loops", 0.3333),  # no stemming: "loops" is not "loop"
    ],
)
def test_contextual_score_is_the_share_of_query_terms_found(document, expected):
    assert contextual_scores(QUERY, [document]) == [expected]


def test_contextual_score_does_not_depend_on_the_other_links_of_the_page():
    alone = contextual_scores(QUERY, ["Event Loop"])
    among_matches = contextual_scores(QUERY, ["Event Loop", "asyncio event loop", "loop"])
    among_misses = contextual_scores(QUERY, ["Event Loop", "Pricing", "Contact us"])
    assert alone[0] == among_matches[0] == among_misses[0]
    # Crawl4AI's min-max normalisation would give the best of three misses 1.0:
    assert contextual_scores(QUERY, ["Pricing", "Contact", "About"]) == [0.0, 0.0, 0.0]


def test_a_single_mention_in_a_long_head_counts_less_than_in_a_short_one():
    short, long = contextual_scores(
        "asyncio", ["asyncio tutorial", "asyncio " + " ".join(f"word{i}" for i in range(80))]
    )
    assert short == 1.0
    assert 0.3 < long < 0.8


def test_empty_query_scores_zero():
    assert contextual_scores("the of and", ["the of and"]) == [0.0]


def test_head_document_uses_descriptive_fields_once():
    head = {
        "title": "Event Loop",
        "meta": {
            "description": "Run tasks on the loop.",
            "og:title": "Event Loop",  # the same as the title: counted once
            "keywords": "asyncio, loop",
            "viewport": "width=device-width",  # not descriptive
        },
        "jsonld": [
            {"@type": "TechArticle", "headline": "Loops", "keywords": ["python", "async"]},
            {"@graph": [{"name": "Graph item"}]},
        ],
    }
    text = head_document(head)
    assert text.count("Event Loop") == 1
    for part in ("Run tasks on the loop.", "asyncio, loop", "Loops", "python", "Graph item"):
        assert part in text
    assert "width" not in text
    assert head_document(None) == ""


@pytest.mark.parametrize(
    ("intrinsic", "contextual", "expected"),
    [
        (None, None, None),  # neither: not calculated
        (6.5, None, 6.5),  # only intrinsic: the intrinsic score
        (None, 0.4, 4.0),  # only contextual: on the 0-10 scale
        (4.167, 1.0, 5.917),  # the docs' example output (0.7 * 4.167 + 3 * 1.0)
        (8.0, 0.5, 7.1),  # Crawl4AI's test of the 70/30 weighting
        (10.0, 1.0, 10.0),
        (0.0, 0.0, 0.0),
    ],
)
def test_total_score_and_its_fallbacks(intrinsic, contextual, expected):
    assert total_score(intrinsic, contextual) == expected


def test_weights_from_the_setting():
    prose = ScoreWeights.from_setting('{"intrinsic": 0.3, "contextual": 0.7}')
    assert total_score(4.167, 1.0, prose) == round(0.3 * 4.167 + 7.0, 3)
    scaled = ScoreWeights.from_setting({"intrinsic": 3, "contextual": 7})
    assert (scaled.intrinsic, scaled.contextual) == pytest.approx((0.3, 0.7))
    assert ScoreWeights.from_setting(None) == ScoreWeights()


@pytest.mark.parametrize(
    "value",
    [
        '{"intrinsic": -1, "contextual": 1}',
        '{"intrinsic": 0, "contextual": 0}',
        '{"intrinsic": 1, "contextual": 1, "popularity": 1}',
        '{"intrinsic": "much"}',
        "[0.7, 0.3]",
        "{not json",
    ],
)
def test_bad_weights_name_the_setting(value):
    with pytest.raises(ConfigError, match="C4_SCORE_WEIGHTS"):
        ScoreWeights.from_setting(value)
