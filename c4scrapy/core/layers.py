"""Config layers: defaults < ``C4_*`` settings < spider ``-a`` arguments < ``request.meta["c4"]``.

Every layer comes through here: text (``-a``, ``-s``, JSON) is coerced to the field types,
schema dicts and files become strategies, generator names become generators, and every
error names the setting, argument or key that is wrong.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import typing
from collections.abc import Collection, Mapping
from typing import Any

from c4scrapy.core.coerce import as_object, coerce, did_you_mean
from c4scrapy.core.config import CrawlerRunConfig, LinkPreviewConfig
from c4scrapy.core.exceptions import ConfigError
from c4scrapy.core.llm.strategy import LLMConfig, LLMExtractionStrategy
from c4scrapy.core.markdown import (
    BM25ContentFilter,
    DefaultMarkdownGenerator,
    MainContentFilter,
    PruningContentFilter,
)
from c4scrapy.core.schema import NoExtractionStrategy, load_schema_strategy

_SETTING_RE = re.compile(r"^C4_[A-Z0-9_]+$")
_NONE = ("", "none", "null", "false", "off")
#: ``-a content_filter=NAME`` and ``C4_MARKDOWN_GENERATOR=NAME``: a DefaultMarkdownGenerator
#: with this content filter.
CONTENT_FILTERS: dict[str, type] = {
    "main": MainContentFilter,
    "pruning": PruningContentFilter,
    "bm25": BM25ContentFilter,
}


def resolve(base: CrawlerRunConfig, override: Any, *, source: str) -> CrawlerRunConfig:
    """Lay one more layer (a CrawlerRunConfig, a dict, JSON text, or None) over ``base``."""
    if override is None or override is True:
        return base
    if isinstance(override, str):
        try:
            override = json.loads(override)
        except ValueError as exc:
            raise ConfigError(f"{source}: invalid JSON: {exc}") from None
    if isinstance(override, Mapping):
        override = prepare(override, source)
    return base.merged(override, source=source)


def prepare(values: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Turn the text forms of the object-valued fields into objects."""
    values = dict(values)
    if "markdown_generator" in values:
        values["markdown_generator"] = markdown_generator(
            values["markdown_generator"], f"{source}: markdown_generator"
        )
    if "extraction_strategy" in values:
        values["extraction_strategy"] = extraction_strategy(
            values["extraction_strategy"], f"{source}: extraction_strategy"
        )
    return values


def markdown_generator(value: Any, key: str = "markdown_generator") -> Any:
    """``"default"``, ``"none"`` (or None), a content filter's name (``"main"``,
    ``"pruning"``, ``"bm25"``: the default generator with that filter), or a generator."""
    if isinstance(value, str):
        name = value.strip().lower()
        if name in _NONE:
            return None
        if name == "default":
            return DefaultMarkdownGenerator()
        if name in CONTENT_FILTERS:
            return DefaultMarkdownGenerator(content_filter=CONTENT_FILTERS[name]())
        names = ["default", "none", *CONTENT_FILTERS]
        raise ConfigError(
            f"{key}: expected {', '.join(map(repr, names))} or a generator object, "
            f"got {value!r}{did_you_mean(name, names)}"
        )
    if value is None or callable(getattr(value, "generate", None)):
        return value
    raise ConfigError(
        f"{key}: expected 'default', 'none' or a markdown generator object, "
        f"got {type(value).__name__}"
    )


def extraction_strategy(value: Any, key: str = "extraction_strategy") -> Any:
    """None, a strategy object, a schema dict, or a schema's JSON text or file path."""
    if isinstance(value, NoExtractionStrategy):
        return None
    if value is None or hasattr(value, "extract_tree") or hasattr(value, "arun_page"):
        return value
    if isinstance(value, str) and value.strip().lower() in ("", "none", "null"):
        return None
    if isinstance(value, (str, Mapping)):
        try:
            return load_schema_strategy(value)
        except ConfigError as exc:
            raise ConfigError(f"{key}: {exc}") from None
    raise ConfigError(
        f"{key}: expected JsonCssExtractionStrategy, JsonXPathExtractionStrategy, "
        f"LLMExtractionStrategy, a schema dict or a schema file, got {type(value).__name__}"
    )


