"""Real recorded Ollama traffic ($HARNESS_CORPUS) parsed by the adapter its URL selects.

Native `/api/chat` interactions (Ruby VCR files from foobara/ollama-api) go through the `ollama`
adapter; pydantic-ai's Ollama files are OpenAI-compatible `/v1/chat/completions` traffic (local and
ollama.com), which the `openai` adapter serves. Expected values are read straight from each raw
payload. Every interaction under ollama/ is checked; none is excluded.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from harness.providers import adapter_for_url
from harness.providers.ollama import OllamaAdapter
from harness.providers.openai import OpenAIChatAdapter

CORPUS = os.environ.get("HARNESS_CORPUS")
pytestmark = pytest.mark.corpus


def _interactions() -> list:
    if not CORPUS:
        return [pytest.param(None, marks=pytest.mark.skip(reason="HARNESS_CORPUS is not set"))]
    from harness.cassettes import load_cassette

    root = Path(CORPUS)
    return [
        pytest.param(ix, id=f"{path.relative_to(root)}#{i}")
        for path in sorted(root.glob("ollama/*/*.y*ml"))
        for i, ix in enumerate(load_cassette(path))
    ]


def _expected(adapter_cls, body: dict) -> dict:
    if adapter_cls is OllamaAdapter:
        msg = body["message"]
        return {
            "text": msg.get("content") or "",
            "reasoning": msg.get("thinking"),
            "calls": [
                (c["function"]["name"], c["function"]["arguments"]) for c in msg.get("tool_calls") or []
            ],
            "ids": [c.get("id") for c in msg.get("tool_calls") or []],
            "usage": (
                body.get("prompt_eval_count", 0),
                body.get("eval_count", 0),
                body.get("prompt_eval_count", 0) + body.get("eval_count", 0),
            ),
            "finish": body["done_reason"],
        }
    choice, u = body["choices"][0], body["usage"]
    calls = choice["message"].get("tool_calls") or []
    return {
        "text": choice["message"].get("content") or "",
        "reasoning": None,
        "calls": [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls],
        "ids": [c["id"] for c in calls],
        "usage": (u["prompt_tokens"], u["completion_tokens"], u["total_tokens"]),
        "finish": choice["finish_reason"],
    }


@pytest.mark.parametrize("ix", _interactions())
def test_recorded_ollama_interaction_parses_like_the_raw_payload(ix):
    uri = ix.request.uri
    adapter_cls = adapter_for_url(uri)
    assert adapter_cls is (OllamaAdapter if "/api/chat" in uri else OpenAIChatAdapter)
    adapter = adapter_cls.for_recorded()
    request = ix.request.json()
    assert adapter.model_from_request(uri, request) == request["model"]
    assert adapter.is_stream_request(uri, request) is False and request["stream"] is False
    assert ix.response.status == 200
    body = ix.response.json()
    want = _expected(adapter_cls, body)
    msg = adapter.parse_response(body)
    assert msg.text == want["text"]
    assert [(tc["name"], tc["args"]) for tc in msg.tool_calls] == want["calls"]
    ids = [tc["id"] for tc in msg.tool_calls]
    assert ids == [i or ids[n] for n, i in enumerate(want["ids"])] and all(ids)
    u = msg.usage_metadata
    assert (u["input_tokens"], u["output_tokens"], u["total_tokens"]) == want["usage"]
    meta = msg.response_metadata
    if adapter_cls is OllamaAdapter:
        assert meta["done_reason"] == want["finish"] and meta["done"] is True
        assert meta["finish_reason"] == ("tool_calls" if msg.tool_calls else want["finish"])
        assert meta["model_name"] == body["model"] and meta["eval_duration"] == body["eval_duration"]
        assert msg.additional_kwargs.get("reasoning_content") == want["reasoning"]
    else:
        assert meta["finish_reason"] == want["finish"]


def test_every_recorded_ollama_interaction_is_covered():
    if not CORPUS:
        pytest.skip("HARNESS_CORPUS is not set")
    checked = _interactions()
    assert len(checked) == 6  # 2 native /api/chat + 4 OpenAI-compatible /v1
    print(f"\nollama corpus: {len(checked)} interactions checked, 0 excluded")
