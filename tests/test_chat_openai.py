"""The chat model interface over real loopback HTTP, OpenAI Chat Completions wire format."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from _helpers import comparable, sum_chunks

from harness import init_chat_model, tool
from harness.errors import (
    ModelAPIError,
    ModelConnectionError,
    ModelInvalidRequestError,
    ModelRateLimitError,
    ModelTimeoutError,
)
from harness.messages.core import AIMessage, AIMessageChunk, HumanMessage, SystemMessage, ToolMessage
from harness.testing import Fault, Reply, ToolCallSpec

PER_CALL_META = ("token_usage", "id", "service_tier", "logprobs")  # differ between an invoke and a stream


# --- invoke / stream -------------------------------------------------------------------------------


def test_invoke_sends_documented_wire_format_and_parses_reply(emulator, openai_model):
    emulator.queue(Reply(text="Paris.", usage={"input_tokens": 20, "output_tokens": 3, "cache_read": 5}))
    msg = openai_model.invoke(
        [("system", "Be brief."), ("user", "Capital of France?")], temperature=0, max_tokens=50, stop=["END"]
    )
    assert isinstance(msg, AIMessage)
    assert msg.content == "Paris."
    assert msg.usage_metadata["input_tokens"] == 20
    assert msg.usage_metadata["output_tokens"] == 3
    assert msg.usage_metadata["total_tokens"] == 23
    assert msg.usage_metadata["input_token_details"]["cache_read"] == 5
    assert msg.response_metadata["finish_reason"] == "stop"
    assert msg.response_metadata["model_name"] == "gpt-4.1-mini"
    assert msg.response_metadata["model_provider"] == "openai"
    assert msg.id.startswith("chatcmpl-")
    wire = emulator.requests[-1]
    assert wire.path == "/v1/chat/completions"
    assert wire.headers["authorization"] == "Bearer sk-test-key"
    assert wire.body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Capital of France?"},
    ]
    assert wire.body["max_completion_tokens"] == 50
    assert wire.body["temperature"] == 0
    assert wire.body["stop"] == ["END"]
    assert "stream" not in wire.body


def test_timing_reports_ttft_and_total(emulator, openai_model):
    emulator.ttft, emulator.chunk_delay = 0.08, 0.01
    emulator.queue(Reply(text="one two three four five six", chunk_chars=4))
    chunks = list(openai_model.stream("count"))
    timing = sum_chunks(chunks).response_metadata["timing"]
    assert 70 <= timing["ttft_ms"] < timing["total_ms"]
    assert timing["replayed"] is False and timing["source"] == "live"


def test_stream_yields_chunks_as_they_arrive_and_sums_to_invoke(emulator, openai_model):
    reply = Reply(text="The quick brown fox jumps over the lazy dog.", chunk_chars=5)
    emulator.queue(reply, reply)
    invoked = openai_model.invoke("tell me")
    chunks = list(openai_model.stream("tell me"))
    assert len(chunks) > 5
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    assert chunks[-1].chunk_position == "last"
    total = sum_chunks(chunks)
    assert comparable(total, *PER_CALL_META) == comparable(invoked, *PER_CALL_META)
    wire = emulator.requests[-1].body
    assert wire["stream"] is True and wire["stream_options"] == {"include_usage": True}


def test_streamed_parallel_tool_call_chunks_sum_to_complete_calls(emulator, openai_model):
    reply = Reply(
        tool_calls=[
            ToolCallSpec("get_weather", {"location": "Boston", "unit": "c"}),
            ToolCallSpec("get_weather", {"location": "Tokyo"}),
        ]
    )
    emulator.queue(reply, reply)
    invoked = openai_model.invoke("weather?")
    chunks = list(openai_model.stream("weather?"))
    assert any(c.tool_call_chunks for c in chunks)
    total = sum_chunks(chunks)
    assert [c["args"] for c in total.tool_calls] == [
        {"location": "Boston", "unit": "c"},
        {"location": "Tokyo"},
    ]
    assert comparable(total, *PER_CALL_META) == comparable(invoked, *PER_CALL_META)
    assert total.response_metadata["finish_reason"] == "tool_calls"


async def test_async_invoke_and_astream(emulator, openai_model):
    emulator.queue(Reply(text="async hello"), Reply(text="streamed async"))
    msg = await openai_model.ainvoke("hi")
    assert msg.content == "async hello"
    chunks = [c async for c in openai_model.astream("hi")]
    assert sum_chunks(chunks).text == "streamed async"


async def test_astream_events_start_stream_end(emulator, openai_model):
    emulator.queue(Reply(text="evented reply", chunk_chars=4))
    events = [e async for e in openai_model.astream_events("hi", version="v2")]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "on_chat_model_start" and kinds[-1] == "on_chat_model_end"
    assert kinds.count("on_chat_model_stream") >= 4
    assert events[0]["data"]["input"] == "hi"
    assert events[-1]["data"]["output"].text == "evented reply"


# --- batch -------------------------------------------------------------------------------------------


def test_batch_keeps_input_order_and_bounds_concurrency(emulator, openai_model):
    emulator.latency = 0.05
    inputs = [f"q{i}" for i in range(6)]
    started = time.perf_counter()
    out = openai_model.batch(inputs, config={"max_concurrency": 2})
    elapsed = time.perf_counter() - started
    assert [m.content for m in out] == [f"Emulated reply to: q{i}" for i in range(6)]
    assert elapsed >= 0.14  # 6 calls of 50 ms, two at a time: at least three rounds


def test_batch_return_exceptions(emulator, openai_model):
    emulator.queue(Fault.http(400, "bad request"))
    out = openai_model.batch(["a"], return_exceptions=True)
    assert isinstance(out[0], ModelInvalidRequestError)


def test_batch_as_completed_yields_indices(emulator, openai_model):
    got = dict(openai_model.batch_as_completed(["x", "y", "z"]))
    assert sorted(got) == [0, 1, 2]
    assert got[1].content == "Emulated reply to: y"


async def test_abatch_and_abatch_as_completed(emulator, openai_model):
    out = await openai_model.abatch(["a", "b", "c"], config={"max_concurrency": 2})
    assert [m.content[-1] for m in out] == ["a", "b", "c"]
    pairs = [p async for p in openai_model.abatch_as_completed(["d", "e"])]
    assert sorted(i for i, _ in pairs) == [0, 1]


# --- bind / tools ------------------------------------------------------------------------------------


def test_bind_logprobs_reaches_the_wire_and_metadata(emulator, openai_model):
    emulator.queue(Reply(text="hi there"))
    msg = openai_model.bind(logprobs=True, top_logprobs=2).invoke("hi")
    assert emulator.requests[-1].body["logprobs"] is True
    assert emulator.requests[-1].body["top_logprobs"] == 2
    assert msg.response_metadata["logprobs"]["content"][0]["logprob"] == -0.1


@tool
def get_weather(location: str, unit: str = "c") -> str:
    """Get the current weather for a location.

    Args:
        location: City name.
        unit: c or f.
    """
    return f"sunny and 22{unit} in {location}"


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", "auto"),
        ("any", "required"),
        ("required", "required"),
        (True, "required"),
        ("none", "none"),
        ("get_weather", {"type": "function", "function": {"name": "get_weather"}}),
    ],
)
def test_bind_tools_tool_choice_encodings(emulator, openai_model, choice, wire):
    openai_model.bind_tools([get_weather], tool_choice=choice).invoke("weather?")
    body = emulator.requests[-1].body
    assert body["tool_choice"] == wire
    assert body["tools"][0]["function"]["name"] == "get_weather"
    assert body["tools"][0]["function"]["parameters"]["required"] == ["location"]


def test_bind_tools_parallel_flag_and_bad_choice(emulator, openai_model):
    openai_model.bind_tools([get_weather], parallel_tool_calls=False).invoke("x")
    assert emulator.requests[-1].body["parallel_tool_calls"] is False
    with pytest.raises(ValueError, match="not one of the bound tools"):
        openai_model.bind_tools([get_weather], tool_choice="nope")


def test_tool_execution_loop_with_parallel_calls(emulator, openai_model):
    emulator.queue(
        Reply(
            tool_calls=[
                ToolCallSpec("get_weather", {"location": "Boston"}),
                ToolCallSpec("get_weather", {"location": "Tokyo"}),
            ]
        ),
        Reply(text="Boston and Tokyo are both sunny."),
    )
    model = openai_model.bind_tools([get_weather])
    messages = [HumanMessage("What's the weather in Boston and Tokyo?")]
    ai = model.invoke(messages)
    assert len(ai.tool_calls) == 2
    messages.append(ai)
    for call in ai.tool_calls:
        result = get_weather.invoke(call)
        assert isinstance(result, ToolMessage) and result.tool_call_id == call["id"]
        messages.append(result)
    final = model.invoke(messages)
    assert final.content == "Boston and Tokyo are both sunny."
    sent = emulator.requests[-1].body["messages"]
    assert sent[1]["role"] == "assistant" and sent[1]["content"] is None
    assert [c["function"]["name"] for c in sent[1]["tool_calls"]] == ["get_weather", "get_weather"]
    assert json.loads(sent[1]["tool_calls"][1]["function"]["arguments"]) == {"location": "Tokyo"}
    assert [m["tool_call_id"] for m in sent[2:]] == [c["id"] for c in ai.tool_calls]
    assert sent[2]["content"] == "sunny and 22c in Boston"


def test_image_input_is_sent_as_image_url_parts(emulator, openai_model):
    openai_model.invoke(
        [
            HumanMessage(
                content=[
                    {"type": "text", "text": "Describe"},
                    {"type": "image", "base64": "iVBORw0KGgo=", "mime_type": "image/png"},
                    {"type": "image", "url": "https://example.com/cat.png"},
                ]
            )
        ]
    )
    parts = emulator.requests[-1].body["messages"][0]["content"]
    assert parts[0] == {"type": "text", "text": "Describe"}
    assert parts[1] == {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    assert parts[2]["image_url"]["url"] == "https://example.com/cat.png"


def test_reasoning_tokens_in_usage(emulator, openai_model):
    emulator.queue(Reply(text="42", usage={"input_tokens": 10, "output_tokens": 50, "reasoning": 40}))
    msg = openai_model.invoke("think", reasoning_effort="high")
    assert emulator.requests[-1].body["reasoning_effort"] == "high"
    assert msg.usage_metadata["output_token_details"]["reasoning"] == 40


# --- errors, retries, timeouts -----------------------------------------------------------------------


def test_retries_429_honouring_retry_after(emulator, openai_model):
    emulator.queue(Fault.rate_limit(retry_after=0.3), Reply(text="finally"))
    started = time.perf_counter()
    msg = openai_model.invoke("x")
    assert msg.content == "finally"
    assert time.perf_counter() - started >= 0.3
    assert len(emulator.requests) == 2


def test_retries_5xx_then_gives_up(emulator, openai_model):
    emulator.queue(*[Fault.server_error(503, "overloaded")] * 3)
    with pytest.raises(ModelAPIError, match="503"):
        openai_model.invoke("x")
    assert len(emulator.requests) == 3  # max_retries=2 -> three attempts


def test_no_retry_on_400(emulator, openai_model):
    emulator.queue(Fault.http(400, "Invalid schema for response_format"))
    with pytest.raises(ModelInvalidRequestError, match="Invalid schema"):
        openai_model.invoke("x")
    assert len(emulator.requests) == 1


def test_429_error_carries_status_and_retry_after(emulator):
    model = init_chat_model("openai:gpt-4.1-mini", base_url=emulator.base_url(), api_key="k", max_retries=0)
    emulator.queue(Fault.rate_limit(retry_after=7))
    with pytest.raises(ModelRateLimitError) as info:
        model.invoke("x")
    assert info.value.status_code == 429 and info.value.retry_after == 7
    assert info.value.response.status_code == 429


@pytest.mark.parametrize("own_transport", [False, True])
def test_timeout_raises_clear_error(emulator, own_transport):
    # transport=: the requests go to the user's transport with the model's timeout, as a client sends them
    extra = {"transport": httpx.HTTPTransport()} if own_transport else {}
    model = init_chat_model(
        "openai:gpt-4.1-mini", base_url=emulator.base_url(), api_key="k", timeout=0.2, max_retries=0, **extra
    )
    emulator.queue(Fault.timeout(delay=1.0))
    with model, pytest.raises(ModelTimeoutError, match="timeout=0.2s"):
        model.invoke("x")


def test_an_error_response_names_its_request_through_a_users_transport(emulator):
    with init_chat_model(
        "openai:gpt-4.1-mini",
        base_url=emulator.base_url(),
        api_key="k",
        max_retries=0,
        transport=httpx.HTTPTransport(),
    ) as model:
        emulator.queue(Fault.rate_limit(retry_after=7))
        with pytest.raises(ModelRateLimitError) as info:
            model.invoke("x")
    assert info.value.response.request.url.path.endswith("/chat/completions")


def test_connection_dropped_mid_stream(emulator, openai_model):
    emulator.queue(Fault.drop_mid_stream(after_chunks=2))
    with pytest.raises(ModelConnectionError):
        list(openai_model.stream("x"))


def test_malformed_sse_raises(emulator, openai_model):
    emulator.queue(Fault.malformed())
    with pytest.raises(ModelAPIError, match="malformed stream event"):
        list(openai_model.stream("x"))


def test_connection_refused_is_a_connection_error():
    model = init_chat_model(
        "openai:gpt-4.1-mini", base_url="http://127.0.0.1:9/v1", api_key="k", max_retries=0
    )
    with pytest.raises(ModelConnectionError):
        model.invoke("x")


# --- configuration -----------------------------------------------------------------------------------


def test_api_key_and_base_url_from_environment(emulator, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    monkeypatch.setenv("OPENAI_BASE_URL", emulator.base_url("openai"))
    init_chat_model("gpt-4.1-mini").invoke("x")
    assert emulator.requests[-1].headers["authorization"] == "Bearer sk-from-env"


def test_missing_key_is_a_clear_error_only_when_going_live(monkeypatch, emulator):
    from harness.errors import MissingAPIKeyError

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    model = init_chat_model("openai:gpt-4.1-mini", base_url=emulator.base_url())  # building is fine
    with pytest.raises(MissingAPIKeyError, match="OPENAI_API_KEY"):
        model.invoke("x")
    assert emulator.requests == []  # nothing was sent without a key


async def test_rate_limiter_paces_sync_and_async_calls(emulator):
    from harness.rate_limiters import InMemoryRateLimiter

    limiter = InMemoryRateLimiter(requests_per_second=20, check_every_n_seconds=0.005)
    model = init_chat_model(
        "openai:gpt-4.1-mini", base_url=emulator.base_url(), api_key="k", rate_limiter=limiter
    )
    started = time.perf_counter()
    await asyncio.gather(*(model.ainvoke(str(i)) for i in range(5)))
    elapsed = time.perf_counter() - started
    assert elapsed >= 0.2  # 5 requests at 20/s from an empty bucket: about 0.25 s
    times = sorted(r.at for r in emulator.requests)
    assert times[-1] - times[0] >= 0.1  # paced: ~4 token intervals of 50 ms (unpaced: a few ms)


def test_default_headers_and_model_kwargs_reach_the_wire(emulator):
    model = init_chat_model(
        "openai:gpt-4.1-mini",
        base_url=emulator.base_url(),
        api_key="k",
        model_kwargs={"user": "u-1"},
        default_headers={"X-Trace": "t1"},
        seed=7,
    )
    model.invoke("x")
    req = emulator.requests[-1]
    assert req.body["user"] == "u-1" and req.body["seed"] == 7 and req.headers["x-trace"] == "t1"


def test_system_developer_role(emulator, openai_model):
    openai_model.invoke([{"role": "developer", "content": "rules"}, SystemMessage("sys"), "hi"])
    sent = emulator.requests[-1].body["messages"]
    assert [m["role"] for m in sent] == ["developer", "system", "user"]
