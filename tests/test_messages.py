"""harness.messages.core: classes, coercion, content blocks, chunk merging."""

from __future__ import annotations

import json
import uuid
import warnings

import pytest
from pydantic import ValidationError

from harness.messages.convert import convert_to_messages, message_to_dict
from harness.messages.core import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    add_usage,
    get_block_translator,
    invalid_tool_call,
    merge_content,
    merge_dicts,
    merge_lists,
    message_chunk_to_message,
    parse_partial_json,
    register_block_translator,
    subtract_usage,
    tool_call,
    tool_call_chunk,
)

# --- construction ------------------------------------------------------------------------------


def test_positional_content_and_type_strings():
    assert HumanMessage("hi").content == "hi"
    assert SystemMessage("sys").type == "system"
    assert HumanMessage("x").type == "human"
    assert AIMessage("x").type == "ai"
    assert AIMessageChunk("x").type == "AIMessageChunk"
    assert ToolMessage("x", tool_call_id="1").type == "tool"
    assert isinstance(AIMessageChunk("x"), AIMessage)


def test_content_blocks_kwarg_is_stored_in_content():
    blocks = [
        {"type": "text", "text": "Describe"},
        {"type": "image", "base64": "iVB", "mime_type": "image/png"},
    ]
    m = HumanMessage(content_blocks=blocks)
    assert m.content == blocks
    assert m.text == "Describe"


def test_content_blocks_with_tool_calls_fill_tool_calls():
    m = AIMessage(content_blocks=[{"type": "tool_call", "name": "f", "args": {"x": 1}, "id": "c1"}])
    assert m.tool_calls == [{"type": "tool_call", "name": "f", "args": {"x": 1}, "id": "c1"}]


def test_id_numbers_coerced_and_extra_fields_allowed():
    m = HumanMessage("x", id=5, example=True)
    assert m.id == "5"
    assert m.example is True
    assert HumanMessage("x", id=1.5).id == "1.5"


def test_content_is_required_and_validated():
    with pytest.raises(ValidationError):
        HumanMessage()
    with pytest.raises(ValidationError):
        HumanMessage(content=5)


def test_tool_message_coercion():
    assert ToolMessage(6, tool_call_id="a").content == "6"
    assert ToolMessage({"v": 1}, tool_call_id="a").content == "{'v': 1}"
    assert ToolMessage(("a", {"type": "text", "text": "b"}), tool_call_id="a").content == [
        "a",
        {"type": "text", "text": "b"},
    ]
    assert ToolMessage(["a", 3, 4.5], tool_call_id="a").content == ["a", "3", "4.5"]
    u = uuid.uuid4()
    assert ToolMessage("x", tool_call_id=u).tool_call_id == str(u)
    assert ToolMessage("x", tool_call_id=7).tool_call_id == "7"
    assert ToolMessage("x", tool_call_id=1.5).tool_call_id == "1.5"
    m = ToolMessage("x", tool_call_id="1", artifact={"raw": [1, 2]})
    assert (m.artifact, m.status) == ({"raw": [1, 2]}, "success")
    assert ToolMessage("x", tool_call_id="1", status="error").status == "error"
    with pytest.raises(ValidationError):
        ToolMessage("x")
    with pytest.raises(ValidationError):
        ToolMessage("x", tool_call_id="1", status="failed")


def test_tool_call_helpers_add_type():
    assert tool_call(name="f", args={"a": 1}, id="1") == {
        "name": "f",
        "args": {"a": 1},
        "id": "1",
        "type": "tool_call",
    }
    assert tool_call_chunk(name="f", args='{"a', id="1", index=0) == {
        "name": "f",
        "args": '{"a',
        "id": "1",
        "index": 0,
        "type": "tool_call_chunk",
    }
    assert invalid_tool_call(name="f", args="oops", id="1", error="bad")["type"] == "invalid_tool_call"


def test_ai_message_adds_type_to_tool_calls_and_rejects_non_dict_args():
    m = AIMessage(
        "",
        tool_calls=[{"name": "f", "args": {}, "id": "1"}],
        invalid_tool_calls=[{"name": "g", "args": "{", "id": "2", "error": None}],
    )
    assert m.tool_calls[0]["type"] == "tool_call"
    assert m.invalid_tool_calls[0]["type"] == "invalid_tool_call"
    with pytest.raises(ValidationError):
        AIMessage("", tool_calls=[{"name": "f", "args": [1, 2], "id": "1"}])


