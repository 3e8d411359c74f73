"""The pytest plugin, end to end: generated test projects recorded against the emulator, then replayed
with the emulator stopped and the network blocked, in one process and under xdist."""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

import harness.cassettes  # noqa: F401  loaded here, not first inside an in-process pytester run: pytester
import harness.runner.runner  # noqa: F401  unloads modules a run imported, and PyYAML's C loader breaks on re-import
from harness.cli import cli
from harness.testing import ProviderEmulator

pytest_plugins = ["pytester"]

MODELS = "openai:gpt-4.1-mini,anthropic:claude-haiku-4-5"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "pytest"

CONFTEST = '''
import json, os
import pytest
from harness.models.init import parse_model_string

@pytest.fixture
def harness_model_kwargs():
    """Point every model at the outer test's emulator (the URL stays set after it stops)."""
    urls = json.loads(os.environ["HARNESS_TEST_BASE_URLS"])
    return lambda model: {"base_url": urls[parse_model_string(model)[1]], "api_key": "sk-test-key"}
'''

MODULE = '''
import pytest
from pydantic import BaseModel
from harness import tool
from harness.testing import Reply, ToolCallSpec
from harness.pytest_plugin import assert_contains, assert_matches_schema, assert_passes, assert_tool_called

@tool
def get_weather(location: str) -> str:
    """Get the weather for a location."""
    return f"sunny in {location}"

class Capital(BaseModel):
    city: str
    country: str

def test_capital(chat_model):
    reply = chat_model.invoke("What is the capital of France?")
    assert_contains(reply, "capital of france", ignore_case=True)
    assert_passes(reply, "regex", value="France")

def test_tool_loop(chat_model):
    llm = chat_model.bind_tools([get_weather])
    messages = [("user", "Weather in Boston?")]
    ai = llm.invoke(messages)
    assert_tool_called(ai, "get_weather")
    messages += [ai, *[get_weather.invoke(call) for call in ai.tool_calls]]
    final = llm.invoke(messages)
    assert_contains(final, "sunny")
    assert_passes([ai, final], {"type": "tool_called", "name": "get_weather"}, {"type": "latency", "max_ms": 60000})

def test_structured(chat_model):
    capital = chat_model.with_structured_output(Capital).invoke("The capital of France, as JSON")
    assert_matches_schema(capital, Capital)
    assert_matches_schema(capital, Capital.model_json_schema())

async def test_async_stream(chat_model):
    chunks = [chunk async for chunk in chat_model.astream("Count to three")]
    assert "".join(chunk.text for chunk in chunks)

@pytest.mark.harness(models=["anthropic:claude-haiku-4-5"], tags=["smoke"])
def test_marker_models(chat_model):
    assert_contains(chat_model.invoke("Say hi"), "hi")

@pytest.mark.harness(cassette="shared/two-models.yaml", record_mode="once")
def test_two_models(make_chat_model, cassette):
    a = make_chat_model("openai:gpt-4.1-mini", temperature=0).invoke("Name a colour")
    b = make_chat_model("anthropic:claude-haiku-4-5").invoke("Name a colour")
    assert a.text and b.text
    assert cassette.path.name == "two-models.yaml"

def test_scripted_emulator(harness_emulator, make_chat_model):
    harness_emulator.queue(Reply(tool_calls=[ToolCallSpec("get_weather", {"location": "Tokyo"})]))
    model = make_chat_model("openai:gpt-4.1-mini", base_url=harness_emulator.base_url("openai"), api_key="sk-test-key")
    reply = model.bind_tools([get_weather]).invoke("Weather in Tokyo?")
    assert_tool_called(reply, "get_weather", {"location": "Tokyo"})

def test_suite(harness_run):
    result = harness_run("mini_suite.yaml")
    assert result.ok, result.counts
'''

SUITE = """
name: mini
models: [openai:gpt-4.1-mini]
cases:
  - id: hello
    prompt: "Say hello"
    assert:
      - {type: icontains, value: hello}
"""

