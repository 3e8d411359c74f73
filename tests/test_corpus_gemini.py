"""google_genai against real recorded Gemini traffic ($HARNESS_CORPUS: gemini/, gemini-vertex/, and the
Gemini interactions inside multi-provider/ files).

Every generateContent / streamGenerateContent interaction is parsed by the adapter (parse_response or
parse_stream_body) and checked against the raw payload, computed independently here: text, thought
text, tool call names and args (and ids when the API sent them), usage, finish reason, model name,
inline media, server-side tool parts. Errors are classified by status. Where a later request of the
same cassette sends a reply back as history, the `model` Content the adapter would build from the
parsed reply must equal what that working client sent (thought parts and signatures in place; call
ids aside, since clients substitute their own). Not checked, and why:
  * `:countTokens` calls (Vertex): not a generation endpoint, the body is {"totalTokens": n};
  * requests to non-model hosts (an image download pydantic-ai recorded next to a Gemini call).
"""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path

import pytest

from harness.cassettes import load_cassette
from harness.errors import ModelError, ModelNotFoundError
from harness.messages.core import HumanMessage, message_chunk_to_message
from harness.providers import adapter_for_url
from harness.providers.base import ChatRequest
from harness.providers.google_genai.adapter import GeminiAdapter

CORPUS = os.environ.get("HARNESS_CORPUS")
DIRS = ("gemini", "gemini-vertex", "multi-provider")
EXCLUDED = {r":countTokens\b": "countTokens is not a generation endpoint"}

pytestmark = [pytest.mark.corpus, pytest.mark.skipif(not CORPUS, reason="HARNESS_CORPUS is not set")]


def _google_interactions() -> list[tuple[str, int, object]]:
    if not CORPUS:
        return []
    root = Path(CORPUS)
    out = []
    for d in DIRS:
        for path in sorted((root / d).rglob("*.y*ml")):
            for i, inter in enumerate(load_cassette(path)):
                if "googleapis.com" in inter.request.uri:
                    out.append((str(path.relative_to(root)), i, inter))
    return out


ALL = _google_interactions()
CHECKED = [x for x in ALL if adapter_for_url(x[2].request.uri) is GeminiAdapter]


def _events(inter) -> list[dict]:
    if inter.response.content_type == "text/event-stream":
        text = inter.response.body.decode()
        return [json.loads(line[5:]) for line in text.splitlines() if line.startswith("data:")]
    body = inter.response.json()
    return body if isinstance(body, list) else [body]


def _expected(events: list[dict]) -> dict:
    parts = [
        p
        for e in events
        for c in (e.get("candidates") or [])[:1]
        for p in (c.get("content") or {}).get("parts") or []
    ]
    usage = [e["usageMetadata"] for e in events if e.get("usageMetadata")][-1]
    finishes = [
        c["finishReason"] for e in events for c in (e.get("candidates") or [])[:1] if c.get("finishReason")
    ]
    calls = [p["functionCall"] for p in parts if "functionCall" in p]
    raw = finishes[-1] if finishes else None
    finish = {
        "STOP": "tool_calls" if calls else "stop",
        "MAX_TOKENS": "length",
        "SAFETY": "content_filter",
    }.get(raw)
    thoughts = usage.get("thoughtsTokenCount", 0)
    return {
        "text": "".join(p["text"] for p in parts if "text" in p and not p.get("thought")),
        "thoughts": "".join(p["text"] for p in parts if p.get("thought")),
        "calls": [(c["name"], c.get("args") or {}) for c in calls],
        "ids": [c.get("id") for c in calls],
        "media": sum("inlineData" in p for p in parts),
        "server": sum(
            bool({"toolCall", "toolResponse", "executableCode", "codeExecutionResult"} & set(p))
            for p in parts
        ),
        "usage": {
            "input_tokens": usage.get("promptTokenCount", 0) + usage.get("toolUsePromptTokenCount", 0),
            "output_tokens": usage.get("candidatesTokenCount", 0) + thoughts,
            "total_tokens": usage["totalTokenCount"],
            "cache_read": usage.get("cachedContentTokenCount", 0),
            "reasoning": thoughts,
        },
        "raw_finish": raw,
        "finish": finish,
        "model": [e["modelVersion"] for e in events if e.get("modelVersion")][-1],
    }


def _check_message(msg, exp: dict) -> None:
    assert msg.text == exp["text"]
    blocks = msg.content_blocks
    assert "".join(b.get("reasoning", "") for b in blocks if b["type"] == "reasoning") == exp["thoughts"]
    assert [(c["name"], c["args"]) for c in msg.tool_calls] == exp["calls"]
    assert all(want is None or c["id"] == want for c, want in zip(msg.tool_calls, exp["ids"], strict=True))
    assert len({c["id"] for c in msg.tool_calls}) == len(msg.tool_calls)  # generated ids are distinct
    assert sum(b["type"] in ("image", "audio", "video", "file") for b in blocks) == exp["media"]
    assert sum(b["type"].startswith("server_tool") for b in blocks) == exp["server"]
    u = msg.usage_metadata
    assert {
        "input_tokens": u["input_tokens"],
        "output_tokens": u["output_tokens"],
        "total_tokens": u["total_tokens"],
        "cache_read": u["input_token_details"]["cache_read"],
        "reasoning": u["output_token_details"]["reasoning"],
    } == exp["usage"]
    meta = msg.response_metadata
    assert meta["model_provider"] == "google_genai" and meta["model_name"] == exp["model"]
    assert meta.get("native_finish_reason") == exp["raw_finish"]
    if exp["finish"]:
        assert meta["normalized_finish_reason"] == exp["finish"]
    assert meta.get("finish_reason") == exp["raw_finish"]


