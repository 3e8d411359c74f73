"""Real recorded OpenAI-format traffic ($HARNESS_CORPUS) parsed by the adapter `adapter_for_url` picks.

Covers Chat Completions (openai, azure, groq, mistral, openrouter, ollama's /v1, multi-provider files)
and the Responses API (openai, azure v1). Each interaction's expected text, tool calls, usage and
finish reason are read straight from the raw payload here, independently of the adapters.

Excluded (see `_exclusion`): requests that are not a chat call in an OpenAI format — image downloads
(GET to other hosts), `/v1/responses/input_tokens` (token counting), and other providers' native
endpoints in these directories (Anthropic, Gemini, Bedrock, Ollama `/api/chat`), which their own
adapters' corpus tests cover.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from harness.cassettes import load_cassette
from harness.errors import ModelAPIError, ModelError
from harness.messages.core import message_chunk_to_message
from harness.providers import adapter_for_url

CORPUS = os.environ.get("HARNESS_CORPUS")
DIRS = (
    "openai-chat",
    "openai-responses",
    "azure-openai",
    "groq",
    "mistral",
    "openrouter",
    "multi-provider",
    "ollama",
)
OPENAI_FORMATS = {"openai", "openai_responses", "azure_openai"}
# finish reason normalisation (docs/providers/openai.md), for the Responses API (which has only `status`)
RESPONSES_FINISH = {
    ("completed", None): "stop",
    ("incomplete", "max_output_tokens"): "length",
    ("incomplete", "content_filter"): "content_filter",
}

pytestmark = [pytest.mark.corpus, pytest.mark.skipif(not CORPUS, reason="HARNESS_CORPUS is not set")]


def _load() -> tuple[list[Any], list[tuple[str, str]]]:
    """(checked cases, excluded (id, reason)) over every interaction in DIRS."""
    cases: list[Any] = []
    excluded: list[tuple[str, str]] = []
    if not CORPUS:
        return cases, excluded
    root = Path(CORPUS)
    for d in DIRS:
        for path in sorted((root / d).rglob("*.y*ml")):
            for i, it in enumerate(load_cassette(path)):
                case_id = f"{path.relative_to(root)}#{i}"
                reason = _exclusion(it.request.method, it.request.uri)
                if reason:
                    excluded.append((case_id, reason))
                else:
                    cases.append(pytest.param(it, id=case_id))
    return cases, excluded


def _exclusion(method: str, url: str) -> str | None:
    if method.upper() != "POST":
        return f"{method.upper()} {url.split('/')[2]}: not a model call (a download made by the test)"
    path = re.split(r"[?#]", url)[0].rstrip("/")
    if path.endswith(("/chat/completions", "/responses")):
        return None  # an OpenAI-format chat call: checked, whichever adapter claims it
    if path.endswith("/responses/input_tokens"):
        return "not a chat endpoint (input token counting)"
    cls = adapter_for_url(url)
    return f"{cls.name if cls else url} native format: covered by that adapter's corpus test"


CASES, EXCLUDED = _load()


# --- reading the raw payload ---------------------------------------------------------------------


def _events(sse: str) -> list[dict[str, Any]]:
    out = []
    for line in sse.splitlines():
        if line.startswith("data:") and line[5:].strip() not in ("", "[DONE]"):
            out.append(json.loads(line[5:]))
    return out


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return content or ""


def _thinking(msg: dict[str, Any]) -> str:
    """Reasoning text of a message or delta: `reasoning_content` / `reasoning` / Mistral `thinking` parts."""
    out = msg.get("reasoning_content") or msg.get("reasoning") or ""
    for part in msg.get("content") if isinstance(msg.get("content"), list) else []:
        if part.get("type") == "thinking":
            out += _text(part["thinking"])
    return out


def _chat_expected(body: dict[str, Any]) -> dict[str, Any]:
    choice = body["choices"][0]
    msg = choice["message"]
    calls = [
        (t["function"]["name"], json.loads(t["function"]["arguments"] or "{}"), t["id"])
        for t in msg.get("tool_calls") or []
    ]
    return {
        "text": _text(msg.get("content")),
        "calls": calls,
        "usage": body.get("usage"),
        "finish": choice.get("finish_reason"),
        "reasoning": _thinking(msg),
    }


def _chat_stream_expected(events: list[dict[str, Any]]) -> dict[str, Any]:
    text, calls, usage, finish, reasoning = "", {}, None, None, ""
    for ev in events:
        usage = ev.get("usage") or (ev.get("x_groq") or {}).get("usage") or usage
        for choice in ev.get("choices") or []:
            delta = choice.get("delta") or {}
            text += _text(delta.get("content"))
            reasoning += _thinking(delta)
            for tc in delta.get("tool_calls") or []:
                slot = calls.setdefault(tc.get("index", 0), {"id": None, "name": "", "args": ""})
                slot["id"] = slot["id"] or tc.get("id")
                slot["name"] += (tc.get("function") or {}).get("name") or ""
                slot["args"] += (tc.get("function") or {}).get("arguments") or ""
            finish = choice.get("finish_reason") or finish
    return {
        "text": text,
        "usage": usage,
        "finish": finish,
        "reasoning": reasoning,
        "calls": [(c["name"], json.loads(c["args"] or "{}"), c["id"]) for _, c in sorted(calls.items())],
    }


def _responses_expected(resp: dict[str, Any]) -> dict[str, Any]:
    output = resp.get("output") or []
    text = "".join(
        p.get("text", "")
        for item in output
        if item["type"] == "message"
        for p in item.get("content") or []
        if p.get("type") == "output_text"
    )
    calls = [
        (i["name"], json.loads(i["arguments"] or "{}"), i["call_id"])
        for i in output
        if i["type"] == "function_call"
    ]
    finish = RESPONSES_FINISH[(resp["status"], (resp.get("incomplete_details") or {}).get("reason"))]
    if finish == "stop" and calls:
        finish = "tool_calls"
    reasoning = "".join(
        p["text"] for item in output if item["type"] == "reasoning" for p in item.get("summary") or []
    )
    return {
        "text": text,
        "calls": calls,
        "usage": resp.get("usage"),
        "finish": finish,
        "reasoning": reasoning,
    }


def _usage_expected(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    if not raw:
        return None
    if "input_tokens" in raw:  # Responses
        inp, out = raw["input_tokens"], raw["output_tokens"]
        cached = (raw.get("input_tokens_details") or {}).get("cached_tokens")
        reasoning = (raw.get("output_tokens_details") or {}).get("reasoning_tokens")
    else:
        inp, out = raw.get("prompt_tokens") or 0, raw.get("completion_tokens") or 0
        cached = (raw.get("prompt_tokens_details") or {}).get("cached_tokens")
        reasoning = (raw.get("completion_tokens_details") or {}).get("reasoning_tokens")
    return {
        "input": inp,
        "output": out,
        "total": raw.get("total_tokens") or inp + out,
        "cache_read": cached,
        "reasoning": reasoning,
    }


def _check(msg: Any, expected: dict[str, Any]) -> None:
    assert msg.text == expected["text"]
    assert [(c["name"], c["args"], c["id"]) for c in msg.tool_calls] == expected["calls"]
    assert not msg.invalid_tool_calls
    assert msg.response_metadata.get("finish_reason") == expected["finish"]
    reasoning = "".join(b.get("reasoning", "") for b in msg.content_blocks if b["type"] == "reasoning")
    assert reasoning == expected["reasoning"]
    want = _usage_expected(expected["usage"])
    got = msg.usage_metadata
    if want is None:
        assert got is None
        return
    assert (got["input_tokens"], got["output_tokens"], got["total_tokens"]) == (
        want["input"],
        want["output"],
        want["total"],
    )
    assert (got.get("input_token_details") or {}).get("cache_read") == want["cache_read"]
    assert (got.get("output_token_details") or {}).get("reasoning") == want["reasoning"]


# --- the checks -----------------------------------------------------------------------------------


@pytest.mark.parametrize("interaction", CASES)
def test_interaction(interaction: Any) -> None:
    request, response = interaction.request, interaction.response
    url = request.uri
    cls = adapter_for_url(url)
    assert cls is not None and cls.name in OPENAI_FORMATS, f"{url} is claimed by {cls and cls.name}"
    adapter = cls.for_recorded(url)
    status = response.status
    parsed = response.json_or_none()
    body = parsed if isinstance(parsed, dict) else response.body.decode()
    if status >= 400:
        err = adapter.classify_error(status, response.headers, body)
        assert isinstance(err, ModelError) and err.status_code == status
        assert body["error"]["message"] in str(err)
        assert err.is_retryable == (status == 429 or status >= 500)
        return
    responses_api = adapter.name != "openai" and url.split("?")[0].endswith("/responses")
    request_body = request.json_or_none() or {}
    assert adapter.is_stream_request(url, request_body) == isinstance(body, str)
    assert adapter.model_from_request(url, request_body) in (request_body.get("model"), "gpt-4o")
    if isinstance(body, dict):
        msg = adapter.parse_response(body)
        _check(msg, _responses_expected(body) if responses_api else _chat_expected(body))
        return
    events = _events(body)
    if any("error" in ev for ev in events) or "event: error" in body:
        with pytest.raises(ModelAPIError):
            adapter.parse_stream_body(body.encode())
        return
    chunks = adapter.parse_stream_body(body.encode())
    msg = message_chunk_to_message(sum(chunks[1:], chunks[0]))
    if responses_api:
        final = next(
            ev["response"] for ev in events if ev["type"] in ("response.completed", "response.incomplete")
        )
        expected = _responses_expected(final)
        deltas = "".join(ev["delta"] for ev in events if ev["type"] == "response.output_text.delta")
        assert deltas == expected["text"]
        _check(msg, expected)
        # and the streamed message is the message `invoke` would give for the final response object
        same = adapter.parse_response(final)
        strip = _without_encrypted  # re-encrypted in response.completed: differs from output_item.done
        assert strip(msg.content) == strip(same.content) and msg.tool_calls == same.tool_calls
        assert msg.usage_metadata == same.usage_metadata
    else:
        _check(msg, _chat_stream_expected(events))


def _without_encrypted(blocks: list[Any]) -> list[Any]:
    return [
        {**b, "extras": {k: v for k, v in b.get("extras", {}).items() if k != "encrypted_content"}}
        if isinstance(b, dict)
        else b
        for b in blocks
    ]


def test_every_chat_interaction_is_checked() -> None:
    """The corpus holds OpenAI-format chat traffic, and nothing is excluded without a known reason."""
    assert len(CASES) >= 80
    reasons = {r.split(":")[0] if r.startswith(("GET", "not")) else r.split(" ")[0] for _, r in EXCLUDED}
    print(f"\n{len(CASES)} interactions checked, {len(EXCLUDED)} excluded:")
    for case_id, reason in EXCLUDED:
        print(f"  {case_id}: {reason}")
    allowed = {
        "GET t3.ftcdn.net",
        "not a chat endpoint (input token counting)",
        "anthropic",
        "google_genai",
        "bedrock_converse",
        "ollama",
    }
    assert reasons <= allowed, sorted(EXCLUDED)
