"""The `anthropic` provider over real loopback HTTP (Messages API wire format, ProviderEmulator)."""

from __future__ import annotations

import json

import pytest
from _helpers import PNG, Answer, comparable, get_weather, sum_chunks

from harness import init_chat_model
from harness.errors import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    UnsupportedFeatureError,
)
from harness.messages.core import AIMessage, AIMessageChunk, HumanMessage, SystemMessage, ToolMessage
from harness.providers import adapter_for_url
from harness.providers.anthropic.adapter import AnthropicAdapter
from harness.testing import Fault, Reply, ToolCallSpec

MODEL = "anthropic:claude-sonnet-4-5"
THINKING = {"type": "enabled", "budget_tokens": 2048}


@pytest.fixture
def model(emulator):
    return init_chat_model(
        MODEL, base_url=emulator.base_url("anthropic"), api_key="sk-ant-test", max_retries=2
    )


def _wire(emulator, i=-1):
    return emulator.requests_for("anthropic")[i]


# --- invoke and the documented wire format -------------------------------------------------------------


def test_invoke_sends_documented_request_and_parses_reply(emulator, model):
    emulator.queue(Reply(text="Paris.", usage={"input_tokens": 20, "output_tokens": 3}))
    msg = model.invoke(
        [SystemMessage("Be brief."), HumanMessage("Capital of France?")],
        temperature=0.2,
        stop=["END"],
        top_k=5,
    )
    assert isinstance(msg, AIMessage)
    assert msg.content == "Paris."
    assert msg.id.startswith("msg_")
    assert msg.usage_metadata == {
        "input_tokens": 20,
        "output_tokens": 3,
        "total_tokens": 23,
        "input_token_details": {"cache_read": 0, "cache_creation": 0},
    }
    meta = msg.response_metadata
    assert meta["model_provider"] == "anthropic"
    assert meta["model_name"] == meta["model"] == "claude-sonnet-4-5"
    assert meta["stop_reason"] == "end_turn" and meta["finish_reason"] == "stop"
    assert meta["usage"]["input_tokens"] == 20
    wire = _wire(emulator)
    assert wire.method == "POST" and wire.path == "/v1/messages"
    assert wire.headers["x-api-key"] == "sk-ant-test"
    assert wire.headers["anthropic-version"] == "2023-06-01"
    assert wire.headers["content-type"] == "application/json"
    assert "authorization" not in wire.headers
    body = wire.body
    assert body["system"] == "Be brief."
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Capital of France?"}]}]
    assert body["max_tokens"] == 4096
    assert body["stop_sequences"] == ["END"] and "stop" not in body
    assert body["temperature"] == 0.2 and body["top_k"] == 5
    assert "stream" not in body


def test_max_tokens_given_or_defaulted_above_a_thinking_budget(emulator, model):
    model.invoke("hi", max_tokens=50)
    assert _wire(emulator).body["max_tokens"] == 50
    model.invoke("hi", thinking={"type": "enabled", "budget_tokens": 8000})
    assert _wire(emulator).body["max_tokens"] == 8000 + 4096


def test_system_messages_with_cache_control_stay_blocks(emulator, model):
    system = SystemMessage([{"type": "text", "text": "Long policy.", "cache_control": {"type": "ephemeral"}}])
    model.invoke([system, HumanMessage("hi")])
    assert _wire(emulator).body["system"] == [
        {"type": "text", "text": "Long policy.", "cache_control": {"type": "ephemeral"}}
    ]


def test_betas_default_headers_and_model_kwargs_reach_the_wire(emulator):
    m = init_chat_model(
        MODEL,
        base_url=emulator.base_url("anthropic"),
        api_key="k",
        betas=["files-api-2025-04-14", "context-1m-2025-08-07"],
        default_headers={"x-team": "evals"},
        model_kwargs={"metadata": {"user_id": "u1"}},
    )
    m.invoke("hi")
    wire = _wire(emulator)
    assert wire.headers["anthropic-beta"] == "files-api-2025-04-14,context-1m-2025-08-07"
    assert wire.headers["x-team"] == "evals"
    assert wire.body["metadata"] == {"user_id": "u1"}


