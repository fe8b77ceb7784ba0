"""The offline model's parts: tokenizer, schema filling, rubric."""

from __future__ import annotations

import jsonschema
import pytest

from labkit.llm.offline import InvalidRequest, OfflineModel
from labkit.llm.rubric import DIMENSIONS, analyse
from labkit.llm.schema_fill import SchemaError, fill
from labkit.llm.tokenizer import count_tokens, pieces

from .conftest import load_jsonl


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("Hello world", 2),
        ("the tokenizer", 3),
        ("internationalization", 4),
        ("12345", 2),
        ("don't", 2),
        ("日本語", 3),
    ],
)
def test_token_counts(text: str, expected: int) -> None:
    assert count_tokens(text) == expected


def test_pieces_round_trip_and_monotonic() -> None:
    text = 'You are a reviewer.\n\n  Return JSON: {"score": 7}  — thanks!'
    assert "".join(pieces(text)) == text
    assert count_tokens(text + " more words here") > count_tokens(text)


def test_count_tokens_rejects_non_text() -> None:
    with pytest.raises(TypeError, match="needs a str"):
        count_tokens(b"bytes")  # type: ignore[arg-type]


SCHEMAS = [
    {
        "type": "object",
        "properties": {"a": {"type": "string", "minLength": 5, "maxLength": 8}},
        "required": ["a"],
    },
    {
        "type": "object",
        "properties": {"n": {"type": "integer", "exclusiveMinimum": 3, "maximum": 9, "multipleOf": 2}},
        "required": ["n"],
    },
    {
        "type": "object",
        "properties": {"x": {"type": "number", "minimum": -2.5, "maximum": -1}},
        "required": ["x"],
    },
    {
        "type": "object",
        "properties": {
            "tags": {
                "type": "array",
                "items": {"type": "string"},
                "minItems": 3,
                "maxItems": 3,
                "uniqueItems": False,
            }
        },
        "required": ["tags"],
    },
    {
        "type": "object",
        "properties": {"v": {"anyOf": [{"type": "null"}, {"type": "integer", "minimum": 10}]}},
        "required": ["v"],
    },
    {
        "type": "object",
        "properties": {"k": {"const": "fixed"}, "e": {"enum": [1, 2, 3]}},
        "required": ["k", "e"],
    },
    {
        "$defs": {
            "P": {
                "type": "object",
                "properties": {"name": {"type": "string"}},
                "required": ["name"],
                "additionalProperties": False,
            }
        },
        "type": "object",
        "properties": {"people": {"type": "array", "items": {"$ref": "#/$defs/P"}, "minItems": 2}},
        "required": ["people"],
    },
    {
        "type": "object",
        "allOf": [
            {"properties": {"a": {"type": "boolean"}}, "required": ["a"]},
            {"properties": {"b": {"type": ["string", "null"], "format": "date-time"}}, "required": ["b"]},
        ],
    },
    {
        "type": "object",
        "properties": {"when": {"type": "string", "format": "email"}},
        "required": ["when"],
        "minProperties": 1,
    },
    {"type": "object", "additionalProperties": {"type": "integer"}, "minProperties": 2},
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_fill_is_valid(schema: dict) -> None:
    jsonschema.validate(fill(schema), schema)


def test_fill_keeps_fitting_hints_and_replaces_bad_ones() -> None:
    schema = SCHEMAS[0]
    assert fill(schema, {"a": "hello"}) == {"a": "hello"}
    assert len(fill(schema, {"a": "a much too long value"})["a"]) == 8
    assert fill(SCHEMAS[5], {"k": "other", "e": 3}) == {"k": "fixed", "e": 3}


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"$ref": "#/$defs/missing"}, "does not resolve"),
        ({"$ref": "http://x/y"}, "only local"),
        ({"enum": []}, "empty"),
        ({"type": "integer", "minimum": 5, "maximum": 1}, "bounds are empty"),
    ],
)
def test_fill_rejects_bad_schemas(schema: dict, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        fill(schema)


def test_rubric_separates_labelled_prompts() -> None:
    rows = load_jsonl("prompt_quality.jsonl")
    vague = [analyse(r["prompt"]).overall for r in rows if r["label"] == "vague"]
    specific = [analyse(r["prompt"]).overall for r in rows if r["label"] == "specific"]
    assert len(vague) >= 8 and len(specific) >= 8
    assert max(vague) < min(specific)  # a perfect separation on the labelled set
    assert sum(specific) / len(specific) - sum(vague) / len(vague) >= 4


def test_rubric_issues_quote_the_prompt() -> None:
    prompt = "Write something nice about stuff for my blog"
    result = analyse(prompt)
    assert set(result.scores) == set(DIMENSIONS)
    assert all(0 <= s <= 10 for s in result.scores.values())
    assert result.issues and all(i.quote in prompt for i in result.issues)
    assert {"something", "nice", "stuff"} <= {i.quote for i in result.issues}
    assert "<specific stuff>" in result.suggested_rewrite


def test_rubric_needs_text() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        analyse("   ")


def test_offline_model_validates_requests() -> None:
    model = OfflineModel()
    with pytest.raises(InvalidRequest, match="first message"):
        model.respond({"model": "m", "max_tokens": 5, "messages": [{"role": "assistant", "content": "x"}]})
    with pytest.raises(InvalidRequest, match="temperature"):
        model.respond(
            {"model": "m", "max_tokens": 5, "temperature": 3, "messages": [{"role": "user", "content": "x"}]}
        )


def test_cache_entries_expire() -> None:
    now = [0.0]
    model = OfflineModel(clock=lambda: now[0])
    request = {
        "model": "m",
        "max_tokens": 50,
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "word " * 2000, "cache_control": {"type": "ephemeral"}}],
            }
        ],
    }
    assert model.respond(request).usage["cache_creation_input_tokens"] > 0
    now[0] = 299.0
    assert model.respond(request).usage["cache_read_input_tokens"] > 0  # the hit refreshes the TTL
    now[0] = 299.0 + 301.0
    assert model.respond(request).usage["cache_read_input_tokens"] == 0
