"""The `bedrock` provider: InvokeModel / InvokeModelWithResponseStream (LangChain's ChatBedrock) with
the Anthropic and Amazon Nova payloads, over real loopback HTTP to the emulator, signed with SigV4;
and cassettes built from the documented shapes, replayed offline."""

from __future__ import annotations

import base64
import json
import socket
from urllib.parse import unquote

import pytest
from _helpers import get_weather, sum_chunks

from harness import init_chat_model
from harness.cassettes import use_cassette
from harness.errors import UnsupportedFeatureError
from harness.messages.core import HumanMessage
from harness.providers import adapter_for_url
from harness.providers.base import ChatRequest
from harness.providers.bedrock import BedrockInvokeAdapter
from harness.providers.bedrock.eventstream import encode_event
from harness.testing import Reply, ToolCallSpec

CLAUDE = "anthropic.claude-3-5-sonnet-20240620-v1:0"
NOVA = "amazon.nova-lite-v1:0"
CREDS = {"aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG", "region_name": "us-west-2"}  # fmt: skip


def _model(emu, model_id=CLAUDE, **kw):
    return init_chat_model(
        f"bedrock:{model_id}", base_url=emu.base_url("bedrock"), max_retries=0, **CREDS, **kw
    )


def _sent(emu):
    return emu.requests_for("bedrock")[-1]


def test_init_chat_model_bedrock_is_invoke_model_beside_converse(emulator):
    model = _model(emulator)
    assert model.model_provider == "bedrock" and isinstance(model.adapter, BedrockInvokeAdapter)
    converse = init_chat_model(f"bedrock_converse:{CLAUDE}", **CREDS)
    assert converse.model_provider == "bedrock_converse"


def test_anthropic_payload_invoke(emulator):
    emulator.queue(Reply(text="Paris.", usage={"input_tokens": 12, "output_tokens": 3}))
    model = _model(emulator, temperature=0, max_tokens=100)
    ai = model.invoke([("system", "Be brief."), ("user", "Capital of France?")])
    model.close()
    sent = _sent(emulator)
    assert unquote(sent.path) == f"/model/{CLAUDE}/invoke"
    assert sent.body["anthropic_version"] == "bedrock-2023-05-31"
    assert "model" not in sent.body and "stream" not in sent.body
    assert sent.body["system"] == "Be brief." and sent.body["max_tokens"] == 100
    assert sent.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert ai.text == "Paris." and ai.usage_metadata["input_tokens"] == 12
    assert ai.response_metadata["model_provider"] == "bedrock"
    assert ai.response_metadata["finish_reason"] == "stop"


def test_anthropic_payload_stream_sums_to_the_invoke_reply(emulator):
    reply = Reply(text="Paris is the capital.", usage={"input_tokens": 12, "output_tokens": 6})
    emulator.queue(reply, reply)
    model = _model(emulator)
    whole = model.invoke("Capital?")
    chunks = list(model.stream("Capital?"))
    model.close()
    assert _sent(emulator).path.endswith("/invoke-with-response-stream")
    summed = sum_chunks(chunks)
    assert summed.text == whole.text and len([c for c in chunks if c.text]) > 1
    assert summed.usage_metadata == whole.usage_metadata


