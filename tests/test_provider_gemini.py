"""google_genai over real loopback HTTP (ProviderEmulator, Gemini Developer API wire format)."""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest
from _helpers import comparable, sum_chunks
from pydantic import BaseModel

from harness import init_chat_model, tool
from harness.errors import (
    ContextOverflowError,
    MissingAPIKeyError,
    ModelAPIError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
)
from harness.messages.core import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from harness.providers import adapter_for_url
from harness.providers.google_genai.adapter import GeminiAdapter
from harness.testing import Fault, Reply, ToolCallSpec

KEY = "gk-test-key-123"


def _model(emulator, name="gemini-2.5-flash", **kw):
    return init_chat_model(
        f"google_genai:{name}", base_url=emulator.base_url("google_genai"), api_key=KEY, max_retries=2, **kw
    )


@pytest.fixture
def gemini(emulator):
    return _model(emulator)


@tool
def get_weather(city: str) -> str:
    """Current weather in a city."""
    return "sunny"


@tool
def get_time(city: str) -> str:
    """Local time in a city."""
    return "09:00"


class City(BaseModel):
    """A city."""

    name: str
    population: int


# --- invoke / stream ---------------------------------------------------------------------------------


def test_invoke_sends_documented_wire_format_and_parses_reply(emulator, gemini):
    emulator.queue(Reply(text="Paris.", usage={"input_tokens": 20, "output_tokens": 3, "cache_read": 5}))
    msg = gemini.invoke(
        [("system", "Be brief."), ("user", "Capital of France?")],
        temperature=0,
        max_tokens=50,
        stop=["END"],
        top_p=0.9,
    )
    assert isinstance(msg, AIMessage)
    assert msg.content == "Paris."
    assert msg.usage_metadata == {
        "input_tokens": 20,
        "output_tokens": 3,
        "total_tokens": 23,
        "input_token_details": {"cache_read": 5},
        "output_token_details": {"reasoning": 0},
    }
    meta = msg.response_metadata
    # Gemini's own enum name, as LangChain keeps it; harness's normalised value beside it
    assert meta["finish_reason"] == "STOP" and meta["normalized_finish_reason"] == "stop"
    assert meta["model_name"] == "gemini-2.5-flash" and meta["model_provider"] == "google_genai"
    assert msg.id and not msg.id.startswith("lc_")  # the responseId
    wire = emulator.requests[-1]
    assert wire.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert wire.headers["x-goog-api-key"] == KEY
    assert wire.query == {} and KEY not in wire.path and "authorization" not in wire.headers
    assert wire.body == {
        "contents": [{"role": "user", "parts": [{"text": "Capital of France?"}]}],
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "generationConfig": {"temperature": 0, "maxOutputTokens": 50, "stopSequences": ["END"], "topP": 0.9},
    }


def test_stream_uses_sse_endpoint_and_sums_to_invoke(emulator, gemini):
    reply = Reply(text="The quick brown fox jumps over the lazy dog.", chunk_chars=5)
    emulator.queue(reply, reply)
    invoked = gemini.invoke("tell me")
    chunks = list(gemini.stream("tell me"))
    assert len(chunks) > 5 and all(isinstance(c, AIMessageChunk) for c in chunks)
    assert chunks[-1].chunk_position == "last"
    wire = emulator.requests[-1]
    assert wire.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent" and wire.query == {
        "alt": "sse"
    }
    # usage arrives cumulative on every event; chunks carry differences that add up to the total
    assert sum(1 for c in chunks if c.usage_metadata) > 2
    assert comparable(sum_chunks(chunks)) == comparable(invoked)
    assert sum(1 for c in chunks if c.response_metadata.get("model_name")) == 1


def test_stream_with_thoughts_parallel_calls_and_signatures_sums_to_invoke(emulator):
    model = _model(emulator, "gemini-3-flash-preview", include_thoughts=True)
    reply = Reply(
        text="Checking both.",
        reasoning="Two cities, two tools.",
        chunk_chars=4,
        tool_calls=[
            ToolCallSpec("get_weather", {"city": "Paris"}),
            ToolCallSpec("get_time", {"city": "Tokyo"}),
        ],
    )
    emulator.queue(reply, reply)
    bound = model.bind_tools([get_weather, get_time])
    invoked = bound.invoke("weather in Paris, time in Tokyo")
    total = sum_chunks(list(bound.stream("weather in Paris, time in Tokyo")))
    assert comparable(total) == comparable(invoked)
    assert invoked.content[0] == {"type": "reasoning", "reasoning": "Two cities, two tools.", "index": 0}
    assert invoked.text == "Checking both."
    assert [c["name"] for c in invoked.tool_calls] == ["get_weather", "get_time"]
    assert invoked.response_metadata["finish_reason"] == "STOP"
    assert invoked.response_metadata["normalized_finish_reason"] == "tool_calls"


