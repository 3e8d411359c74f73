"""The `ollama` provider over real loopback HTTP (native /api/chat: JSON and NDJSON, ProviderEmulator),
and Ollama's OpenAI-compatible /v1 endpoint through the `openai` adapter."""

from __future__ import annotations

import json
import time

import pytest
from _helpers import PNG, Answer, comparable, get_weather, sum_chunks
from pydantic import BaseModel

from harness import init_chat_model, tool
from harness.errors import (
    ModelAPIError,
    ModelError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelRateLimitError,
    UnsupportedFeatureError,
)
from harness.messages.core import AIMessage, AIMessageChunk, HumanMessage, SystemMessage, ToolMessage
from harness.providers import adapter_for_url
from harness.providers.ollama import OllamaAdapter, normalize_host
from harness.testing import Fault, Reply, ToolCallSpec

MODEL = "ollama:qwen3:8b"


@pytest.fixture
def model(emulator):
    return init_chat_model(MODEL, base_url=emulator.base_url("ollama"), max_retries=2)


def _wire(emulator, i=-1):
    return emulator.requests_for("ollama")[i]


# --- invoke and the documented wire format -------------------------------------------------------------


def test_invoke_sends_documented_request_and_parses_reply(emulator, model):
    emulator.queue(Reply(text="Paris.", usage={"input_tokens": 26, "output_tokens": 3}))
    msg = model.invoke(
        [SystemMessage("Be brief."), HumanMessage("Capital of France?")],
        temperature=0.2,
        max_tokens=512,
        top_p=0.9,
        stop=["END"],
        seed=7,
        num_ctx=8192,
        keep_alive="5m",
    )
    assert isinstance(msg, AIMessage) and msg.content == "Paris."
    assert msg.usage_metadata == {"input_tokens": 26, "output_tokens": 3, "total_tokens": 29}
    meta = msg.response_metadata
    assert meta["model_provider"] == "ollama" and meta["model_name"] == meta["model"] == "qwen3:8b"
    assert meta["done"] is True and meta["done_reason"] == "stop" and meta["finish_reason"] == "stop"
    assert meta["prompt_eval_count"] == 26 and meta["eval_count"] == 3
    for key in ("total_duration", "load_duration", "prompt_eval_duration", "eval_duration", "created_at"):
        assert key in meta
    wire = _wire(emulator)
    assert wire.method == "POST" and wire.path == "/api/chat"
    assert "authorization" not in wire.headers
    assert wire.body == {
        "model": "qwen3:8b",
        "stream": False,
        "keep_alive": "5m",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Capital of France?"},
        ],
        "options": {
            "temperature": 0.2,
            "num_predict": 512,
            "top_p": 0.9,
            "stop": ["END"],
            "seed": 7,
            "num_ctx": 8192,
        },
    }


def test_host_and_key_from_environment(emulator, monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", emulator.url.removeprefix("http://"))
    monkeypatch.setenv("OLLAMA_API_KEY", "ollama-cloud-key")
    m = init_chat_model(MODEL)
    assert m.invoke("hi").text == "Emulated reply to: hi"
    assert _wire(emulator).headers["authorization"] == "Bearer ollama-cloud-key"
    assert m.adapter.secrets() == ["ollama-cloud-key"]


def test_host_normalisation_and_defaults(monkeypatch):
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    assert OllamaAdapter(model="m").base_url == "http://localhost:11434"
    assert normalize_host("0.0.0.0") == "http://127.0.0.1:11434"
    assert normalize_host("gpu-box:8080") == "http://gpu-box:8080"
    assert normalize_host("https://ollama.com/") == "https://ollama.com"
    assert normalize_host("http://h:1/api") == "http://h:1"
    assert OllamaAdapter.requires_api_key is False and OllamaAdapter(model="m").missing_key is None


def test_recognises_recorded_traffic():
    url = "http://localhost:11434/api/chat"
    assert adapter_for_url(url) is OllamaAdapter
    adapter = OllamaAdapter.for_recorded(url)
    assert adapter.model_from_request(url, {"model": "llama3.2"}) == "llama3.2"
    assert adapter.is_stream_request(url, {"model": "x"})  # Ollama streams unless told not to
    assert not adapter.is_stream_request(url, {"model": "x", "stream": False})


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
        Reply(tool_calls=[ToolCallSpec("get_weather", {})]),
        Reply(reasoning="The user wants a number.", text="42", chunk_chars=3),
        Reply(text="cut short", finish_reason="length"),
    ],
    ids=["text", "text+parallel-tools", "tool-no-args", "thinking+text", "length"],
)
def test_summed_stream_equals_invoke(emulator, model, reply):
    emulator.queue(reply, reply)
    invoked = model.invoke("question")
    chunks = list(model.stream("question"))
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    assert chunks[-1].chunk_position == "last"
    total = sum_chunks(chunks)
    assert comparable(total, "created_at") == comparable(invoked, "created_at")
    assert _wire(emulator).body["stream"] is True
    for key in ("model_name", "done_reason", "finish_reason", "created_at"):
        assert sum(key in c.response_metadata for c in chunks) == 1, key
    assert sum(c.usage_metadata is not None for c in chunks) == 1