def test_api_key_and_base_url_from_environment(emulator, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-env")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", emulator.base_url("anthropic"))
    assert init_chat_model(MODEL).invoke("hi").text == "Emulated reply to: hi"
    assert _wire(emulator).headers["x-api-key"] == "sk-ant-env"


# --- streaming -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        Reply(text="The quick brown fox jumps over the lazy dog.", chunk_chars=5),
        Reply(
            text="Let me check both.",
            tool_calls=[
                ToolCallSpec("get_weather", {"city": "Paris"}),
                ToolCallSpec("get_weather", {"city": "Tokyo"}),
            ],
        ),
        Reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Oslo"})]),
        Reply(reasoning="The user wants a number.", text="42", chunk_chars=3),
        Reply(
            reasoning="Need the weather.",
            text="Checking.",
            tool_calls=[ToolCallSpec("get_weather", {"city": "Rome"})],
            usage={"input_tokens": 900, "output_tokens": 40, "cache_read": 500, "cache_creation": 300},
        ),
        Reply(refusal="I can't help with that."),
    ],
    ids=["text", "text+parallel-tools", "tool-only", "thinking+text", "thinking+text+tool+cache", "refusal"],
)
def test_summed_stream_equals_invoke(emulator, model, reply):
    emulator.queue(reply, reply)
    invoked = model.invoke("question")
    chunks = list(model.stream("question"))
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    assert chunks[-1].chunk_position == "last"
    total = sum_chunks(chunks)
    # as in LangChain, streamed dict blocks keep their `index` and invoked ones have none: what a
    # user reads through .content_blocks, .text and the tool calls is the same
    assert total.content_blocks == invoked.content_blocks and total.text == invoked.text
    assert comparable(total, "id")[1:] == comparable(invoked, "id")[1:]
    assert total.id.startswith("msg_")
    assert _wire(emulator).body["stream"] is True
    # string metadata appears on one chunk only, so summation cannot concatenate it
    for key in ("model_name", "stop_reason", "finish_reason"):
        assert sum(key in c.response_metadata for c in chunks) == 1, key
    assert [c for c in chunks if "model_name" in c.response_metadata][0] is chunks[0]
    assert [c for c in chunks if c.usage_metadata] == [
        c for c in chunks if "stop_reason" in c.response_metadata
    ]


def test_streamed_blocks_carry_index_and_tool_chunks_merge(emulator, model):
    emulator.queue(
        Reply(
            reasoning="thinking hard",
            text="Checking.",
            chunk_chars=4,
            tool_calls=[ToolCallSpec("get_weather", {"city": "Lima"}, id="toolu_1")],
        )
    )
    chunks = list(model.stream("weather?"))
    blocks = [b for c in chunks if isinstance(c.content, list) for b in c.content]
    assert blocks and all(isinstance(b.get("index"), int) for b in blocks)
    tool_chunks = [t for c in chunks for t in c.tool_call_chunks]
    assert tool_chunks[0]["id"] == "toolu_1" and tool_chunks[0]["name"] == "get_weather"
    assert all(t["index"] == 2 for t in tool_chunks)
    assert all(t["id"] is None for t in tool_chunks[1:])
    total = sum_chunks(chunks)
    assert total.tool_calls == [
        {"name": "get_weather", "args": {"city": "Lima"}, "id": "toolu_1", "type": "tool_call"}
    ]
    assert total.text == "Checking."


async def test_async_invoke_and_astream(emulator, model):
    emulator.queue(Reply(text="async hello"), Reply(text="streamed async"))
    assert (await model.ainvoke("hi")).content == "async hello"
    chunks = [c async for c in model.astream("hi")]
    assert sum_chunks(chunks).content == "streamed async"