async def test_async_invoke_and_stream(emulator, gemini):
    emulator.queue(Reply(text="async hello"), Reply(text="async hello"))
    msg = await gemini.ainvoke("hi")
    chunks = [c async for c in gemini.astream("hi")]
    assert msg.content == "async hello" == sum_chunks(chunks).content
    assert sum_chunks(chunks).usage_metadata == msg.usage_metadata


def test_emulator_stream_is_sse_with_cumulative_usage(emulator):
    emulator.queue(Reply(text="abcdefghijklmnop", chunk_chars=4))
    url = emulator.url + "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    r = httpx.post(url, json={"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
    assert r.headers["content-type"].startswith("text/event-stream")
    events = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: ")]
    assert "[DONE]" not in r.text and len(events) >= 5
    totals = [e["usageMetadata"]["totalTokenCount"] for e in events]
    assert totals == sorted(totals) and totals[0] < totals[-1]
    assert [("finishReason" in e["candidates"][0]) for e in events] == [False] * (len(events) - 1) + [True]


# --- tools -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["gemini-2.5-flash", "gemini-3-flash-preview"])
def test_tool_loop_with_parallel_calls_sends_function_responses_by_name(emulator, name):
    model = _model(emulator, name).bind_tools([get_weather, get_time])
    emulator.queue(
        Reply(
            tool_calls=[
                ToolCallSpec("get_weather", {"city": "Paris"}),
                ToolCallSpec("get_time", {"city": "Tokyo"}),
            ]
        ),
        Reply(text="Sunny in Paris; 9am in Tokyo."),
    )
    question = HumanMessage("Weather in Paris and time in Tokyo?")
    ai = model.invoke([question])
    assert [(c["name"], c["args"]) for c in ai.tool_calls] == [
        ("get_weather", {"city": "Paris"}),
        ("get_time", {"city": "Tokyo"}),
    ]
    assert ai.content == "" and ai.response_metadata["normalized_finish_reason"] == "tool_calls"
    first = emulator.requests[-1].body
    [decls] = [t["functionDeclarations"] for t in first["tools"]]
    assert [(d["name"], d["description"]) for d in decls] == [
        ("get_weather", "Current weather in a city."),
        ("get_time", "Local time in a city."),
    ]
    assert decls[0]["parametersJsonSchema"]["properties"] == {"city": {"type": "string"}}
    assert "toolConfig" not in first
    results = [
        ToolMessage("sunny", tool_call_id=ai.tool_calls[0]["id"]),
        ToolMessage('{"time": "09:00"}', tool_call_id=ai.tool_calls[1]["id"]),
    ]
    final = model.invoke([question, ai, *results])
    assert final.content == "Sunny in Paris; 9am in Tokyo."
    contents = emulator.requests[-1].body["contents"]
    assert [c["role"] for c in contents] == ["user", "model", "user"]
    calls = [p["functionCall"] for p in contents[1]["parts"]]
    assert calls == [
        {"name": "get_weather", "args": {"city": "Paris"}, "id": ai.tool_calls[0]["id"]},
        {"name": "get_time", "args": {"city": "Tokyo"}, "id": ai.tool_calls[1]["id"]},
    ]
    assert contents[2]["parts"] == [
        {
            "functionResponse": {
                "name": "get_weather",
                "response": {"output": "sunny"},
                "id": ai.tool_calls[0]["id"],
            }
        },
        {
            "functionResponse": {
                "name": "get_time",
                "response": {"time": "09:00"},
                "id": ai.tool_calls[1]["id"],
            }
        },
    ]
    signed = [p.get("thoughtSignature") for p in contents[1]["parts"]]
    if name.startswith("gemini-3"):  # the API's ids and first-call signature go back unchanged
        got = ai.additional_kwargs["__gemini_function_call_thought_signatures__"]
        assert signed == [got[ai.tool_calls[0]["id"]], None]
        assert ai.content_blocks[0]["extras"] == {"signature": signed[0]}
    else:  # Gemini 2.x sends no ids: deterministic ones are made up; no signatures
        assert all(c["id"].startswith("call_") for c in ai.tool_calls) and signed == [None, None]


