"""Config objects, coercion of -a/-s strings, layering, and errors that name the key."""

from __future__ import annotations

import pickle

import pytest
from scrapy.settings import Settings

from c4scrapy import CacheMode, ConfigError, CrawlerRunConfig, LinkPreviewConfig
from c4scrapy.core.config import SOCIAL_MEDIA_DOMAINS
from c4scrapy.core.layers import config_from_settings, resolve, spider_config
from c4scrapy.settings import C4Settings


def test_docs_snippet_builds_unchanged() -> None:
    config = CrawlerRunConfig(
        css_selector="main.content",
        word_count_threshold=10,
        excluded_tags=["nav", "footer"],
        exclude_external_links=True,
        exclude_social_media_links=True,
        exclude_domains=["ads.com", "spammytrackers.net"],
        exclude_external_images=True,
        cache_mode=CacheMode.BYPASS,
        link_preview_config=LinkPreviewConfig(
            include_internal=True,
            include_external=False,
            max_links=10,
            concurrency=5,
            timeout=10,
            query="API documentation guide",
            score_threshold=0.3,
            verbose=True,
        ),
        score_links=True,
        only_text=True,
        verbose=True,
    )
    assert config.excluded_tags == ("nav", "footer")
    assert config.exclude_social_media_domains == SOCIAL_MEDIA_DOMAINS
    assert config.query == "API documentation guide"
    assert pickle.loads(pickle.dumps(config)) == config


