"""The provider emulator as a user scripts it: replies, faults, pacing, recorded requests."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from harness import init_chat_model
from harness.testing import EmulatedRequest, Fault, ProviderEmulator, Reply


def test_lifecycle_ephemeral_port_and_base_urls():
    emu = ProviderEmulator()
    assert not emu.running
    with emu:
        assert emu.running and emu.port > 0
        assert emu.base_url("openai") == f"http://127.0.0.1:{emu.port}/v1"
        assert "openai" in emu.base_urls
        with pytest.raises(ValueError, match="does not speak 'nope'"):
            emu.base_url("nope")
    assert not emu.running
    with pytest.raises(httpx.ConnectError):
        httpx.post(f"http://127.0.0.1:{emu.port}/v1/chat/completions", json={}, timeout=1)


def test_reply_function_sees_a_normalised_request(emulator):
    seen: list[EmulatedRequest] = []

    def reply(req: EmulatedRequest):
        seen.append(req)
        return f"you said {req.last_user_text}"

    emulator.reply_fn = reply
    model = init_chat_model("openai:gpt-4.1-mini", base_url=emulator.base_url(), api_key="k")
    assert model.invoke([("system", "s"), ("user", "ping")]).text == "you said ping"
    assert seen[0].model == "gpt-4.1-mini" and seen[0].messages[0] == {"role": "system", "content": "s"}
    assert seen[0].provider == "openai" and seen[0].stream is False


def test_default_replies_follow_schema_tools_and_tool_results(emulator):
    model = init_chat_model("openai:gpt-4.1-mini", base_url=emulator.base_url(), api_key="k")
    schema = {
        "title": "City",
        "type": "object",
        "properties": {"name": {"type": "string"}, "population": {"type": "integer"}},
    }
    assert model.with_structured_output(schema).invoke("x") == {"name": "example name", "population": 1}
    tools = [
        {
            "type": "function",
            "function": {
                "name": "lookup",
                "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
            },
        }
    ]
    ai = model.bind_tools(tools).invoke("find it")
    assert ai.tool_calls[0]["name"] == "lookup" and ai.tool_calls[0]["args"] == {"q": "example q"}
    final = model.bind_tools(tools).invoke(
        ["find it", ai, {"role": "tool", "content": "42", "tool_call_id": ai.tool_calls[0]["id"]}]
    )
    assert final.text == "Based on the tools: 42"


def test_streams_are_paced_by_ttft_and_chunk_delay():
    with ProviderEmulator(ttft=0.15, chunk_delay=0.02) as emu:
        model = init_chat_model("openai:gpt-4.1-mini", base_url=emu.base_url(), api_key="k")
        emu.queue(Reply(text="a" * 40, chunk_chars=10))
        started = time.perf_counter()
        stream = model.stream("x")
        first = next(c for c in stream if c.content)
        ttft = time.perf_counter() - started
        rest = list(stream)
        assert first.content == "a" * 10 and ttft >= 0.15
        assert "".join(c.text for c in rest) == "a" * 30


def test_unknown_route_and_unparseable_request(emulator):
    r = httpx.post(emulator.url + "/v2/nothing", json={"a": 1})
    assert r.status_code == 404 and "no route" in r.json()["error"]["message"]
    r = httpx.post(
        emulator.base_url() + "/chat/completions", content=b"{}", headers={"content-type": "application/json"}
    )
    # the strict emulator answers as the real API does
    assert r.status_code == 400 and r.json()["error"] == {
        "message": "Missing required parameter: 'messages'.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "missing_required_parameter",
    }
    assert [q.path for q in emulator.requests] == ["/v2/nothing", "/v1/chat/completions"]
    assert emulator.requests[-1].rejected == "Missing required parameter: 'messages'."
    emulator.strict = False  # then only what the emulator cannot read at all is refused
    r = httpx.post(
        emulator.base_url() + "/chat/completions", content=b"{}", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and "could not parse" in r.json()["error"]["message"]


def test_faults_on_demand(emulator):
    emulator.queue(Fault.rate_limit(retry_after=2), Fault.server_error(502), Fault.http(401, "bad key"))
    url = emulator.base_url() + "/chat/completions"
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
    r1, r2, r3 = (httpx.post(url, json=body) for _ in range(3))
    assert (r1.status_code, r1.headers["retry-after"]) == (429, "2")
    assert r2.status_code == 502 and r3.status_code == 401
    assert r3.json()["error"]["message"] == "bad key"


def test_requests_keep_headers_and_json_body(emulator):
    emulator.queue(Reply(text="ok"))
    httpx.post(
        emulator.base_url() + "/chat/completions",
        headers={"authorization": "Bearer abc"},
        json={"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": False},
    )
    got = emulator.requests[-1]
    assert got.headers["authorization"] == "Bearer abc"
    assert got.body["messages"][0]["content"] == "hi"
    assert json.loads(got.raw) == got.body
    assert emulator.requests_for("openai") == [got]