@pytest.mark.parametrize(
    "choice, config",
    [
        ("auto", {"mode": "AUTO"}),
        ("any", {"mode": "ANY"}),
        ("required", {"mode": "ANY"}),
        (True, {"mode": "ANY"}),
        ("none", {"mode": "NONE"}),
        ("get_time", {"mode": "ANY", "allowedFunctionNames": ["get_time"]}),
        ({"functionCallingConfig": {"mode": "VALIDATED"}}, {"mode": "VALIDATED"}),
    ],
)
def test_tool_choice_becomes_function_calling_config(emulator, gemini, choice, config):
    emulator.queue(Reply(text="ok"))
    gemini.bind_tools([get_weather, get_time], tool_choice=choice).invoke("hi")
    assert emulator.requests[-1].body["toolConfig"] == {"functionCallingConfig": config}


def test_history_from_another_model_gets_the_documented_placeholder_signature(emulator):
    model = _model(emulator, "gemini-3-flash-preview")
    emulator.queue(Reply(text="done"))
    foreign = AIMessage(
        "",
        tool_calls=[{"name": "get_weather", "args": {"city": "Oslo"}, "id": "toolu_1"}],
        response_metadata={"model_provider": "anthropic"},
    )
    model.invoke([HumanMessage("weather?"), foreign, ToolMessage("rain", tool_call_id="toolu_1")])
    parts = emulator.requests[-1].body["contents"][1]["parts"]
    assert parts == [
        {
            "functionCall": {"name": "get_weather", "args": {"city": "Oslo"}, "id": "toolu_1"},
            "thoughtSignature": base64.b64encode(b"skip_thought_signature_validator").decode(),
        }
    ]


def test_tool_message_without_its_call_needs_a_name(emulator, gemini):
    with pytest.raises(ValueError, match=r"messages\[1\].*tool_call_id='nope'.*function name"):
        gemini.invoke([HumanMessage("hi"), ToolMessage("x", tool_call_id="nope")])
    assert emulator.requests == []
    emulator.queue(Reply(text="ok"))
    gemini.invoke([HumanMessage("hi"), ToolMessage("x", tool_call_id="nope", name="lookup", status="error")])
    part = emulator.requests[-1].body["contents"][1]["parts"][0]
    assert part == {"functionResponse": {"name": "lookup", "response": {"error": "x"}, "id": "nope"}}


# --- structured output -------------------------------------------------------------------------------


def test_structured_output_json_schema_pydantic(emulator, gemini):
    result = gemini.with_structured_output(City).invoke("Biggest city?")
    assert result == City(name="example name", population=1)
    gen = emulator.requests[-1].body["generationConfig"]
    assert gen["responseMimeType"] == "application/json"
    assert set(gen["responseJsonSchema"]["properties"]) == {"name", "population"}
    assert "tools" not in emulator.requests[-1].body


def test_structured_output_dict_schema_include_raw(emulator, gemini):
    schema = {
        "title": "Answer",
        "type": "object",
        "properties": {"answer": {"type": "string"}},
        "required": ["answer"],
    }
    out = gemini.with_structured_output(schema, include_raw=True).invoke("?")
    assert out["parsed"] == {"answer": "example answer"} and out["parsing_error"] is None
    assert isinstance(out["raw"], AIMessage)
    sent = emulator.requests[-1].body["generationConfig"]["responseJsonSchema"]
    assert {k: v for k, v in schema.items() if k != "title"} == {
        k: v for k, v in sent.items() if k != "title"
    }
    emulator.queue(Reply(text="not json"))
    bad = gemini.with_structured_output(schema, include_raw=True).invoke("?")
    assert bad["parsed"] is None and bad["parsing_error"] is not None


def test_structured_output_function_calling_forces_the_tool(emulator, gemini):
    out = gemini.with_structured_output(City, method="function_calling", include_raw=True).invoke("?")
    assert out["parsed"] == City(name="example name", population=1)
    body = emulator.requests[-1].body
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["City"]}}
    assert body["tools"][0]["functionDeclarations"][0]["name"] == "City"
    assert "responseMimeType" not in body.get("generationConfig", {})