# every test x model of MODULE under --models MODELS (test_marker_models runs its marker's model only)
EXPECTED_PASSED = 12


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    """A test project whose models talk to a live emulator; `project.emulator.stop()` takes it away."""
    monkeypatch.delenv("HARNESS_RECORD_MODE", raising=False)
    emulator = ProviderEmulator().start()
    monkeypatch.setenv("HARNESS_TEST_BASE_URLS", json.dumps(emulator.base_urls))
    pytester.makeini(INI)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_models=MODULE)
    (pytester.path / "mini_suite.yaml").write_text(SUITE)
    pytester.emulator = emulator  # type: ignore[attr-defined]
    yield pytester
    emulator.stop()


INI = "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_record_then_replay_offline_in_one_process_and_under_xdist(project: pytest.Pytester) -> None:
    recorded = project.runpytest("-p", "no:cacheprovider", "--record-mode=once", "--models", MODELS)
    recorded.assert_outcomes(passed=EXPECTED_PASSED)
    cassettes = project.path / "cassettes"
    assert (cassettes / "test_models" / "test_capital[openai-gpt-4.1-mini].yaml").is_file()
    assert (cassettes / "test_models" / "test_capital[anthropic-claude-haiku-4-5].yaml").is_file()
    assert (cassettes / "shared" / "two-models.yaml").is_file()
    assert (cassettes / "mini" / "hello" / "anthropic-claude-haiku-4-5.yaml").is_file()
    assert "recorded" in recorded.stdout.str()

    project.emulator.stop()  # type: ignore[attr-defined]
    replayed = project.runpytest(
        "-p",
        "no:cacheprovider",
        "--block-network",
        "--models",
        MODELS,
        "--harness-results",
        "out/results.jsonl",
        "--harness-report",
        "out/report.html",
        "--junitxml",
        "out/junit.xml",
    )
    replayed.assert_outcomes(passed=EXPECTED_PASSED)
    records = _records(project.path / "out" / "results.jsonl")
    assert (project.path / "out" / "report.html").stat().st_size > 10_000
    assert json.loads((project.path / "out" / "run.json").read_text())["run_id"] == records[0]["run_id"]
    pairs = {(r["nodeid"].split("::")[1].split("[")[0], r["model"]) for r in records}
    for test in (
        "test_capital",
        "test_tool_loop",
        "test_structured",
        "test_async_stream",
        "test_two_models",
        "test_suite",
    ):
        assert (test, "openai:gpt-4.1-mini") in pairs and (test, "anthropic:claude-haiku-4-5") in pairs, test
    assert ("test_marker_models", "anthropic:claude-haiku-4-5") in pairs
    assert ("test_scripted_emulator", "openai:gpt-4.1-mini") in pairs
    assert {r["status"] for r in records} == {"passed"}
    assert {r["cassette"]["state"] for r in records} == {"replayed"}
    capital = next(
        r
        for r in records
        if r["case_id"] == "test_models.py::test_capital" and r["model"] == "openai:gpt-4.1-mini"
    )
    assert capital["output"]["text"] == "Emulated reply to: What is the capital of France?"
    assert capital["usage"]["input_tokens"] > 0 and capital["timing"]["replayed"] is True
    assert [a["type"] for a in capital["assertions"]] == ["icontains", "regex"]
    loop = next(
        r
        for r in records
        if r["case_id"] == "test_models.py::test_tool_loop" and r["model"] == "anthropic:claude-haiku-4-5"
    )
    assert [m["role"] for m in loop["transcript"]] == ["user", "assistant", "tool", "assistant"]
    assert next(r for r in records if "test_marker_models" in r["case_id"])["tags"] == ["smoke"]

    props = {p.get("name") for p in ET.parse(project.path / "out" / "junit.xml").iter("property")}
    assert {"harness_latency_ms", "harness_input_tokens", "harness_output_tokens", "harness_model"} <= props
    summary = replayed.stdout.str()
    assert "harness" in summary and "openai:gpt-4.1-mini" in summary and "replayed" in summary

    parallel = project.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "-n",
        "2",
        "--block-network",
        "--models",
        MODELS,
        "--harness-results",
        "par/results.jsonl",
        "--harness-report",
        "par/report.html",
    )
    parallel.assert_outcomes(passed=EXPECTED_PASSED)
    merged = _records(project.path / "par" / "results.jsonl")
    assert sorted((r["case_id"], r["model"]) for r in merged) == sorted(
        (r["case_id"], r["model"]) for r in records
    )
    assert len({r["run_id"] for r in merged}) == 1
    assert (project.path / "par" / "report.html").is_file()

    # pytest results of two CI jobs, merged by the CLI into one run with one JUnit file
    joined = CliRunner().invoke(
        cli,
        ["merge", str(project.path / "out/results.jsonl"), str(project.path / "par/results.jsonl"),
         "--out", str(project.path / "joined"), "--junit", str(project.path / "joined.xml")],
    )  # fmt: skip
    assert joined.exit_code == 0, joined.output
    assert f"warning: {len(records)} cell(s) were in more than one source" in joined.output
    assert len(_records(project.path / "joined" / "results.jsonl")) == len(records)
    assert (project.path / "joined.xml").read_text().count("<testcase ") == len(records)