def test_ai_message_parses_openai_tool_calls_from_additional_kwargs():
    raw = [
        {"id": "c1", "type": "function", "function": {"name": "get", "arguments": '{"city": "Boston"}'}},
        {"id": "c2", "type": "function", "function": {"name": "bad", "arguments": '{"city": '}},
        {"id": "c3", "type": "function", "function": {"name": "list", "arguments": "[1, 2]"}},
    ]
    m = AIMessage("", additional_kwargs={"tool_calls": raw})
    assert m.tool_calls == [{"name": "get", "args": {"city": "Boston"}, "id": "c1", "type": "tool_call"}]
    assert [(t["name"], t["args"], t["error"]) for t in m.invalid_tool_calls] == [
        ("bad", '{"city": ', None),
        ("list", "[1, 2]", None),
    ]
    # explicit tool_calls win: nothing is parsed from additional_kwargs
    explicit = AIMessage("", tool_calls=[tool_call("x", {}, "9")], additional_kwargs={"tool_calls": raw})
    assert [t["id"] for t in explicit.tool_calls] == ["9"]
    chunk = AIMessageChunk("", additional_kwargs={"tool_calls": [dict(raw[0], index=0)]})
    assert chunk.tool_call_chunks == [
        {"name": "get", "args": '{"city": "Boston"}', "id": "c1", "index": 0, "type": "tool_call_chunk"}
    ]
    assert chunk.tool_calls[0]["args"] == {"city": "Boston"}


def test_chunk_built_with_tool_calls_gets_chunks():
    c = AIMessageChunk("", tool_calls=[tool_call("f", {"a": [1]}, "c1")])
    assert c.tool_call_chunks == [
        {"name": "f", "args": json.dumps({"a": [1]}), "id": "c1", "index": None, "type": "tool_call_chunk"}
    ]
    assert c.tool_calls == [{"name": "f", "args": {"a": [1]}, "id": "c1", "type": "tool_call"}]


# --- section 4: chunk addition ----------------------------------------------------------------


def test_worked_example_section_4():
    left = AIMessageChunk(
        content="Hel",
        id="lc_run--abc",
        tool_call_chunks=[{"name": "get", "args": '{"a":', "id": "call_1", "index": 0}],
        response_metadata={"model_name": "gpt"},
        usage_metadata={
            "input_tokens": 5,
            "output_tokens": 0,
            "total_tokens": 5,
            "input_token_details": {"cache_read": 3},
        },
    )
    right = AIMessageChunk(
        content="lo",
        id="chatcmpl-1",
        tool_call_chunks=[
            {"name": None, "args": "1}", "id": None, "index": 0},
            {"name": "other", "args": "{}", "id": "call_2", "index": 1},
        ],
        response_metadata={"finish_reason": "tool_calls", "model_name": "gpt"},
        usage_metadata={
            "input_tokens": 0,
            "output_tokens": 7,
            "total_tokens": 7,
            "output_token_details": {"reasoning": 4},
        },
    )
    total = left + right
    assert type(total) is AIMessageChunk
    assert total.content == "Hello"
    assert total.id == "chatcmpl-1"
    assert total.tool_calls == [
        {"name": "get", "args": {"a": 1}, "id": "call_1", "type": "tool_call"},
        {"name": "other", "args": {}, "id": "call_2", "type": "tool_call"},
    ]
    assert total.response_metadata == {"model_name": "gptgpt", "finish_reason": "tool_calls"}
    assert total.usage_metadata == {
        "input_tokens": 5,
        "output_tokens": 7,
        "total_tokens": 12,
        "input_token_details": {"cache_read": 3},
        "output_token_details": {"reasoning": 4},
    }
    # operands are untouched
    assert left.content == "Hel" and left.tool_call_chunks[0]["args"] == '{"a":'
    assert left.response_metadata == {"model_name": "gpt"}