def test_anthropic_payload_tool_calls(emulator):
    emulator.queue(Reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Oslo"})]))
    model = _model(emulator)
    ai = model.bind_tools([get_weather]).invoke("weather in Oslo?")
    model.close()
    assert _sent(emulator).body["tools"][0]["name"] == "get_weather"
    assert [(c["name"], c["args"]) for c in ai.tool_calls] == [("get_weather", {"city": "Oslo"})]
    assert [b["type"] for b in ai.content_blocks] == ["tool_call"]


@pytest.mark.parametrize("stream", [False, True])
def test_nova_payload(emulator, stream):
    emulator.queue(Reply(text="Bonjour tout le monde", usage={"input_tokens": 7, "output_tokens": 4}))
    model = _model(emulator, NOVA, temperature=0.2, max_tokens=50, top_k=20)
    ai = sum_chunks(list(model.stream("hi"))) if stream else model.invoke("hi")
    model.close()
    body = _sent(emulator).body
    assert body["schemaVersion"] == "messages-v1"
    assert body["messages"] == [{"role": "user", "content": [{"text": "hi"}]}]
    assert body["inferenceConfig"] == {"maxTokens": 50, "temperature": 0.2, "topK": 20}
    assert ai.text == "Bonjour tout le monde"
    assert (ai.usage_metadata["input_tokens"], ai.usage_metadata["output_tokens"]) == (7, 4)


def test_other_model_families_are_refused_in_one_line(emulator):
    with pytest.raises(UnsupportedFeatureError, match=r"use 'bedrock_converse:' for other models"):
        _model(emulator, "meta.llama3-70b-instruct-v1:0")


# --- cassettes built from the documented shapes ---------------------------------------------------


def _chunks(*events):
    return b"".join(
        encode_event(
            "chunk", json.dumps({"bytes": base64.b64encode(json.dumps(e).encode()).decode()}).encode()
        )
        for e in events
    )


CLAUDE_STREAM = _chunks(
    {"type": "message_start", "message": {"id": "msg_bdrk_01", "type": "message", "role": "assistant",
     "model": "claude-3-5-sonnet-20240620", "content": [], "stop_reason": None, "stop_sequence": None,
     "usage": {"input_tokens": 14, "output_tokens": 1}}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " there"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
     "usage": {"output_tokens": 5}},
    {"type": "message_stop", "amazon-bedrock-invocationMetrics": {"inputTokenCount": 14,
     "outputTokenCount": 5, "invocationLatency": 512, "firstByteLatency": 301}},
)  # fmt: skip
NOVA_REPLY = {
    "output": {"message": {"role": "assistant", "content": [{"text": "Hello there"}]}},
    "stopReason": "end_turn",
    "usage": {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5},
}


def _cassette(path, uri, request_body, content_type, body: bytes):
    entry = {
        "request": {"method": "POST", "uri": uri, "body": json.dumps(request_body), "headers": {}},
        "response": {
            "status": {"code": 200, "message": "OK"},
            "headers": {"Content-Type": [content_type]},
            "body": {"string": base64.b64encode(body).decode()},
        },
    }
    text = "interactions:\n- request:\n" + "".join(
        f"    {k}: {json.dumps(v)}\n" for k, v in entry["request"].items()
    )
    text += (
        "  response:\n    status: {code: 200, message: OK}\n"
        f"    headers: {{Content-Type: [{json.dumps(content_type)}]}}\n"
        f"    body: {{string: !!binary {base64.b64encode(body).decode()}}}\n"
    )
    path.write_text(text + "version: 1\n", encoding="utf-8")


@pytest.mark.parametrize("family", ["anthropic", "nova"])
def test_documented_invoke_shapes_replay_offline(tmp_path, monkeypatch, family):
    base = "https://bedrock-runtime.us-east-1.amazonaws.com"
    model_id, stream = (CLAUDE, True) if family == "anthropic" else (NOVA, False)
    model = init_chat_model(f"bedrock:{model_id}", base_url=base, **{**CREDS, "region_name": "us-east-1"})
    wire = model.adapter.build_request(
        ChatRequest(model=model_id, messages=[HumanMessage("Hi")], stream=stream)
    )
    path = tmp_path / f"{family}.yaml"
    if stream:
        _cassette(path, wire.url, wire.json, "application/vnd.amazon.eventstream", CLAUDE_STREAM)
    else:
        _cassette(path, wire.url, wire.json, "application/json", json.dumps(NOVA_REPLY).encode())
    assert adapter_for_url(wire.url) is BedrockInvokeAdapter

    def refuse(*a, **k):
        raise AssertionError("replay opened a socket")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    with use_cassette(path, record_mode="none"):
        ai = sum_chunks(list(model.stream("Hi"))) if stream else model.invoke("Hi")
    assert ai.text == "Hello there"
    expected = (14, 5) if family == "anthropic" else (3, 2)
    assert (ai.usage_metadata["input_tokens"], ai.usage_metadata["output_tokens"]) == expected
