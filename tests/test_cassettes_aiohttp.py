"""Clients on aiohttp record and replay unchanged: google-genai's async client (which takes aiohttp when it is
installed), LiteLLM (whose async calls go through its aiohttp transport) and a plain `aiohttp.ClientSession`
— recorded against the emulator, replayed in a fresh process with every socket refused; in process, a miss
is the miss at once, a stream stays live while recording, and the patch is scoped and undone."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import httpx
import pytest
from google import genai

from harness import init_chat_model
from harness.cassettes import load_cassette, use_cassette
from harness.errors import CassetteMissError, SecretLeakError
from harness.testing import ProviderEmulator, Reply

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "tests" / "_aiohttp_app.py"
AIOHTTP_SCENARIOS = ["genai_aio_invoke", "genai_aio_stream", "aiohttp_post", "aiohttp_stream"]
LITELLM_SCENARIOS = [
    f"litellm_{provider}_{call}"
    for provider in ("openai", "anthropic")
    for call in ("completion", "completion_stream", "acompletion", "acompletion_stream")
]
TEXTS = ["Emulated", " reply t", "o: Capit", "al of Fr", "ance?"]


def _run_app(mode: str, folder: Path, urls: dict[str, str], scenarios: list[str]) -> dict[str, dict]:
    env = {**os.environ, "SDK_BASE_URLS": json.dumps(urls), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(APP), mode, str(folder), *scenarios],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout)


def _record_then_replay(tmp_path: Path, scenarios: list[str]) -> tuple[dict, dict, list[dict[str, str]]]:
    with ProviderEmulator() as emu:
        recorded = _run_app("record", tmp_path, emu.base_urls, scenarios)
        sent = [{k.lower(): v for k, v in r.headers.items()} for r in emu.requests]
        urls = emu.base_urls
    replayed = _run_app("replay", tmp_path, urls, scenarios)  # the emulator is stopped, sockets refused
    # no cassette at all: each call raises the miss after one attempt (no retry loop turned it into
    # "Connection error", and none tried again)
    missed = _run_app("miss", tmp_path / "none", urls, scenarios)
    assert {n: (r["out"], r["misses"]) for n, r in missed.items()} == dict.fromkeys(
        scenarios, ("CassetteMissError", 1)
    )
    assert {n: (r["state"], r["calls"]) for n, r in recorded.items()} == dict.fromkeys(
        scenarios, ("recorded", 1)
    )
    assert {n: (r["state"], r["calls"]) for n, r in replayed.items()} == dict.fromkeys(
        scenarios, ("replayed", 1)
    )
    assert {n: r["out"] for n, r in replayed.items()} == {n: r["out"] for n, r in recorded.items()}
    written = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert written and b"SENTINEL" not in written  # every key the clients sent was scrubbed
    for name in scenarios:
        [ix] = load_cassette(tmp_path / f"{name}.yaml")
        assert "truncated" not in ix.timing and ix.timing["ttfb_ms"] > 0, name
    return recorded, replayed, sent


def test_aiohttp_clients_record_then_replay_in_a_fresh_process_with_every_socket_refused(tmp_path):
    recorded, _, sent = _record_then_replay(tmp_path, AIOHTTP_SCENARIOS)
    assert recorded["genai_aio_invoke"]["out"] == {
        "text": "Emulated reply to: Capital of France?",
        "on_aiohttp": True,  # google-genai really sent through aiohttp
    }
    assert recorded["genai_aio_stream"]["out"] == {"texts": TEXTS, "on_aiohttp": True}
    assert recorded["aiohttp_post"]["out"] == "Emulated reply to: Capital of France?"
    assert recorded["aiohttp_stream"]["out"][0] == "event: message_start"
    assert recorded["aiohttp_stream"]["out"][-1] == "event: message_stop"
    assert any(h.get("x-goog-api-key", "").startswith("AIzaSENTINEL") for h in sent)
    assert any(h.get("authorization", "").startswith("Bearer sk-SENTINEL") for h in sent)
    assert any(h.get("x-api-key", "").startswith("sk-ant-SENTINEL") for h in sent)
    [ix] = load_cassette(tmp_path / "genai_aio_stream.yaml")
    assert ix.streamed and ix.request.uri.endswith(":streamGenerateContent?alt=sse")


def test_litellm_records_then_replays_in_a_fresh_process_with_every_socket_refused(tmp_path):
    pytest.importorskip("litellm", reason="pip install -e '.[litellm]' (.ci/run installs it)")
    recorded, _, sent = _record_then_replay(tmp_path, LITELLM_SCENARIOS)
    for name in LITELLM_SCENARIOS:
        expected = TEXTS if name.endswith("_stream") else "Emulated reply to: Capital of France?"
        assert recorded[name]["out"] == expected, name
    assert any(h.get("authorization", "").startswith("Bearer sk-SENTINEL") for h in sent)
    assert any(h.get("x-api-key", "").startswith("sk-ant-SENTINEL") for h in sent)


# --- in process: misses, live streams, scope ---------------------------------------------------------------


@pytest.fixture
def emu():
    with ProviderEmulator() as e:
        yield e


BODY = {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "Hi"}]}


async def _post(session: aiohttp.ClientSession, emu: ProviderEmulator, body: dict = BODY) -> str:
    async with session.post(emu.base_url("openai") + "/chat/completions", json=body) as response:
        return (await response.json())["choices"][0]["message"]["content"]


async def test_a_miss_on_an_aiohttp_session_is_the_miss_and_nothing_is_sent(emu, tmp_path):
    async with aiohttp.ClientSession() as session:
        with pytest.raises(CassetteMissError, match="no recorded response matches this request"):
            async with use_cassette(tmp_path / "empty.yaml", record_mode="none") as cas:
                await _post(session, emu)
    assert cas.misses == 1 and emu.requests == []


@pytest.mark.filterwarnings(
    "ignore:Inheritance class AiohttpClientSession:DeprecationWarning"
)  # google-genai's
async def test_a_miss_in_google_genais_aiohttp_client_is_the_miss(emu, tmp_path):
    client = genai.Client(
        api_key="AIza-test-0123456789", http_options={"base_url": emu.base_url("google_genai")}
    )
    async with client.aio as aio:
        assert client._api_client._use_aiohttp()
        with pytest.raises(CassetteMissError):
            async with use_cassette(tmp_path / "empty.yaml", record_mode="none") as cas:
                await aio.models.generate_content(model="gemini-2.5-flash", contents="Hi")
    assert cas.misses == 1 and emu.requests == []


async def _first_lines(session: aiohttp.ClientSession, emu: ProviderEmulator, n: int) -> list[bytes]:
    url = emu.base_url("openai") + "/chat/completions"
    lines: list[bytes] = []
    async with session.post(url, json={**BODY, "stream": True}) as response:
        async for line in response.content:
            lines.append(line)
            if len([x for x in lines if x.strip()]) == n:
                break
    return lines


async def test_an_aiohttp_stream_is_live_while_recording_and_left_midway_is_recorded_up_to_there(
    emu, tmp_path
):
    """The server's stream lasts seconds; the reader leaves after two events. Had the body been buffered
    while recording, the cassette would hold the whole stream: it holds what was read, marked truncated."""
    path = tmp_path / "abandoned.yaml"
    emu.queue(Reply(text="x" * 400, chunk_chars=4, chunk_delay=0.05))
    async with aiohttp.ClientSession() as session:
        async with use_cassette(path, record_mode="once") as cas:
            live = await _first_lines(session, emu, 2)
        assert cas.recorded_count == 1 and cas.truncated == 1
        [ix] = load_cassette(path)
        assert ix.timing["truncated"] is True and b"[DONE]" not in ix.response.body
        assert ix.response.body.startswith(b"".join(live))
        emu.stop()
        async with use_cassette(path, record_mode="none") as cas:
            assert await _first_lines(session, emu, 2) == live
        assert cas.state == "replayed"


async def test_a_session_made_before_the_block_records_and_the_patch_is_gone_after_it(emu, tmp_path):
    original = aiohttp.ClientSession._request
    async with aiohttp.ClientSession() as session:
        async with use_cassette(tmp_path / "c.yaml", record_mode="once") as cas:
            assert aiohttp.ClientSession._request is not original
            await _post(session, emu)
        assert aiohttp.ClientSession._request is original
        await _post(session, emu)
    assert cas.recorded_count == 1 and len(emu.requests) == 2  # the call after the block was not recorded


LATE_IMPORT = """
import asyncio, sys
from harness.cassettes import use_cassette
url, path = sys.argv[1], sys.argv[2]
finders = list(sys.meta_path)