def test_a_changed_prompt_fails_with_the_cassette_diff(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_models="def test_capital(chat_model):\n    chat_model.invoke('What is the capital of France?')\n"
    )
    project.runpytest(
        "-p", "no:cacheprovider", "--record-mode=once", "--models", "openai:gpt-4.1-mini"
    ).assert_outcomes(passed=1)
    project.makepyfile(
        test_models="def test_capital(chat_model):\n    chat_model.invoke('What is the capital of Spain?')\n"
    )
    result = project.runpytest(
        "-p", "no:cacheprovider", "--models", "openai:gpt-4.1-mini", "--harness-results", "results.jsonl"
    )
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "test_models.py:2: cassette miss" in out
    assert '-      "content": "What is the capital of France?",' in out
    assert '+      "content": "What is the capital of Spain?",' in out
    assert "--record-mode=new_episodes" in out
    assert "ConnectError" not in out and "ModelConnectionError" not in out
    (record,) = _records(project.path / "results.jsonl")
    assert record["status"] == "error" and record["cassette"]["state"] == "miss"
    assert record["cassette"]["misses"] == 1 and record["cassette"]["unused"] == 1


def test_a_failing_assertion_shows_the_reply(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_models="""
        from harness.pytest_plugin import assert_contains, assert_tool_called

        def test_capital(chat_model):
            assert_contains(chat_model.invoke("What is the capital of France?"), "Madrid")

        def test_tool(chat_model):
            assert_tool_called(chat_model.invoke("Weather in Boston?"), "get_weather", {"location": "Boston"})
    """
    )
    result = project.runpytest(
        "-p",
        "no:cacheprovider",
        "--record-mode=once",
        "--models",
        "openai:gpt-4.1-mini",
        "--harness-results",
        "results.jsonl",
    )
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*assert_contains failed:*",
            "*[[]contains] expected output to contain 'Madrid'; got 'Emulated reply to: What is the capital of France?'",
            "*model reply (gpt-4.1-mini, recorded):",
            "*  text: Emulated reply to: What is the capital of France?",
            "*assert_tool_called failed:*",
            "*expected a call to get_weather*no tool calls were made*",
        ]
    )
    records = _records(project.path / "results.jsonl")
    assert {r["status"] for r in records} == {"failed"}
    assert records[0]["assertions"][0]["passed"] is False


def test_record_mode_once_records_only_the_missing_cassettes(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_models="def test_a(chat_model):\n    chat_model.invoke('a')\n\n"
        "def test_b(chat_model):\n    chat_model.invoke('b')\n"
    )
    args = ("-p", "no:cacheprovider", "--models", "openai:gpt-4.1-mini", "--harness-results", "results.jsonl")
    project.runpytest(*args, "--record-mode=once").assert_outcomes(passed=2)
    (project.path / "cassettes" / "test_models" / "test_b[openai-gpt-4.1-mini].yaml").unlink()
    project.runpytest(*args, "--record-mode=once").assert_outcomes(passed=2)
    states = {r["case_id"]: r["cassette"]["state"] for r in _records(project.path / "results.jsonl")}
    assert states == {"test_models.py::test_a": "replayed", "test_models.py::test_b": "recorded"}