def test_stream_cut_or_malformed_raises(emulator, model):
    emulator.queue(Fault.drop_mid_stream(after_chunks=2))
    with pytest.raises(ModelError):
        list(model.stream("hi"))
    emulator.queue(Fault.malformed())
    with pytest.raises(ModelAPIError, match="malformed stream event"):
        list(model.stream("hi"))


# --- tools -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "parallel", "wire"),
    [
        ("auto", None, {"type": "auto"}),
        ("any", None, {"type": "any"}),
        (True, None, {"type": "any"}),
        ("get_weather", None, {"type": "tool", "name": "get_weather"}),
        ("none", None, {"type": "none"}),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            None,
            {"type": "tool", "name": "get_weather"},
        ),
        (
            {"type": "tool", "name": "get_weather"},
            False,
            {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True},
        ),
        ("auto", False, {"type": "auto", "disable_parallel_tool_use": True}),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
        (None, None, None),
    ],
)
def test_tool_choice_encodings(emulator, model, choice, parallel, wire):
    model.bind_tools([get_weather], tool_choice=choice, parallel_tool_calls=parallel).invoke("weather?")
    body = _wire(emulator).body
    assert body["tools"] == [
        {
            "name": "get_weather",
            "description": "Current weather for a city.",
            "input_schema": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        }
    ]
    assert body.get("tool_choice") == wire


def test_tool_loop_with_parallel_calls_sends_tool_results_back(emulator, model):
    emulator.queue(
        Reply(
            text="Checking both.",
            tool_calls=[
                ToolCallSpec("get_weather", {"city": "Paris"}, id="toolu_A"),
                ToolCallSpec("get_weather", {"city": "Tokyo"}, id="toolu_B"),
            ],
        ),
        Reply(text="Sunny in Paris; Tokyo failed."),
    )
    bound = model.bind_tools([get_weather])
    history: list = [SystemMessage("Use tools."), HumanMessage("Weather in Paris and Tokyo?")]
    ai = bound.invoke(history)
    assert [c["id"] for c in ai.tool_calls] == ["toolu_A", "toolu_B"]
    assert ai.response_metadata["finish_reason"] == "tool_calls"
    history.append(ai)
    history.append(ToolMessage(get_weather.invoke(ai.tool_calls[0]["args"]), tool_call_id="toolu_A"))
    history.append(ToolMessage("service down", tool_call_id="toolu_B", status="error"))
    final = bound.invoke(history)
    assert final.content == "Sunny in Paris; Tokyo failed."
    body = _wire(emulator).body
    assert body["system"] == "Use tools."
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][1]["content"] == [
        {"type": "text", "text": "Checking both."},
        {"type": "tool_use", "id": "toolu_A", "name": "get_weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "toolu_B", "name": "get_weather", "input": {"city": "Tokyo"}},
    ]
    assert body["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_A", "content": "sunny in Paris"},
        {"type": "tool_result", "tool_use_id": "toolu_B", "content": "service down", "is_error": True},
    ]


