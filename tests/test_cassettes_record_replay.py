"""Cassettes record every kind of call live and timed over loopback HTTP, and replay it offline.

Issue #3 items 1 (transport + use_cassette), 2 (live streams, recorded boundaries and pace) and the
invoke / stream / tool loop / structured output / batch acceptance matrix.
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time

import httpx
import pytest
from pydantic import BaseModel

from harness import init_chat_model, tool
from harness.cassettes import load_cassette, use_cassette
from harness.http import HarnessTransport
from harness.messages.core import HumanMessage, ToolMessage
from harness.testing import ProviderEmulator, Reply, ToolCallSpec

SENTINEL = "sk-SENTINEL-record-replay-0123456789abcdef"


@pytest.fixture
def emu():
    with ProviderEmulator() as e:
        yield e


def model_for(emu, **kw):
    return init_chat_model(
        "openai:gpt-4.1-mini", base_url=emu.base_url("openai"), api_key=SENTINEL, max_retries=0, **kw
    )


@pytest.fixture
def offline(monkeypatch, emu):
    """Call it once recording is done: stops the emulator and blocks every outbound connection at the
    OS boundary (replay must never open a socket)."""

    def go_offline():
        emu.stop()

        def refuse(*a, **k):
            raise AssertionError("replay opened a socket")

        monkeypatch.setattr(socket.socket, "connect", refuse)
        monkeypatch.setattr(socket.socket, "connect_ex", refuse)
        monkeypatch.setattr(socket, "create_connection", refuse)

    return go_offline


def _comparable(msg):
    meta = {k: v for k, v in msg.response_metadata.items() if k != "timing"}
    return msg.content, msg.tool_calls, msg.usage_metadata, meta


# --- invoke / stream ------------------------------------------------------------------------------------


def test_invoke_records_then_replays_offline_with_recorded_timing(emu, tmp_path, offline):
    path = tmp_path / "invoke.yaml"
    model = model_for(emu)
    emu.queue(Reply(text="Paris.", usage={"input_tokens": 20, "output_tokens": 3}))
    with use_cassette(path, record_mode="once") as cas:
        live = model.invoke("Capital of France?")
    assert cas.state == "recorded" and cas.recorded_count == 1
    assert live.response_metadata["timing"]["source"] == "recorded"
    [ix] = load_cassette(path)
    assert ix.request.json()["messages"][-1]["content"] == "Capital of France?"
    assert ix.response.json()["choices"][0]["message"]["content"] == "Paris."
    assert ix.timing["total_ms"] >= ix.timing["ttfb_ms"] > 0

    offline()
    with use_cassette(path, record_mode="none") as cas:
        again = model.invoke("Capital of France?")
    assert cas.state == "replayed" and cas.replayed_count == 1 and cas.unused() == []
    assert _comparable(again) == _comparable(live)
    timing = again.response_metadata["timing"]
    assert timing["replayed"] is True and timing["source"] == "replayed"
    assert timing["total_ms"] == pytest.approx(ix.timing["total_ms"], abs=0.01)
    assert timing["cassette"] == str(path)


def test_stream_reaches_caller_live_while_recording(tmp_path):
    """Chunks are handed on as they arrive: the first one is in the caller's hands long before the last
    one leaves the server (vcrpy buffers the whole stream first)."""
    path = tmp_path / "stream.yaml"
    with ProviderEmulator() as emu:
        model = model_for(emu)
        emu.queue(Reply(text="one two three four five six", chunk_chars=4, ttft=0.05, chunk_delay=0.08))
        arrivals = []
        with use_cassette(path, record_mode="all"):
            t0 = time.perf_counter()
            for chunk in model.stream("count"):
                if chunk.content:
                    arrivals.append(time.perf_counter() - t0)
        assert len(arrivals) >= 6
        # 7 pieces, 80 ms apart: had the recorder buffered, every chunk would arrive together at the end
        assert arrivals[-1] - arrivals[0] > 0.3
    [ix] = load_cassette(path)
    assert ix.streamed
    offsets = [c[0] for c in ix.timing["chunks"]]
    assert offsets == sorted(offsets) and len(offsets) >= 8
    assert offsets[1] - offsets[0] > 40  # the recorded pace, not one burst
    assert sum(c[1] for c in ix.timing["chunks"]) == len(ix.response.body)
    assert ix.timing["total_ms"] >= offsets[-1]


def test_replayed_stream_keeps_boundaries_offsets_and_marks_replay(emu, tmp_path, offline):
    path = tmp_path / "stream.yaml"
    model = model_for(emu)
    emu.queue(Reply(text="alpha beta gamma delta", chunk_chars=5, ttft=0.03, chunk_delay=0.01))
    with use_cassette(path, record_mode="all"):
        live = list(model.stream("go"))
    offline()
    [ix] = load_cassette(path)
    with use_cassette(path, record_mode="none"):
        replayed = list(model.stream("go"))
    assert [c.content for c in replayed] == [c.content for c in live]
    timing = replayed[-1].response_metadata["timing"]
    assert timing["replayed"] is True
    first_content = next(i for i, n in enumerate(ix.chunks()) if re.search(rb'"content":"[^"]', n))
    assert timing["ttft_ms"] == pytest.approx(ix.timing["chunks"][first_content][0], abs=0.01)
    assert timing["total_ms"] == pytest.approx(ix.timing["total_ms"], abs=0.01)


def test_raw_httpx_replay_yields_exactly_the_recorded_chunks(emu, tmp_path, offline):
    """One httpx stream chunk per recorded chunk: the chat layer maps chunk index -> recorded offset."""
    path = tmp_path / "raw.yaml"
    emu.queue(Reply(text="abcdefghijklmnopqrstuvwxyz", chunk_chars=3, chunk_delay=0.005))
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    url = emu.base_url("openai") + "/chat/completions"
    with httpx.Client(transport=HarnessTransport()) as client:
        with use_cassette(path, record_mode="all"), client.stream("POST", url, json=body) as r:
            recorded = list(r.iter_raw())
        offline()
        with use_cassette(path, record_mode="none"), client.stream("POST", url, json=body) as r:
            replayed = list(r.iter_raw())
            info = r.extensions["harness"]
    [ix] = load_cassette(path)
    assert replayed == recorded == ix.chunks()
    assert info["state"] == "replayed" and info["chunk_offsets_ms"] == [c[0] for c in ix.timing["chunks"]]


def test_replay_at_recorded_pace_or_a_factor(emu, tmp_path):
    path = tmp_path / "pace.yaml"
    model = model_for(emu)
    emu.queue(Reply(text="slow and steady wins", chunk_chars=4, ttft=0.1, chunk_delay=0.05))
    with use_cassette(path, record_mode="all"):
        list(model.stream("pace"))
    recorded_s = load_cassette(path)[0].timing["chunks"][-1][0] / 1000
    emu.stop()

    def replay(speed):
        with use_cassette(path, record_mode="none", replay_speed=speed):
            t0 = time.perf_counter()
            list(model.stream("pace"))
            return time.perf_counter() - t0

    assert replay("realtime") >= recorded_s * 0.9
    assert recorded_s * 0.9 / 4 <= replay(4.0) < recorded_s * 0.9
    assert replay("instant") < recorded_s * 0.5


async def test_async_invoke_and_stream_replay(emu, tmp_path, offline):
    path = tmp_path / "async.yaml"
    model = model_for(emu)
    emu.queue(Reply(text="async hello"), Reply(text="async stream", chunk_chars=3))
    async with use_cassette(path, record_mode="all"):
        a = await model.ainvoke("hi")
        s = [c.content async for c in model.astream("stream please")]
    offline()
    async with use_cassette(path, record_mode="none") as cas:
        a2 = await model.ainvoke("hi")
        s2 = [c.content async for c in model.astream("stream please")]
    assert (a2.content, s2) == (a.content, s)
    assert cas.replayed_count == 2


# --- tool loop, structured output, batch ---------------------------------------------------------------


@tool
def get_weather(city: str) -> str:
    """Weather in a city."""
    return f"Sunny in {city}"


def _tool_loop(model):
    bound = model.bind_tools([get_weather])
    messages = [HumanMessage("Weather in Paris and Oslo?")]
    while True:
        ai = bound.invoke(messages)
        messages.append(ai)
        if not ai.tool_calls:
            return messages
        for call in ai.tool_calls:
            messages.append(ToolMessage(get_weather.invoke(call["args"]), tool_call_id=call["id"]))


def test_tool_loop_several_requests_in_one_cassette(emu, tmp_path, offline):
    path = tmp_path / "loop.yaml"
    model = model_for(emu)
    emu.queue(
        Reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"}, id="call_p1")]),
        Reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Oslo"}, id="call_o1")]),
        Reply(text="Sunny in both."),
    )
    with use_cassette(path, record_mode="all"):
        live = _tool_loop(model)
    assert len(load_cassette(path)) == 3
    offline()
    with use_cassette(path, record_mode="none", strict=True) as cas:
        replayed = _tool_loop(model)
    assert [m.content for m in replayed] == [m.content for m in live]
    assert [getattr(m, "tool_calls", None) for m in replayed] == [
        getattr(m, "tool_calls", None) for m in live
    ]
    assert cas.replayed_count == 3


class Capital(BaseModel):
    country: str
    capital: str


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
def test_structured_output_replays(emu, tmp_path, offline, method):
    path = tmp_path / f"structured-{method}.yaml"
    model = model_for(emu)
    if method == "json_schema":
        emu.queue(Reply(text='{"country": "France", "capital": "Paris"}'))
    else:
        emu.queue(Reply(tool_calls=[ToolCallSpec("Capital", {"country": "France", "capital": "Paris"})]))
    with use_cassette(path, record_mode="all"):
        live = model.with_structured_output(Capital, method=method).invoke("France?")
    offline()
    with use_cassette(path, record_mode="none"):
        again = model.with_structured_output(Capital, method=method).invoke("France?")
    assert again == live == Capital(country="France", capital="Paris")


def test_batch_with_concurrency_replays_each_input_its_own_answer(emu, tmp_path, offline):
    path = tmp_path / "batch.yaml"
    model = model_for(emu)
    inputs = [f"question {i}" for i in range(8)]
    with use_cassette(path, record_mode="all"):
        live = model.batch(inputs, config={"max_concurrency": 4})
    offline()
    with use_cassette(path, record_mode="none", strict=True):
        replayed = model.batch(inputs, config={"max_concurrency": 4})
    assert [m.content for m in replayed] == [m.content for m in live]
    assert all(f"question {i}" in m.content for i, m in enumerate(replayed))


async def test_abatch_with_concurrency_replays(emu, tmp_path, offline):
    path = tmp_path / "abatch.yaml"
    model = model_for(emu)
    inputs = [f"q{i}" for i in range(6)]
    async with use_cassette(path, record_mode="all"):
        live = await model.abatch(inputs, config={"max_concurrency": 3})
    offline()
    async with use_cassette(path, record_mode="none", strict=True):
        replayed = await model.abatch(inputs, config={"max_concurrency": 3})
    assert [m.content for m in replayed] == [m.content for m in live]


# --- identical requests, concurrency, code that builds its own models --------------------------------


async def test_identical_requests_replay_in_recorded_order_under_gather(emu, tmp_path, offline):
    path = tmp_path / "same.yaml"
    model = model_for(emu)
    emu.queue(Reply(text="first"), Reply(text="second"), Reply(text="third"))
    async with use_cassette(path, record_mode="all"):
        for _ in range(3):
            await model.ainvoke("same question")
    offline()
    for _ in range(3):  # deterministic run after run
        async with use_cassette(path, record_mode="none"):
            out = await asyncio.gather(*(model.ainvoke("same question") for _ in range(3)))
        assert [m.content for m in out] == ["first", "second", "third"]


def test_identical_requests_from_threads_each_get_one_recorded_answer(emu, tmp_path, offline):
    path = tmp_path / "threads.yaml"
    model = model_for(emu)
    emu.queue(*[Reply(text=f"answer {i}") for i in range(6)])
    with use_cassette(path, record_mode="all"):
        for _ in range(6):
            model.invoke("same")
    offline()
    results: list[str] = []
    with use_cassette(path, record_mode="none", strict=True) as cas:
        import contextvars

        threads = [
            threading.Thread(
                target=contextvars.copy_context().run,
                args=(lambda: results.append(model.invoke("same").content),),
            )
            for _ in range(6)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(results) == [f"answer {i}" for i in range(6)]
    assert cas.replayed_count == 6


def test_decorator_covers_models_built_inside(emu, tmp_path, offline):
    path = tmp_path / "decorated.yaml"
    base_url = emu.base_url("openai")

    @use_cassette(path, record_mode="once")
    def build_and_call():
        m = init_chat_model("openai:gpt-4.1-mini", base_url=base_url, api_key=SENTINEL)
        return m.invoke("built inside").content

    first = build_and_call()
    offline()
    assert build_and_call() == first  # the second call finds the cassette and replays


async def test_async_decorator(emu, tmp_path, offline):
    path = tmp_path / "adecorated.yaml"
    model = model_for(emu)

    @use_cassette(path, record_mode="once")
    async def call():
        return (await model.ainvoke("async decorated")).content

    first = await call()
    offline()
    assert await call() == first


def test_batch_of_identical_inputs_replays_in_recorded_order(emu, tmp_path, offline):
    path = tmp_path / "same.yaml"
    model = model_for(emu)
    emu.queue(*(Reply(f"answer {i}", ttft=0.001 * (8 - i)) for i in range(8)))
    with use_cassette(path, record_mode="all"):
        live = [m.content for m in model.batch(["same"] * 8, config={"max_concurrency": 8})]
    offline()
    for _ in range(5):
        with use_cassette(path, record_mode="none", strict=True):
            replayed = [m.content for m in model.batch(["same"] * 8, config={"max_concurrency": 8})]
        assert replayed == live
