"""Real recorded Bedrock Converse traffic ($HARNESS_CORPUS) parsed by the bedrock_converse adapter.

The expected values are read straight from each raw payload here (event streams decoded with
botocore's EventStreamBuffer, an independent decoder) and compared with what the adapter makes of
the same bytes: text, tool calls (name, args, id), usage, stop reason, errors. Every Bedrock
interaction in the corpus is checked; none is excluded.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from harness.errors import ModelError, ModelInvalidRequestError
from harness.providers import adapter_for_url
from harness.providers.bedrock.converse import BedrockConverseAdapter
from harness.providers.bedrock.request import assistant_blocks

CORPUS = os.environ.get("HARNESS_CORPUS")
pytestmark = pytest.mark.corpus
_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "tool_use": "tool_calls", "max_tokens": "length"}


def _interactions() -> list:
    if not CORPUS:
        return [pytest.param(None, None, 0, marks=pytest.mark.skip(reason="HARNESS_CORPUS is not set"))]
    from harness.cassettes import load_cassette

    root = Path(CORPUS)
    out = []
    for path in sorted([*root.glob("bedrock/*/*.y*ml"), *root.glob("multi-provider/*/*.y*ml")]):
        ixs = load_cassette(path)
        for i, ix in enumerate(ixs):
            if BedrockConverseAdapter.recognizes(ix.request.uri):
                out.append(pytest.param(ixs, path, i, id=f"{path.relative_to(root)}#{i}"))
    return out


def _is_event_stream(body: bytes) -> bool:
    return not body.lstrip().startswith(b"{")


def _expected_from_json(body: dict) -> dict:
    text, calls = "", []
    for block in body["output"]["message"]["content"]:
        if "text" in block:
            text += block["text"]
        elif "citationsContent" in block:
            text += "".join(c.get("text", "") for c in block["citationsContent"]["content"])
        elif "toolUse" in block and block["toolUse"].get("type") != "server_tool_use":
            tu = block["toolUse"]
            calls.append((tu["name"], tu["input"], tu["toolUseId"]))
    return {"text": text, "calls": calls, "usage": body.get("usage"), "stop": body.get("stopReason")}


def _expected_from_stream(body: bytes) -> dict:
    from botocore.eventstream import EventStreamBuffer

    buf = EventStreamBuffer()
    buf.add_data(body)
    text, tools, usage, stop = "", {}, None, None
    for event in buf:
        assert event.headers[":message-type"] == "event"
        payload = json.loads(event.payload)
        kind, i = event.headers[":event-type"], payload.get("contentBlockIndex")
        if kind == "contentBlockStart" and "toolUse" in payload["start"]:
            tu = payload["start"]["toolUse"]
            if tu.get("type") != "server_tool_use":
                tools[i] = [tu["name"], "", tu["toolUseId"]]
        elif kind == "contentBlockDelta":
            delta = payload["delta"]
            text += delta.get("text", "")
            if "toolUse" in delta and i in tools:
                tools[i][1] += delta["toolUse"]["input"]
        elif kind == "messageStop":
            stop = payload["stopReason"]
        elif kind == "metadata":
            usage = payload["usage"]
    calls = [(name, json.loads(args) if args else {}, id_) for name, args, id_ in tools.values()]
    return {"text": text, "calls": calls, "usage": usage, "stop": stop}


@pytest.mark.parametrize(("ixs", "path", "i"), _interactions())
def test_recorded_bedrock_interaction_parses_like_the_raw_payload(ixs, path, i):
    ix = ixs[i]
    uri, body, status = ix.request.uri, ix.response.body, ix.response.status
    assert adapter_for_url(uri) is BedrockConverseAdapter
    adapter = BedrockConverseAdapter.for_recorded(uri)
    assert adapter.model == adapter.model_from_request(uri, None) and adapter.model
    if status >= 400:
        err = adapter.classify_error(status, ix.response.headers, ix.response.json())
        assert isinstance(err, ModelError) and err.status_code == status
        assert ix.response.json()["message"] in str(err)
        assert isinstance(err, ModelInvalidRequestError) == (status == 400) and not err.is_retryable
        return
    streamed = _is_event_stream(body)
    assert adapter.is_stream_request(uri, None) == streamed
    if streamed:
        want = _expected_from_stream(body)
        chunks = adapter.parse_stream_body(body)
        msg = chunks[0] + chunks[1:]
        cuts = random.Random(len(body)).choices(range(1, 64), k=len(body))  # any re-chunking gives the same
        rechunked = adapter.parse_stream_body(body, cuts)
        assert (rechunked[0] + rechunked[1:]).content == msg.content
    else:
        want = _expected_from_json(ix.response.json())
        msg = adapter.parse_response(ix.response.json())
    assert msg.text == want["text"]
    assert [(tc["name"], tc["args"], tc["id"]) for tc in msg.tool_calls] == want["calls"]
    assert not msg.invalid_tool_calls
    u = want["usage"]
    cache = (u.get("cacheReadInputTokens") or 0) + (u.get("cacheWriteInputTokens") or 0)
    assert msg.usage_metadata["input_tokens"] == u["inputTokens"] + cache
    assert msg.usage_metadata["output_tokens"] == u["outputTokens"]
    assert msg.usage_metadata["total_tokens"] == u["totalTokens"]
    if "cacheReadInputTokens" in u:
        assert msg.usage_metadata["input_token_details"]["cache_read"] == u["cacheReadInputTokens"]
    assert msg.response_metadata["stopReason"] == want["stop"]
    assert msg.response_metadata["finish_reason"] == _FINISH.get(want["stop"], want["stop"])
    assert msg.response_metadata["model_provider"] == "bedrock_converse"
    # langchain-aws sends the reply back in its next request: our conversion must give the same turn
    if "langchain-aws" in str(path) and i + 1 < len(ixs):
        sent = ix.request.json()["messages"]
        follow = ixs[i + 1].request.json()["messages"]
        assert follow[len(sent)] == {"role": "assistant", "content": assistant_blocks(msg)}


def test_every_recorded_bedrock_interaction_is_covered():
    if not CORPUS:
        pytest.skip("HARNESS_CORPUS is not set")
    from harness.cassettes import load_cassette

    in_bedrock_dir = sum(len(load_cassette(p)) for p in Path(CORPUS).glob("bedrock/*/*.y*ml"))
    checked = _interactions()
    # every interaction under bedrock/ is recognised as Converse traffic, plus the Bedrock half of
    # multi-provider/ files (their other interactions belong to other adapters)
    assert (
        len([p for p in checked if str(p.values[1]).startswith(str(Path(CORPUS) / "bedrock"))])
        == in_bedrock_dir
    )
    print(f"\nbedrock corpus: {len(checked)} interactions checked, 0 excluded")
