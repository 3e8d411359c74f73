"""The `bedrock_converse` provider over real loopback HTTP (Converse JSON + ConverseStream event
stream, ProviderEmulator), plus its SigV4 signer and event-stream decoder against the documented
test vectors and botocore."""

from __future__ import annotations

import json
import random
import re
import time
from datetime import datetime, timezone

import pytest
from _helpers import PNG, Answer, comparable, get_weather, sum_chunks
from pydantic import BaseModel

from harness import aws, init_chat_model
from harness.errors import (
    ConfigurationError,
    ContextOverflowError,
    MissingAPIKeyError,
    ModelAPIError,
    ModelError,
    ModelInvalidRequestError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    UnsupportedFeatureError,
)
from harness.messages.core import AIMessage, AIMessageChunk, HumanMessage, SystemMessage, ToolMessage
from harness.providers import adapter_for_url
from harness.providers.bedrock import sigv4 as _sigv4
from harness.providers.bedrock.converse import BedrockConverseAdapter
from harness.providers.bedrock.eventstream import (
    EventStreamDecoder,
    encode_event,
    encode_exception,
    encode_message,
)
from harness.testing import Fault, Reply, ToolCallSpec

MODEL_ID = "anthropic.claude-3-5-sonnet-20240620-v1:0"
KEY, SECRET, TOKEN = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "SESSIONTOKEN"
THINKING = {"type": "enabled", "budget_tokens": 2048}
AUTH = re.compile(
    r"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/(\d{8})/us-west-2/bedrock/aws4_request, "
    r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$"
)


def _model(emulator, **kw):
    kw = {
        "aws_access_key_id": KEY,
        "aws_secret_access_key": SECRET,
        "aws_session_token": TOKEN,
        "region_name": "us-west-2",
        "max_retries": 2,
        **kw,
    }
    return init_chat_model(
        f"bedrock_converse:{MODEL_ID}", base_url=emulator.base_url("bedrock_converse"), **kw
    )


@pytest.fixture
def model(emulator):
    return _model(emulator)


def _wire(emulator, i=-1):
    return emulator.requests_for("bedrock_converse")[i]


# --- invoke, the documented wire format, and signing ---------------------------------------------------


def test_invoke_sends_documented_request_and_parses_reply(emulator, model):
    emulator.queue(Reply(text="Paris.", usage={"input_tokens": 20, "output_tokens": 3}))
    msg = model.invoke(
        [SystemMessage("Be brief."), HumanMessage("Capital of France?")],
        temperature=0.2,
        max_tokens=256,
        top_p=0.9,
        stop=["END"],
        top_k=5,
    )
    assert isinstance(msg, AIMessage) and msg.content == "Paris."
    assert msg.usage_metadata == {"input_tokens": 20, "output_tokens": 3, "total_tokens": 23}
    meta = msg.response_metadata
    assert meta["model_provider"] == "bedrock_converse" and meta["model_name"] == MODEL_ID
    assert meta["stopReason"] == "end_turn" and meta["finish_reason"] == "stop"
    assert meta["metrics"] == {"latencyMs": [42]}
    wire = _wire(emulator)
    assert (
        wire.method == "POST" and wire.path == "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
    )
    assert wire.body == {
        "messages": [{"role": "user", "content": [{"text": "Capital of France?"}]}],
        "system": [{"text": "Be brief."}],
        "inferenceConfig": {"temperature": 0.2, "maxTokens": 256, "topP": 0.9, "stopSequences": ["END"]},
        "additionalModelRequestFields": {"top_k": 5},
    }
    assert wire.headers["content-type"] == "application/json"