def test_merge_content_rules():
    assert merge_content("a", "b") == "ab"
    assert merge_content("a", [{"type": "text", "text": "b"}]) == ["a", {"type": "text", "text": "b"}]
    assert merge_content(["a"], "b") == ["ab"]
    assert merge_content([{"type": "image", "url": "u"}], "b") == [{"type": "image", "url": "u"}, "b"]
    assert merge_content([{"type": "image", "url": "u"}], "") == [{"type": "image", "url": "u"}]
    left = ["a"]
    merge_content(left, "b")
    assert left == ["a"]  # no mutation
    assert merge_content(
        [{"type": "text", "text": "A", "index": 0}],
        [{"type": "text", "text": "B", "index": 0}, {"type": "text", "text": "C", "index": 1}],
    ) == [{"type": "text", "text": "AB", "index": 0}, {"type": "text", "text": "C", "index": 1}]


def test_merge_lists_index_and_id_conflict():
    assert merge_lists([{"index": 0, "id": "a", "args": "x"}], [{"index": 0, "id": "b", "args": "y"}]) == [
        {"index": 0, "id": "a", "args": "x"},
        {"index": 0, "id": "b", "args": "y"},
    ]
    assert merge_lists([{"index": 0, "id": "a", "args": "x"}], [{"index": 0, "id": None, "args": "y"}]) == [
        {"index": 0, "id": "a", "args": "xy"}
    ]
    assert merge_lists([{"index": 0, "id": "a", "args": "x"}], [{"index": 0, "id": "a", "args": "y"}]) == [
        {"index": 0, "id": "a", "args": "xy"}
    ]
    # no index → never merged; "lc_" string indexes merge and are kept once
    assert merge_lists([{"t": "a"}], [{"t": "b"}]) == [{"t": "a"}, {"t": "b"}]
    assert merge_lists([{"index": "lc_1", "text": "a"}], [{"index": "lc_1", "text": "b"}]) == [
        {"index": "lc_1", "text": "ab"}
    ]
    assert merge_lists([{"index": "x", "text": "a"}], [{"index": "x", "text": "b"}]) == [
        {"index": "x", "text": "a"},
        {"index": "x", "text": "b"},
    ]
    assert merge_lists(None, [1]) == [1] and merge_lists([1], None) == [1] and merge_lists(None, None) is None


def test_merge_dicts_rules():
    assert merge_dicts(
        {"s": "a", "id": "x", "model_provider": "p", "output_version": "v1"},
        {"s": "b", "id": "x", "model_provider": "p", "output_version": "v1"},
    ) == {"s": "ab", "id": "x", "model_provider": "p", "output_version": "v1"}
    assert merge_dicts({"id": "x"}, {"id": "y"}) == {"id": "xy"}
    assert merge_dicts(
        {"n": 1, "index": 1, "created": 10, "timestamp": 5},
        {"n": 2, "index": 3, "created": 11, "timestamp": 6},
    ) == {"n": 3, "index": 3, "created": 11, "timestamp": 6}
    assert merge_dicts({"a": None, "b": 1}, {"a": "x", "b": None, "c": None}) == {"a": "x", "b": 1, "c": None}
    assert merge_dicts({"d": {"x": "a"}, "l": [1]}, {"d": {"x": "b", "y": 1}, "l": [2]}) == {
        "d": {"x": "ab", "y": 1},
        "l": [1, 2],
    }
    assert merge_dicts({"f": True, "g": 1.5}, {"f": True, "g": 1.5}) == {"f": True, "g": 1.5}
    with pytest.raises(
        TypeError,
        match=r'additional_kwargs\["k"\] already exists in this message, but with a '
        r"different type\.",
    ):
        merge_dicts({"k": "1"}, {"k": 1})
    with pytest.raises(TypeError):
        merge_dicts({"f": True}, {"f": False})
    with pytest.raises(TypeError):
        merge_dicts({"g": 1.5}, {"g": 2.5})
    left = {"d": {"x": "a"}}
    merge_dicts(left, {"d": {"x": "b"}})
    assert left == {"d": {"x": "a"}}