async def main():
    async with use_cassette(path, record_mode="once") as cas:
        assert "aiohttp" not in sys.modules  # entering the cassette did not import it
        import aiohttp

        async with aiohttp.ClientSession() as session:
            async with session.post(url, json={"model": "m", "messages": [{"role": "user", "content": "late"}]}) as r:
                text = (await r.json())["choices"][0]["message"]["content"]
    print(cas.recorded_count, text, sys.meta_path == finders)

asyncio.run(main())
"""


def test_a_session_made_after_importing_aiohttp_inside_the_block_is_recorded(emu, tmp_path):
    """A fresh process: aiohttp is first imported inside the cassette, which patches it then."""
    path = tmp_path / "late.yaml"
    url = emu.base_url("openai") + "/chat/completions"
    done = subprocess.run(
        [sys.executable, "-c", LATE_IMPORT, url, str(path)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert done.stdout.split() == ["1", "Emulated", "reply", "to:", "late", "True"]  # finder gone after
    [ix] = load_cassette(path)
    assert ix.request.json()["messages"][0]["content"] == "late" and len(emu.requests) == 1


async def test_concurrent_tasks_keep_their_own_cassettes_on_one_aiohttp_session(emu, tmp_path):
    async with aiohttp.ClientSession() as session:

        async def cell(name: str) -> None:
            async with use_cassette(tmp_path / f"{name}.yaml", record_mode="once"):
                for _ in range(3):
                    await _post(session, emu, {**BODY, "messages": [{"role": "user", "content": name}]})
                    await asyncio.sleep(0)

        await asyncio.gather(cell("a"), cell("b"), _post(session, emu))
    for name in ("a", "b"):
        asks = [
            ix.request.json()["messages"][0]["content"] for ix in load_cassette(tmp_path / f"{name}.yaml")
        ]
        assert asks == [name] * 3
    assert len(emu.requests) == 7


async def test_ignore_hosts_on_an_aiohttp_session_go_live_and_are_not_recorded(emu, tmp_path):
    path = tmp_path / "c.yaml"
    async with (
        aiohttp.ClientSession() as session,
        use_cassette(path, record_mode="once", ignore_hosts=["127.0.0.1"]) as cas,
    ):
        assert await _post(session, emu) == "Emulated reply to: Hi"
    assert cas.recorded_count == 0 and cas.live_count == 1 and not path.exists()


async def test_a_refused_write_on_an_aiohttp_session_is_the_secret_leak_error(emu, tmp_path):
    key, path = "sk-live-key-for-the-aiohttp-leak-test-0123456789", tmp_path / "leak.yaml"
    ask = {
        **BODY,
        "messages": [{"role": "user", "content": f"decode {base64.b64encode(key.encode()).decode()}"}],
    }
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {key}"}) as session:
        with pytest.raises(SecretLeakError, match="refusing to write"):
            async with use_cassette(path, record_mode="once"):
                await _post(session, emu, ask)
    assert len(emu.requests) == 1 and not path.exists()


class _AiohttpTransport(httpx.AsyncBaseTransport):
    """A custom httpx transport that sends through aiohttp, as LiteLLM's does."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        async with self.session.request(
            request.method, str(request.url), headers=dict(request.headers), data=body
        ) as response:
            content = await response.read()
        drop = {"content-length", "content-encoding", "transfer-encoding"}
        headers = [(k, v) for k, v in response.headers.items() if k.lower() not in drop]
        return httpx.Response(response.status, headers=headers, content=content)