def test_tool_results_then_user_text_merge_into_one_user_turn(emulator, model):
    ai = AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": "Oslo"}, "id": "toolu_X"}])
    model.invoke(
        [HumanMessage("hi"), ai, ToolMessage("cold", tool_call_id="toolu_X"), HumanMessage("and now?")]
    )
    msgs = _wire(emulator).body["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "user"]
    assert msgs[2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_X", "content": "cold"},
        {"type": "text", "text": "and now?"},
    ]


# --- structured output -------------------------------------------------------------------------------------


def test_structured_output_defaults_to_forced_tool_pydantic(emulator, model):
    emulator.queue(Reply(tool_calls=[ToolCallSpec("Answer", {"answer": "4", "justification": "2+2"})]))
    out = model.with_structured_output(Answer).invoke("2+2?")
    assert out == Answer(answer="4", justification="2+2")
    body = _wire(emulator).body
    assert [t["name"] for t in body["tools"]] == ["Answer"]
    assert body["tools"][0]["description"] == "An answer with a justification."
    assert body["tool_choice"] == {"type": "tool", "name": "Answer", "disable_parallel_tool_use": True}


def test_structured_output_function_calling_dict_schema_include_raw(emulator, model):
    schema = {
        "title": "Person",
        "description": "A person.",
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name"],
    }
    out = model.with_structured_output(schema, method="function_calling", include_raw=True).invoke("who?")
    assert out["parsing_error"] is None
    assert out["parsed"] == {"name": "example name", "age": 1}
    assert isinstance(out["raw"], AIMessage) and out["raw"].tool_calls[0]["name"] == "Person"


def test_structured_output_json_schema_uses_output_config(emulator, model):
    out = model.with_structured_output(Answer, method="json_schema").invoke("2+2?")
    assert out == Answer(answer="example answer", justification="example justification")
    body = _wire(emulator).body
    fmt = body["output_config"]["format"]
    assert fmt["type"] == "json_schema"
    assert fmt["schema"]["additionalProperties"] is False
    assert fmt["schema"]["required"] == ["answer", "justification"]
    assert "title" not in fmt["schema"] and "tools" not in body


def test_structured_output_json_schema_dict_include_raw_and_constraints(emulator, model):
    schema = {
        "title": "Score",
        "type": "object",
        "properties": {"score": {"type": "integer", "minimum": 0, "maximum": 10, "description": "0-10"}},
        "required": ["score"],
    }
    emulator.queue(Reply(text='{"score": 7}'), Reply(text="not json"))
    runnable = model.with_structured_output(schema, method="json_schema", include_raw=True)
    out = runnable.invoke("rate")
    assert out["parsed"] == {"score": 7} and out["parsing_error"] is None
    sent = _wire(emulator).body["output_config"]["format"]["schema"]["properties"]["score"]
    assert "minimum" not in sent and sent["description"] == "0-10 {minimum: 0, maximum: 10}"
    bad = runnable.invoke("rate")
    assert bad["parsed"] is None and bad["parsing_error"] is not None


def test_json_mode_is_not_offered(model):
    with pytest.raises(UnsupportedFeatureError):
        model.with_structured_output(Answer, method="json_mode")


# --- usage, caching, reasoning, images -----------------------------------------------------------------


def test_usage_counts_cache_read_and_creation_as_input(emulator, model):
    reply = Reply(
        text="cached",
        usage={"input_tokens": 1000, "output_tokens": 10, "cache_read": 600, "cache_creation": 300},
    )
    emulator.queue(reply, reply)
    for msg in (model.invoke("q"), sum_chunks(list(model.stream("q")))):
        assert msg.usage_metadata == {
            "input_tokens": 1000,
            "output_tokens": 10,
            "total_tokens": 1010,
            "input_token_details": {
                "cache_read": 600,
                "cache_creation": 300,
                "ephemeral_5m_input_tokens": 300,
            },
        }
        raw = msg.response_metadata["usage"]
        assert (raw["input_tokens"], raw["cache_read_input_tokens"], raw["cache_creation_input_tokens"]) == (
            100,
            600,
            300,
        )


def test_thinking_blocks_are_kept_and_signature_sent_back(emulator, model):
    emulator.queue(Reply(reasoning="Two plus two is four.", text="4"), Reply(text="8"))
    thinker = model.bind(thinking=THINKING)
    first = thinker.invoke("2+2?")
    assert _wire(emulator).body["thinking"] == THINKING
    signature = first.content[0]["signature"]
    assert first.content == [
        {"type": "thinking", "thinking": "Two plus two is four.", "signature": signature},
        {"type": "text", "text": "4"},
    ]
    assert first.text == "4"
    assert first.content_blocks == [
        {"type": "reasoning", "reasoning": "Two plus two is four.", "extras": {"signature": signature}},
        {"type": "text", "text": "4"},
    ]
    assert first.usage_metadata["output_token_details"]["reasoning"] >= 1
    thinker.invoke([HumanMessage("2+2?"), first, HumanMessage("times two?")])
    assert _wire(emulator).body["messages"][1] == {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "Two plus two is four.", "signature": signature},
            {"type": "text", "text": "4"},
        ],
    }


