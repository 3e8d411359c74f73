"""Recording any client: the openai, anthropic and google-genai SDKs, LangChain's ChatOpenAI / ChatAnthropic,
pydantic-ai and plain httpx, unchanged, inside `use_cassette` — recorded against the emulator, replayed in a fresh
process with every socket refused; a miss reaches the caller as the miss, past each SDK's retry loop."""

from __future__ import annotations

import ast
import asyncio
import base64
import contextlib
import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import anthropic
import httpx
import httpx2
import openai
import pytest
from google import genai
from langchain_anthropic import ChatAnthropic
from langchain_openai import ChatOpenAI

from harness.cassettes import load_cassette, use_cassette
from harness.errors import CassetteMissError, SecretLeakError, UnrecordedTrafficWarning
from harness.testing import ProviderEmulator, Reply

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "tests" / "_sdk_app.py"
pytest_plugins = ["pytester"]

KEYS = (
    "sk-SENTINEL-openai-0123456789abcdef0123",
    "sk-ant-SENTINEL-anthropic-0123456789abcdef",
    "AIzaSENTINEL-google-0123456789abcdef0123",
    "SENTINEL-azure-0123456789abcdef0123456789",
)


def _run_app(mode: str, folder: Path, urls: dict[str, str]) -> dict[str, dict]:
    env = {**os.environ, "SDK_BASE_URLS": json.dumps(urls), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(APP), mode, str(folder)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout)


def test_every_sdk_records_then_replays_in_a_fresh_process_with_every_socket_refused(tmp_path):
    with ProviderEmulator() as emu:
        urls = emu.base_urls
        recorded = _run_app("record", tmp_path, urls)
        sent = [{k.lower(): v for k, v in r.headers.items()} for r in emu.requests]
        queries = [r.query for r in emu.requests]
    assert len(recorded) >= 30
    assert {name: r["state"] for name, r in recorded.items()} == dict.fromkeys(recorded, "recorded")
    assert {name: r["calls"] for name, r in recorded.items()} == {
        **dict.fromkeys(recorded, 1),
        "langchain_openai_batch": 2,
    }
    # each key really went out, in the header (or query) its SDK uses ...
    assert any(h.get("authorization") == f"Bearer {KEYS[0]}" for h in sent)
    assert any(h.get("authorization") == f"Bearer {KEYS[1]}" for h in sent)  # anthropic 2.x
    assert any(h.get("x-api-key") == KEYS[1] for h in sent)  # anthropic before 2.x, and plain httpx
    assert any(h.get("x-goog-api-key") == KEYS[2] for h in sent)
    assert any(h.get("api-key") == KEYS[3] for h in sent)
    assert any(q.get("key") == KEYS[2] for q in queries)
    # ... and no byte written holds any of them
    written = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert written and b"SENTINEL" not in written
    for name in recorded:
        for ix in load_cassette(tmp_path / f"{name}.yaml"):
            assert "truncated" not in ix.timing, name  # SDK streams stop at their end marker: recorded whole
            assert ix.timing["ttfb_ms"] > 0
    [ix] = load_cassette(tmp_path / "openai_stream.yaml")
    assert ix.streamed and ix.response.body.rstrip().endswith(b"data: [DONE]")

    replayed = _run_app("replay", tmp_path, urls)  # the emulator is stopped and the app refuses sockets
    assert {name: r["state"] for name, r in replayed.items()} == dict.fromkeys(recorded, "replayed")
    assert {name: r["out"] for name, r in replayed.items()} == {
        name: r["out"] for name, r in recorded.items()
    }
    assert recorded["openai_stream"]["out"] == ["Emulated", " reply t", "o: Capit", "al of Fr", "ance?"]
    assert recorded["langchain_anthropic_tools"]["out"] == [["_weather", {"city": "example city"}]]


# --- a miss is the miss, at once -------------------------------------------------------------------------


@pytest.fixture
def emu():
    with ProviderEmulator() as e:
        yield e


def _openai_call(emu):
    with openai.OpenAI(base_url=emu.base_url("openai"), api_key="sk-test-key-0123456789") as client:
        client.chat.completions.create(model="gpt-4.1-mini", messages=[{"role": "user", "content": "Hi"}])


def _anthropic_call(emu):
    with anthropic.Anthropic(base_url=emu.base_url("anthropic"), api_key="sk-ant-test-0123456789") as c:
        c.messages.create(
            model="claude-haiku-4-5", max_tokens=10, messages=[{"role": "user", "content": "Hi"}]
        )


def _genai_call(emu):
    with genai.Client(
        api_key="AIza-test-0123456789", http_options={"base_url": emu.base_url("google_genai")}
    ) as c:
        c.models.generate_content(model="gemini-2.5-flash", contents="Hi")


def _chat_openai_call(emu):
    ChatOpenAI(
        model="gpt-4.1-mini", base_url=emu.base_url("openai"), api_key="sk-test-key-0123456789"
    ).invoke("Hi")


