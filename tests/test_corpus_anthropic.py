"""Every recorded Anthropic Messages interaction in $HARNESS_CORPUS, parsed by the adapter and checked
against the raw payload: text, tool calls (name, args, id), usage, finish reason, the thinking /
server-tool blocks kept in content, and the assistant turn we would send back."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from harness.cassettes import load_cassette
from harness.errors import ModelAPIError, ModelInvalidRequestError, ModelNotFoundError, ModelRateLimitError
from harness.providers.anthropic.adapter import AnthropicAdapter
from harness.providers.anthropic.format import messages_to_anthropic

pytestmark = pytest.mark.corpus
CORPUS = os.environ.get("HARNESS_CORPUS")
FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
ERRORS = {
    400: ModelInvalidRequestError,
    404: ModelNotFoundError,
    429: ModelRateLimitError,
    500: ModelAPIError,
    529: ModelAPIError,
}


def _interactions():
    if not CORPUS:
        return []
    out = []
    for path in sorted(Path(CORPUS).rglob("*.y*ml")):
        if "api.anthropic.com" not in path.read_text(errors="replace"):
            continue
        for it in load_cassette(path):
            if AnthropicAdapter.recognizes(it.request.uri):
                out.append(pytest.param(it, id=f"{path.relative_to(CORPUS)}#{it.index}"))
    return out


CASES = _interactions()


def _accumulate_sse(text: str):
    """The reply a stream describes, accumulated the way the official SDK does (independent of ours)."""
    blocks, usage, stop, partial = {}, {}, None, {}
    for line in text.splitlines():
        if not line.startswith("data:"):
            continue
        ev = json.loads(line[5:])
        t = ev["type"]
        if t == "message_start":
            usage = dict(ev["message"]["usage"])
        elif t == "content_block_start":
            blocks[ev["index"]] = dict(ev["content_block"])
        elif t == "content_block_delta":
            block, d = blocks[ev["index"]], ev["delta"]
            if d["type"] == "text_delta":
                block["text"] += d["text"]
            elif d["type"] == "thinking_delta":
                block["thinking"] += d["thinking"]
            elif d["type"] == "signature_delta":
                block["signature"] = block.get("signature", "") + d["signature"]
            elif d["type"] == "input_json_delta":
                partial[ev["index"]] = partial.get(ev["index"], "") + d["partial_json"]
        elif t == "message_delta":
            usage.update({k: v for k, v in ev["usage"].items() if v is not None})
            stop = ev["delta"]["stop_reason"]
    for i, raw in partial.items():
        if raw:
            blocks[i]["input"] = json.loads(raw)
    return [blocks[i] for i in sorted(blocks)], usage, stop


def _sent_back(block: dict) -> dict | None:
    """How a response block must look when replayed in the next request's assistant turn."""
    t = block["type"]
    if t == "text":
        return {"type": "text", "text": block["text"]} if block["text"].strip() else None
    if t == "thinking":
        return {"type": "thinking", "thinking": block["thinking"], "signature": block["signature"]}
    if t == "tool_use":
        return {"type": "tool_use", "id": block["id"], "name": block["name"], "input": block["input"]}
    return {k: v for k, v in block.items() if v is not None}


def test_corpus_has_anthropic_interactions():
    if not CORPUS:
        pytest.skip("HARNESS_CORPUS is not set")
    assert len(CASES) >= 20


@pytest.mark.skipif(not CORPUS, reason="HARNESS_CORPUS is not set")
@pytest.mark.parametrize("it", CASES)
def test_recorded_interaction_parses(it):
    adapter = AnthropicAdapter.for_recorded(it.request.uri)
    req = it.request.json()
    assert adapter.model_from_request(it.request.uri, req) == req["model"]
    resp = it.response
    if resp.status >= 400:
        body = resp.json()
        err = adapter.classify_error(resp.status, resp.headers, body)
        assert isinstance(err, ERRORS[resp.status]) and err.status_code == resp.status
        assert body["error"]["message"] in str(err)
        assert err.request_id == body.get("request_id")
        return
    streamed = adapter.is_stream_request(it.request.uri, req)
    assert streamed == ("text/event-stream" in resp.content_type)
    if streamed:
        blocks, usage, stop = _accumulate_sse(resp.body.decode())
        pieces = [
            adapter.parse_stream_body(resp.body, [7] * (len(resp.body) // 7 + 1)),
            adapter.parse_stream_body(resp.body, it.chunk_lengths()),
        ]
        totals = [chunks[0] + chunks[1:] for chunks in pieces]
        assert totals[0].content == totals[1].content
        msg = totals[0]
        assert (
            msg.id == json.loads(resp.body.decode().split("data:", 1)[1].split("\n", 1)[0])["message"]["id"]
        )
    else:
        raw = resp.json()
        blocks, usage, stop = raw["content"], raw["usage"], raw["stop_reason"]
        msg = adapter.parse_response(raw)
        assert msg.id == raw["id"]
    assert msg.text == "".join(b["text"] for b in blocks if b["type"] == "text")
    assert [(c["name"], c["args"], c["id"]) for c in msg.tool_calls] == [
        (b["name"], b["input"], b["id"]) for b in blocks if b["type"] == "tool_use"
    ]
    assert msg.invalid_tool_calls == []
    cached = (usage.get("cache_read_input_tokens") or 0) + (usage.get("cache_creation_input_tokens") or 0)
    assert msg.usage_metadata["input_tokens"] == usage["input_tokens"] + cached
    assert msg.usage_metadata["output_tokens"] == usage["output_tokens"]
    assert msg.usage_metadata["input_token_details"]["cache_read"] == usage.get("cache_read_input_tokens")
    assert msg.response_metadata["finish_reason"] == FINISH[stop]
    assert msg.response_metadata["stop_reason"] == stop
    assert msg.response_metadata["model_name"]
    # non-text blocks (thinking with signature, redacted thinking, server tools) are kept in order
    kept = (
        [b for b in msg.content if isinstance(b, dict) and b["type"] != "text"]
        if isinstance(msg.content, list)
        else []
    )
    assert [b["type"] for b in kept] == [b["type"] for b in blocks if b["type"] != "text"]
    # ... and the next assistant turn replays exactly what the model produced
    _, turns = messages_to_anthropic([msg])
    expected = [s for b in blocks if (s := _sent_back(b)) is not None]
    assert (turns[0]["content"] if turns else []) == expected