async def test_async_invoke_and_astream(emulator, model):
    emulator.queue(Reply(text="async hello"), Reply(text="streamed async"))
    assert (await model.ainvoke("hi")).content == "async hello"
    chunks = [c async for c in model.astream("hi")]
    assert sum_chunks(chunks).text == "streamed async"


def test_ndjson_lines_split_anywhere_decode_the_same():
    lines = [
        {"model": "m", "created_at": "t", "message": {"role": "assistant", "content": c}, "done": False}
        for c in ("Hel", "lo ", "wörld")
    ]
    lines.append(
        {
            "model": "m",
            "created_at": "t",
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": 5,
            "eval_count": 3,
        }
    )
    body = b"".join(json.dumps(x, ensure_ascii=False).encode() + b"\n" for x in lines)
    adapter = OllamaAdapter.for_recorded()
    whole = sum_chunks(adapter.parse_stream_body(body))
    for size in (1, 2, 7, 50):
        split = sum_chunks(adapter.parse_stream_body(body, [size] * (len(body) // size)))
        assert split.content == whole.content == "Hello wörld"
        assert (
            split.usage_metadata
            == whole.usage_metadata
            == {"input_tokens": 5, "output_tokens": 3, "total_tokens": 8}
        )


def test_stream_errors(emulator, model):
    emulator.queue(Fault.drop_mid_stream(after_chunks=2))
    with pytest.raises(ModelError):
        list(model.stream("hi"))
    emulator.queue(Fault.malformed())
    with pytest.raises(ModelAPIError, match="not JSON"):
        list(model.stream("hi"))
    mid_stream = (
        b'{"message":{"role":"assistant","content":"Hi"},"done":false}\n{"error":"model runner crashed"}\n'
    )
    with pytest.raises(ModelAPIError, match="model runner crashed"):
        OllamaAdapter.for_recorded().parse_stream_body(mid_stream)


# --- tools --------------------------------------------------------------------------------------------------


def test_tool_loop_with_parallel_calls_sends_results_back(emulator, model):
    emulator.queue(
        Reply(
            tool_calls=[
                ToolCallSpec("get_weather", {"city": "Paris"}, id="call_a"),
                ToolCallSpec("get_weather", {"city": "Tokyo"}, id="call_b"),
            ]
        )
    )
    bound = model.bind_tools([get_weather])
    messages = [HumanMessage("Weather in Paris and Tokyo?")]
    first = bound.invoke(messages)
    assert [(tc["id"], tc["args"]) for tc in first.tool_calls] == [
        ("call_a", {"city": "Paris"}),
        ("call_b", {"city": "Tokyo"}),
    ]
    assert first.response_metadata["finish_reason"] == "tool_calls"
    assert first.response_metadata["done_reason"] == "stop"
    messages.append(first)
    messages += [get_weather.invoke(tc) for tc in first.tool_calls]
    final = bound.invoke(messages)
    assert final.content == "Based on the tools: sunny in Paris; sunny in Tokyo"
    body = _wire(emulator).body
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather for a city.",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ]
    assert body["messages"][1:] == [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}, "id": "call_a"},
                {"function": {"name": "get_weather", "arguments": {"city": "Tokyo"}}, "id": "call_b"},
            ],
        },
        {"role": "tool", "content": "sunny in Paris", "tool_call_id": "call_a", "tool_name": "get_weather"},
        {"role": "tool", "content": "sunny in Tokyo", "tool_call_id": "call_b", "tool_name": "get_weather"},
    ]