@pytest.mark.parametrize(
    ("field", "raw", "expected"),
    [
        ("exclude_external_links", "true", True),
        ("exclude_external_links", "0", False),
        ("exclude_external_links", "No", False),
        ("word_count_threshold", "10", 10),
        ("table_score_threshold", "5.5", 5.5),
        ("table_score_threshold", 5, 5.0),
        ("excluded_tags", "nav, footer", ("nav", "footer")),
        ("excluded_tags", '["nav", "footer"]', ("nav", "footer")),
        ("exclude_domains", ["a.com"], ("a.com",)),
        ("css_selector", "main", "main"),
        ("css_selector", "none", None),
        ("markdown_generator", "none", None),
        ("markdown_generator", "None", None),
        ("cache_mode", "bypass", CacheMode.BYPASS),
        ("cache_mode", "CacheMode.BYPASS", CacheMode.BYPASS),
        (
            "link_preview_config",
            '{"query": "x", "max_links": 3}',
            LinkPreviewConfig(query="x", max_links=3),
        ),
    ],
)
def test_string_values_are_coerced(field: str, raw: object, expected: object) -> None:
    assert getattr(resolve(CrawlerRunConfig(), {field: raw}, source="config"), field) == expected


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"exclude_externl_links": True},
            "'exclude_externl_links' (did you mean 'exclude_external_links'?)",
        ),
        (
            {"word_count_threshold": "many"},
            "word_count_threshold: expected an integer, got 'many'",
        ),
        ({"word_count_threshold": -1}, "word_count_threshold: must be >= 0"),
        ({"exclude_external_links": "maybe"}, "exclude_external_links: expected true or false"),
        ({"css_selector": "div[[["}, "css_selector: invalid CSS selector 'div[[['"),
        ({"target_elements": ["main", "::bad("]}, "target_elements: invalid CSS selector"),
        ({"cache_mode": "sometimes"}, "cache_mode: expected one of ENABLED, DISABLED"),
        (
            {"exclude_domains": ["https://a.com/x"]},
            "exclude_domains: 'https://a.com/x' is not a domain name",
        ),
        ({"link_preview_config": {"max_links": 0}}, "max_links: must be > 0"),
        ({"link_preview_config": {"querry": "x"}}, "'querry' (did you mean 'query'?)"),
        ({"link_preview_config": "{not json"}, "link_preview_config: invalid JSON object"),
        ({"page_timeout": 0}, "page_timeout: must be > 0"),
        ({"markdown_generator": "fancy"}, "markdown_generator: expected 'default', 'none'"),
    ],
)
def test_bad_values_name_the_key(values: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        resolve(CrawlerRunConfig(), values, source="config")
    assert message in str(info.value)


@pytest.mark.parametrize(
    "layer",
    [
        CrawlerRunConfig(exclude_external_links=False),
        {"exclude_external_links": False},
        '{"exclude_external_links": false}',
    ],
)
def test_a_layer_applies_the_fields_it_was_given_even_at_their_default(layer: object) -> None:
    base = CrawlerRunConfig(exclude_external_links=True, word_count_threshold=5)
    config = resolve(base, layer, source='request.meta["c4"]')
    assert config.exclude_external_links is False
    assert config.word_count_threshold == 5  # not given by the layer: the base's value


def test_set_fields_survive_layering_and_pickling() -> None:
    config = CrawlerRunConfig(css_selector="main").merged({"only_text": True})
    assert config.set_fields == {"css_selector", "only_text"}
    assert pickle.loads(pickle.dumps(config)).set_fields == config.set_fields
    assert CrawlerRunConfig().set_fields == frozenset()


def test_markdown_generator_must_be_a_generator() -> None:
    with pytest.raises(ConfigError, match="markdown_generator: expected a markdown generator"):
        CrawlerRunConfig(markdown_generator=3)
    with pytest.raises(ConfigError, match="markdown_generator: expected 'default', 'none' or a"):
        resolve(CrawlerRunConfig(), {"markdown_generator": {"a": 1}}, source="config")


def test_constructor_rejects_unknown_keyword() -> None:
    with pytest.raises(TypeError, match="exclude_everything"):
        CrawlerRunConfig(exclude_everything=True)  # type: ignore[call-arg]


def test_link_preview_config_validation() -> None:
    with pytest.raises(ConfigError, match="include_internal and include_external are both False"):
        LinkPreviewConfig(include_internal=False)
    with pytest.raises(ConfigError, match=r"score_threshold: must be in \[0, 1\]"):
        LinkPreviewConfig(score_threshold=3)


def test_settings_layer_names_the_setting() -> None:
    config = config_from_settings(
        Settings({"C4_EXCLUDE_EXTERNAL_LINKS": "true"}), C4Settings.names()
    )
    assert config.exclude_external_links is True
    with pytest.raises(ConfigError, match="setting C4_WORD_COUNT_THRESHOLD: expected an integer"):
        config_from_settings(Settings({"C4_WORD_COUNT_THRESHOLD": "ten"}), C4Settings.names())
    with pytest.raises(ConfigError, match="unknown setting 'C4_EXCLUDE_EXTERNAL_LINK'"):
        config_from_settings(Settings({"C4_EXCLUDE_EXTERNAL_LINK": True}), C4Settings.names())
    config_from_settings(
        Settings({"C4_ENABLED": True, "C4_EMIT_ITEMS": False}), C4Settings.names()
    )


def test_layers_override_in_order() -> None:
    settings = config_from_settings(
        Settings({"C4_WORD_COUNT_THRESHOLD": 5, "C4_EXCLUDE_EXTERNAL_LINKS": True}),
        C4Settings.names(),
    )
    spider = resolve(settings, {"word_count_threshold": "7"}, source="spider")
    meta = resolve(spider, CrawlerRunConfig(only_text=True), source="meta")
    assert (spider.word_count_threshold, spider.exclude_external_links) == (7, True)
    # A CrawlerRunConfig in meta overrides only the fields it changes from the defaults.
    assert (meta.word_count_threshold, meta.exclude_external_links, meta.only_text) == (
        7,
        True,
        True,
    )
    assert resolve(meta, None, source="meta") is meta
    assert resolve(meta, '{"only_text": false}', source="meta").only_text is False


def test_spider_args() -> None:
    overrides = spider_config({"query": "asyncio event loop", "css_selector": "main"})
    config = CrawlerRunConfig.from_mapping(overrides)
    assert config.score_links is True
    assert config.link_preview_config == LinkPreviewConfig(query="asyncio event loop")
    assert config.css_selector == "main"
    overrides = spider_config({"link_preview": '{"include_external": true, "max_links": 50}'})
    preview = CrawlerRunConfig.from_mapping(overrides).link_preview_config
    assert (preview.include_external, preview.max_links, preview.query) == (True, 50, None)
    with pytest.raises(ConfigError, match="unknown spider argument -a exclude_socal_media_links"):
        spider_config({"exclude_socal_media_links": "true"})
    with pytest.raises(ConfigError, match="-a link_preview: invalid JSON"):
        spider_config({"link_preview": "{oops"})