def with_fit_filter(config: CrawlerRunConfig) -> CrawlerRunConfig:
    """``config``, with a content filter when its extraction reads ``fit_markdown`` or
    ``fit_html`` and no layer configured one: BM25 on the query when there is one, else
    pruning (what Crawl4AI's docs pair with that input)."""
    strategy = config.extraction_strategy
    generator = config.markdown_generator
    if (
        not str(getattr(strategy, "input_format", "")).startswith("fit_")
        or generator is None
        or getattr(generator, "content_filter", None) is not None
    ):
        return config
    content_filter = BM25ContentFilter() if config.query else PruningContentFilter()
    filtered = DefaultMarkdownGenerator(content_filter=content_filter)
    return config.merged({"markdown_generator": filtered}, source="fit input")


# --- settings -----------------------------------------------------------------------------


def setting_name(field: str) -> str:
    return f"C4_{field.upper()}"


def config_from_settings(
    settings: Mapping[str, Any], other_settings: Collection[str]
) -> CrawlerRunConfig:
    """The settings layer: ``C4_<FIELD>`` for each CrawlerRunConfig field.

    ``other_settings`` are the known ``C4_*`` names that are not fields; any other ``C4_``
    name is an error naming it (with the closest known name).
    """
    fields = {setting_name(name): name for name in CrawlerRunConfig.field_names()}
    values: dict[str, Any] = {}
    for key in list(settings):
        if not isinstance(key, str) or not key.startswith("C4_"):
            continue
        if key in fields:
            values[fields[key]] = settings[key]
        elif key not in other_settings and _SETTING_RE.match(key):
            known = [*fields, *other_settings]
            raise ConfigError(f"unknown setting {key!r}{did_you_mean(key, known)}")
    config = CrawlerRunConfig()
    for key, raw in values.items():  # one at a time, so the error names the setting
        try:
            config = config.merged(prepare({key: raw}, "settings"), source="settings")
        except ConfigError as exc:
            message = str(exc).replace(f"settings: {key}: ", "", 1).replace("settings: ", "", 1)
            raise ConfigError(f"setting {setting_name(key)}: {message}") from None
    return config


# --- spider arguments ---------------------------------------------------------------------


def spider_config(args: Mapping[str, Any]) -> dict[str, Any]:
    """The spider layer from ``-a`` arguments; raises ConfigError naming the argument.

    Any CrawlerRunConfig field by name, plus ``query`` (previews scored against it, and
    ``score_links``), ``content_filter`` (``main``, ``pruning``, ``bm25`` or ``none``: the
    default markdown generator with that filter), ``link_preview`` (LinkPreviewConfig fields as JSON), ``schema``
    (+ ``schema_type``) and ``llm_<name>`` (an LLMExtractionStrategy).
    """
    args = dict(args)
    overrides: dict[str, Any] = {}
    query = args.pop("query", None)
    preview = args.pop("link_preview", None)
    content_filter = args.pop("content_filter", None)
    if content_filter is not None:
        if "markdown_generator" in args:
            raise ConfigError("-a content_filter and -a markdown_generator: choose one")
        name = str(content_filter).strip().lower()
        if name in _NONE:
            args["markdown_generator"] = "default"
        elif name in CONTENT_FILTERS:
            args["markdown_generator"] = name
        else:
            choices = [*CONTENT_FILTERS, "none"]
            raise ConfigError(
                f"-a content_filter: expected one of {', '.join(choices)}, "
                f"got {content_filter!r}{did_you_mean(name, choices)}"
            )
    strategy = _strategy_from_args(args)
    if strategy is not None:
        overrides["extraction_strategy"] = strategy
    if query is not None or preview is not None:
        fields: dict[str, Any] = {}
        if preview is not None:
            fields = dict(as_object(preview, "-a link_preview"))
        if query:
            fields.setdefault("query", query)
        overrides["link_preview_config"] = LinkPreviewConfig.from_mapping(
            fields, source="-a link_preview"
        )
        overrides["score_links"] = True
    names = CrawlerRunConfig.field_names()
    for key, value in args.items():
        if key not in names:
            raise ConfigError(f"unknown spider argument -a {key}{did_you_mean(key, names)}")
        overrides[key] = value
    resolve(CrawlerRunConfig(), overrides, source="-a")  # validate now, at start-up
    return overrides