def test_requests_are_sigv4_signed_over_the_exact_bytes_sent(emulator, model):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    model.invoke("hi")
    wire = _wire(emulator)
    assert re.fullmatch(r"\d{8}T\d{6}Z", wire.headers["x-amz-date"])
    assert wire.headers["x-amz-security-token"] == TOKEN
    match = AUTH.match(wire.headers["authorization"])
    assert match, wire.headers["authorization"]
    assert match.group(1) == wire.headers["x-amz-date"][:8]
    assert match.group(2) == "content-type;host;x-amz-date;x-amz-security-token"
    # botocore, given the same request as it arrived, computes the same signature
    request = AWSRequest(
        method="POST",
        url=emulator.url + wire.path,
        data=wire.raw,
        headers={
            "Content-Type": wire.headers["content-type"],
            "X-Amz-Date": wire.headers["x-amz-date"],
            "X-Amz-Security-Token": wire.headers["x-amz-security-token"],
        },
    )
    request.context["timestamp"] = wire.headers["x-amz-date"]
    signer = SigV4Auth(Credentials(KEY, SECRET, TOKEN), "bedrock", "us-west-2")
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    assert match.group(3) == expected


def test_sigv4_matches_the_documented_test_vector():
    url = "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
    body = b'{"messages":[{"role":"user","content":[{"text":"Hello"}]}],"inferenceConfig":{"maxTokens":256}}'
    now = datetime(2025, 1, 15, 12, 0, 0, tzinfo=timezone.utc)
    canon, _ = _sigv4.canonical_request(
        "POST",
        url,
        {
            "content-type": "application/json",
            "x-amz-date": "20250115T120000Z",
            "host": _sigv4.host_header(url),
        },
        body,
    )
    assert canon == (
        "POST\n/model/anthropic.claude-3-5-sonnet-20240620-v1%253A0/converse\n\n"
        "content-type:application/json\nhost:bedrock-runtime.us-east-1.amazonaws.com\nx-amz-date:20250115T120000Z\n\n"
        "content-type;host;x-amz-date\nd8695502972bd4d482308b656a524b7a7efcebba591a06801fadba6b39700dd1"
    )
    headers = _sigv4.sign(
        "POST",
        url,
        {"Content-Type": "application/json"},
        body,
        _sigv4.AWSCredentials(KEY, SECRET),
        "us-east-1",
        now=now,
    )
    assert headers["X-Amz-Date"] == "20250115T120000Z"
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250115/us-east-1/bedrock/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, "
        "Signature=5d2daa6aa78431974c3344bfeb768c1f3ae8cec1d8e3ca9d0cbbf211040892b3"
    )
    with_token = _sigv4.sign(
        "POST",
        url,
        {"Content-Type": "application/json"},
        body,
        _sigv4.AWSCredentials(KEY, SECRET, TOKEN),
        "us-east-1",
        now=now,
    )
    assert with_token["X-Amz-Security-Token"] == TOKEN
    assert with_token["Authorization"].endswith(
        "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, "
        "Signature=3ee8666137b85246d67afb43626352dd753d130a92c5efc32f6926e9414da191"
    )


def test_sigv4_agrees_with_botocore_add_auth():
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = "https://bedrock-runtime.eu-west-1.amazonaws.com/model/arn%3Aaws%3Abedrock%3Aeu-west-1%3A1%3Ainference-profile%2Feu.x/converse-stream"
    body = json.dumps({"messages": [{"role": "user", "content": [{"text": "h\u00e9  llo  "}]}]}).encode()
    request = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(KEY, SECRET, TOKEN), "bedrock", "eu-west-1").add_auth(request)
    when = datetime.strptime(request.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    ours = _sigv4.sign(
        "POST",
        url,
        {"Content-Type": "application/json"},
        body,
        _sigv4.AWSCredentials(KEY, SECRET, TOKEN),
        "eu-west-1",
        now=when,
    )
    assert ours["Authorization"] == request.headers["Authorization"]


def test_bedrock_api_key_is_a_bearer_token_and_not_signed(emulator, monkeypatch):
    m = init_chat_model(
        f"bedrock_converse:{MODEL_ID}",
        base_url=emulator.base_url("bedrock_converse"),
        api_key="bedrock-api-key-123",
    )
    m.invoke("hi")
    assert _wire(emulator).headers["authorization"] == "Bearer bedrock-api-key-123"
    assert "x-amz-date" not in _wire(emulator).headers
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "bedrock-env-key-456")
    init_chat_model(f"bedrock_converse:{MODEL_ID}", base_url=emulator.base_url("bedrock_converse")).invoke(
        "hi"
    )
    assert _wire(emulator).headers["authorization"] == "Bearer bedrock-env-key-456"
    # explicit AWS keys win over the environment's bearer token
    _model(emulator).invoke("hi")
    assert _wire(emulator).headers["authorization"].startswith("AWS4-HMAC-SHA256 ")