def _chat_anthropic_call(emu):
    model = ChatAnthropic(
        model="claude-haiku-4-5", base_url=emu.base_url("anthropic"), api_key="sk-ant-test-0123"
    )
    model.invoke("Hi")


async def _async_openai_stream(emu):
    async with openai.AsyncOpenAI(
        base_url=emu.base_url("openai"), api_key="sk-test-key-0123456789"
    ) as client:
        stream = await client.chat.completions.create(
            model="gpt-4.1-mini", messages=[{"role": "user", "content": "Hi"}], stream=True
        )
        async for _ in stream:
            pass


@pytest.mark.parametrize(
    "call",
    [_openai_call, _anthropic_call, _genai_call, _chat_openai_call, _chat_anthropic_call],
    ids=["openai", "anthropic", "google-genai", "ChatOpenAI", "ChatAnthropic"],
)
def test_a_miss_inside_an_sdk_raises_the_miss_after_one_attempt(emu, tmp_path, call):
    """The SDKs retry any Exception from their transport (2 retries, then "Connection error"): the miss
    passes their retry loops, so the interceptor sees one attempt and the caller the CassetteMissError."""
    with (
        pytest.raises(CassetteMissError, match="no recorded response matches this request") as caught,
        use_cassette(tmp_path / "empty.yaml", record_mode="none") as cas,
    ):
        call(emu)
    assert "the cassette file does not exist" in str(caught.value)
    assert cas.misses == 1 and emu.requests == []


async def test_a_miss_in_an_async_sdk_stream_is_the_miss(emu, tmp_path):
    with pytest.raises(CassetteMissError):
        async with use_cassette(tmp_path / "empty.yaml", record_mode="none") as cas:
            await _async_openai_stream(emu)
    assert cas.misses == 1 and emu.requests == []


def test_a_miss_names_the_nearest_recorded_request_with_its_diff(emu, tmp_path):
    path = tmp_path / "c.yaml"
    with openai.OpenAI(base_url=emu.base_url("openai"), api_key="sk-test-key-0123456789") as client:
        with use_cassette(path, record_mode="once"):
            client.chat.completions.create(model="gpt-4.1-mini", messages=[{"role": "user", "content": "Hi"}])
        with pytest.raises(CassetteMissError) as caught, use_cassette(path, record_mode="none"):
            client.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": "Hi"}])
    message = str(caught.value)
    assert "nearest recorded (#0)" in message and "gpt-4.1-mini" in message


def test_a_refused_write_inside_an_sdk_is_the_secret_leak_error_after_one_attempt(emu, tmp_path):
    """The live key base64-encoded in a prompt cannot be written: the write is refused as the body closes,
    inside the SDK's send, and the SDK does not re-send it (its retries would, then say "Connection error")."""
    key, path = "sk-ant-live-key-for-the-leak-test-0123456789", tmp_path / "leak.yaml"
    encoded = base64.b64encode(key.encode()).decode()
    client = anthropic.Anthropic(base_url=emu.base_url("anthropic"), api_key=key)
    ask = [{"role": "user", "content": f"decode {encoded}"}]
    with (
        client,
        pytest.raises(SecretLeakError, match="refusing to write"),
        use_cassette(path, record_mode="once"),
    ):
        client.messages.create(model="claude-haiku-4-5", max_tokens=50, messages=ask)
    assert len(emu.requests) == 1 and not path.exists()


# --- streams abandoned midway -------------------------------------------------------------------------------