def test_chunk_add_list_id_rank_and_position():
    a = AIMessageChunk("a", id="lc_123")
    b = AIMessageChunk("b", id="lc_run--r1")
    c = AIMessageChunk("c", id="provider-1", chunk_position="last")
    d = AIMessageChunk("d", id="provider-2")
    assert (a + b).id == "lc_run--r1"
    assert (a + [b, c, d]).id == "provider-1"
    assert (a + (b, d)).id == "provider-2"
    assert (a + AIMessageChunk("x", id="lc_456")).id == "lc_123"
    assert (AIMessageChunk("x") + AIMessageChunk("y")).id is None
    s = a + [b, c]
    assert s.content == "abc" and s.chunk_position == "last"
    assert (a + b).chunk_position is None
    assert (a + b).usage_metadata is None
    with pytest.raises(TypeError):
        a + AIMessage("x")  # noqa: B018
    with pytest.raises(TypeError):
        a + "x"  # noqa: B018


def test_chunk_partial_json_and_invalid_args():
    c = AIMessageChunk("", tool_call_chunks=[tool_call_chunk("f", '{"a": "unterm', "1", 0)])
    assert c.tool_calls == [{"name": "f", "args": {"a": "unterm"}, "id": "1", "type": "tool_call"}]
    c = AIMessageChunk("", tool_call_chunks=[tool_call_chunk(None, "", "1", 0)])
    assert c.tool_calls == [{"name": "", "args": {}, "id": "1", "type": "tool_call"}]
    c = AIMessageChunk(
        "", tool_call_chunks=[tool_call_chunk("f", "[1,2]", "1", 0), tool_call_chunk("g", "not json", "2", 1)]
    )
    assert c.tool_calls == []
    assert c.invalid_tool_calls == [
        {"name": "f", "args": "[1,2]", "id": "1", "error": None, "type": "invalid_tool_call"},
        {"name": "g", "args": "not json", "id": "2", "error": None, "type": "invalid_tool_call"},
    ]


def test_message_chunk_to_message():
    chunk = AIMessageChunk(
        "hi",
        id="x",
        tool_call_chunks=[tool_call_chunk("f", '{"a": 1}', "c", 0)],
        chunk_position="last",
        usage_metadata={"input_tokens": 1, "output_tokens": 2, "total_tokens": 3},
        custom="kept",
    )
    m = message_chunk_to_message(chunk)
    assert type(m) is AIMessage and m.type == "ai"
    assert m.tool_calls == [{"name": "f", "args": {"a": 1}, "id": "c", "type": "tool_call"}]
    assert m.usage_metadata["total_tokens"] == 3 and m.id == "x" and m.custom == "kept"
    assert not hasattr(m, "tool_call_chunks") and not hasattr(m, "chunk_position")
    h = HumanMessage("x")
    assert message_chunk_to_message(h) is h


def _stream_chunks() -> list[AIMessageChunk]:
    """50 chunks: text, then two tool calls whose fragments interleave (OpenAI-style indexes)."""
    args = {0: '{"city": "Boston", "unit": "celsius"}', 1: '{"city": "Tokyo"}'}
    chunks = [AIMessageChunk("", id="chatcmpl-9", response_metadata={"model_provider": "openai"})]
    chunks += [AIMessageChunk(w) for w in ["Let ", "me ", "check ", "the ", "weather."]]
    pos = {0: 0, 1: 0}
    step = {0: 2, 1: 1}
    while len(chunks) < 49:
        for i in (0, 1):
            if pos[i] < len(args[i]) and len(chunks) < 49:
                first = pos[i] == 0
                piece = args[i][pos[i] : pos[i] + step[i]]
                pos[i] += step[i]
                chunks.append(
                    AIMessageChunk(
                        "",
                        tool_call_chunks=[
                            tool_call_chunk(
                                name=("get_weather" if first else None),
                                args=piece,
                                id=(f"call_{i}" if first else None),
                                index=i,
                            )
                        ],
                    )
                )
        if pos[0] >= len(args[0]) and pos[1] >= len(args[1]):
            while len(chunks) < 49:
                chunks.append(AIMessageChunk(""))
    assert pos[0] >= len(args[0]) and pos[1] >= len(args[1]), "fragments did not fit in 49 chunks"
    chunks.append(
        AIMessageChunk(
            "",
            chunk_position="last",
            response_metadata={"finish_reason": "tool_calls", "model_name": "gpt-x"},
            usage_metadata={
                "input_tokens": 20,
                "output_tokens": 30,
                "total_tokens": 50,
                "input_token_details": {"cache_read": 4},
                "output_token_details": {"reasoning": 8, "flex_reasoning": 8},
            },
        )
    )
    return chunks