def _strategy_from_args(args: dict[str, Any]) -> Any:
    """``-a schema=...`` or ``-a llm_*=...`` (popped from ``args``) -> a strategy or None."""
    schema = args.pop("schema", None)
    schema_type = args.pop("schema_type", None)
    llm = {key[4:]: args.pop(key) for key in list(args) if key.startswith("llm_")}
    if schema is not None and llm:
        raise ConfigError("-a schema and -a llm_*: choose one extraction strategy")
    if schema is not None:
        try:
            return load_schema_strategy(schema, schema_type)
        except ConfigError as exc:
            raise ConfigError(f"-a {exc}") from None
    if schema_type is not None:
        raise ConfigError("-a schema_type: needs -a schema")
    if llm:
        return llm_strategy_from_args(llm)
    return None


_LLM_STRATEGY_ARGS: dict[str, Any] = {
    "instruction": str,
    "extraction_type": str,
    "chunk_token_threshold": int,
    "overlap_rate": float,
    "word_token_rate": float,
    "apply_chunking": bool,
    "input_format": str,
    "force_json_response": bool,
    "verbose": bool,
}


def llm_strategy_from_args(args: Mapping[str, Any]) -> LLMExtractionStrategy:
    """From ``-a llm_<name>=value`` arguments (prefix removed; strings coerced).

    LLMConfig names (``provider``, ``api_token``, ``base_url``, ``temperature``...) and
    strategy names (``instruction``, ``schema`` (a JSON file or JSON text),
    ``extraction_type``, ``chunk_token_threshold``, ``overlap_rate``, ``word_token_rate``,
    ``apply_chunking``, ``input_format``, ``extra_args`` (JSON), ``force_json_response``,
    ``verbose``).
    """
    config_types = typing.get_type_hints(LLMConfig)
    config_names = {f.name for f in dataclasses.fields(LLMConfig)}
    config_values: dict[str, Any] = {}
    strategy_values: dict[str, Any] = {}
    for key, raw in args.items():
        where = f"-a llm_{key}"
        if key in config_names:
            config_values[key] = coerce(raw, config_types[key], where)
        elif key in _LLM_STRATEGY_ARGS:
            strategy_values[key] = coerce(raw, _LLM_STRATEGY_ARGS[key], where)
        elif key == "schema":
            strategy_values["schema"] = _load_json(raw, where)
        elif key == "extra_args":
            strategy_values["extra_args"] = dict(as_object(_load_json(raw, where), where))
        else:
            known = [*config_names, *_LLM_STRATEGY_ARGS, "schema", "extra_args"]
            raise ConfigError(
                f"unknown spider argument {where}{did_you_mean(key, known, prefix='llm_')}"
            )
    if "provider" not in config_values:
        raise ConfigError("-a llm_provider: required with the other -a llm_* arguments")
    try:
        return LLMExtractionStrategy(llm_config=LLMConfig(**config_values), **strategy_values)
    except ConfigError as exc:
        raise ConfigError(
            re.sub(r"^(LLMConfig|LLMExtractionStrategy)\.", "-a llm_", str(exc))
        ) from None


def _load_json(raw: Any, where: str) -> Any:
    """JSON text, or the path of a JSON file (anything not starting with ``{`` or ``[``)."""
    if not isinstance(raw, str):
        return raw
    text = raw.strip()
    if not text.startswith(("{", "[")):
        try:
            with open(os.path.expanduser(text), encoding="utf-8") as f:
                text = f.read()
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read {raw!r}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{where}: invalid JSON: {exc}") from None