def test_structured_output_json_mode(emulator, gemini):
    emulator.queue(Reply(text='{"name": "Tokyo", "population": 37}'))
    assert gemini.with_structured_output(City, method="json_mode").invoke("?") == City(
        name="Tokyo", population=37
    )
    assert emulator.requests[-1].body["generationConfig"] == {"responseMimeType": "application/json"}


def test_structured_output_openapi_dialect_sends_response_schema(emulator):
    model = _model(emulator, schema_dialect="openapi")
    assert model.with_structured_output(City).invoke("?") == City(name="example name", population=1)
    gen = emulator.requests[-1].body["generationConfig"]
    assert "responseJsonSchema" not in gen
    assert gen["responseSchema"]["type"] == "OBJECT"
    assert gen["responseSchema"]["properties"]["population"]["type"] == "INTEGER"


class Trip(BaseModel):
    """A trip."""

    origin: City
    stops: list[City]
    note: str | None = None


def test_openapi_dialect_inlines_refs_and_marks_nullable(emulator):
    model = _model(emulator, schema_dialect="openapi")
    emulator.queue(Reply(text="ok"))
    model.bind_tools([get_weather]).invoke("hi")
    [decl] = emulator.requests[-1].body["tools"][0]["functionDeclarations"]
    assert "parametersJsonSchema" not in decl
    assert decl["parameters"]["type"] == "OBJECT"
    assert decl["parameters"]["properties"]["city"]["type"] == "STRING"
    trip = model.with_structured_output(Trip).invoke("plan")
    assert trip.origin == City(name="example name", population=1)
    schema = emulator.requests[-1].body["generationConfig"]["responseSchema"]
    assert "$ref" not in json.dumps(schema) and "$defs" not in schema
    assert schema["properties"]["stops"]["items"]["properties"]["population"]["type"] == "INTEGER"
    assert (
        schema["properties"]["note"]["nullable"] is True and schema["properties"]["note"]["type"] == "STRING"
    )


# --- usage, reasoning, images ------------------------------------------------------------------------


def test_usage_details_cached_and_thought_tokens(emulator, gemini):
    usage = {"input_tokens": 100, "output_tokens": 30, "cache_read": 60, "reasoning": 20}
    emulator.queue(Reply(text="hi", usage=usage), Reply(text="hi", usage=usage))
    expected = {
        "input_tokens": 100,
        "output_tokens": 30,
        "total_tokens": 130,
        "input_token_details": {"cache_read": 60},
        "output_token_details": {"reasoning": 20},
    }
    msg = gemini.invoke("hello")
    assert msg.usage_metadata == expected
    raw = msg.response_metadata["token_usage"]
    assert (raw["cachedContentTokenCount"], raw["thoughtsTokenCount"], raw["candidatesTokenCount"]) == (
        60,
        20,
        10,
    )
    assert sum_chunks(list(gemini.stream("hello"))).usage_metadata == expected


def test_reasoning_thought_parts_and_signatures_round_trip(emulator):
    model = _model(emulator, include_thoughts=True, thinking_budget=512)
    emulator.queue(Reply(text="42.", reasoning="Six times seven."))
    msg = model.invoke("6*7?")
    gen = emulator.requests[-1].body["generationConfig"]
    assert gen["thinkingConfig"] == {"includeThoughts": True, "thinkingBudget": 512}
    assert msg.text == "42."
    blocks = msg.content_blocks
    assert blocks[0] == {"type": "reasoning", "reasoning": "Six times seven.", "index": 0}
    assert blocks[1]["type"] == "text" and blocks[1]["extras"]["signature"]
    assert msg.usage_metadata["output_token_details"]["reasoning"] > 0
    emulator.queue(Reply(text="ok"))
    model.invoke([HumanMessage("6*7?"), msg, HumanMessage("thanks")])
    parts = emulator.requests[-1].body["contents"][1]["parts"]
    assert parts == [
        {"text": "Six times seven.", "thought": True},
        {"text": "42.", "thoughtSignature": blocks[1]["extras"]["signature"]},
    ]


