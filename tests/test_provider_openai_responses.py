"""OpenAI Responses API adapter, over real loopback HTTP through the provider emulator."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import pytest
from _helpers import PNG, stream_message
from pydantic import BaseModel

from harness.errors import (
    ModelAPIError,
    ModelConnectionError,
    ModelInvalidRequestError,
    ModelRateLimitError,
    ModelRefusalError,
)
from harness.messages.core import AIMessage, HumanMessage, SystemMessage, ToolMessage
from harness.models.init import init_chat_model
from harness.providers import adapter_for_url
from harness.testing import Fault, Reply, ToolCallSpec

SEARCH = {
    "type": "web_search",
    "query": "capital of France",
    "results": [{"url": "https://example.org/paris", "title": "Paris"}],
}


@pytest.fixture
def model(emu):
    emu.clear()
    return init_chat_model(
        "openai_responses:gpt-4.1",
        base_url=emu.base_url("openai_responses"),
        api_key="sk-test",
        max_retries=2,
    )


def _rich_reply(**kw):
    return Reply(
        text="Paris is the capital of France.",
        reasoning="The user asks about France.",
        server_tools=[SEARCH],
        usage={"input_tokens": 40, "output_tokens": 12, "cache_read": 32, "reasoning": 7},
        **kw,
    )


def test_both_model_strings_reach_the_responses_endpoint(emu):
    emu.clear()
    for m in (
        init_chat_model(
            "openai:gpt-4.1",
            use_responses_api=True,
            base_url=emu.base_url("openai_responses"),
            api_key="sk-test",
        ),
        init_chat_model(
            "openai_responses:gpt-4.1", base_url=emu.base_url("openai_responses"), api_key="sk-test"
        ),
    ):
        assert m.model_provider == "openai_responses"
        assert m.invoke("hi").text == "Emulated reply to: hi"
    assert [r.path for r in emu.requests] == ["/v1/responses", "/v1/responses"]
    assert all(r.headers["authorization"] == "Bearer sk-test" for r in emu.requests)


def test_invoke_wire_request_and_message(emu, model):
    emu.queue(_rich_reply())
    msg = model.invoke(
        [SystemMessage("Be brief."), HumanMessage("Capital of France?")],
        max_tokens=50,
        temperature=0,
        stop=["\n"],
        reasoning_effort="low",
    )
    body = emu.requests[-1].body
    assert body["input"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Capital of France?"},
    ]
    assert body["max_output_tokens"] == 50 and body["temperature"] == 0
    assert body["reasoning"] == {"effort": "low"}
    assert "stop" not in body and "max_tokens" not in body and "stream" not in body
    assert msg.text == "Paris is the capital of France."
    assert msg.id.startswith("resp_")
    meta = msg.response_metadata
    assert meta["finish_reason"] == "stop" and meta["status"] == "completed"
    assert meta["model_name"] == "gpt-4.1" and meta["model_provider"] == "openai"  # as LangChain says
    text = next(b for b in msg.content if b["type"] == "text")
    assert text["id"].startswith("msg_")
    assert text["annotations"] == [
        {
            "type": "citation",
            "url": "https://example.org/paris",
            "title": "Paris",
            "start_index": 0,
            "end_index": len(msg.text),
        }
    ]


def test_usage_details_cached_and_reasoning(emu, model):
    emu.queue(_rich_reply())
    usage = model.invoke("q").usage_metadata
    assert usage == {
        "input_tokens": 40,
        "output_tokens": 12,
        "total_tokens": 52,
        "input_token_details": {"cache_read": 32},
        "output_token_details": {"reasoning": 7},
    }


def test_reasoning_blocks_and_server_tool_blocks(emu, model):
    emu.queue(_rich_reply())
    msg = model.invoke(
        "q", reasoning={"effort": "medium", "summary": "auto"}, include=["reasoning.encrypted_content"]
    )
    assert emu.requests[-1].body["reasoning"] == {"effort": "medium", "summary": "auto"}
    blocks = msg.content_blocks
    assert [b["type"] for b in blocks] == ["reasoning", "server_tool_call", "server_tool_result", "text"]
    reasoning, call, result = blocks[0], blocks[1], blocks[2]
    assert reasoning["reasoning"] == "The user asks about France."
    assert reasoning["id"].startswith("rs_") and reasoning["extras"]["encrypted_content"].startswith("enc_")
    assert call["name"] == "web_search" and call["args"] == {"type": "search", "query": "capital of France"}
    assert result["tool_call_id"] == call["id"] and result["status"] == "success"
    assert result["output"] == {"sources": [{"type": "url", "url": "https://example.org/paris"}]}
    assert msg.text == "Paris is the capital of France."  # .text ignores reasoning and tool blocks


@pytest.mark.parametrize(
    "reply",
    [
        _rich_reply(),
        Reply(
            text="I'll check both.",
            reasoning="Two cities.",
            tool_calls=[
                ToolCallSpec("weather", {"city": "Paris"}),
                ToolCallSpec("weather", {"city": "Rome"}),
            ],
        ),
        Reply(text="cut off", finish_reason="length", chunk_chars=2),
        Reply(refusal="I can't help with that."),
    ],
    ids=["search", "parallel-calls", "length", "refusal"],
)
def test_stream_sums_to_invoke(emu, model, reply):
    kw = {"reasoning": {"effort": "low", "summary": "auto"}, "include": ["reasoning.encrypted_content"]}
    emu.queue(reply, reply)
    invoked = model.invoke("q", **kw)
    chunks = list(model.stream("q", **kw))
    streamed = stream_message(chunks)
    assert emu.requests[-1].body["stream"] is True
    assert len(chunks) > 3
    assert streamed.content == invoked.content
    assert streamed.tool_calls == invoked.tool_calls
    assert streamed.usage_metadata == invoked.usage_metadata
    assert streamed.additional_kwargs == invoked.additional_kwargs
    assert streamed.id == invoked.id
    drop = {"timing", "created_at"}
    assert {k: v for k, v in streamed.response_metadata.items() if k not in drop} == {
        k: v for k, v in invoked.response_metadata.items() if k not in drop
    }


def test_finish_reasons(emu, model):
    emu.queue(
        Reply(text="cut", finish_reason="length"),
        Reply(tool_calls=[ToolCallSpec("f", {})]),
        Reply(text="x", finish_reason="content_filter"),
    )
    assert model.invoke("a").response_metadata["finish_reason"] == "length"
    assert model.invoke("b").response_metadata["finish_reason"] == "tool_calls"
    assert model.invoke("c").response_metadata["finish_reason"] == "content_filter"


def test_astream_sums_to_ainvoke(emu, model):
    reply = Reply(text="async answer", tool_calls=[ToolCallSpec("f", {"x": 1})])
    emu.queue(reply, reply)

    async def run():
        invoked = await model.ainvoke("q")
        chunks = [c async for c in model.astream("q")]
        return invoked, stream_message(chunks)

    invoked, streamed = asyncio.run(run())
    assert streamed.content == invoked.content and streamed.tool_calls == invoked.tool_calls
    assert streamed.usage_metadata == invoked.usage_metadata


def weather(city: str) -> str:
    """Current weather in a city."""
    return f"sunny in {city}"


def test_tool_loop_with_parallel_calls(emu, model):
    bound = model.bind_tools([weather], tool_choice="any", parallel_tool_calls=True)
    emu.queue(
        Reply(
            reasoning="Need both cities.",
            tool_calls=[
                ToolCallSpec("weather", {"city": "Paris"}, "call_1"),
                ToolCallSpec("weather", {"city": "Rome"}, "call_2"),
            ],
        ),
        Reply(text="Both sunny."),
    )
    first_body_kw = {"reasoning": {"effort": "low", "summary": "auto"}}
    messages = [HumanMessage("Weather in Paris and Rome?")]
    ai = bound.invoke(messages, **first_body_kw)
    body = emu.requests[-1].body
    assert body["tools"] == [
        {
            "type": "function",
            "name": "weather",
            "description": "Current weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        }
    ]
    assert body["tool_choice"] == "required" and body["parallel_tool_calls"] is True
    assert [(c["name"], c["args"], c["id"]) for c in ai.tool_calls] == [
        ("weather", {"city": "Paris"}, "call_1"),
        ("weather", {"city": "Rome"}, "call_2"),
    ]
    assert ai.response_metadata["finish_reason"] == "tool_calls"
    messages.append(ai)
    messages += [ToolMessage(weather(**c["args"]), tool_call_id=c["id"]) for c in ai.tool_calls]
    final = bound.invoke(messages, **first_body_kw)
    assert final.text == "Both sunny."
    items = emu.requests[-1].body["input"]
    assert [i.get("type", "message") for i in items] == [
        "message",
        "reasoning",
        "function_call",
        "function_call",
        "function_call_output",
        "function_call_output",
    ]
    assert items[1]["id"].startswith("rs_") and items[1]["summary"] == [
        {"type": "summary_text", "text": "Need both cities."}
    ]
    assert [(i["call_id"], i["name"], i["arguments"]) for i in items[2:4]] == [
        ("call_1", "weather", '{"city": "Paris"}'),
        ("call_2", "weather", '{"city": "Rome"}'),
    ]
    assert all(i["id"].startswith("fc_") for i in items[2:4])
    assert items[4:] == [
        {"type": "function_call_output", "call_id": "call_1", "output": "sunny in Paris"},
        {"type": "function_call_output", "call_id": "call_2", "output": "sunny in Rome"},
    ]


def test_server_tool_items_and_assistant_text_are_replayed(emu, model):
    emu.queue(_rich_reply(), Reply(text="You're welcome."))
    first = model.invoke("Capital of France?", tools=[{"type": "web_search"}])
    assert emu.requests[-1].body["tools"] == [{"type": "web_search"}]
    model.invoke(["Capital of France?", first, "Thanks"])
    items = emu.requests[-1].body["input"]
    assert [i.get("type", "message") for i in items] == [
        "message",
        "reasoning",
        "web_search_call",
        "message",
        "message",
    ]
    assert items[2]["action"]["query"] == "capital of France"
    assert (
        items[3]["id"].startswith("msg_")
        and items[3]["content"][0]["text"] == "Paris is the capital of France."
    )
    assert items[3]["content"][0]["annotations"][0]["type"] == "url_citation"


def test_store_false_replays_statelessly(emu, model):
    emu.queue(_rich_reply(), Reply(text="ok"))
    kw = {"store": False, "reasoning": {"effort": "low"}}
    first = model.invoke("q", **kw)
    assert emu.requests[-1].body["include"] == ["reasoning.encrypted_content"]
    model.invoke(["q", first, "again"], **kw)
    items = emu.requests[-1].body["input"]
    reasoning = next(i for i in items if i.get("type") == "reasoning")
    assert reasoning["encrypted_content"].startswith("enc_")
    message = next(i for i in items if i.get("role") == "assistant")
    assert "id" not in message


class City(BaseModel):
    """A city and its country."""

    city: str
    country: str


CITY_SCHEMA = {
    "title": "City",
    "description": "A city and its country.",
    "type": "object",
    "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
    "required": ["city", "country"],
}


@pytest.mark.parametrize("schema", [City, CITY_SCHEMA], ids=["pydantic", "dict"])
def test_structured_output_json_schema(emu, model, schema):
    emu.queue(Reply(text='{"city": "Paris", "country": "France"}'))
    out = model.with_structured_output(schema, include_raw=True).invoke("Capital of France?")
    fmt = emu.requests[-1].body["text"]["format"]
    assert fmt["type"] == "json_schema" and fmt["name"] == "City"
    assert fmt["schema"]["properties"]["city"] == {"type": "string"}
    assert "response_format" not in emu.requests[-1].body
    parsed = out["parsed"]
    assert (parsed.city if isinstance(parsed, City) else parsed["city"]) == "Paris"
    assert out["parsing_error"] is None and isinstance(out["raw"], AIMessage)


@pytest.mark.parametrize("schema", [City, CITY_SCHEMA], ids=["pydantic", "dict"])
def test_structured_output_function_calling(emu, model, schema):
    emu.queue(Reply(tool_calls=[ToolCallSpec("City", {"city": "Rome", "country": "Italy"})]))
    out = model.with_structured_output(schema, method="function_calling", include_raw=True).invoke(
        "Capital of Italy?"
    )
    body = emu.requests[-1].body
    assert body["tool_choice"] == {"type": "function", "name": "City"}
    assert body["tools"][0]["type"] == "function" and body["tools"][0]["name"] == "City"
    assert body["parallel_tool_calls"] is False
    parsed = out["parsed"]
    assert (parsed.country if isinstance(parsed, City) else parsed["country"]) == "Italy"


def test_structured_output_json_mode(emu, model):
    emu.queue(Reply(text='{"city": "Oslo", "country": "Norway"}'))
    out = model.with_structured_output(City, method="json_mode").invoke("Capital of Norway? Answer in JSON.")
    assert emu.requests[-1].body["text"] == {"format": {"type": "json_object"}}
    assert out == City(city="Oslo", country="Norway")


def test_structured_output_refusal_raises(emu, model):
    emu.queue(Reply(refusal="I can't help with that."))
    with pytest.raises(ModelRefusalError):
        model.with_structured_output(City).invoke("something bad")


def test_image_input(emu, model):
    msg = HumanMessage(
        content=[
            {"type": "text", "text": "What is in these?"},
            {"type": "image", "url": "https://example.org/cat.png"},
            {"type": "image", "base64": PNG, "mime_type": "image/png"},
            {"type": "image_url", "image_url": {"url": "https://example.org/dog.jpg", "detail": "low"}},
        ]
    )
    model.invoke([msg])
    parts = emu.requests[-1].body["input"][0]["content"]
    assert parts == [
        {"type": "input_text", "text": "What is in these?"},
        {"type": "input_image", "image_url": "https://example.org/cat.png", "detail": "auto"},
        {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}", "detail": "auto"},
        {"type": "input_image", "image_url": "https://example.org/dog.jpg", "detail": "low"},
    ]
    assert len(emu.requests[-1].parsed.messages[0]["images"]) == 3


def test_rate_limit_is_retried_honouring_retry_after(emu, model):
    emu.queue(Fault.rate_limit(retry_after=0.3), Reply(text="finally"))
    t0 = time.monotonic()
    assert model.invoke("q").text == "finally"
    assert time.monotonic() - t0 >= 0.28
    assert len(emu.requests) == 2


def test_rate_limit_gives_up_after_max_retries(emu, model):
    emu.queue(*[Fault.rate_limit(retry_after=0.01)] * 3)
    with pytest.raises(ModelRateLimitError) as info:
        model.invoke("q")
    assert info.value.status_code == 429 and len(emu.requests) == 3


def test_bad_request_is_not_retried(emu, model):
    emu.queue(Fault.http(400, "Invalid 'temperature': decimal below minimum value."))
    with pytest.raises(ModelInvalidRequestError, match="decimal below minimum"):
        model.invoke("q", temperature=-1)
    assert len(emu.requests) == 1


@pytest.mark.parametrize(
    ("fault", "error"),
    [(Fault.malformed(), ModelAPIError), (Fault.drop_mid_stream(after_chunks=3), ModelConnectionError)],
    ids=["malformed", "drop"],
)
def test_broken_streams_raise(emu, model, fault, error):
    emu.queue(fault)
    with pytest.raises(error):
        list(model.stream("q"))


def test_stream_without_terminal_event_is_truncated():
    adapter = adapter_for_url("https://api.openai.com/v1/responses").for_recorded()
    body = (
        b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","output_index":0,'
        b'"content_index":0,"item_id":"msg_1","delta":"Hel"}\n\n'
    )
    with pytest.raises(ModelAPIError, match="truncated"):
        adapter.parse_stream_body(body)


def test_stream_error_events_raise():
    adapter = adapter_for_url("https://api.openai.com/v1/responses").for_recorded()
    failed = (
        b'event: response.failed\ndata: {"type":"response.failed","response":{"id":"resp_1",'
        b'"status":"failed","error":{"code":"server_error","message":"boom"}}}\n\n'
    )
    with pytest.raises(ModelAPIError, match="boom"):
        adapter.parse_stream_body(failed)
    error = b'event: error\ndata: {"type":"error","code":"rate_limit_exceeded","message":"slow down"}\n\n'
    with pytest.raises(ModelAPIError, match="slow down"):
        adapter.parse_stream_body(error)


def test_recognises_responses_urls_only():
    assert adapter_for_url("https://api.openai.com/v1/responses").name == "openai_responses"
    assert adapter_for_url("https://x.openai.azure.com/openai/v1/responses").name == "openai_responses"
    assert adapter_for_url("https://api.openai.com/v1/responses/input_tokens") is None
    assert adapter_for_url("https://api.openai.com/v1/chat/completions").name == "openai"


def _sse(*events):
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


FINAL = {
    "id": "resp_1",
    "object": "response",
    "status": "completed",
    "model": "gpt-oss-120b",
    "output": [
        {
            "type": "reasoning",
            "id": "rs_1",
            "summary": [],
            "content": [{"type": "reasoning_text", "text": "Add two and two."}],
        },
        {
            "type": "message",
            "id": "msg_1",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "It is 4.", "annotations": []}],
        },
        {
            "type": "function_call",
            "id": "fc_1",
            "call_id": "call_1",
            "name": "check",
            "arguments": '{"n": 4}',
        },
    ],
    "usage": {"input_tokens": 9, "output_tokens": 7, "total_tokens": 16},
}


def _decode(body):
    adapter = adapter_for_url("https://api.openai.com/v1/responses").for_recorded()
    return adapter, stream_message(adapter.parse_stream_body(body, [5] * (len(body) // 5 + 1)))


def test_stream_of_only_done_events_still_gives_the_whole_message():
    adapter, streamed = _decode(
        _sse(
            {"type": "response.created", "response": {**FINAL, "status": "in_progress", "output": []}},
            *[
                {"type": "response.output_item.done", "output_index": i, "item": item}
                for i, item in enumerate(FINAL["output"])
            ],
            {"type": "response.completed", "response": FINAL},
        )
    )
    invoked = adapter.parse_response(FINAL)
    assert streamed.content == invoked.content and streamed.tool_calls == invoked.tool_calls
    assert streamed.usage_metadata == invoked.usage_metadata
    assert invoked.content_blocks[0] == {
        "type": "reasoning",
        "reasoning": "Add two and two.",
        "id": "rs_1",
        "index": 0,
        "extras": {"source": "reasoning_text"},
    }
    assert invoked.response_metadata["finish_reason"] == "tool_calls"


def test_stream_of_raw_reasoning_text_deltas():
    adapter, streamed = _decode(
        _sse(
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {"type": "reasoning", "id": "rs_1"},
            },
            {
                "type": "response.reasoning_text.delta",
                "output_index": 0,
                "item_id": "rs_1",
                "content_index": 0,
                "delta": "Add two ",
            },
            {
                "type": "response.reasoning_text.delta",
                "output_index": 0,
                "item_id": "rs_1",
                "content_index": 0,
                "delta": "and two.",
            },
            {"type": "response.completed", "response": FINAL},
        )
    )
    invoked = adapter.parse_response(FINAL)
    assert streamed.content == invoked.content and streamed.tool_calls == invoked.tool_calls


def test_completed_event_fills_in_items_whose_events_never_came():
    adapter, streamed = _decode(_sse({"type": "response.completed", "response": FINAL}) + b"data: [DONE]\n\n")
    assert streamed.text == "It is 4." and streamed.tool_calls[0]["args"] == {"n": 4}


def test_logprobs_and_verbosity_parameters(emu, model):
    model.invoke("q", logprobs=True, top_logprobs=2, verbosity="low", max_completion_tokens=9)
    body = emu.requests[-1].body
    assert body["include"] == ["message.output_text.logprobs"] and body["top_logprobs"] == 2
    assert body["text"] == {"verbosity": "low"} and body["max_output_tokens"] == 9
    assert "logprobs" not in body and "verbosity" not in body


def test_other_providers_history_is_sent_as_plain_items(emu, model):
    foreign = AIMessage(
        content=[
            {"type": "thinking", "thinking": "hmm", "signature": "sig"},
            {"type": "text", "text": "Hello", "id": "lc_123"},
        ],
        tool_calls=[{"name": "f", "args": {"a": 1}, "id": "toolu_1"}],
    )
    model.invoke(["hi", foreign, ToolMessage("done", tool_call_id="toolu_1")])
    assert emu.requests[-1].body["input"] == [
        {"role": "user", "content": "hi"},
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Hello", "annotations": []}],
        },
        {"type": "function_call", "call_id": "toolu_1", "name": "f", "arguments": '{"a": 1}'},
        {"type": "function_call_output", "call_id": "toolu_1", "output": "done"},
    ]


def test_unsupported_content_is_a_clear_error(model):
    with pytest.raises(ValueError, match="'audio' content block.*allowed: text, image, file"):
        model.invoke([HumanMessage(content=[{"type": "audio", "base64": "AAAA", "mime_type": "audio/wav"}])])


def test_file_input_and_image_tool_output(emu, model):
    pdf = base64.b64encode(b"%PDF-1.4").decode()
    model.invoke(
        [
            HumanMessage(
                content=[{"type": "file", "base64": pdf, "mime_type": "application/pdf", "filename": "a.pdf"}]
            ),
            AIMessage(content="", tool_calls=[{"name": "shot", "args": {}, "id": "call_9"}]),
            ToolMessage(
                content=[{"type": "image", "url": "https://example.org/s.png"}], tool_call_id="call_9"
            ),
        ]
    )
    items = emu.requests[-1].body["input"]
    assert items[0]["content"] == [
        {"type": "input_file", "file_data": f"data:application/pdf;base64,{pdf}", "filename": "a.pdf"}
    ]
    assert items[2] == {
        "type": "function_call_output",
        "call_id": "call_9",
        "output": [{"type": "input_image", "image_url": "https://example.org/s.png", "detail": "auto"}],
    }
