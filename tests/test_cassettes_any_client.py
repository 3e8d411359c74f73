"""Recording any client (issue "record any client"): a model given its own `http_client=` records and
replays through the cassette, and a stream its reader closes at the provider's end marker, or abandons
midway, is still recorded and replays."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from harness import init_chat_model
from harness.cassettes import load_cassette, use_cassette
from harness.cassettes.streams import READ_ON_S
from harness.http import AsyncHarnessTransport, HarnessTransport
from harness.testing import ProviderEmulator, Reply

KEY = "sk-SENTINEL-any-client-0123456789abcdef"


@pytest.fixture
def emu():
    with ProviderEmulator() as e:
        yield e


@pytest.fixture
def offline(monkeypatch, emu):
    """Call it once recording is done: stops the emulator and refuses every outbound connection."""

    def go_offline():
        emu.stop()

        def refuse(*a, **k):
            raise AssertionError("replay opened a socket")

        monkeypatch.setattr(socket.socket, "connect", refuse)
        monkeypatch.setattr(socket.socket, "connect_ex", refuse)
        monkeypatch.setattr(socket, "create_connection", refuse)

    return go_offline


def _model(emu, **clients):
    return init_chat_model(
        "openai:gpt-4.1-mini", base_url=emu.base_url("openai"), api_key=KEY, max_retries=0, **clients
    )


# --- a model's own http_client= ----------------------------------------------------------------------


def test_a_models_own_http_client_records_then_replays_offline(emu, tmp_path, offline):
    path = tmp_path / "own_client.yaml"
    emu.queue(Reply(text="Paris."), Reply(text="Madrid."))
    with httpx.Client(headers={"x-team": "evals"}) as client:
        model = _model(emu, http_client=client)
        with use_cassette(path, record_mode="once") as cas:
            assert model.invoke("Capital of France?").content == "Paris."
            assert "".join(c.content for c in model.stream("And of Spain?")) == "Madrid."
        assert cas.state == "recorded" and cas.recorded_count == 2
        assert emu.requests[0].headers["x-team"] == "evals"  # the user's client sent it, with its settings
        assert [ix.request.json()["messages"][-1]["content"] for ix in load_cassette(path)] == [
            "Capital of France?",
            "And of Spain?",
        ]
        offline()
        with use_cassette(path, record_mode="none") as cas:
            assert model.invoke("Capital of France?").content == "Paris."
            assert "".join(c.content for c in model.stream("And of Spain?")) == "Madrid."
        assert cas.state == "replayed" and cas.replayed_count == 2
        assert not client.is_closed  # the user's client stays theirs


async def test_a_models_own_http_async_client_records_then_replays_offline(emu, tmp_path, offline):
    path = tmp_path / "own_async_client.yaml"
    emu.queue(Reply(text="Paris."))
    async with httpx.AsyncClient() as client:
        model = _model(emu, http_async_client=client)
        with use_cassette(path, record_mode="once") as cas:
            assert (await model.ainvoke("Capital of France?")).content == "Paris."
        assert cas.state == "recorded"
        offline()
        with use_cassette(path, record_mode="none") as cas:
            assert (await model.ainvoke("Capital of France?")).content == "Paris."
        assert cas.state == "replayed"


# --- a stream closed at its end marker, or abandoned midway --------------------------------------------

BODY = {"model": "gpt-4.1-mini", "stream": True, "messages": [{"role": "user", "content": "Hi"}]}


def _read_until_done(client: httpx.Client, url: str) -> list[str]:
    """What the openai SDK does: read SSE lines up to `data: [DONE]`, then close the response."""
    lines = []
    with client.stream("POST", url, json=BODY) as response:
        for line in response.iter_lines():
            lines.append(line)
            if line == "data: [DONE]":
                break
    return lines


def test_a_stream_closed_at_its_end_marker_is_recorded_whole_and_replays(emu, tmp_path, offline):
    path, url = tmp_path / "done.yaml", emu.base_url("openai") + "/chat/completions"
    emu.queue(Reply(text="A reply in several streamed pieces."))
    with httpx.Client(transport=HarnessTransport()) as client:
        with use_cassette(path, record_mode="once") as cas:
            live = _read_until_done(client, url)
        assert cas.state == "recorded" and cas.truncated == 0
        [ix] = load_cassette(path)
        assert ix.streamed and "truncated" not in ix.timing
        assert ix.response.body.rstrip().endswith(b"data: [DONE]")
        offline()
        with use_cassette(path, record_mode="none") as cas:
            assert _read_until_done(client, url) == live
        assert cas.state == "replayed"


async def test_an_async_stream_closed_at_its_end_marker_is_recorded_whole(emu, tmp_path):
    path, url = tmp_path / "adone.yaml", emu.base_url("openai") + "/chat/completions"
    emu.queue(Reply(text="A reply in several streamed pieces."))
    async with httpx.AsyncClient(transport=AsyncHarnessTransport()) as client:
        with use_cassette(path, record_mode="once") as cas:
            async with client.stream("POST", url, json=BODY) as response:
                async for line in response.aiter_lines():
                    if line == "data: [DONE]":
                        break
    assert cas.recorded_count == 1 and cas.truncated == 0
    [ix] = load_cassette(path)
    assert ix.response.body.rstrip().endswith(b"data: [DONE]") and "truncated" not in ix.timing


def _first_chunks(client: httpx.Client, url: str, n: int) -> tuple[list[bytes], float]:
    """Read `n` chunks, then close: returns them and how long the close took."""
    with client.stream("POST", url, json=BODY) as response:
        chunks = []
        for chunk in response.iter_raw():
            chunks.append(chunk)
            if len(chunks) == n:
                break
        t0 = time.perf_counter()
    return chunks, time.perf_counter() - t0


def test_a_stream_abandoned_midway_is_recorded_up_to_where_reading_stopped(emu, tmp_path, offline):
    path, url = tmp_path / "abandoned.yaml", emu.base_url("openai") + "/chat/completions"
    # a slow stream: its end is seconds away when the reader leaves after 2 chunks
    emu.queue(Reply(text="x" * 400, chunk_chars=4, chunk_delay=0.05))
    with httpx.Client(transport=HarnessTransport()) as client:
        with use_cassette(path, record_mode="once") as cas:
            read, close_s = _first_chunks(client, url, 2)
        assert close_s < READ_ON_S + 0.2  # reading on is bounded
        assert cas.state == "recorded" and cas.truncated == 1
        [ix] = load_cassette(path)
        assert ix.timing["truncated"] is True and b"[DONE]" not in ix.response.body
        assert ix.response.body.startswith(b"".join(read))
        offline()
        with use_cassette(path, record_mode="none") as cas:
            replayed, _ = _first_chunks(client, url, 2)
        assert b"".join(replayed) == b"".join(read) and cas.state == "replayed"


def test_a_model_stream_left_after_two_chunks_replays_the_same_two(emu, tmp_path, offline):
    path = tmp_path / "model_abandoned.yaml"
    emu.queue(Reply(text="y" * 400, chunk_chars=4, chunk_delay=0.05))
    model = _model(emu)

    def first_two() -> list[str]:
        stream = model.stream("Write a lot")
        pieces = [next(stream).content for _ in range(2)]
        stream.close()
        return pieces

    with use_cassette(path, record_mode="once") as cas:
        live = first_two()
    assert cas.recorded_count == 1 and cas.truncated == 1
    offline()
    with use_cassette(path, record_mode="none") as cas:
        assert first_two() == live
    assert cas.state == "replayed"


# --- the patch held between cassettes (the pytest plugin holds it for its session) -------------------


def test_a_held_patch_routes_the_next_cassettes_calls_and_leaves_calls_between_alone(emu, tmp_path):
    from harness.cassettes import clients

    url = emu.base_url("openai") + "/chat/completions"
    body = {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "hi"}]}
    headers = {"authorization": f"Bearer {KEY}"}
    clients.hold()
    try:
        for name in ("first.yaml", "second.yaml"):
            with use_cassette(tmp_path / name, record_mode="once"), httpx.Client() as client:
                assert client.post(url, json=body, headers=headers).status_code == 200
            # between cassettes the patched transport sends as the real one: live, recorded nowhere
            with httpx.Client() as client:
                assert client.post(url, json=body, headers=headers).status_code == 200
    finally:
        clients.let_go()
    assert len(emu.requests) == 4
    for name in ("first.yaml", "second.yaml"):
        assert len(load_cassette(tmp_path / name)) == 1