def test_stream_of_50_chunks_with_two_interleaved_tool_calls():
    chunks = _stream_chunks()
    assert len(chunks) == 50
    running = chunks[0]
    seen_partial = False
    for c in chunks[1:]:
        running = running + c
        if running.tool_calls and running.tool_calls[0]["args"] == {"city": "Boston"}:
            seen_partial = True  # partial JSON gave a usable prefix mid-stream
    at_once = chunks[0] + chunks[1:]
    for agg in (running, at_once):
        assert agg.content == "Let me check the weather."
        assert agg.id == "chatcmpl-9"
        assert agg.chunk_position == "last"
        assert agg.tool_calls == [
            {
                "name": "get_weather",
                "args": {"city": "Boston", "unit": "celsius"},
                "id": "call_0",
                "type": "tool_call",
            },
            {"name": "get_weather", "args": {"city": "Tokyo"}, "id": "call_1", "type": "tool_call"},
        ]
        assert agg.invalid_tool_calls == []
        assert [c["args"] for c in agg.tool_call_chunks] == [
            '{"city": "Boston", "unit": "celsius"}',
            '{"city": "Tokyo"}',
        ]
        assert agg.response_metadata == {
            "model_provider": "openai",
            "finish_reason": "tool_calls",
            "model_name": "gpt-x",
        }
        assert agg.usage_metadata["output_token_details"] == {"reasoning": 8, "flex_reasoning": 8}
    assert seen_partial
    assert running == at_once
    final = message_chunk_to_message(at_once)
    assert message_to_dict(final)["tool_calls"] == [
        {"name": "get_weather", "args": {"city": "Boston", "unit": "celsius"}, "id": "call_0"},
        {"name": "get_weather", "args": {"city": "Tokyo"}, "id": "call_1"},
    ]


# --- usage -------------------------------------------------------------------------------------


def test_add_usage():
    a = {
        "input_tokens": 5,
        "output_tokens": 1,
        "total_tokens": 6,
        "input_token_details": {"cache_read": 3, "ephemeral_5m_input_tokens": 2},
    }
    b = {
        "input_tokens": 1,
        "output_tokens": 4,
        "total_tokens": 5,
        "input_token_details": {"cache_read": 1},
        "output_token_details": {"reasoning": 2},
    }
    assert add_usage(a, b) == {
        "input_tokens": 6,
        "output_tokens": 5,
        "total_tokens": 11,
        "input_token_details": {"cache_read": 4, "ephemeral_5m_input_tokens": 2},
        "output_token_details": {"reasoning": 2},
    }
    assert add_usage(None, None) == {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
    assert add_usage(a, None) is a and add_usage(None, b) is b
    with pytest.raises(ValueError, match="Unknown value types"):
        add_usage(a, {"input_tokens": "x", "output_tokens": 0, "total_tokens": 0})


def test_subtract_usage():
    a = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15, "output_token_details": {"reasoning": 3}}
    b = {"input_tokens": 4, "output_tokens": 9, "total_tokens": 13, "output_token_details": {"reasoning": 1}}
    assert subtract_usage(a, b) == {
        "input_tokens": 6,
        "output_tokens": 0,
        "total_tokens": 2,
        "output_token_details": {"reasoning": 2},
    }
    assert subtract_usage(a, None) is a
    assert subtract_usage(None, None) == {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}


# --- partial JSON --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('{"a": "unterm', {"a": "unterm"}),
        ('{"a": [1, 2', {"a": [1, 2]}),
        ('{"a": {"b": "c', {"a": {"b": "c"}}),
        ('{"a": 1, ', {"a": 1}),
        ('{"a": 1, "b', {"a": 1}),
        ('{"a": "x\\', {"a": "x"}),
        ('{"a": "q\\"', {"a": 'q"'}),
        ('{"a": "line\nbreak', {"a": "line\nbreak"}),
        ('{"a": "}{[', {"a": "}{["}),
        ("[1, 2", [1, 2]),
        ("{", {}),
    ],
)
def test_parse_partial_json(text, expected):
    assert parse_partial_json(text) == expected