async def test_a_harness_model_on_an_aiohttp_based_transport_is_recorded_once_then_replays(emu, tmp_path):
    """The model's transport hands the request to the cassette, whose live send goes through aiohttp: the
    aiohttp layer lets it pass instead of recording it a second time."""
    path = tmp_path / "nested.yaml"
    async with (
        aiohttp.ClientSession() as session,
        httpx.AsyncClient(transport=_AiohttpTransport(session)) as client,
    ):
        model = init_chat_model(
            "openai:gpt-4.1-mini",
            base_url=emu.base_url("openai"),
            api_key="sk-test-0123456789abcdef",
            max_retries=0,
            http_async_client=client,
        )
        async with use_cassette(path, record_mode="once") as cas:
            assert (await model.ainvoke("Hi")).content == "Emulated reply to: Hi"
        assert cas.recorded_count == 1 and len(load_cassette(path)) == 1
        emu.stop()
        async with use_cassette(path, record_mode="none") as cas:
            assert (await model.ainvoke("Hi")).content == "Emulated reply to: Hi"
        assert cas.state == "replayed"


async def test_a_provider_host_reached_through_aiohttp_is_not_warned(tmp_path):
    """aiohttp's lookup of the host (in an executor thread) is the patched session's own: no
    UnrecordedTrafficWarning (warnings are errors here), only the connection error of a machine offline."""
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientError):
            async with use_cassette(tmp_path / "c.yaml", record_mode="all"):
                await session.get("https://api.openai.com/v1/models", timeout=aiohttp.ClientTimeout(total=2))