def test_tool_calls_without_ids_get_stable_ones():
    body = {
        "model": "m",
        "message": {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"function": {"name": "get_weather", "arguments": {"city": "Oslo"}}},
                {"function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}},
                {"function": {"name": "broken", "arguments": "{not json"}},
            ],
        },
        "done": True,
        "done_reason": "stop",
    }
    adapter = OllamaAdapter.for_recorded()
    first, second = adapter.parse_response(body), adapter.parse_response(body)
    assert [tc["args"] for tc in first.tool_calls] == [{"city": "Oslo"}, {"city": "Rome"}]
    assert first.tool_calls == second.tool_calls and all(
        tc["id"].startswith("call_") for tc in first.tool_calls
    )
    assert len({tc["id"] for tc in first.tool_calls}) == 2
    assert first.invalid_tool_calls[0]["name"] == "broken"
    del body["message"]["tool_calls"][2]
    streamed = sum_chunks(adapter.parse_stream_body(json.dumps(body).encode() + b"\n"))
    assert streamed.tool_calls == first.tool_calls


def test_tool_choice_none_omits_tools_and_a_forced_tool_is_sent_alone(emulator, model):
    @tool
    def other(x: int) -> int:
        """Another tool."""
        return x

    model.bind_tools([get_weather, other], tool_choice="none").invoke("hi")
    assert "tools" not in _wire(emulator).body
    model.bind_tools([get_weather, other], tool_choice="other").invoke("hi")
    assert [t["function"]["name"] for t in _wire(emulator).body["tools"]] == ["other"]
    model.bind_tools([get_weather, other], tool_choice="any").invoke("hi")
    assert len(_wire(emulator).body["tools"]) == 2 and "tool_choice" not in _wire(emulator).body
    with pytest.raises(UnsupportedFeatureError, match="parallel_tool_calls"):
        model.bind_tools([get_weather], parallel_tool_calls=True).invoke("hi")


# --- structured output ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", [None, "json_schema", "function_calling", "json_mode"])
@pytest.mark.parametrize("schema", [Answer, Answer.model_json_schema()])
def test_structured_output(emulator, model, method, schema):
    if method == "json_mode":  # JSON mode does not send the schema: the prompt must describe it
        emulator.queue(
            Reply(text='{"answer": "yes", "justification": "it scatters blue light"}'),
            Reply(text='{"answer": "yes", "justification": "it scatters blue light"}'),
        )
    out = model.with_structured_output(schema, method=method, include_raw=True).invoke("Is the sky blue?")
    assert out["parsing_error"] is None
    parsed = out["parsed"]
    data = parsed.model_dump() if isinstance(parsed, BaseModel) else parsed
    if method == "json_mode":
        assert data == {"answer": "yes", "justification": "it scatters blue light"}
    else:
        assert data == {"answer": "example answer", "justification": "example justification"}
    assert isinstance(parsed, Answer) == (schema is Answer)
    body = _wire(emulator).body
    if method in (None, "json_schema"):  # json_schema is the default, as in ChatOllama
        assert body["format"]["properties"].keys() == {"answer", "justification"} and "tools" not in body
    elif method == "json_mode":
        assert body["format"] == "json"
    else:
        assert [t["function"]["name"] for t in body["tools"]] == ["Answer"] and "format" not in body
    assert model.with_structured_output(schema, method=method).invoke("again") == parsed