def test_parse_partial_json_failures():
    assert parse_partial_json('{"a": 1]') is None  # mismatched closer
    with pytest.raises(json.JSONDecodeError):
        parse_partial_json("hello")
    with pytest.raises(json.JSONDecodeError):
        parse_partial_json("")
    assert parse_partial_json('{"a": "x\ny', strict=True) == {"a": "x\ny"}


# --- text and content_blocks --------------------------------------------------------------------


def test_text_property():
    m = AIMessage(
        [
            {"type": "text", "text": "a"},
            {"type": "reasoning", "reasoning": "hmm"},
            "b",
            {"type": "tool_use", "name": "f"},
            {"type": "text", "text": None},
        ]
    )
    assert m.text == "ab"
    assert isinstance(m.text, str)
    assert HumanMessage("plain").text == "plain"
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        assert m.text() == "ab"
    assert any(issubclass(x.category, DeprecationWarning) for x in w)


def test_content_blocks_generic_conversion():
    assert HumanMessage("hi").content_blocks == [{"type": "text", "text": "hi"}]
    assert HumanMessage("").content_blocks == []
    m = HumanMessage(
        [
            "look",
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}},
            {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
            {"type": "image", "source_type": "base64", "data": "AAA", "mime_type": "image/jpeg"},
            {"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}},
            {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBE", "filename": "a.pdf"}},
            {"type": "mystery", "x": 1},
            {"type": "text", "text": "kept", "annotations": []},
        ]
    )
    assert m.content_blocks == [
        {"type": "text", "text": "look"},
        {"type": "image", "base64": "iVBOR", "mime_type": "image/png"},
        {"type": "image", "url": "https://x/y.png"},
        {"type": "image", "base64": "AAA", "mime_type": "image/jpeg"},
        {"type": "audio", "base64": "UklG", "mime_type": "audio/wav"},
        {"type": "file", "base64": "JVBE", "mime_type": "application/pdf", "extras": {"filename": "a.pdf"}},
        {"type": "non_standard", "value": {"type": "mystery", "x": 1}},
        {"type": "text", "text": "kept", "annotations": []},
    ]


def test_ai_content_blocks_tool_calls_and_reasoning():
    m = AIMessage(
        [{"type": "text", "text": "ok"}, {"type": "tool_call", "name": "f", "args": {}, "id": "c1"}],
        tool_calls=[tool_call("f", {}, "c1"), tool_call("g", {"q": 1}, "c2")],
        additional_kwargs={"reasoning_content": "thinking..."},
    )
    assert m.content_blocks == [
        {"type": "reasoning", "reasoning": "thinking..."},
        {"type": "text", "text": "ok"},
        {"type": "tool_call", "name": "f", "args": {}, "id": "c1"},
        {"type": "tool_call", "id": "c2", "name": "g", "args": {"q": 1}},
    ]
    # an existing reasoning block is not duplicated
    m2 = AIMessage([{"type": "reasoning", "reasoning": "r"}], additional_kwargs={"reasoning_content": "x"})
    assert m2.content_blocks == [{"type": "reasoning", "reasoning": "r"}]
    # v1 content is returned as is
    v1 = [{"type": "text", "text": "t", "id": "lc_1"}, {"type": "mystery"}]
    assert AIMessage(v1, response_metadata={"output_version": "v1"}).content_blocks == v1


def test_chunk_content_blocks_mid_stream_shows_tool_call_chunks():
    c = AIMessageChunk("", tool_call_chunks=[tool_call_chunk("f", '{"a"', "c1", 0)])
    assert c.content_blocks == [
        {"type": "tool_call_chunk", "id": "c1", "name": "f", "args": '{"a"', "index": 0}
    ]
    last = AIMessageChunk(
        "", tool_call_chunks=[tool_call_chunk("f", '{"a": 1}', "c1", 0)], chunk_position="last"
    )
    assert last.content_blocks == [{"type": "tool_call", "id": "c1", "name": "f", "args": {"a": 1}}]


def test_block_translator_registry():
    calls = []

    def translate(msg):
        calls.append(msg)
        return [
            {"type": "reasoning", "reasoning": b["thinking"]}
            if b.get("type") == "thinking"
            else {"type": "text", "text": b["text"]}
            for b in msg.content
        ]

    def refuse(msg):
        raise NotImplementedError

    register_block_translator("test_provider_x", translate)
    register_block_translator("test_provider_y", refuse)
    assert get_block_translator("test_provider_x") is translate
    assert get_block_translator("nobody") is None
    content = [{"type": "thinking", "thinking": "hmm"}, {"type": "text", "text": "hi"}]
    m = AIMessage(content, response_metadata={"model_provider": "test_provider_x"})
    assert m.content_blocks == [{"type": "reasoning", "reasoning": "hmm"}, {"type": "text", "text": "hi"}]
    assert calls == [m]
    chunk = AIMessageChunk(content, response_metadata={"model_provider": "test_provider_x"})
    assert chunk.content_blocks[0] == {"type": "reasoning", "reasoning": "hmm"}
    # fallback to generic conversion: unknown provider, or translator raising NotImplementedError
    for provider in ("test_provider_y", "unregistered"):
        m = AIMessage(content, response_metadata={"model_provider": provider})
        assert m.content_blocks[0] == {"type": "non_standard", "value": content[0]}


# --- convert_to_messages -------------------------------------------------------------------------


def test_convert_str_and_messages():
    [m] = convert_to_messages("hello")
    assert isinstance(m, HumanMessage) and m.content == "hello"
    sys = SystemMessage("s")
    out = convert_to_messages([sys, "hi"])
    assert out[0] is sys and isinstance(out[1], HumanMessage) and out[1].content == "hi"
    assert convert_to_messages([]) == []


@pytest.mark.parametrize(
    ("role", "cls"),
    [
        ("human", HumanMessage),
        ("user", HumanMessage),
        ("ai", AIMessage),
        ("assistant", AIMessage),
        ("system", SystemMessage),
        ("developer", SystemMessage),
    ],
)
def test_convert_role_tuples(role, cls):
    [m] = convert_to_messages([(role, "text")])
    assert type(m) is cls and m.content == "text"
    [m2] = convert_to_messages([[role, "text"]])
    assert type(m2) is cls
    if role == "developer":
        assert m.additional_kwargs == {"__openai_role__": "developer"}


def test_convert_sequence_errors():
    with pytest.raises(
        NotImplementedError, match=r"^Message as a sequence must be \(role string, template\)$"
    ):
        convert_to_messages([("user", "a", "b")])
    with pytest.raises(
        ValueError,
        match=r"^Unexpected message type: 'robot'\. Use one of 'human', 'user', 'ai', "
        r"'assistant', 'function', 'tool', 'system', or 'developer'\.$",
    ):
        convert_to_messages([("robot", "x")])
    with pytest.raises(NotImplementedError, match="Unsupported message type"):
        convert_to_messages([42])
    with pytest.raises(
        ValueError,
        match=r"^Invalid input type <class 'int'>\. Must be a PromptValue, str, or "
        r"list of BaseMessages\.$",
    ):
        convert_to_messages(5)
    with pytest.raises(ValueError, match="Invalid input type <class 'dict'>"):
        convert_to_messages({"role": "user", "content": "x"})


def test_convert_dicts():
    out = convert_to_messages(
        [
            {"role": "system", "content": "be nice"},
            {"role": "developer", "content": "dev"},
            {"type": "human", "content": "hi", "name": "bob", "id": 3},
            {"role": "user", "content": None},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "get", "arguments": '{"city": "Paris"}'},
                    },
                    {"name": "lc", "args": {"x": 1}, "id": "c2"},
                ],
                "response_metadata": {"model_name": "m"},
                "refusal": None,
                "custom": 1,
            },
            {
                "role": "tool",
                "content": "sunny",
                "tool_call_id": "c1",
                "artifact": {"raw": 1},
                "status": "error",
            },
        ]
    )
    assert [type(m) for m in out] == [
        SystemMessage,
        SystemMessage,
        HumanMessage,
        HumanMessage,
        AIMessage,
        ToolMessage,
    ]
    assert out[1].additional_kwargs == {"__openai_role__": "developer"}
    assert (out[2].content, out[2].name, out[2].id) == ("hi", "bob", "3")
    assert out[3].content == ""
    ai = out[4]
    assert ai.content == ""
    assert ai.tool_calls == [
        {"name": "get", "args": {"city": "Paris"}, "id": "c1", "type": "tool_call"},
        {"name": "lc", "args": {"x": 1}, "id": "c2", "type": "tool_call"},
    ]
    assert ai.response_metadata == {"model_name": "m"}
    assert ai.additional_kwargs == {"refusal": None, "custom": 1}
    tm = out[5]
    assert (tm.tool_call_id, tm.artifact, tm.status, tm.additional_kwargs) == ("c1", {"raw": 1}, "error", {})