def test_credentials_and_region_from_environment(emulator, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_BEARER_TOKEN_BEDROCK", raising=False)
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    m = init_chat_model(f"bedrock_converse:{MODEL_ID}", base_url=emulator.base_url("bedrock_converse"))
    m.invoke("hi")
    assert AUTH.match(_wire(emulator).headers["authorization"])
    assert "x-amz-security-token" not in _wire(emulator).headers
    default = BedrockConverseAdapter(model=MODEL_ID)
    assert default.base_url == "https://bedrock-runtime.us-west-2.amazonaws.com"
    assert BedrockConverseAdapter(model=MODEL_ID, region_name="eu-central-1").base_url.endswith(
        "bedrock-runtime.eu-central-1.amazonaws.com"
    )


def test_no_credentials_fails_only_when_going_live(emulator, monkeypatch, tmp_path):
    for var in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_BEARER_TOKEN_BEDROCK",
        "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(aws, "_chain", {})  # forget credentials found earlier in this process
    monkeypatch.setattr(aws, "_sessions", {})
    from harness.cassettes import use_cassette

    cassette = tmp_path / "bedrock.yaml"
    emulator.queue(
        "record me",
        Reply(
            text="streamed and recorded",
            reasoning="hmm",
            tool_calls=[ToolCallSpec("get_weather", {"city": "Oslo"})],
        ),
    )
    with use_cassette(cassette, record_mode="once"):
        _model(emulator).invoke("record me")  # recorded with real (test) credentials
        recorded = sum_chunks(list(_model(emulator).stream("stream me")))
    text = cassette.read_text()
    assert SECRET not in text and TOKEN not in text
    keyless = init_chat_model(
        f"bedrock_converse:{MODEL_ID}",
        base_url=emulator.base_url("bedrock_converse"),
        region_name="us-west-2",
    )
    with use_cassette(cassette, record_mode="none"):
        assert keyless.invoke("record me").content == "record me"
        replayed = sum_chunks(list(keyless.stream("stream me")))
    assert comparable(replayed)[:5] == comparable(recorded)[:5]
    assert replayed.response_metadata["timing"]["replayed"] is True
    with pytest.raises(MissingAPIKeyError, match="AWS_ACCESS_KEY_ID"):
        keyless.invoke("live now")


def test_profile_credentials_without_botocore_name_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "botocore.session", None)  # as if `harness[bedrock]` were not installed
    monkeypatch.setattr(aws, "_sessions", {})
    # building (and replaying) needs no botocore: the profile is read when a request goes live
    model = init_chat_model(
        f"bedrock_converse:{MODEL_ID}",
        credentials_profile_name="dev",
        region_name="us-west-2",
        base_url="http://127.0.0.1:9",
        max_retries=0,
    )
    with model, pytest.raises(ConfigurationError, match=re.escape("pip install 'harness[bedrock]'")):
        model.invoke("hi")
    # explicit keys and a region need no botocore at all
    adapter = BedrockConverseAdapter(
        model=MODEL_ID, region_name="us-west-2", aws_access_key_id=KEY, aws_secret_access_key=SECRET
    )
    assert adapter.secrets() == [SECRET]


def test_recognises_recorded_traffic_and_drops_region_for_matching():
    url = "https://bedrock-runtime.us-east-1.amazonaws.com/model/us.amazon.nova-micro-v1%3A0/converse-stream"
    assert adapter_for_url(url) is BedrockConverseAdapter
    adapter = BedrockConverseAdapter.for_recorded(url)
    assert adapter.model == "us.amazon.nova-micro-v1:0"
    assert adapter.model_from_request(url, {}) == "us.amazon.nova-micro-v1:0"
    assert adapter.is_stream_request(url, {}) and not adapter.is_stream_request(url[: -len("-stream")], {})
    norm = BedrockConverseAdapter.normalize_url_for_match
    assert norm(url) == norm(url.replace("us-east-1", "eu-west-3")) == norm(url.replace("%3A", ":"))
    assert "us-east-1" not in norm(url)
    assert norm("http://127.0.0.1:9/model/m/converse") == "http://127.0.0.1:9/model/m/converse"