# --- reasoning, images, logprobs --------------------------------------------------------------------------


def test_thinking_is_requested_returned_and_sent_back(emulator, model):
    msg = model.invoke("What is 2+2?", reasoning=True)
    assert _wire(emulator).body["think"] is True
    assert msg.additional_kwargs["reasoning_content"] == "Thinking about the question."
    assert msg.content_blocks[0] == {"type": "reasoning", "reasoning": "Thinking about the question."}
    model.invoke([HumanMessage("What is 2+2?"), msg, HumanMessage("And 3+3?")], think="high")
    body = _wire(emulator).body
    assert body["think"] == "high"
    assert body["messages"][1] == {
        "role": "assistant",
        "content": "Emulated reply to: What is 2+2?",
        "thinking": "Thinking about the question.",
    }


def test_image_input(emulator, model):
    model.invoke(
        [
            HumanMessage(
                [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image", "base64": PNG, "mime_type": "image/png"},
                    {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{PNG}"}},
                ]
            )
        ]
    )
    assert _wire(emulator).body["messages"] == [
        {"role": "user", "content": "What is this?", "images": [PNG, PNG]}
    ]
    with pytest.raises(ValueError, match="does not fetch image URLs"):
        model.invoke([HumanMessage([{"type": "image", "url": "https://example.com/cat.png"}])])


def test_logprobs_per_chunk(emulator, model):
    reply = Reply(text="abcdefgh", chunk_chars=4)
    emulator.queue(reply, reply)
    invoked = model.invoke("hi", logprobs=True)
    assert _wire(emulator).body["logprobs"] is True
    total = sum_chunks(list(model.stream("hi", logprobs=True)))
    assert [p["token"] for p in total.response_metadata["logprobs"]] == ["abcd", "efgh"]
    assert total.response_metadata["logprobs"] == invoked.response_metadata["logprobs"]


# --- errors -------------------------------------------------------------------------------------------------


def test_errors(emulator, model):
    emulator.queue(Fault.http(404, 'model "qwen3:8b" not found, try pulling it first'))
    with pytest.raises(ModelNotFoundError, match="try pulling it first"):
        model.invoke("hi")
    emulator.queue(Fault.http(400, "invalid options"))
    with pytest.raises(ModelInvalidRequestError, match="invalid options"):
        model.invoke("hi")
    assert len(emulator.requests_for("ollama")) == 2  # neither was retried
    emulator.queue(Fault.http(500, "llama runner process has terminated"), Reply(text="ok"))
    assert model.invoke("hi").content == "ok"


def test_rate_limit_is_retried_honouring_retry_after(emulator, model):
    emulator.queue(Fault.rate_limit(retry_after=0.3), Reply(text="ok"))
    started = time.perf_counter()
    assert model.invoke("hi").content == "ok"
    assert time.perf_counter() - started >= 0.3
    emulator.queue(*[Fault.rate_limit(retry_after=0.01)] * 3)
    with pytest.raises(ModelRateLimitError):
        model.invoke("hi")


# --- the OpenAI-compatible endpoint -------------------------------------------------------------------------


def test_openai_compatible_endpoint_through_the_openai_adapter(emulator):
    m = init_chat_model("openai:llama3.2", base_url=emulator.base_url("openai"), api_key="ollama")
    emulator.queue(Reply(text="Hi from /v1", tool_calls=[ToolCallSpec("get_weather", {"city": "Oslo"})]))
    msg = m.bind_tools([get_weather]).invoke("hi")
    assert msg.text == "Hi from /v1" and msg.tool_calls[0]["args"] == {"city": "Oslo"}
    wire = emulator.requests[-1]
    assert wire.path == "/v1/chat/completions" and wire.body["model"] == "llama3.2"
    assert wire.body["tools"][0]["function"]["name"] == "get_weather"
    follow = m.invoke([HumanMessage("hi"), msg, ToolMessage("cold", tool_call_id=msg.tool_calls[0]["id"])])
    assert follow.text == "Based on the tools: cold"