def test_streamed_thinking_with_tool_call_round_trips(emulator, model):
    emulator.queue(
        Reply(
            reasoning="Need weather.",
            tool_calls=[ToolCallSpec("get_weather", {"city": "Rome"}, id="toolu_R")],
        ),
        Reply(text="Sunny."),
    )
    bound = model.bind_tools([get_weather]).bind(thinking=THINKING)
    ai = sum_chunks(list(bound.stream("weather in Rome?")))
    assert ai.content_blocks[0]["type"] == "reasoning" and ai.content_blocks[1]["type"] == "tool_call"
    bound.invoke([HumanMessage("weather in Rome?"), ai, ToolMessage("sunny", tool_call_id="toolu_R")])
    sent = _wire(emulator).body["messages"][1]["content"]
    assert sent[0]["type"] == "thinking" and sent[0]["signature"].startswith("EmuSig")
    assert sent[1] == {"type": "tool_use", "id": "toolu_R", "name": "get_weather", "input": {"city": "Rome"}}


def test_forced_tool_choice_with_thinking_falls_back_to_auto(emulator, model):
    with pytest.warns(UserWarning, match="thinking"):
        model.bind_tools([get_weather], tool_choice="get_weather").invoke("hi", thinking=THINKING)
    assert _wire(emulator).body["tool_choice"] == {"type": "auto"}