def test_convert_dict_errors():
    for bad in ({"content": "x"}, {"role": "user"}):
        with pytest.raises(ValueError, match=r"^Message dict must contain 'role' and 'content' keys, got "):
            convert_to_messages([bad])
    with pytest.raises(ValueError, match="Unexpected message type: 'wizard'"):
        convert_to_messages([{"role": "wizard", "content": "x"}])


def test_convert_round_trips_model_dump_and_lc_envelope():
    ai = AIMessage(
        "x",
        id="1",
        tool_calls=[tool_call("f", {}, "c")],
        usage_metadata={"input_tokens": 1, "output_tokens": 1, "total_tokens": 2},
    )
    [back] = convert_to_messages([ai.model_dump()])
    assert back == ai
    env = {
        "lc": 1,
        "type": "constructor",
        "id": ["langchain", "schema", "messages", "HumanMessage"],
        "kwargs": {"content": "hey", "id": "h1"},
    }
    [h] = convert_to_messages([env])
    assert isinstance(h, HumanMessage) and (h.content, h.id) == ("hey", "h1")


def test_convert_accepts_prompt_value_like():
    class PV:
        def to_messages(self):
            return [HumanMessage("p")]

    assert convert_to_messages(PV())[0].content == "p"


# --- message_to_dict ---------------------------------------------------------------------------