# --- streaming ---------------------------------------------------------------------------------------------


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
        Reply(
            reasoning="Need the weather.",
            text="Checking.",
            tool_calls=[ToolCallSpec("get_weather", {"city": "Rome"})],
            usage={"input_tokens": 900, "output_tokens": 40, "cache_read": 500, "cache_creation": 300},
        ),
        Reply(text="cut short", finish_reason="length"),
    ],
    ids=[
        "text",
        "text+parallel-tools",
        "tool-no-args",
        "reasoning+text",
        "reasoning+text+tool+cache",
        "length",
    ],
)
def test_summed_stream_equals_invoke(emulator, model, reply):
    emulator.queue(reply, reply)
    invoked = model.invoke("question")
    chunks = list(model.stream("question"))
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    assert chunks[-1].chunk_position == "last"
    total = sum_chunks(chunks)
    assert comparable(total) == comparable(invoked)
    assert _wire(emulator).path.endswith("/converse-stream")
    for key in ("model_name", "stopReason", "finish_reason"):
        assert sum(key in c.response_metadata for c in chunks) == 1, key
    assert sum(c.usage_metadata is not None for c in chunks) == 1


async def test_async_invoke_and_astream(emulator, model):
    emulator.queue(Reply(text="async hello"), Reply(text="streamed async", reasoning="hmm"))
    assert (await model.ainvoke("hi")).content == "async hello"
    chunks = [c async for c in model.astream("hi")]
    assert sum_chunks(chunks).text == "streamed async"


def test_stream_cut_or_corrupted_raises(emulator, model):
    emulator.queue(Fault.drop_mid_stream(after_chunks=2))
    with pytest.raises(ModelError):
        list(model.stream("hi"))
    emulator.queue(Fault.malformed())
    with pytest.raises(ModelAPIError, match="CRC"):
        list(model.stream("hi"))


@pytest.mark.parametrize(
    ("exception", "error", "retryable"),
    [
        ("throttlingException", ModelRateLimitError, True),
        ("validationException", ModelInvalidRequestError, False),
        ("modelStreamErrorException", ModelAPIError, False),
        ("serviceUnavailableException", ModelAPIError, True),
    ],
)
def test_exception_frames_in_a_stream_raise(exception, error, retryable):
    body = encode_event("messageStart", b'{"role":"assistant"}') + encode_exception(
        exception, json.dumps({"message": "slow down", "originalStatusCode": 500}).encode()
    )
    with pytest.raises(error, match="slow down") as info:
        BedrockConverseAdapter.for_recorded().parse_stream_body(body)
    assert info.value.is_retryable is retryable


# --- the event-stream decoder ----------------------------------------------------------------------------


def test_event_stream_decoder_matches_the_documented_frame_and_botocore():
    from botocore.eventstream import EventStreamBuffer

    frame = bytes.fromhex(
        "0000009400000057b4ab9aee0b3a6576656e742d74797065070011636f6e74656e74426c6f636b44656c7461"
        "0d3a636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e0d3a6d6573736167652d74"
        "7970650700056576656e747b22636f6e74656e74426c6f636b496e646578223a302c2264656c7461223a7b22"
        "74657874223a224869227d7d1f944657"
    )
    assert encode_event("contentBlockDelta", b'{"contentBlockIndex":0,"delta":{"text":"Hi"}}') == frame
    headers = {"b1": True, "b0": False, "i32": -7, "i64": 2**40, "raw": b"\x00\xff", "s": "h\u00e9llo"}
    stream = frame + encode_message(headers, b"payload") + frame
    reference = EventStreamBuffer()
    reference.add_data(stream)
    expected = [(dict(m.headers), m.payload) for m in reference]
    rng = random.Random(7)
    for _ in range(20):  # any split of the bytes decodes to the same messages
        decoder, got, pos = EventStreamDecoder(), [], 0
        while pos < len(stream):
            step = rng.randint(1, 40)
            got += decoder.feed(stream[pos : pos + step])
            pos += step
        decoder.close()
        assert [(m.headers, m.payload) for m in got] == expected
    one_byte = EventStreamDecoder()
    assert [m for i in range(len(stream)) for m in one_byte.feed(stream[i : i + 1])][1].headers == headers


