"""A suite model entry `{model: "langchain:module:factory"}` (issue 13 item 3): any LangChain chat
model evaluated by the CLI like a harness model, recorded against the emulator and replayed offline
with sockets blocked; a bad entry is one line and exit 2."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.results.io import iter_records
from harness.testing import ProviderEmulator

FACTORY = '''\
from langchain_core.language_models.fake_chat_models import FakeListChatModel, GenericFakeChatModel

from harness import init_chat_model
from harness.langchain import to_langchain


def make(**params):
    """A LangChain BaseChatModel; the suite entry's params arrive as keyword arguments."""
    return to_langchain(init_chat_model("openai:gpt-4.1-mini", **params))


def fake(responses):
    """Any other LangChain chat model: one that answers from a list, with no HTTP at all."""
    return FakeListChatModel(responses=responses)


def exhausted():
    """A model whose every call raises (it has no reply left)."""
    return GenericFakeChatModel(messages=iter([]))


def not_a_model():
    return FakeListChatModel(responses=["x"]).invoke("hi")  # a message, not a chat model


def broken():
    raise RuntimeError("no endpoint configured")
'''

SUITE = """\
name: lcdemo
models:
  - openai:gpt-4.1-mini
  - {model: "langchain:lc_models.py:make", id: lc, temperature: 0}
cases:
  - id: hello
    prompt: "Say hello to {{ who }}"
    vars: {who: Ann}
    assert: [{type: icontains, value: Ann}, {type: tokens, max_total: 1000}, {type: cost, max_usd: 0.01}]
  - id: weather
    prompt: Weather in Boston?
    stream: true
    tools:
      - name: get_weather
        parameters: {type: object, properties: {location: {type: string}}}
        returns: "rainy in {{ location }}"
    assert: [{type: tool_called, name: get_weather}, {type: icontains, value: rainy}]
  - id: movie
    prompt: Inception?
    structured_output:
      method: function_calling
      schema: {type: object, properties: {title: {type: string}, year: {type: integer}}, required: [title, year]}
    assert: [{type: is-json}]
"""


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for k in list(os.environ):
        if k.endswith(("_API_KEY", "_BASE_URL")) or k in ("CI", "HARNESS_RECORD_MODE", "GITHUB_STEP_SUMMARY"):
            monkeypatch.delenv(k)
    (tmp_path / "lc_models.py").write_text(FACTORY, encoding="utf-8")
    (tmp_path / "lcdemo.yaml").write_text(SUITE, encoding="utf-8")
    return tmp_path


def run(args, env=None):
    return CliRunner().invoke(cli, ["run", *args], env=env, catch_exceptions=False)


def cells(run_dir) -> dict:
    return {(r["case_id"], r["model_id"]): r for r in iter_records(run_dir)}


def test_a_langchain_model_entry_records_then_replays_through_the_cli(workdir, monkeypatch):
    with ProviderEmulator() as emu:
        env = {"OPENAI_BASE_URL": emu.base_url("openai"), "OPENAI_API_KEY": "sk-test"}
        rec = run(["lcdemo.yaml", "--record-mode", "all", "--out", "rec", "--no-report"], env=env)
        assert rec.exit_code == 0, rec.output + rec.stderr
        lc_bodies = [r.body for r in emu.requests if r.body.get("temperature") == 0]
    assert "6 recorded" in rec.output
    # the bridged model's requests carry the entry's params, the suite's tools and the structured
    # output's forced tool call
    tools = sorted({t["function"]["name"] for b in lc_bodies for t in b.get("tools", [])})
    assert tools == ["get_weather", "output"] and len(lc_bodies) == 4

    def refuse(*args, **kwargs):
        raise OSError("network access blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    rep = run(["lcdemo.yaml", "--out", "rep", "--no-report"], env={"OPENAI_BASE_URL": env["OPENAI_BASE_URL"]})
    assert rep.exit_code == 0, rep.output + rep.stderr
    assert "6 replayed" in rep.output
    a, b = cells(workdir / "rec"), cells(workdir / "rep")
    assert len(a) == len(b) == 6
    for key in a:
        assert b[key]["status"] == "passed" and b[key]["cassette"]["state"] == "replayed"
        assert a[key]["output"] == b[key]["output"]
    for case in ("hello", "weather", "movie"):  # the bridged model behaves as the model it wraps
        native, bridged = b[(case, "openai:gpt-4.1-mini")], b[(case, "lc")]
        assert bridged["output"] == native["output"]
        assert bridged["usage"] == native["usage"] and bridged["cost_usd"] == native["cost_usd"] > 0
        assert bridged["provider"] == "openai" and bridged["timing"]["replayed"] is True
    weather = b[("weather", "lc")]["transcript"]
    assert [m["role"] for m in weather] == ["user", "assistant", "tool", "assistant"]
    assert [c["name"] for c in weather[1]["tool_calls"]] == ["get_weather"]
    movie = b[("movie", "lc")]["output"]["structured"]
    assert isinstance(movie["title"], str) and isinstance(movie["year"], int)


def test_any_langchain_chat_model_runs_as_a_suite_model(workdir):
    (workdir / "fake.yaml").write_text(
        """\
name: fake
models: [{model: "langchain:lc_models.py:fake", id: fake, responses: ["Hello, Ann!"]}]
cases:
  - {id: hello, prompt: Say hello to Ann, assert: [{type: icontains, value: ann}]}
""",
        encoding="utf-8",
    )
    result = run(["fake.yaml", "--no-cassettes", "--out", "out", "--no-report"])
    assert result.exit_code == 0, result.output + result.stderr
    record = cells(workdir / "out")[("hello", "fake")]
    assert record["status"] == "passed" and record["output"]["text"] == "Hello, Ann!"
    assert record["timing"]["replayed"] is False and record["timing"]["total_ms"] >= 0


def test_an_exception_in_the_langchain_model_is_a_cell_error_and_the_run_goes_on(workdir):
    (workdir / "boom.yaml").write_text(
        "name: boom\nmodels: [{model: 'langchain:lc_models.py:exhausted', id: x}]\n"
        "cases: [{id: a, prompt: hi}, {id: b, prompt: hi}]\n",
        encoding="utf-8",
    )
    result = run(["boom.yaml", "--no-cassettes", "--out", "out", "--no-report"])
    assert result.exit_code == 1
    records = cells(workdir / "out")
    assert sorted(records) == [("a", "x"), ("b", "x")]
    assert all(r["status"] == "error" and r["error"].startswith("RuntimeError") for r in records.values())


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("langchain:lc_models.py:missing", "has no attribute 'missing'"),
        (
            "langchain:lc_models.py:not_a_model",
            "the factory returned a AIMessage; expected a LangChain BaseChatModel",
        ),
        ("langchain:lc_models.py:broken", "the factory raised RuntimeError: no endpoint configured"),
        ("langchain:nowhere", "must look like"),
    ],
)
def test_a_bad_langchain_entry_is_one_line_and_exit_2(workdir, entry, expected):
    (workdir / "bad.yaml").write_text(
        SUITE.replace('"langchain:lc_models.py:make", id: lc, temperature: 0', f'"{entry}", id: lc'),
        encoding="utf-8",
    )
    result = run(["bad.yaml", "--no-cassettes", "--no-report"])
    assert result.exit_code == 2
    assert expected in result.stderr and "bad.yaml:4" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_langchain_integration_with_its_own_client_is_evaluated_live(workdir):
    """langchain-openai's ChatOpenAI (its own openai SDK client) as a suite model, against the
    emulator: the tool loop, structured output, usage and cost of an integration harness did not build."""
    pytest.importorskip("langchain_openai")
    (workdir / "oa_models.py").write_text(
        "from langchain_openai import ChatOpenAI\n\n\n"
        "def make(**params):\n"
        '    return ChatOpenAI(model="gpt-4.1-mini", max_retries=0, **params)\n',
        encoding="utf-8",
    )
    (workdir / "oa.yaml").write_text(
        SUITE.replace("  - openai:gpt-4.1-mini\n", "").replace("lc_models.py:make", "oa_models.py:make"),
        encoding="utf-8",
    )
    # a subprocess: ChatOpenAI keeps a process-wide cached async client that nobody closes
    with ProviderEmulator() as emu:
        env = {**os.environ, "OPENAI_BASE_URL": emu.base_url("openai"), "OPENAI_API_KEY": "sk-test"}
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "harness",
                "run",
                "oa.yaml",
                "--no-cassettes",
                "--out",
                "out",
                "--no-report",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        sent = [r.body for r in emu.requests]
    assert result.returncode == 0, result.stdout + result.stderr
    records = cells(workdir / "out")
    assert {k: r["status"] for k, r in records.items()} == {
        ("hello", "lc"): "passed",
        ("weather", "lc"): "passed",
        ("movie", "lc"): "passed",
    }
    assert (
        all(b["temperature"] == 0 for b in sent) and len(sent) == 4
    )  # the entry's params reached ChatOpenAI
    hello = records[("hello", "lc")]
    assert hello["provider"] == "openai" and hello["usage"]["total_tokens"] > 0 and hello["cost_usd"] > 0
    assert hello["timing"]["replayed"] is False
    assert [m["role"] for m in records[("weather", "lc")]["transcript"]] == [
        "user",
        "assistant",
        "tool",
        "assistant",
    ]
