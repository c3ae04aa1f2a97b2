"""LLM extraction, the pure parts: chunking, prompts, reply parsing, merging, config."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import logging
import pickle

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from c4scrapy import LLMConfig, LLMExtractionStrategy
from c4scrapy.core.chunking import chunk_text, estimate_tokens
from c4scrapy.core.config import ConfigError, CrawlerRunConfig
from c4scrapy.core.layers import resolve, with_fit_filter
from c4scrapy.core.llm.client import Failure, LLMClient, classify_failure, retry_after_seconds
from c4scrapy.core.llm.replies import MAX_DEPTH, MAX_REPLY_CHARS, ReplyError, parse_json_reply
from c4scrapy.core.llm.secrets import RedactingFilter, Redactor

PRODUCT = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "price": {"type": "string"}},
    "required": ["name", "price"],
}
MARKDOWN = "# Catalogue\n\n" + "\n\n".join(
    f'## Product {i}\n\n* **Widget {i}** — ${i}.00\n* weight: {i} kg, colour: "blue"\n\n'
    + " ".join(["filler"] * 30)
    for i in range(30)
)


# -- chunking ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("threshold", "overlap_rate"), [(100, 0.0), (100, 0.1), (300, 0.2), (1000, 0.0)]
)
def test_chunks_stay_under_the_threshold_and_keep_structure(threshold, overlap_rate) -> None:
    chunks = chunk_text(MARKDOWN, threshold, overlap_rate)
    assert len(chunks) >= len(MARKDOWN.split()) * 1.3 / threshold
    assert all(estimate_tokens(chunk) <= threshold + 1 for chunk in chunks)
    assert all("\n" in chunk for chunk in chunks)
    if overlap_rate == 0:
        assert "".join(chunks) == MARKDOWN
    else:  # each chunk starts with the end of the previous one, within the overlap budget
        overlap = int(threshold * overlap_rate)
        for before, after in itertools.pairwise(chunks):
            tails = [before[k:] for k in range(len(before)) if after.startswith(before[k:])]
            longest = max((t for t in tails if t.strip()), key=len)
            assert 0 < estimate_tokens(longest) <= overlap


def test_chunks_are_cut_only_at_blank_lines_when_paragraphs_fit() -> None:
    chunks = chunk_text(MARKDOWN, 200, 0.0)
    position = 0
    for chunk in chunks[:-1]:
        position += len(chunk)
        assert MARKDOWN[:position].endswith("\n\n")


@pytest.mark.parametrize(
    ("text", "threshold", "html", "expected"),
    [
        ("", 100, False, []),
        ("short text", 100, False, ["short text"]),
        ("word " * 250, 100, False, None),  # one huge line: cut between words
        (
            "<div>" + "<p>para " + "w " * 40 + "</p>" * 1 + "<p>two " + "w " * 40 + "</p></div>",
            60,
            True,
            None,
        ),
    ],
)
def test_chunk_edge_cases(text, threshold, html, expected) -> None:
    chunks = chunk_text(text, threshold, 0.0, html=html)
    if expected is not None:
        assert chunks == expected
    else:
        assert len(chunks) > 1
        assert "".join(chunks) == text
        assert all(estimate_tokens(chunk) <= threshold for chunk in chunks)
        if html:
            assert chunks[1].startswith("<p>two")


def test_apply_chunking_false_sends_one_chunk() -> None:
    strategy = LLMExtractionStrategy(LLMConfig("openai/x"), apply_chunking=False)
    assert strategy.chunks(MARKDOWN) == [MARKDOWN]


# -- prompts -----------------------------------------------------------------------------


def test_prompts_carry_the_chunk_verbatim_and_no_placeholders() -> None:
    chunk = 'He said "hi"\n\n* {SCHEMA} stays as written \\ here'
    with_instruction = LLMExtractionStrategy(
        LLMConfig("openai/x"), schema=PRODUCT, instruction="Extract products"
    ).prompt("https://a.example/p", chunk, 2, 3)
    without = LLMExtractionStrategy(LLMConfig("openai/x"), schema=PRODUCT).prompt(
        "https://a.example/p", chunk
    )
    inferred = LLMExtractionStrategy(LLMConfig("openai/x")).prompt("https://a.example/", chunk)
    blocks = LLMExtractionStrategy(LLMConfig("openai/x"), extraction_type="block").prompt(
        "https://a.example/", chunk
    )
    for prompt in (with_instruction, without, inferred, blocks):
        assert f"<url_content>\n{chunk}\n</url_content>" in prompt
        assert "{REQUEST}" not in prompt
        assert "{URL}" not in prompt
        assert "{HTML}" not in prompt
        assert "<url>https://a.example/" in prompt
    assert "<user_request>\nExtract products\n</user_request>" in with_instruction
    assert '"required": [\n    "name",' in with_instruction
    assert "part 2 of 3" in with_instruction
    assert "user_request" not in without
    assert "part " not in without
    assert '"tags"' in blocks


# -- parsing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('<blocks>[{"a": 1}]</blocks>', [{"a": 1}]),
        ('<score>4</score>\n<blocks>\n[{"a": 1}, {"a": 2}]\n</blocks>', [{"a": 1}, {"a": 2}]),
        ('```json\n[{"a": 1}]\n```', [{"a": 1}]),
        ('Sure! Here it is:\n```\n{"a": 1}\n```\nAnything else?', {"a": 1}),
        ('[{"a": "x]"}]\n\nNote: I ignored the {footer}.', [{"a": "x]"}]),
        ('<blocks>[{"a": 1}]', [{"a": 1}]),
        ('{"items": [{"a": 1}]}', {"items": [{"a": 1}]}),
    ],
)
def test_json_is_recovered_from_fences_tags_and_chatter(reply, expected) -> None:
    assert parse_json_reply(reply) == expected


@pytest.mark.parametrize(
    ("reply", "finish_reason", "reason"),
    [
        ("", "stop", "empty_reply"),
        (None, "length", "max_tokens"),
        ('<blocks>[{"a": 1,', "length", "max_tokens"),
        ('<blocks>[{"a": 1,</blocks>', "stop", "invalid_json"),
        ("I could not find any products.", "stop", "invalid_json"),
    ],
)
def test_unparseable_replies_are_errors(reply, finish_reason, reason) -> None:
    with pytest.raises(ReplyError) as error:
        parse_json_reply(reply, finish_reason)
    assert error.value.reason == reason


@pytest.mark.parametrize(
    ("reply", "result"),
    [
        ('[{"name": "A", "price": "$1"}]', [{"name": "A", "price": "$1"}]),
        ('{"name": "A", "price": "$1"}', [{"name": "A", "price": "$1"}]),
        ('{"products": [{"name": "A", "price": "$1"}]}', [{"name": "A", "price": "$1"}]),
        ('[{"name": "A"}]', "schema_mismatch"),
        ('[{"name": "A", "price": 1}]', "schema_mismatch"),
        ('"just a string"', "invalid_json"),
    ],
)
def test_replies_are_checked_against_the_schema(reply, result) -> None:
    strategy = LLMExtractionStrategy(LLMConfig("openai/x"), schema=PRODUCT)
    if isinstance(result, str):
        with pytest.raises(ReplyError) as error:
            strategy.parse(reply)
        assert error.value.reason == result
    else:
        assert strategy.parse(reply) == result


def test_block_mode_wants_objects() -> None:
    strategy = LLMExtractionStrategy(LLMConfig("openai/x"), extraction_type="block")
    assert strategy.parse('[{"index": 0, "content": ["x"]}]') == [{"index": 0, "content": ["x"]}]
    with pytest.raises(ReplyError, match="expected a JSON object"):
        strategy.parse('["x"]')


def test_merge_keeps_chunk_order_and_drops_overlap_repeats_only() -> None:
    overlapping = LLMExtractionStrategy(LLMConfig("openai/x"), overlap_rate=0.1)
    a, b, c = {"n": "a"}, {"n": "b"}, {"n": "c"}
    assert overlapping.merge([[a, b], [b, c], None, [c]]) == [a, b, c, c]
    assert LLMExtractionStrategy(LLMConfig("openai/x"), overlap_rate=0).merge([[a, b], [b]]) == [
        a,
        b,
        b,
    ]


# -- config ------------------------------------------------------------------------------


def test_token_is_hidden_and_read_from_the_environment(monkeypatch) -> None:
    literal = LLMConfig("openai/x", api_token="sk-secret-123")
    assert "sk-secret" not in repr(literal)
    assert "sk-secret" not in repr(LLMExtractionStrategy(literal))
    monkeypatch.setenv("MY_LLM_KEY", "sk-from-env")
    from_env = LLMConfig("openai/x", api_token="env:MY_LLM_KEY")
    assert from_env.resolved_token() == "sk-from-env"
    assert "sk-from-env" not in repr(from_env)
    assert "sk-from-env" not in pickle.dumps(LLMExtractionStrategy(from_env)).decode("latin-1")
    with pytest.raises(ConfigError, match="environment variable 'MISSING_KEY' is not set"):
        LLMConfig("openai/x", api_token="env:MISSING_KEY")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input_format": "pdf"}, "input_format: expected one of markdown"),
        ({"extraction_type": "table"}, "extraction_type: expected schema or block"),
        ({"chunk_token_threshold": 0}, "chunk_token_threshold"),
        ({"overlap_rate": 0.9}, "overlap_rate"),
        ({"schema": "{not json"}, "schema: invalid JSON"),
        ({"provider": "openai/x"}, "unknown argument 'provider' (use llm_config=LLMConfig"),
        ({"extra_args": {"api_key": "x"}}, "'api_key' belongs in LLMConfig"),
    ],
)
def test_strategy_arguments_are_validated(kwargs, message) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        LLMExtractionStrategy(LLMConfig("openai/x"), **kwargs)


def test_sampling_parameters_are_sent_and_extra_args_win() -> None:
    strategy = LLMExtractionStrategy(
        LLMConfig("openai/x", temperature=0.3, max_tokens=500), extra_args={"max_tokens": 900}
    )
    assert strategy.request_params() == {"temperature": 0.3, "max_tokens": 900}
    assert LLMExtractionStrategy(LLMConfig("openai/x")).request_params() == {"temperature": 0.01}
    forced = LLMExtractionStrategy(LLMConfig("openai/x"), force_json_response=True)
    assert forced.request_params()["response_format"] == {"type": "json_object"}


def test_pydantic_models_and_json_text_are_schemas() -> None:
    from pydantic import BaseModel

    class Product(BaseModel):
        name: str
        price: str

    by_class = LLMExtractionStrategy(LLMConfig("openai/x"), schema=Product)
    by_text = LLMExtractionStrategy(LLMConfig("openai/x"), schema=Product.model_json_schema())
    assert by_class.schema == by_text.schema
    assert by_class.parse('[{"name": "A", "price": "1"}]') == [{"name": "A", "price": "1"}]


def _api_error(cls_name: str, status: int, headers: dict[str, str] | None = None) -> Exception:
    import httpx
    import openai

    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    response = httpx.Response(status, headers=headers or {}, request=request)
    return getattr(openai, cls_name)("failed", response=response, body=None)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (
            lambda: _api_error("RateLimitError", 429, {"Retry-After": "3"}),
            Failure("rate_limited", True, 3.0),
        ),
        (
            lambda: _api_error("InternalServerError", 503, {"retry-after-ms": "1500"}),
            Failure("server_error", True, 1.5),
        ),
        (lambda: _api_error("InternalServerError", 503), Failure("server_error", True)),
        (lambda: _api_error("AuthenticationError", 401), Failure("auth_error", False)),
        (lambda: _api_error("BadRequestError", 400), Failure("provider_error", False)),
        (lambda: asyncio.TimeoutError(), Failure("timeout", True)),
    ],
)
def test_failed_calls_are_classified_for_retries(make, expected) -> None:
    assert classify_failure(make()) == expected


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "2"}, 2.0),
        ({"retry-after": " 0.5 "}, 0.5),
        ({"retry-after": "Thu, 01 Jan 1970 00:00:30 GMT"}, 20.0),  # an HTTP date, now=10
        ({"retry-after": "Thu, 01 Jan 1970 00:00:05 GMT"}, 0.0),  # already past
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "-1"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_a_date(headers, seconds) -> None:
    assert retry_after_seconds(headers, now=10.0) == seconds


@pytest.mark.parametrize(
    ("failure", "attempt", "delay"),
    [
        (Failure("rate_limited", True, 2.0), 1, 2.0),  # Retry-After wins over the backoff
        (Failure("rate_limited", True, 0.0), 1, 0.0),
        (Failure("rate_limited", True, 500.0), 1, 30.0),  # capped by retry_after_max
        (Failure("server_error", True), 1, 0.5),  # backoff: base x factor**(attempt - 1)
        (Failure("server_error", True), 3, 2.0),
        (Failure("server_error", True), 9, 10.0),  # capped by max_delay
    ],
)
def test_retry_delays_follow_retry_after_then_the_backoff(failure, attempt, delay) -> None:
    client = LLMClient(base_delay=0.5, max_delay=10.0, retry_after_max=30.0)
    assert client.delay(LLMConfig("openai/x"), attempt, failure) == delay


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("one two three four five six seven eight nine ten", 13),  # words x 1.3
        ("see https://example.com/articles/2024/05/01/a-long-slug.html", 18),  # 1.3 + 56/3.5
        ('<a href="https://example.com/x">', 10),  # markup counts by length: 1.3 + 29/3.5
        ("", 0),
    ],
)
def test_token_estimate_counts_long_words_by_length(text, tokens) -> None:
    assert estimate_tokens(text) == tokens


def test_spider_arguments_build_the_strategy_and_a_filter_for_fit_inputs(tmp_path) -> None:
    from c4scrapy.core.layers import spider_config
    from c4scrapy.core.markdown import BM25ContentFilter, PruningContentFilter

    schema = tmp_path / "product.json"
    schema.write_text('{"type": "object", "properties": {"name": {"type": "string"}}}')
    args = {
        "llm_provider": "ollama/llama3",
        "llm_base_url": "http://127.0.0.1:11434",
        "llm_schema": str(schema),
        "llm_temperature": "0.2",
        "llm_extra_args": '{"max_tokens": 300}',
        "llm_chunk_token_threshold": "500",
    }
    strategy = spider_config(args)["extraction_strategy"]
    assert strategy.llm_config.temperature == 0.2
    assert strategy.schema["properties"] == {"name": {"type": "string"}}
    assert strategy.extra_args == {"max_tokens": 300}
    assert strategy.chunk_token_threshold == 500
    assert "markdown_generator" not in spider_config(args)

    def layered(extra: dict) -> CrawlerRunConfig:
        return with_fit_filter(resolve(CrawlerRunConfig(), spider_config(extra), source="-a"))

    fit = layered({**args, "llm_input_format": "fit_markdown"})
    assert isinstance(fit.markdown_generator.content_filter, PruningContentFilter)
    with_query = layered({**args, "llm_input_format": "fit_markdown", "query": "shoes"})
    assert isinstance(with_query.markdown_generator.content_filter, BM25ContentFilter)
    configured = with_fit_filter(
        resolve(
            resolve(CrawlerRunConfig(), {"markdown_generator": "main"}, source="settings"),
            spider_config({**args, "llm_input_format": "fit_markdown"}),
            source="-a",
        )
    )
    assert type(configured.markdown_generator.content_filter).__name__ == "MainContentFilter"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"llm_instruction": "x"}, "-a llm_provider: required"),
        ({"llm_provider": "openai/x", "llm_input_format": "pdf"}, "-a llm_input_format: expected"),
        ({"llm_provider": "openai/x", "llm_temprature": "1"}, "did you mean 'llm_temperature'"),
        ({"llm_provider": "openai/x", "llm_schema": "/nope.json"}, "-a llm_schema: cannot read"),
        ({"llm_provider": "openai/x", "schema": "{}"}, "choose one extraction strategy"),
    ],
)
def test_bad_llm_spider_arguments_name_the_argument(args, message) -> None:
    from c4scrapy.core.layers import spider_config

    with pytest.raises(ConfigError, match=message):
        spider_config(args)


# -- hostile replies ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "reason", "message"),
    [
        ("[" * 100_000, "invalid_json", f"nested deeper than {MAX_DEPTH}"),
        ("{" * 100_000, "invalid_json", f"nested deeper than {MAX_DEPTH}"),
        ('[{"a": ' * 50_000, "invalid_json", f"nested deeper than {MAX_DEPTH}"),
        ("<blocks>" + "[" * 5_000 + "</blocks>", "invalid_json", "nested deeper"),
        ("[" * (MAX_DEPTH + 30) + "]" * (MAX_DEPTH + 30), "invalid_json", "nested deeper"),
        ("x" * (MAX_REPLY_CHARS + 1), "invalid_json", "more than 2,000,000"),
        ('"' + '\\"' * 100_000, "invalid_json", "no valid JSON"),  # an endless string
        ("[1" + "1" * 10_000 + "]", "invalid_json", "no valid JSON"),  # int too long
        ("[" * 100_000, "invalid_json", "nested deeper"),
    ],
)
def test_hostile_replies_are_reply_errors(reply, reason, message) -> None:
    strategy = LLMExtractionStrategy(LLMConfig("openai/x"), schema=PRODUCT)
    with pytest.raises(ReplyError) as error:
        strategy.parse(reply)
    assert error.value.reason == reason
    assert message in error.value.message
    assert len(error.value.message) <= 300


def test_nesting_up_to_the_limit_parses_and_is_checked() -> None:
    deep = "[" * MAX_DEPTH + "1" + "]" * MAX_DEPTH
    assert parse_json_reply(deep) is not None
    nested: dict = {"name": "A", "price": "$1"}
    for _ in range(MAX_DEPTH - 2):
        nested = {"child": nested}
    strategy = LLMExtractionStrategy(
        LLMConfig("openai/x"),
        schema={"anyOf": [{"type": "string"}, {"additionalProperties": {"$ref": "#"}}]},
    )
    assert strategy.parse(json.dumps([nested])) == [nested]


def test_a_shallow_value_before_deep_garbage_is_found() -> None:
    assert parse_json_reply('<blocks>[{"a": 1}]</blocks> and then ' + "[" * 100_000) == [{"a": 1}]


_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
_GARBAGE = st.text(alphabet='[]{}",:\\<>/`abc0123 \n\t', max_size=400)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prefix=_GARBAGE,
    value=_JSONISH,
    suffix=_GARBAGE,
    depth=st.integers(min_value=0, max_value=3 * MAX_DEPTH),
    wrap=st.sampled_from(["", "<blocks>{}</blocks>", "```json\n{}\n```", "{}\n\nHope it helps"]),
)
def test_fuzzed_replies_give_a_value_or_a_reply_error(prefix, value, suffix, depth, wrap) -> None:
    body = "[" * depth + json.dumps(value) + "]" * depth
    reply = prefix + (wrap.replace("{}", body) if wrap else body) + suffix
    strategy = LLMExtractionStrategy(LLMConfig("openai/x"), extraction_type="block")
    outcome: list | ReplyError
    try:
        outcome = strategy.parse(reply)
    except ReplyError as error:
        outcome = error
    if isinstance(outcome, ReplyError):
        assert outcome.reason in ("invalid_json", "schema_mismatch", "empty_reply")
        assert len(outcome.message) <= 300
    else:
        assert isinstance(outcome, list)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    unit=st.sampled_from(["[", "{", '{"a":', '["', "[{", "<blocks>[", "```\n[", '"\\', "\\"]),
    count=st.integers(min_value=1_000, max_value=60_000),
    schema=st.sampled_from([None, PRODUCT, {"type": "array"}]),
)
def test_huge_repetitive_replies_are_bounded(unit, count, schema) -> None:
    strategy = LLMExtractionStrategy(LLMConfig("openai/x"), schema=schema)
    with pytest.raises(ReplyError) as error:
        strategy.parse(unit * count)
    assert error.value.reason == "invalid_json"


# -- secrets -----------------------------------------------------------------------------

SECRET = "sk-planted-5f3e9c1d7a"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"Incorrect API key provided: {SECRET}.", "Incorrect API key provided: ***."),
        (f"got 'Authorization: Bearer {SECRET}'", "got 'Authorization: Bearer ***'"),
        ("Authorization: Bearer abc123def456ghi", "Authorization: Bearer ***"),  # unknown key
        ('{"api_key": "k3y-0f-s0me-length"}', '{"api_key": "***"}'),
        ("x-api-key=ab12cd34ef56&q=1", "x-api-key=***&q=1"),
        ("a bearer instrument, api_key: expected a string", None),  # words stay
        (f"{SECRET[:5]} is only a prefix", None),
    ],
)
def test_secrets_and_token_shapes_are_masked(text, expected) -> None:
    redact = Redactor([SECRET, "short", None])
    assert redact(text) == (text if expected is None else expected)


def test_key_like_environment_variables_are_secrets() -> None:
    redact = Redactor()
    redact.add_environment(
        {"OPENAI_API_KEY": "sk-env-1234567", "MY_SERVICE_TOKEN": "t0k3n-value", "HOME": "/root"}
    )
    assert "sk-env-1234567" in redact
    assert "t0k3n-value" in redact
    assert "/root" not in redact


def test_reply_errors_mask_secrets_before_cutting() -> None:
    reply = "x " * 95 + f"{SECRET} and more"  # the cut at 200 falls inside the key
    with pytest.raises(ReplyError) as error:
        parse_json_reply(reply)
    text = error.value.render(Redactor([SECRET]))
    assert SECRET[:8] not in text
    assert "***" in text


def test_log_records_are_masked_with_their_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(Redactor([SECRET])))
    logs = [logging.getLogger("tests.redact"), logging.getLogger("c4scrapy.tests.redact")]
    for log in logs:
        log.addHandler(handler)
        log.propagate = False
    try:
        logs[0].warning("call failed: %s", f"Bearer {SECRET}")
        try:
            raise ValueError(f"key {SECRET} refused")
        except ValueError:
            logs[0].exception("failed with %d", 1)
        logs[1].warning("provider said: Bearer %s", "unknown0123456789")  # a shape, unknown
    finally:
        for log in logs:
            log.removeHandler(handler)
            log.propagate = True
    text = stream.getvalue()
    assert SECRET not in text
    assert "call failed: Bearer ***" in text
    assert "ValueError: key *** refused" in text
    assert "provider said: Bearer ***" in text