def test_event_stream_decoder_rejects_bad_crc_and_truncation():
    from harness.errors import EventStreamError

    frame = bytearray(encode_event("messageStop", b'{"stopReason":"end_turn"}'))
    bad = bytes(frame[:-1]) + bytes([frame[-1] ^ 1])
    with pytest.raises(EventStreamError, match="message CRC"):
        EventStreamDecoder().feed(bad)
    frame[9] ^= 1  # prelude CRC
    with pytest.raises(EventStreamError, match="prelude CRC"):
        EventStreamDecoder().feed(bytes(frame))
    cut = EventStreamDecoder()
    assert cut.feed(encode_event("messageStop", b"{}")[:-3]) == []
    with pytest.raises(EventStreamError, match="ended inside a message"):
        cut.close()


# --- tools ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", {"auto": {}}),
        ("any", {"any": {}}),
        (True, {"any": {}}),
        ("get_weather", {"tool": {"name": "get_weather"}}),
        (None, None),
    ],
)
def test_tool_choice_on_the_wire(emulator, model, choice, wire):
    model.bind_tools([get_weather], tool_choice=choice).invoke("weather in Paris?")
    config = _wire(emulator).body["toolConfig"]
    assert config["tools"] == [
        {
            "toolSpec": {
                "name": "get_weather",
                "description": "Current weather for a city.",
                "inputSchema": {
                    "json": {
                        "type": "object",
                        "properties": {"city": {"type": "string"}},
                        "required": ["city"],
                    }
                },
            }
        }
    ]
    assert config.get("toolChoice") == wire


def test_tool_choice_none_leaves_tools_out_unless_history_needs_them(emulator, model):
    model.bind_tools([get_weather], tool_choice="none").invoke("hi")
    assert "toolConfig" not in _wire(emulator).body
    history = [
        HumanMessage("weather?"),
        AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": "Oslo"}, "id": "tooluse_1"}]),
        ToolMessage("cold", tool_call_id="tooluse_1"),
    ]
    model.bind_tools([get_weather], tool_choice="none").invoke(history)
    config = _wire(emulator).body["toolConfig"]
    assert "toolChoice" not in config and config["tools"][0]["toolSpec"]["name"] == "get_weather"


def test_tool_loop_with_parallel_calls_sends_results_back(emulator, model):
    emulator.queue(
        Reply(
            text="Checking both.",
            tool_calls=[
                ToolCallSpec("get_weather", {"city": "Paris"}, id="tooluse_a"),
                ToolCallSpec("get_weather", {"city": "Tokyo"}, id="tooluse_b"),
            ],
        )
    )
    bound = model.bind_tools([get_weather])
    messages = [HumanMessage("Weather in Paris and Tokyo?")]
    first = bound.invoke(messages)
    assert [tc["id"] for tc in first.tool_calls] == ["tooluse_a", "tooluse_b"]
    assert first.response_metadata["finish_reason"] == "tool_calls"
    messages.append(first)
    messages += [get_weather.invoke(tc) for tc in first.tool_calls]
    final = bound.invoke(messages)
    assert final.content == "Based on the tools: sunny in Paris; sunny in Tokyo"
    body = _wire(emulator).body
    assert body["messages"][1] == {
        "role": "assistant",
        "content": [
            {"text": "Checking both."},
            {"toolUse": {"toolUseId": "tooluse_a", "name": "get_weather", "input": {"city": "Paris"}}},
            {"toolUse": {"toolUseId": "tooluse_b", "name": "get_weather", "input": {"city": "Tokyo"}}},
        ],
    }
    # both results in one user turn (Bedrock wants user/assistant alternation)
    assert body["messages"][2] == {
        "role": "user",
        "content": [
            {
                "toolResult": {
                    "toolUseId": "tooluse_a",
                    "content": [{"text": "sunny in Paris"}],
                    "status": "success",
                }
            },
            {
                "toolResult": {
                    "toolUseId": "tooluse_b",
                    "content": [{"text": "sunny in Tokyo"}],
                    "status": "success",
                }
            },
        ],
    }
    assert len(body["messages"]) == 3 and "toolConfig" in body


