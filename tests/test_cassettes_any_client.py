"""Recording any client (issue "record any client"): a model given its own `http_client=` records and
replays through the cassette, and a stream its reader closes at the provider's end marker, or abandons
midway, is still recorded and replays."""

from __future__ import annotations

import socket

import httpx
import pytest

from harness import init_chat_model
from harness.cassettes import load_cassette, use_cassette
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