def test_message_to_dict():
    assert message_to_dict(SystemMessage("s")) == {"role": "system", "content": "s"}
    assert message_to_dict(convert_to_messages([("developer", "d")])[0])["role"] == "system"
    assert message_to_dict(HumanMessage(["a", {"type": "image", "url": "u"}])) == {
        "role": "user",
        "content": ["a", {"type": "image", "url": "u"}],
    }
    ai = AIMessage(
        "answer",
        tool_calls=[tool_call("f", {"x": 1}, "c1")],
        additional_kwargs={"reasoning_content": "because"},
    )
    assert message_to_dict(ai) == {
        "role": "assistant",
        "content": "answer",
        "tool_calls": [{"name": "f", "args": {"x": 1}, "id": "c1"}],
        "reasoning": "because",
    }
    assert message_to_dict(AIMessage("plain")) == {"role": "assistant", "content": "plain"}
    multi = AIMessage(
        [
            {"type": "reasoning", "reasoning": "a"},
            {"type": "reasoning", "reasoning": "b"},
            {"type": "text", "text": "t"},
        ]
    )
    assert message_to_dict(multi)["reasoning"] == "ab"
    assert (
        message_to_dict(AIMessage([{"type": "reasoning", "extras": {"signature": "s"}}]))["reasoning"] is None
    )
    assert message_to_dict(AIMessageChunk("c"))["role"] == "assistant"
    tm = ToolMessage("out", tool_call_id="c1", name="f", status="error")
    assert message_to_dict(tm) == {
        "role": "tool",
        "content": "out",
        "tool_call_id": "c1",
        "name": "f",
        "status": "error",
    }
    weird = HumanMessage([{"type": "x", "when": uuid.UUID(int=1)}])
    record = message_to_dict(weird)
    json.dumps(record)
    assert record["content"][0]["when"] == str(uuid.UUID(int=1))


def test_base_message_is_exported_base():
    assert all(issubclass(c, BaseMessage) for c in (SystemMessage, HumanMessage, AIMessage, ToolMessage))