def test_parallel_tool_calls_param_is_refused(model):
    with pytest.raises(UnsupportedFeatureError, match="parallel_tool_calls"):
        model.bind_tools([get_weather], parallel_tool_calls=False).invoke("hi")


# --- structured output -------------------------------------------------------------------------------


@pytest.mark.parametrize("method", [None, "function_calling", "json_schema"])
@pytest.mark.parametrize("schema", [Answer, Answer.model_json_schema()])
def test_structured_output(emulator, model, method, schema):
    runnable = model.with_structured_output(schema, method=method, include_raw=True)
    out = runnable.invoke("Is the sky blue?")
    assert out["parsing_error"] is None
    parsed = out["parsed"]
    data = parsed.model_dump() if isinstance(parsed, BaseModel) else parsed
    assert data == {"answer": "example answer", "justification": "example justification"}
    assert isinstance(parsed, Answer) == (schema is Answer)
    body = _wire(emulator).body
    if method == "json_schema":
        jsf = body["outputConfig"]["textFormat"]
        assert jsf["type"] == "json_schema"
        assert json.loads(jsf["structure"]["jsonSchema"]["schema"])["properties"].keys() == {
            "answer",
            "justification",
        }
        assert jsf["structure"]["jsonSchema"]["name"] == "Answer" and "toolConfig" not in body
    else:  # function calling is the default, as in ChatBedrockConverse
        assert body["toolConfig"]["toolChoice"] == {"tool": {"name": "Answer"}}
        assert out["raw"].tool_calls[0]["name"] == "Answer"
    plain = model.with_structured_output(schema, method=method).invoke("again")
    assert plain == parsed


def test_json_mode_is_not_offered(model):
    with pytest.raises(UnsupportedFeatureError, match="json_mode"):
        model.with_structured_output(Answer, method="json_mode")


# --- usage, reasoning, images ---------------------------------------------------------------------------


def test_cache_usage_is_added_to_input_tokens(emulator, model):
    emulator.queue(
        Reply(
            text="cached",
            usage={"input_tokens": 1310, "output_tokens": 2, "cache_read": 1000, "cache_creation": 298},
        )
    )
    msg = model.invoke("hi")
    assert msg.usage_metadata == {
        "input_tokens": 1310,
        "output_tokens": 2,
        "total_tokens": 1312,
        "input_token_details": {"cache_read": 1000, "cache_creation": 298},
    }
    # parse of the documented raw shape: inputTokens excludes cache reads and writes
    raw = BedrockConverseAdapter.for_recorded().parse_response(
        {
            "output": {"message": {"role": "assistant", "content": [{"text": "5"}]}},
            "stopReason": "end_turn",
            "usage": {
                "inputTokens": 10,
                "outputTokens": 2,
                "totalTokens": 1310,
                "cacheReadInputTokens": 0,
                "cacheWriteInputTokens": 1298,
                "cacheDetails": [{"ttl": "1h", "inputTokens": 1298}],
            },
        }
    )
    assert raw.usage_metadata == {
        "input_tokens": 1308,
        "output_tokens": 2,
        "total_tokens": 1310,
        "input_token_details": {"cache_read": 0, "cache_creation": 1298, "ephemeral_1h_input_tokens": 1298},
    }


def test_reasoning_blocks_are_returned_and_sent_back_signed(emulator, model):
    msg = model.invoke("What is 2+2?", thinking=THINKING)
    assert _wire(emulator).body["additionalModelRequestFields"] == {"thinking": THINKING}
    reasoning = [b for b in msg.content_blocks if b["type"] == "reasoning"]
    assert reasoning[0]["reasoning"] == "Thinking about the question."
    assert reasoning[0]["extras"]["signature"].startswith("sig-")
    assert msg.text == "Emulated reply to: What is 2+2?"
    model.invoke([HumanMessage("What is 2+2?"), msg, HumanMessage("And 3+3?")], thinking=THINKING)
    assert _wire(emulator).body["messages"][1]["content"] == [
        {
            "reasoningContent": {
                "reasoningText": {
                    "text": "Thinking about the question.",
                    "signature": reasoning[0]["extras"]["signature"],
                }
            }
        },
        {"text": "Emulated reply to: What is 2+2?"},
    ]


