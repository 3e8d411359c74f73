"""Wire variants other projects' real cassettes show (issue 14): Gemini's streamed JSON array (no
`?alt=sse`), Ruby VCR's `!binary` strings, Groq's `x_groq.usage`. Built from the documented formats
(../shared/docs/wire-formats.md) where the corpus has no sample; Groq from the corpus."""

from __future__ import annotations

import base64
import json
import os
import socket
from pathlib import Path

import httpx
import pytest

from harness import init_chat_model
from harness.cassettes import load_cassette, use_cassette
from harness.http import HarnessTransport
from harness.messages.core import message_chunk_to_message
from harness.providers import adapter_for_url
from harness.testing import Reply

KEY = "AIza-test-key"
CORPUS = os.environ.get("HARNESS_CORPUS")


def _refuse_sockets(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("replay opened a socket")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _gemini(emu):
    return init_chat_model(
        "google_genai:gemini-2.5-flash", base_url=emu.base_url("google_genai"), api_key=KEY
    )


def _array_stream_url(emu):
    return emu.url + "/v1beta/models/gemini-2.5-flash:streamGenerateContent"  # no ?alt=sse


BODY = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


# --- Gemini streamGenerateContent without ?alt=sse ---------------------------------------------------


def test_gemini_json_array_stream_is_read_live_as_it_arrives(emulator):
    emulator.queue(Reply(text="Paris is sunny today", usage={"input_tokens": 9, "output_tokens": 4}))
    model = _gemini(emulator)
    adapter = model.adapter
    decoder = adapter.stream_decoder()
    chunks = []
    with (
        httpx.Client(transport=HarnessTransport()) as client,
        client.stream("POST", _array_stream_url(emulator), json=BODY, headers={"x-goog-api-key": KEY}) as r,
    ):
        assert r.headers["content-type"].startswith("application/json")
        for raw in r.iter_raw():
            chunks += decoder.feed(raw)
    chunks += decoder.close()
    msg = message_chunk_to_message(sum(chunks[1:], chunks[0]))
    assert msg.text == "Paris is sunny today"
    assert msg.usage_metadata["output_tokens"] == 4 and msg.response_metadata["finish_reason"]
    assert sum(1 for c in chunks if c.text) > 1  # one chunk per array element, not one at the end


def test_gemini_json_array_stream_decodes_the_same_split_at_every_byte(emulator):
    emulator.queue(Reply(text="Grüße aus Köln ✓"))
    with httpx.Client() as client:
        body = client.post(_array_stream_url(emulator), json=BODY).content
    assert body.startswith(b"[")
    adapter = _gemini(emulator).adapter
    whole = adapter.parse_stream_body(body)
    bytewise = adapter.parse_stream_body(body, chunks=[1] * len(body))
    assert "".join(c.text for c in bytewise) == "".join(c.text for c in whole) == "Grüße aus Köln ✓"


def test_gemini_json_array_cassette_replays_through_the_chat_model(emulator, tmp_path, monkeypatch):
    path = tmp_path / "array.yaml"
    emulator.queue(Reply(text="recorded as an array"))
    with httpx.Client(transport=HarnessTransport()) as client, use_cassette(path, record_mode="all"):
        # recorded by another client that asked without ?alt=sse
        client.post(_array_stream_url(emulator), json=BODY, headers={"x-goog-api-key": KEY})
    emulator.stop()
    _refuse_sockets(monkeypatch)
    model = _gemini(emulator)
    with use_cassette(path, record_mode="none"):
        text = "".join(c.text for c in model.stream("hi"))
    assert text == "recorded as an array"


# --- Ruby VCR !binary ---------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_ruby_vcr_binary_strings_load_and_replay(emulator, tmp_path, monkeypatch):
    base = emulator.base_url("ollama")
    model = init_chat_model("ollama:llama3.2", base_url=base)
    model.invoke("What is the pH of honey?")
    sent = emulator.requests[-1].raw
    answer = {
        "model": "llama3.2",
        "created_at": "2025-06-28T04:14:24Z",
        "message": {"role": "assistant", "content": "About 3.9 — slightly acidic."},
        "done_reason": "stop",
        "done": True,
        "prompt_eval_count": 17,
        "eval_count": 9,
    }
    # the layout Ruby's VCR writes (Psych tags binary strings `!binary`, base64 in a block scalar)
    path = tmp_path / "honey.yml"
    path.write_text(
        "---\nhttp_interactions:\n- request:\n    method: post\n"
        f"    uri: {base}/api/chat\n    body:\n      encoding: ASCII-8BIT\n"
        f"      string: !binary |-\n        {_b64(sent)}\n"
        "    headers:\n      Content-Type:\n      - application/json\n"
        "  response:\n    status:\n      code: 200\n      message: !binary |-\n        T0s=\n"
        "    headers:\n      Content-Type:\n      - application/json; charset=utf-8\n"
        f"    body:\n      encoding: ASCII-8BIT\n      string: !binary |-\n        {_b64(json.dumps(answer).encode())}\n"
        "  recorded_at: Sat, 28 Jun 2025 04:14:24 GMT\nrecorded_with: VCR 6.3.1\n",
        encoding="utf-8",
    )
    [interaction] = load_cassette(path)
    assert interaction.request.body == sent and json.loads(interaction.response.body) == answer
    emulator.stop()
    _refuse_sockets(monkeypatch)
    with use_cassette(path, record_mode="none"):
        assert model.invoke("What is the pH of honey?").text == "About 3.9 — slightly acidic."


# --- Groq x_groq.usage ----------------------------------------------------------------------------


@pytest.mark.corpus
@pytest.mark.skipif(not CORPUS, reason="HARNESS_CORPUS is not set")
def test_groq_usage_on_the_final_chunk_under_x_groq_is_read():
    path = Path(CORPUS or "") / "groq/pydantic-ai/test_groq_model_thinking_part_iter.yaml"
    checked = 0
    for it in load_cassette(path):
        body = it.response.body
        if not body.lstrip().startswith(b"data:"):
            continue
        events = [json.loads(line[5:]) for line in body.decode().splitlines() if line.startswith("data: {")]
        assert not any(ev.get("usage") for ev in events)  # stream_options absent: no top-level usage
        want = next(ev["x_groq"]["usage"] for ev in events if "usage" in ev.get("x_groq", {}))
        adapter = adapter_for_url(it.request.uri).for_recorded(it.request.uri)
        chunks = adapter.parse_stream_body(body)
        usage = message_chunk_to_message(sum(chunks[1:], chunks[0])).usage_metadata
        assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == (
            want["prompt_tokens"],
            want["completion_tokens"],
            want["total_tokens"],
        )
        checked += 1
    assert checked == 2