def test_a_test_that_makes_no_call_is_unused_with_the_runners_record(project: pytest.Pytester) -> None:
    project.makepyfile(test_models="def test_idle(chat_model):\n    assert chat_model is not None\n")
    project.runpytest(
        "-p", "no:cacheprovider", "--models", "openai:gpt-4.1-mini", "--harness-results", "run/results.jsonl"
    ).assert_outcomes(passed=1)
    (record,) = _records(project.path / "run" / "results.jsonl")
    assert record["cassette"]["state"] == "unused"  # docs/results-record.md: no model call made
    assert record["version"] == 2 and record["timing"] == {
        "ttft_ms": None,
        "total_ms": None,
        "replayed": False,
    }
    summary = json.loads((project.path / "run" / "run.json").read_text())["summary"]
    assert summary["openai:gpt-4.1-mini"]["states"] == {"unused": 1}


def test_recording_under_xdist_and_the_env_record_mode(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNESS_RECORD_MODE", "new_episodes")  # one shared cassette: each test adds to it
    project.makepyfile(
        test_models="import pytest\n\n@pytest.mark.parametrize('n', range(6))\n"
        "@pytest.mark.harness(cassette='shared.yaml')\n"
        "def test_n(chat_model, n):\n    chat_model.invoke(f'number {n}')\n"
    )
    project.runpytest_subprocess(
        "-p", "no:cacheprovider", "-n", "2", "--models", "openai:gpt-4.1-mini"
    ).assert_outcomes(passed=6)
    monkeypatch.delenv("HARNESS_RECORD_MODE")
    project.emulator.stop()  # type: ignore[attr-defined]
    result = project.runpytest(
        "-p",
        "no:cacheprovider",
        "--block-network",
        "--models",
        "openai:gpt-4.1-mini",
        "--harness-results",
        "results.jsonl",
    )
    result.assert_outcomes(passed=6)  # all six, recorded by two workers into one file, replay
    assert {r["vars"]["n"] for r in _records(project.path / "results.jsonl")} == set(range(6))


def test_block_network_names_the_address_and_the_flag(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile("""
        import socket

        def test_remote():
            socket.create_connection(("192.0.2.10", 443), timeout=1)

        def test_loopback_is_allowed():
            server = socket.create_server(("127.0.0.1", 0))
            socket.create_connection(server.getsockname(), timeout=1).close()
            server.close()
    """)
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:recording", "--block-network")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*NetworkBlockedError: --block-network: a connection to 192.0.2.10:443 was "
            "refused; only loopback is allowed*"
        ]
    )


