"""The offline model's generic tool-use policy: call each offered tool, then fill the output from results."""

from __future__ import annotations

import json

from labkit.llm.offline import OfflineModel

DATA_TOOL = {"name": "count_words", "input_schema": {"type": "object", "properties": {}}}
OUTPUT_TOOL = {
    "name": "submit_answer",
    "input_schema": {
        "type": "object",
        "properties": {"items": {"type": "array", "items": {"type": "integer"}}, "label": {"type": "string"}},
        "required": ["items", "label"],
    },
}


def _request(messages: list[dict], choice: dict | None = None) -> dict:
    return {
        "model": "m",
        "max_tokens": 500,
        "tools": [DATA_TOOL, OUTPUT_TOOL],
        "messages": messages,
        "tool_choice": choice or {"type": "auto"},
    }


def test_each_offered_tool_is_called_in_order_then_the_output_is_filled_from_the_results() -> None:
    model = OfflineModel()
    messages: list[dict] = [{"role": "user", "content": "do the task"}]
    first = model.respond(_request(messages)).message["content"][0]
    assert first["type"] == "tool_use" and first["name"] == "count_words"
    messages += [
        {"role": "assistant", "content": [first]},
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": first["id"],
                    "content": json.dumps({"items": [3, 4], "label": "from the tool"}),
                }
            ],
        },
    ]
    second = model.respond(_request(messages)).message["content"][0]
    assert second["name"] == "submit_answer" and second["input"] == {
        "items": [3, 4],
        "label": "from the tool",
    }
    forced = model.respond(_request(messages, {"type": "tool", "name": "submit_answer"})).message["content"][
        0
    ]
    assert forced["input"] == second["input"]
    messages += [
        {"role": "assistant", "content": [second]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": second["id"], "content": "ok"}]},
    ]
    assert model.respond(_request(messages)).message["content"][0]["type"] == "text"  # every tool called


def test_results_from_several_tools_merge_lists_and_keep_the_first_scalar() -> None:
    model = OfflineModel()
    results = [{"items": [1], "label": "first"}, {"items": [2, 3], "label": "second"}]
    messages: list[dict] = [{"role": "user", "content": "x"}]
    for i, result in enumerate(results):
        call = {"type": "tool_use", "id": f"t{i}", "name": "count_words", "input": {}}
        messages += [
            {"role": "assistant", "content": [call]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": f"t{i}", "content": json.dumps(result)}],
            },
        ]
    out = model.respond(_request(messages, {"type": "tool", "name": "submit_answer"})).message["content"][0][
        "input"
    ]
    assert out == {"items": [1, 2, 3], "label": "first"}
