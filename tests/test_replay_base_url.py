"""Replay does not depend on the base URL a cassette was recorded against: requests a provider adapter
recognises match on their endpoint path, the host ignored, unless host matching is asked for
(`harness run --match-host`, `use_cassette(match_host=True)`, pytest `--harness-match-host` / ini
`harness_match_host`); a miss that only the host explains says so, and never advises recording."""

from __future__ import annotations

import json
import os
import socket

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.results.io import iter_records
from harness.testing import ProviderEmulator

pytest_plugins = ["pytester"]

SUITE = """\
name: hosts
models: [openai:gpt-4.1-mini, anthropic:claude-haiku-4-5, google_genai:gemini-2.5-flash]
cases:
  - id: capital
    prompt: What is the capital of France?
    assert: [{type: icontains, value: capital}]
  - id: streamed
    prompt: Tell me a joke
    stream: true
"""

KEYS = {"OPENAI_API_KEY": "sk-test", "ANTHROPIC_API_KEY": "sk-ant-test", "GOOGLE_API_KEY": "g-test"}


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for k in list(os.environ):
        if k.endswith(("_API_KEY", "_BASE_URL")) or k in ("CI", "HARNESS_RECORD_MODE", "GITHUB_STEP_SUMMARY"):
            monkeypatch.delenv(k)
    (tmp_path / "hosts.yaml").write_text(SUITE, encoding="utf-8")
    return tmp_path


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["run", *args], env=env, catch_exceptions=False)
    return result.exit_code, result.output


def record_through_the_emulator() -> None:
    with ProviderEmulator() as emu:
        env = {
            **KEYS,
            "OPENAI_BASE_URL": emu.base_url("openai"),
            "ANTHROPIC_BASE_URL": emu.base_url("anthropic"),
            "GOOGLE_GEMINI_BASE_URL": emu.base_url("google_genai"),
        }
        code, out = run("hosts.yaml", "--record-mode", "once", "--out", "runs/rec", "--no-report", env=env)
    assert code == 0, out


def block_sockets(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_cassettes_recorded_against_the_emulator_replay_against_the_default_urls(workdir, monkeypatch):
    record_through_the_emulator()
    block_sockets(monkeypatch)
    code, out = run("hosts.yaml", "--record-mode", "none", "--out", "runs/default", "--no-report")
    assert code == 0, out
    records = list(iter_records(workdir / "runs/default"))
    assert len(records) == 6
    assert {r["cassette"]["state"] for r in records} == {"replayed"}

    # through a gateway whose base URL adds a path prefix, too
    gateway = {"OPENAI_BASE_URL": "https://llm-gateway.example.com/team-a/openai/v1"}
    code, out = run("hosts.yaml", "--record-mode", "none", "--out", "runs/gw", "--no-report", env=gateway)
    assert code == 0, out


def test_match_host_keeps_strict_host_matching_and_the_miss_names_the_host(workdir, monkeypatch):
    record_through_the_emulator()
    block_sockets(monkeypatch)
    code, out = run(
        "hosts.yaml", "--record-mode", "none", "--match-host", "--out", "runs/strict", "--no-report"
    )
    assert code == 1
    records = list(iter_records(workdir / "runs/strict"))
    assert {r["cassette"]["state"] for r in records} == {"miss"}
    error = next(r["error"] for r in records if r["model"] == "openai:gpt-4.1-mini")
    assert "is this same request sent to another base URL: recorded http://127.0.0.1:" in error
    assert "this request https://api.openai.com" in error
    assert "Only the base URL differs; host matching is strict (match_host=True" in error
    assert "new_episodes" not in error
    assert json.loads((workdir / "runs/strict/run.json").read_text())["config"]["match_host"] is True


CONFTEST = """
import os
import pytest

@pytest.fixture
def harness_model_kwargs():
    return {"base_url": os.environ["TEST_OPENAI_URL"], "api_key": "sk-test"}
"""

INI = "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"

TEST_MODULE = """
def test_capital(chat_model):
    assert chat_model.invoke("What is the capital of France?").text
"""


def test_pytest_replays_from_another_host_unless_the_ini_asks_for_strict_hosts(pytester, monkeypatch):
    monkeypatch.delenv("HARNESS_RECORD_MODE", raising=False)
    pytester.makeini(INI)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_hosts=TEST_MODULE)
    args = ("-p", "no:cacheprovider", "--models", "openai:gpt-4.1-mini")
    with ProviderEmulator() as emu:
        monkeypatch.setenv("TEST_OPENAI_URL", emu.base_url("openai"))
        pytester.runpytest(*args, "--record-mode=once").assert_outcomes(passed=1)
    monkeypatch.setenv("TEST_OPENAI_URL", "https://gateway.example.com/openai/v1")
    pytester.runpytest(*args).assert_outcomes(passed=1)

    pytester.makeini(INI + "harness_match_host = true\n")
    strict = pytester.runpytest(*args)
    strict.assert_outcomes(failed=1)
    text = strict.stdout.str()
    assert "Only the base URL differs; host matching is strict" in text
    assert "--record-mode=new_episodes" not in text
    pytester.runpytest(*args, "-o", "harness_match_host=false").assert_outcomes(passed=1)


CASSETTE = """\
version: 1
interactions:
- request:
    method: POST
    uri: https://gateway-a.example.com/v1/embeddings
    body: '{"input": "hello", "model": "text-embedding-3-small"}'
    headers: {content-type: [application/json]}
  response:
    status: {code: 200, message: OK}
    headers: {content-type: [application/json]}
    body: {string: '{"data": [{"embedding": [0.1, 0.2]}]}'}
"""


def test_an_endpoint_no_adapter_knows_matches_its_whole_url_and_the_miss_says_so(tmp_path, monkeypatch):
    import httpx

    from harness.cassettes import use_cassette
    from harness.errors import CassetteMissError
    from harness.http import HarnessTransport

    block_sockets(monkeypatch)
    path = tmp_path / "embeddings.yaml"
    path.write_text(CASSETTE, encoding="utf-8")
    body = {"input": "hello", "model": "text-embedding-3-small"}
    with httpx.Client(transport=HarnessTransport()) as client, use_cassette(path, record_mode="none"):
        same = client.post("https://gateway-a.example.com/v1/embeddings", json=body)
        assert same.json()["data"][0]["embedding"] == [0.1, 0.2]
    with (
        httpx.Client(transport=HarnessTransport()) as client,
        use_cassette(path, record_mode="none"),
        pytest.raises(CassetteMissError) as miss,
    ):
        client.post("https://gateway-b.example.com/v1/embeddings", json=body)
    message = str(miss.value)
    assert miss.value.only_base_url
    assert (
        "recorded #0 is this same request sent to another base URL: recorded https://gateway-a.example.com, "
        "this request https://gateway-b.example.com." in message
    )
    assert "Only the base URL differs; no provider adapter recognises this endpoint" in message
    assert "new_episodes" not in message