def test_thinking_without_thoughts_keeps_text_plain_and_signature_aside(emulator):
    model = _model(emulator, thinking_level="high")
    emulator.queue(Reply(text="Fine.", reasoning="hidden"), Reply(text="Fine.", reasoning="hidden"))
    msg = model.invoke("how are you")
    assert emulator.requests[-1].body["generationConfig"]["thinkingConfig"] == {"thinkingLevel": "HIGH"}
    assert msg.content == "Fine." and msg.usage_metadata["output_token_details"]["reasoning"] > 0
    [sig] = msg.additional_kwargs["__gemini_text_signatures__"]
    assert comparable(sum_chunks(list(model.stream("how are you")))) == comparable(msg)
    emulator.queue(Reply(text="ok"))
    model.invoke([HumanMessage("how are you"), msg, HumanMessage("good")])
    assert emulator.requests[-1].body["contents"][1]["parts"] == [{"text": "Fine.", "thoughtSignature": sig}]


def test_image_input_goes_inline_or_as_file_data(emulator, gemini):
    emulator.queue(Reply(text="a cat"))
    gemini.invoke(
        [
            HumanMessage(
                content=[
                    {"type": "text", "text": "What is this?"},
                    {"type": "image", "base64": "iVBORw0KGgo=", "mime_type": "image/png"},
                    {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}},
                    {"type": "image", "url": "https://example.com/cat.png"},
                ]
            )
        ]
    )
    wire = emulator.requests[-1]
    assert wire.body["contents"][0]["parts"] == [
        {"text": "What is this?"},
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
        {"inlineData": {"mimeType": "image/jpeg", "data": "/9j/4AAQ"}},
        {"fileData": {"mimeType": "image/png", "fileUri": "https://example.com/cat.png"}},
    ]
    assert len(wire.parsed.messages[-1]["images"]) == 3


def test_model_kwargs_merge_into_the_body_and_base_url_with_version(emulator):
    model = init_chat_model(
        "google_genai:models/gemini-2.5-flash",
        api_key=KEY,
        temperature=0.5,
        base_url=emulator.base_url("google_genai") + "/v1beta",
        model_kwargs={"generationConfig": {"seed": 7}, "safetySettings": []},
    )
    emulator.queue(Reply(text="ok"))
    model.invoke("hi")
    wire = emulator.requests[-1]
    assert wire.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert (
        wire.body["generationConfig"] == {"temperature": 0.5, "seed": 7} and wire.body["safetySettings"] == []
    )


# --- errors ------------------------------------------------------------------------------------------


def test_429_is_retried_after_the_advertised_delay(emulator, gemini):
    emulator.queue(Fault.rate_limit(retry_after=0.3), Reply(text="ok"))
    t0 = time.perf_counter()
    assert gemini.invoke("hi").content == "ok"
    assert time.perf_counter() - t0 >= 0.29
    assert len(emulator.requests) == 2


def test_retry_delay_in_the_error_body_is_honoured_without_a_header(gemini):
    body = {
        "error": {
            "code": 429,
            "message": "Resource has been exhausted",
            "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "19s"}],
        }
    }
    err = gemini.adapter.classify_error(429, httpx.Headers(), body)
    assert isinstance(err, ModelRateLimitError) and err.is_retryable and err.retry_after == 19.0
    assert "RESOURCE_EXHAUSTED" in str(err)


def test_400_is_not_retried(emulator, gemini):
    emulator.queue(Fault.http(400, "Invalid JSON payload received."), Reply(text="never"))
    with pytest.raises(ModelInvalidRequestError, match="INVALID_ARGUMENT: Invalid JSON payload"):
        gemini.invoke("hi")
    assert len(emulator.requests) == 1


@pytest.mark.parametrize("status, cls", [(403, ModelPermissionDeniedError), (404, ModelNotFoundError)])
def test_client_errors_map_to_their_class(emulator, gemini, status, cls):
    emulator.queue(Fault.http(status, "nope"))
    with pytest.raises(cls):
        gemini.invoke("hi")
    assert len(emulator.requests) == 1


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retried(emulator, gemini, status):
    emulator.queue(Fault.server_error(status), Reply(text="recovered"))
    assert gemini.invoke("hi").content == "recovered"
    assert len(emulator.requests) == 2


def test_context_overflow_is_recognised(gemini):
    body = {
        "error": {
            "code": 400,
            "status": "INVALID_ARGUMENT",
            "message": "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
        }
    }
    assert isinstance(gemini.adapter.classify_error(400, httpx.Headers(), body), ContextOverflowError)