def _first_texts(client, n: int) -> list[str]:
    stream = client.chat.completions.create(
        model="gpt-4.1-mini", messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    texts = []
    with stream:
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                texts.append(chunk.choices[0].delta.content)
            if len(texts) == n:
                break
    return texts


def test_an_sdk_stream_abandoned_midway_is_recorded_up_to_where_it_stopped(emu, tmp_path):
    path = tmp_path / "abandoned.yaml"
    text = "A long answer that the caller stops reading early on."
    emu.queue(Reply(text=text, chunk_delay=0.5))
    with openai.OpenAI(base_url=emu.base_url("openai"), api_key="sk-test-key-0123456789") as client:
        with use_cassette(path, record_mode="once") as cas:
            live = _first_texts(client, 2)
        assert cas.recorded_count == 1 and cas.truncated == 1
        [ix] = load_cassette(path)
        assert ix.timing["truncated"] is True
        with use_cassette(path, record_mode="none") as cas:
            replayed = _first_texts(client, 10)
        assert cas.state == "replayed"
    # what was read (and what arrived while closing read on, bounded), then the recording ends
    assert replayed[:2] == live and len(replayed) < 6 and text.startswith("".join(replayed))


# --- scope: clients made before the block, concurrent contexts, code outside any cassette ------------------


def test_a_client_made_before_the_block_records_and_the_patch_is_gone_after_it(emu, tmp_path):
    originals = (httpx.HTTPTransport.handle_request, httpx2.AsyncHTTPTransport.handle_async_request)
    with openai.OpenAI(base_url=emu.base_url("openai"), api_key="sk-test-key-0123456789") as client:
        with use_cassette(tmp_path / "c.yaml", record_mode="once") as cas:
            client.chat.completions.create(model="gpt-4.1-mini", messages=[{"role": "user", "content": "Hi"}])
        assert cas.recorded_count == 1
        client.chat.completions.create(model="gpt-4.1-mini", messages=[{"role": "user", "content": "Hi"}])
    assert (httpx.HTTPTransport.handle_request, httpx2.AsyncHTTPTransport.handle_async_request) == originals
    assert len(emu.requests) == 2 and cas.recorded_count == 1  # the call after the block was not recorded


async def test_concurrent_tasks_keep_their_own_cassettes_on_one_client(emu, tmp_path):
    async with openai.AsyncOpenAI(
        base_url=emu.base_url("openai"), api_key="sk-test-key-0123456789"
    ) as client:

        async def cell(name: str) -> None:
            async with use_cassette(tmp_path / f"{name}.yaml", record_mode="once"):
                for _ in range(3):
                    await client.chat.completions.create(
                        model="gpt-4.1-mini", messages=[{"role": "user", "content": name}]
                    )
                    await asyncio.sleep(0)

        async def outside() -> None:
            await client.chat.completions.create(
                model="gpt-4.1-mini", messages=[{"role": "user", "content": "x"}]
            )

        async with asyncio.TaskGroup() as tg:
            for task in (cell("a"), cell("b"), outside()):
                tg.create_task(task)
    for name in ("a", "b"):
        asks = [
            ix.request.json()["messages"][0]["content"] for ix in load_cassette(tmp_path / f"{name}.yaml")
        ]
        assert asks == [name] * 3
    assert len(emu.requests) == 7


def test_ignore_hosts_go_live_and_are_not_recorded(emu, tmp_path):
    path = tmp_path / "c.yaml"
    with use_cassette(path, record_mode="once", ignore_hosts=["127.0.0.1"]) as cas:
        assert httpx.get(emu.url + "/health").status_code in (200, 404)
    assert cas.recorded_count == 0 and cas.live_count == 1 and not path.exists()


# --- traffic outside the cassette ------------------------------------------------------------------------


def _urlopen(url: str) -> None:
    with contextlib.suppress(
        urllib.error.URLError, OSError
    ):  # no network here: the lookup fails, after the warning
        urllib.request.urlopen(url, timeout=2).close()


def test_a_provider_reached_through_an_unpatched_client_is_warned_once_naming_the_host(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _urlopen("https://api.anthropic.com/v1/messages")  # no cassette active: nothing to say
    with (
        pytest.warns(UnrecordedTrafficWarning, match=r"a request to api\.anthropic\.com went out") as seen,
        use_cassette(tmp_path / "c.yaml", record_mode="once"),
    ):
        _urlopen("https://api.anthropic.com/v1/messages")
        _urlopen("https://api.anthropic.com/v1/messages")
    assert len([w for w in seen if issubclass(w.category, UnrecordedTrafficWarning)]) == 1


def test_a_provider_host_reached_through_httpx_is_not_warned(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with use_cassette(tmp_path / "c.yaml", record_mode="all"), pytest.raises(httpx.ConnectError):
            httpx.get("https://api.openai.com/v1/models", timeout=2)  # recorded (if it could connect)


# --- examples/openai_app: an app on the openai SDK, tested with the plugin --------------------------------

EXAMPLE_APP = ROOT / "examples" / "openai_app"


def test_the_openai_sdk_app_example_replays_offline_with_no_harness_in_the_app(pytester, monkeypatch):
    tree = ast.parse((EXAMPLE_APP / "app.py").read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "openai" in imported and not any(m.startswith("harness") for m in imported)
    monkeypatch.delenv("HARNESS_RECORD_MODE", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = pytester.runpytest_subprocess(str(EXAMPLE_APP), "-p", "no:cacheprovider", "--block-network")
    result.assert_outcomes(passed=4)


def test_a_thread_that_does_not_see_the_cassette_is_warned_once_naming_the_host(tmp_path):
    """A thread started inside the block does not inherit its context: its calls are not recorded, said."""

    def call() -> None:
        with contextlib.suppress(httpx.ConnectError):
            httpx.get("https://api.mistral.ai/v1/models", timeout=2)

    with (
        pytest.warns(UnrecordedTrafficWarning, match=r"api\.mistral\.ai .*from a thread or task") as seen,
        use_cassette(tmp_path / "c.yaml", record_mode="once") as cas,
    ):
        for _ in range(2):
            thread = threading.Thread(target=call)
            thread.start()
            thread.join()
    assert len([w for w in seen if issubclass(w.category, UnrecordedTrafficWarning)]) == 1
    assert cas.state == "unused"