def test_image_input_base64_and_url(emulator, model):
    model.invoke(
        [
            HumanMessage(
                [
                    {"type": "text", "text": "Compare these."},
                    {"type": "image", "base64": PNG, "mime_type": "image/png"},
                    {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{PNG}"}},
                    {"type": "image", "url": "https://example.com/cat.png"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/dog.webp"}},
                ]
            )
        ]
    )
    content = _wire(emulator).body["messages"][0]["content"]
    assert content == [
        {"type": "text", "text": "Compare these."},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/dog.webp"}},
    ]
    assert _wire(emulator).parsed.messages[0]["images"] == content[1:]


def test_refusal_sets_finish_reason_and_raises_in_structured_output(emulator, model):
    emulator.queue(Reply(refusal="I can't help with that."), Reply(refusal="No."))
    msg = model.invoke("bad")
    assert msg.response_metadata["stop_reason"] == "refusal"
    assert msg.response_metadata["finish_reason"] == "content_filter"
    assert msg.additional_kwargs["refusal"] == "I can't help with that."
    assert msg.content_blocks[-1] == {"type": "refusal", "refusal": "I can't help with that."}
    out = model.with_structured_output(Answer, method="json_schema", include_raw=True).invoke("bad")
    assert out["parsed"] is None and "No." in str(out["parsing_error"])


# --- errors and retries -------------------------------------------------------------------------------------


def test_429_retried_honouring_retry_after(emulator, model):
    emulator.queue(Fault.rate_limit(retry_after=0.05), Reply(text="ok"))
    assert model.invoke("hi").content == "ok"
    assert len(emulator.requests_for("anthropic")) == 2


def test_429_error_shape_and_retry_after(emulator):
    m = init_chat_model(MODEL, base_url=emulator.base_url("anthropic"), api_key="k", max_retries=0)
    emulator.queue(Fault.rate_limit(retry_after=7, message="Number of requests has exceeded your rate limit"))
    with pytest.raises(ModelRateLimitError) as info:
        m.invoke("hi")
    err = info.value
    assert err.status_code == 429 and err.is_retryable and err.retry_after == 7
    assert err.body["error"] == {
        "type": "rate_limit_error",
        "message": "Number of requests has exceeded your rate limit",
    }
    assert err.request_id.startswith("req_")


OVERLOADED = Fault("status", 529, "Overloaded", retry_after=0.01)


def test_529_and_500_are_retried(emulator, model):
    emulator.queue(
        OVERLOADED, Fault("status", 500, "Internal server error", retry_after=0.01), Reply(text="finally")
    )
    assert model.invoke("hi").content == "finally"
    assert len(emulator.requests_for("anthropic")) == 3


def test_529_gives_up_after_max_retries(emulator, model):
    emulator.queue(*[OVERLOADED] * 3)
    with pytest.raises(ModelAPIError) as info:
        model.invoke("hi")
    assert info.value.status_code == 529 and info.value.body["error"]["type"] == "overloaded_error"
    assert len(emulator.requests_for("anthropic")) == 3


@pytest.mark.parametrize(
    ("status", "message", "cls"),
    [
        (400, "messages: text content blocks must be non-empty", ModelInvalidRequestError),
        (400, "prompt is too long: 210000 tokens > 200000 maximum", ContextOverflowError),
        (401, "invalid x-api-key", ModelAuthenticationError),
        (
            403,
            "Your API key does not have permission to use the specified resource.",
            ModelPermissionDeniedError,
        ),
        (404, "model: claude-nope", ModelNotFoundError),
        (413, "Request exceeds the maximum allowed number of bytes.", ModelInvalidRequestError),
    ],
)
def test_client_errors_are_not_retried(emulator, model, status, message, cls):
    emulator.queue(Fault.http(status, message))
    with pytest.raises(cls) as info:
        model.invoke("hi")
    assert type(info.value) is cls and not info.value.is_retryable
    assert message in str(info.value)
    assert len(emulator.requests_for("anthropic")) == 1


def test_error_event_mid_stream_raises_the_matching_error():
    body = (
        b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","model":"m",'
        b'"content":[],"usage":{"input_tokens":3,"output_tokens":1}}}\n\n'
        b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'
    )
    with pytest.raises(ModelAPIError, match="Overloaded") as info:
        AnthropicAdapter.for_recorded().parse_stream_body(body)
    assert info.value.status_code == 529 and info.value.is_retryable


def test_emulator_rejects_requests_missing_required_fields(emulator):
    import httpx

    r = httpx.post(
        emulator.base_url("anthropic") + "/v1/messages",
        json={"model": "m", "messages": []},
        headers={"anthropic-version": "2023-06-01"},
    )
    assert r.status_code == 400
    assert r.json()["error"] == {
        "type": "invalid_request_error",
        "message": "max_tokens: Field required",
    }


# --- recognising recorded traffic ------------------------------------------------------------------------


def test_recognition_hooks():
    assert adapter_for_url("https://api.anthropic.com/v1/messages?beta=true") is AnthropicAdapter
    assert adapter_for_url("https://api.anthropic.com/v1/messages") is AnthropicAdapter
    assert not AnthropicAdapter.recognizes("https://api.anthropic.com/v1/messages/count_tokens")
    a = AnthropicAdapter.for_recorded()
    body = {"model": "claude-haiku-4-5", "stream": True, "max_tokens": 5, "messages": []}
    assert a.model_from_request("", body) == "claude-haiku-4-5"
    assert a.is_stream_request("", json.dumps(body).encode()) is True
    assert a.is_stream_request("", {"model": "m"}) is False


def test_parse_response_handles_redacted_thinking_and_server_tools():
    a = AnthropicAdapter.for_recorded()
    msg = a.parse_response(
        {
            "id": "msg_1",
            "model": "claude-x",
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "content": [
                {"type": "redacted_thinking", "data": "opaque"},
                {"type": "server_tool_use", "id": "srv_1", "name": "web_search", "input": {"query": "q"}},
                {"type": "web_search_tool_result", "tool_use_id": "srv_1", "content": []},
                {"type": "text", "text": "Answer.", "citations": None},
            ],
            "usage": {"input_tokens": 5, "output_tokens": 2},
        }
    )
    assert msg.text == "Answer." and msg.tool_calls == []
    assert [b["type"] for b in msg.content_blocks] == [
        "non_standard",
        "server_tool_call",
        "server_tool_result",
        "text",
    ]
    assert msg.usage_metadata == {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7}