def test_malformed_stream_raises(emulator, gemini):
    emulator.queue(Fault.malformed())
    with pytest.raises(ModelAPIError, match="not JSON"):
        list(gemini.stream("hi"))


def test_key_from_environment_and_missing_key(emulator, monkeypatch):
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.setenv("GEMINI_API_KEY", "env-key")
    emulator.queue(Reply(text="ok"))
    init_chat_model("google_genai:gemini-2.5-flash", base_url=emulator.base_url("google_genai")).invoke("hi")
    assert emulator.requests[-1].headers["x-goog-api-key"] == "env-key"
    monkeypatch.delenv("GEMINI_API_KEY")
    model = init_chat_model("google_genai:gemini-2.5-flash", base_url=emulator.base_url("google_genai"))
    with pytest.raises(MissingAPIKeyError, match="GOOGLE_API_KEY or GEMINI_API_KEY"):
        model.invoke("hi")


# --- recorded traffic, pure decoding ----------------------------------------------------------------


def test_recognises_developer_api_and_vertex_urls():
    dev = "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    vertex = (
        "https://aiplatform.googleapis.com/v1beta1/projects/p/locations/global/publishers/google/models/"
        "gemini-2.0-flash:generateContent"
    )
    assert adapter_for_url(dev) is GeminiAdapter and adapter_for_url(vertex) is GeminiAdapter
    assert not GeminiAdapter.recognizes(vertex.replace("generateContent", "countTokens"))
    adapter = GeminiAdapter.for_recorded(dev)
    assert adapter.model_from_request(dev, {}) == "gemini-2.5-flash"
    assert adapter.model_from_request(vertex, {}) == "gemini-2.0-flash"
    assert adapter.is_stream_request(dev, {}) and not adapter.is_stream_request(vertex, {})
    # the key is dropped, and `alt` too: a stream recorded without alt=sse (a JSON array) replays as well
    assert GeminiAdapter.normalize_url_for_match(dev + "&key=secret") == dev.split("?")[0]


def test_stream_usage_differences_add_up_to_the_last_report_even_when_it_shrinks():
    def event(text, usage, finish=None):
        cand = {"content": {"role": "model", "parts": [{"text": text}]}}
        if finish:
            cand["finishReason"] = finish
        return (
            b"data: "
            + json.dumps(
                {"candidates": [cand], "usageMetadata": usage, "modelVersion": "m", "responseId": "r1"}
            ).encode()
            + b"\r\n\r\n"
        )

    body = event("The", {"promptTokenCount": 15, "totalTokenCount": 15}) + event(
        " end", {"promptTokenCount": 13, "candidatesTokenCount": 8, "totalTokenCount": 21}, "STOP"
    )
    adapter = GeminiAdapter.for_recorded()
    for split in (None, [7] * (len(body) // 7)):
        total = sum_chunks(adapter.parse_stream_body(body, split))
        assert total.content == "The end" and total.response_metadata["model_name"] == "m"
        assert (
            total.usage_metadata["input_tokens"],
            total.usage_metadata["output_tokens"],
            total.usage_metadata["total_tokens"],
        ) == (13, 8, 21)


def test_server_side_tool_parts_are_kept_and_sent_back_verbatim():
    adapter = GeminiAdapter(model="gemini-3-flash-preview", api_key=KEY)
    call = {
        "toolCall": {"toolType": "GOOGLE_SEARCH_WEB", "args": {"queries": ["q"]}, "id": "t1"},
        "thoughtSignature": "c2ln",
    }
    result = {"toolResponse": {"toolType": "GOOGLE_SEARCH_WEB", "response": {"hits": 3}, "id": "t1"}}
    msg = adapter.parse_response(
        {
            "candidates": [
                {
                    "content": {"role": "model", "parts": [call, result, {"text": "Found it."}]},
                    "finishReason": "STOP",
                }
            ],
            "modelVersion": "gemini-3-flash-preview",
        }
    )
    assert msg.text == "Found it."
    assert [b["type"] for b in msg.content_blocks] == ["server_tool_call", "server_tool_result", "text"]
    assert msg.content_blocks[0]["name"] == "google_search_web"
    from harness.providers.base import ChatRequest

    body = adapter.build_request(
        ChatRequest(model="gemini-3-flash-preview", messages=[HumanMessage("q"), msg, HumanMessage("more")])
    ).json
    assert body["contents"][1]["parts"] == [call, result, {"text": "Found it."}]