def test_redacted_and_unsigned_reasoning_round_trip():
    adapter = BedrockConverseAdapter.for_recorded()
    msg = adapter.parse_response(
        {
            "output": {
                "message": {
                    "role": "assistant",
                    "content": [
                        {"reasoningContent": {"redactedContent": "b64data"}},
                        {"reasoningContent": {"reasoningText": {"text": "unsigned thoughts"}}},
                        {"text": "Hello"},
                    ],
                }
            },
            "stopReason": "end_turn",
        }
    )
    assert msg.content == [
        {"type": "reasoning", "extras": {"redacted_content": "b64data"}, "index": 0},
        {"type": "reasoning", "reasoning": "unsigned thoughts", "index": 1},
        "Hello",
    ]
    from harness.providers.bedrock.request import assistant_blocks

    # unsigned reasoning cannot be verified by the model, so only the redacted block goes back
    assert assistant_blocks(msg) == [{"reasoningContent": {"redactedContent": "b64data"}}, {"text": "Hello"}]


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
    assert _wire(emulator).body["messages"][0]["content"] == [
        {"text": "What is this?"},
        {"image": {"format": "png", "source": {"bytes": PNG}}},
        {"image": {"format": "jpeg", "source": {"bytes": PNG}}},
    ]
    assert emulator.requests_for("bedrock_converse")[-1].parsed.messages[-1]["images"]
    model.invoke(
        [
            HumanMessage(
                [
                    {
                        "type": "file",
                        "base64": "JVBERi0x",
                        "mime_type": "application/pdf",
                        "extras": {"filename": "report.v2.pdf"},
                    },
                    "Summarise it.",
                ]
            )
        ]
    )
    assert _wire(emulator).body["messages"][0]["content"] == [
        {"document": {"format": "pdf", "name": "report-v2", "source": {"bytes": "JVBERi0x"}}},
        {"text": "Summarise it."},
    ]
    with pytest.raises(ValueError, match="does not fetch image URLs"):
        model.invoke([HumanMessage([{"type": "image", "url": "https://example.com/cat.png"}])])


# --- errors and retries -----------------------------------------------------------------------------------


def test_throttling_is_retried_honouring_retry_after(emulator, model):
    emulator.queue(
        Fault.rate_limit(retry_after=0.3, message="Too many requests, please wait"), Reply(text="ok")
    )
    started = time.perf_counter()
    assert model.invoke("hi").content == "ok"
    assert time.perf_counter() - started >= 0.3
    assert len(emulator.requests_for("bedrock_converse")) == 2


def test_model_not_ready_and_unavailable_are_retried(emulator, model):
    not_ready = Fault(
        "status",
        429,
        "Model is not ready",
        0.01,
        headers={"x-amzn-errortype": "ModelNotReadyException:http://internal.amazon.com/coral/"},
    )
    emulator.queue(not_ready, Fault.http(503, "Service unavailable"), Reply(text="ok"))
    assert model.invoke("hi").content == "ok"
    assert len(emulator.requests_for("bedrock_converse")) == 3


@pytest.mark.parametrize(
    ("status", "message", "error"),
    [
        (400, "The provided model identifier is invalid.", ModelInvalidRequestError),
        (400, "Input is too long for requested model.", ContextOverflowError),
        (403, "You don't have access to the model with the specified model ID.", ModelPermissionDeniedError),
    ],
)
def test_client_errors_are_not_retried(emulator, model, status, message, error):
    emulator.queue(Fault.http(status, message))
    with pytest.raises(error, match=re.escape(message)) as info:
        model.invoke("hi")
    assert "Exception: " in str(info.value) and info.value.status_code == status
    assert len(emulator.requests_for("bedrock_converse")) == 1


def test_exhausted_throttling_raises_rate_limit_error(emulator, model):
    emulator.queue(*[Fault.rate_limit(retry_after=0.01)] * 3)
    with pytest.raises(ModelRateLimitError, match="ThrottlingException"):
        model.invoke("hi")
    assert len(emulator.requests_for("bedrock_converse")) == 3