def test_options_fixtures_and_marker_are_documented(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    help_text = pytester.runpytest("--help").stdout.str()
    for option in (
        "--record-mode",
        "--models",
        "--harness-report",
        "--harness-results",
        "--block-network",
        "--replay-speed",
        "harness_models",
        "harness_cassette_dir",
    ):
        assert option in help_text, option
    assert "harness: model tests replayed from cassettes" in help_text
    fixtures = pytester.runpytest("--fixtures").stdout.str()
    for name in (
        "chat_model",
        "make_chat_model",
        "cassette",
        "harness_emulator",
        "harness_run",
        "harness_model_kwargs",
    ):
        assert f"\n{name}\n" in fixtures or f"\n{name} " in fixtures, name
    assert "The chat model under test, parametrized over --models" in fixtures
    markers = pytester.runpytest("--markers").stdout.str()
    assert (
        "@pytest.mark.harness(models=[...], cassette=..., record_mode=..., tags=[...], secret_headers=[...]"
        in markers
    )


def test_without_models_chat_model_says_how_to_choose_them(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile("def test_x(chat_model):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*harness: no models selected for chat_model; pass --models*"])
    bad = pytester.runpytest("-p", "no:cacheprovider", "--models", "nosuch:model")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*harness: *unknown provider 'nosuch'*"])
    speed = pytester.runpytest("-p", "no:cacheprovider", "--replay-speed", "fast")
    speed.stderr.fnmatch_lines(["*harness: replay_speed: expected 'instant', 'realtime' or a factor > 0*"])
    pytester.makepyfile(
        "def test_x(make_chat_model):\n"
        "    make_chat_model('openai:gpt-4.1-mini', base_url='https://api.openai.com/v1').invoke('hi')\n"
    )
    missing = pytester.runpytest("-p", "no:cacheprovider")  # no cassette and record mode none: never live
    missing.assert_outcomes(failed=1)
    missing.stdout.fnmatch_lines(
        [
            "*test_without_models_chat_model_says_how_to_choose_them.py:2: cassette miss",
            "*the cassette file does not exist.",
        ]
    )


def test_pytest_recording_owns_the_shared_option_names(project: pytest.Pytester) -> None:
    """With pytest-recording installed, its --record-mode / --block-network are read, not redefined."""
    project.makepyfile(
        pytest_recording=textwrap.dedent("""
        def pytest_addoption(parser):
            group = parser.getgroup("recording")
            group.addoption("--record-mode", default="none", choices=("once", "new_episodes", "none", "all", "rewrite"))
            group.addoption("--block-network", action="store_true", default=False)
    """)
    )
    project.makepyfile(test_models="def test_a(chat_model):\n    chat_model.invoke('a')\n")
    project.syspathinsert()
    args = ("-p", "no:cacheprovider", "-p", "pytest_recording", "--models", "openai:gpt-4.1-mini")
    project.runpytest(*args, "--record-mode=once").assert_outcomes(passed=1)
    assert (project.path / "cassettes" / "test_models" / "test_a[openai-gpt-4.1-mini].yaml").is_file()
    project.emulator.stop()  # type: ignore[attr-defined]
    project.runpytest(*args, "--block-network").assert_outcomes(passed=1)


def test_the_examples_replay_offline_under_xdist(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """examples/pytest is what a team copies: its committed cassettes replay with no key and no network."""
    monkeypatch.delenv("HARNESS_RECORD_MODE", raising=False)
    result = pytester.runpytest_subprocess(
        str(EXAMPLES),
        "-p",
        "no:cacheprovider",
        "-n",
        "2",
        "--block-network",
        "--harness-results",
        str(pytester.path / "results.jsonl"),
        "--harness-report",
        str(pytester.path / "r.html"),
    )
    outcomes = result.parseoutcomes()
    assert result.ret == 0 and outcomes["passed"] >= 10 and not outcomes.get("failed"), result.stdout.str()
    records = _records(pytester.path / "results.jsonl")
    assert {r["suite"] for r in records} == {"pytest", "smoke"}
    assert {r["cassette"]["state"] for r in records} == {"replayed"}
    assert (pytester.path / "r.html").is_file()


def test_records_arrive_from_xdist_workers_that_share_no_directory(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Workers run in their own copy of the project (`--tx popen//chdir=...` with `--rsyncdir`, as remote
    `--tx ssh=...` workers do): their cassettes are written there, never here, and their records reach
    the controller over xdist's channel, into the one results file it writes."""
    monkeypatch.delenv("HARNESS_RECORD_MODE", raising=False)
    pytester.makeini(INI)
    pytester.makepyfile(
        test_remote="\n".join(
            f"def test_{i}(chat_model):\n    assert chat_model.invoke('question {i}').text\n"
            for i in range(4)
        )
    )
    elsewhere = tmp_path_factory.mktemp("workers")
    with ProviderEmulator() as emu:
        monkeypatch.setenv("OPENAI_BASE_URL", emu.base_url("openai"))
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
        result = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning",  # xdist deprecates --rsyncdir
            "-d", "--tx", f"2*popen//chdir={elsewhere}", "--rsyncdir", str(pytester.path), str(pytester.path),
            "--models", "openai:gpt-4.1-mini", "--record-mode=once", "--harness-results", "out/results.jsonl",
        )  # fmt: skip
    result.assert_outcomes(passed=4)
    assert not (pytester.path / "cassettes").exists()  # each worker recorded into its own copy
    assert len(list(elsewhere.rglob("*.yaml"))) == 4
    records = _records(pytester.path / "out" / "results.jsonl")
    assert sorted(r["case_id"] for r in records) == [f"test_remote.py::test_{i}" for i in range(4)]
    assert {r["cassette"]["state"] for r in records} == {"recorded"} and len(
        {r["run_id"] for r in records}
    ) == 1