@pytest.mark.parametrize("inter", [x[2] for x in CHECKED], ids=[f"{f}#{i}" for f, i, _ in CHECKED])
def test_recorded_interaction_parses_like_the_raw_payload(inter):
    uri = inter.request.uri
    adapter = GeminiAdapter.for_recorded(uri)
    assert (
        adapter.model_from_request(uri, inter.request.json_or_none())
        == re.search(r"/models/([^/:]+):", uri)[1]
    )
    stream = adapter.is_stream_request(uri, None)
    assert stream == (inter.response.content_type == "text/event-stream" or "streamGenerateContent" in uri)
    if inter.response.status >= 400:
        err = adapter.classify_error(
            inter.response.status, inter.response.headers, inter.response.json_or_none()
        )
        assert isinstance(err, ModelError) and err.status_code == inter.response.status
        assert not isinstance(err, ModelNotFoundError) or inter.response.status == 404
        assert str(inter.response.json()["error"]["message"])[:40] in str(err)
        return
    events = _events(inter)
    exp = _expected(events)
    if not stream:
        _check_message(adapter.parse_response(inter.response.json()), exp)
        return
    body = inter.response.body
    whole = adapter.parse_stream_body(body)
    total = whole[0] + whole[1:]
    _check_message(total, exp)
    # the same bytes cut anywhere decode to the same message
    for cuts in (inter.chunk_lengths(), [97] * (len(body) // 97)):
        chunks = adapter.parse_stream_body(body, cuts)
        again = chunks[0] + chunks[1:]
        assert (again.content, again.tool_calls, again.usage_metadata) == (
            total.content,
            total.tool_calls,
            total.usage_metadata,
        )
    # invoke-equivalence on real data: the events as one JSON array (the non-SSE stream form)
    invoked = adapter.parse_response(events)
    assert (invoked.content, invoked.tool_calls, invoked.usage_metadata, invoked.additional_kwargs) == (
        total.content,
        total.tool_calls,
        total.usage_metadata,
        total.additional_kwargs,
    )


def _parsed(inter):
    adapter = GeminiAdapter.for_recorded(inter.request.uri)
    if inter.response.content_type != "text/event-stream":
        return adapter.parse_response(inter.response.json())
    chunks = adapter.parse_stream_body(inter.response.body)
    return message_chunk_to_message(chunks[0] + chunks[1:])


def _normal(parts: list[dict]) -> list[dict]:
    """Compare parts modulo call ids and base64 alphabet (clients re-encode signatures url-safe)."""
    out = []
    for p in parts:
        q = dict(p)
        if "thoughtSignature" in q:
            sig = q["thoughtSignature"].replace("+", "-").replace("/", "_")
            q["thoughtSignature"] = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
        if "functionCall" in q:
            q["functionCall"] = {k: v for k, v in q["functionCall"].items() if k != "id"}
        out.append(q)
    return out


def _shape(parts: list[dict]) -> tuple:
    return (
        "".join(p.get("text", "") for p in parts if not p.get("thought")),
        [(p["functionCall"]["name"], p["functionCall"].get("args")) for p in parts if "functionCall" in p],
    )


def test_replies_go_back_as_history_the_way_working_clients_sent_them():
    by_file: dict[str, list] = {}
    for f, _i, inter in CHECKED:
        by_file.setdefault(f, []).append(inter)
    round_trips = 0
    for f, inters in by_file.items():
        for k, inter in enumerate(inters):
            if inter.response.status >= 400:
                continue
            model = GeminiAdapter.for_recorded().model_from_request(inter.request.uri, None)
            history = ChatRequest(model=model, messages=[HumanMessage("q"), _parsed(inter)])
            ours = GeminiAdapter.for_recorded().build_request(history).json["contents"][1]["parts"]
            sent = [
                c["parts"]
                for later in inters[k + 1 :]
                for c in (later.request.json_or_none() or {}).get("contents", [])
                if c.get("role") == "model" and _shape(c["parts"]) == _shape(ours)
            ]
            if sent:
                assert _normal(ours) in [_normal(p) for p in sent], (
                    f"{f}: reply #{k} would go back differently"
                )
                round_trips += 1
    print(f"round trips checked: {round_trips}")
    assert round_trips >= 8


def test_every_google_interaction_is_checked_or_excluded_for_a_reason():
    assert CHECKED, "no Gemini interactions found under $HARNESS_CORPUS"
    for f, i, inter in ALL:
        if adapter_for_url(inter.request.uri) is GeminiAdapter:
            continue
        assert any(re.search(p, inter.request.uri) for p in EXCLUDED), (
            f"{f}#{i}: {inter.request.uri} not recognised"
        )
