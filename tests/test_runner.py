"""The runner over real loopback HTTP (the provider emulator): records, tool loop, structured output,
streaming, cassettes record → replay offline, 429 storms, transient errors, resume, retry-errors."""

from __future__ import annotations

import json
import socket
import sys
import textwrap

import pytest

from harness.cassettes import load_cassette
from harness.errors import ConfigurationError, InputError, SuiteError
from harness.results.io import iter_records
from harness.runner.runner import Runner, RunOptions
from harness.suite.spec import load_suite, parse_suite
from harness.testing import Fault, Reply

SUITE = """\
name: demo
models: [openai:gpt-4.1-mini, {model: "anthropic:claude-haiku-4-5", id: haiku}]
defaults: {temperature: 0, max_tokens: 200}
cases:
  - id: capital
    prompt: "What is the capital of {{ country }}?"
    matrix: {country: [France, Japan]}
    tags: [smoke]
    assert: [{type: icontains, value: "{{ country }}"}]
  - id: weather
    messages: [{role: user, content: "What's the weather in Boston?"}]
    tools:
      - name: get_weather
        description: Current weather of a city
        parameters: {type: object, properties: {location: {type: string}}, required: [location]}
        returns: "sunny in {{ location }}"
    assert: [{type: tool_called, name: get_weather}]
  - id: movie
    prompt: Details about Inception
    stream: true
    structured_output:
      schema: {type: object, properties: {title: {type: string}, year: {type: integer}}, required: [title, year]}
    assert: [{type: is-json}]
"""

RECORD_KEYS = {
    "run_id",
    "suite",
    "case_id",
    "model",
    "model_id",
    "provider",
    "repeat",
    "vars",
    "tags",
    "status",
    "assertions",
    "input",
    "output",
    "transcript",
    "usage",
    "cost_usd",
    "cost_avoided_usd",
    "judge_usage",
    "judge_cost_usd",
    "timing",
    "cassette",
    "error",
    "started_at",
    "finished_at",
}


@pytest.fixture
def providers(emulator, monkeypatch, tmp_path):
    """Point every provider at the emulator through the providers' own environment variables."""
    monkeypatch.setenv("OPENAI_BASE_URL", emulator.base_url("openai"))
    monkeypatch.setenv("ANTHROPIC_BASE_URL", emulator.base_url("anthropic"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-openai")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    monkeypatch.delenv("HARNESS_RECORD_MODE", raising=False)
    monkeypatch.chdir(tmp_path)
    return emulator


def suite_file(tmp_path, text: str = SUITE):
    path = tmp_path / "demo.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_suite(path)


def records(run_dir) -> list[dict]:
    return list(iter_records(run_dir))


def by_cell(recs) -> dict:
    return {(r["case_id"], r["model_id"], r["repeat"]): r for r in recs}


def block_sockets(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_live_run_writes_one_complete_record_per_cell(providers, tmp_path):
    suite = suite_file(tmp_path)
    result = Runner(suite, RunOptions(cassettes_dir=None, out=tmp_path / "run")).run()
    recs = records(result.run_dir)
    assert len(recs) == 8 and result.ran == 8 and result.ok
    for r in recs:
        assert set(r) >= RECORD_KEYS, RECORD_KEYS - set(r)
        assert r["status"] == "passed", r
        assert r["run_id"] == result.run_id and r["suite"] == "demo"
        assert r["cassette"] == {"path": None, "state": "live"}
        assert r["usage"]["input_tokens"] > 0 and r["timing"]["total_ms"] > 0
        assert r["timing"]["replayed"] is False
    cells = by_cell(recs)
    cap = cells[("capital[France]", "haiku", 0)]
    assert cap["provider"] == "anthropic" and cap["model"] == "anthropic:claude-haiku-4-5"
    assert cap["vars"] == {"country": "France"} and cap["tags"] == ["smoke"]
    assert cap["input"] == [{"role": "user", "content": "What is the capital of France?"}]
    assert cap["assertions"][0]["passed"] is True and "France" in cap["assertions"][0]["reason"]
    weather = cells[("weather", "openai:gpt-4.1-mini", 0)]
    roles = [m["role"] for m in weather["transcript"]]
    assert roles == ["user", "assistant", "tool", "assistant"]
    assert weather["transcript"][2]["content"].startswith("sunny in ")
    assert weather["transcript"][1]["tool_calls"][0]["name"] == "get_weather"
    assert weather["usage"]["input_tokens"] == sum(
        m["usage"]["input_tokens"] for m in weather["transcript"] if m["role"] == "assistant"
    )
    movie = cells[("movie", "openai:gpt-4.1-mini", 0)]
    assert movie["output"]["structured"] == {"title": "example title", "year": 1}
    meta = json.loads((result.run_dir / "run.json").read_text())
    assert meta["summary"]["haiku"]["cells"] == 4 and meta["finished_at"]
    assert meta["summary"]["openai:gpt-4.1-mini"]["pass_rate"] == 1.0


def test_record_then_replay_offline_gives_the_same_results(providers, tmp_path, monkeypatch):
    suite = suite_file(tmp_path)
    cas = tmp_path / "cassettes"
    first = Runner(suite, RunOptions(cassettes_dir=cas, record_mode="all", out=tmp_path / "rec")).run()
    assert first.states == {"recorded": 8}
    assert (cas / "demo" / "capital-France" / "haiku.yaml").is_file()
    providers.stop()
    block_sockets(monkeypatch)
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    second = Runner(suite, RunOptions(cassettes_dir=cas, record_mode="none", out=tmp_path / "rep")).run()
    assert second.states == {"replayed": 8} and second.ok
    a, b = by_cell(records(first.run_dir)), by_cell(records(second.run_dir))
    assert a.keys() == b.keys()
    for key in a:
        for field in ("status", "output", "usage", "assertions", "input"):
            assert a[key][field] == b[key][field], (key, field)
        assert b[key]["timing"]["replayed"] is True
        assert b[key]["cassette"]["state"] == "replayed"
        assert b[key]["cost_avoided_usd"] == b[key]["cost_usd"]


def test_a_replay_miss_is_an_error_cell_and_the_run_goes_on(providers, tmp_path):
    suite = suite_file(tmp_path)
    result = Runner(
        suite, RunOptions(cassettes_dir=tmp_path / "empty", record_mode="none", out=tmp_path / "run")
    ).run()
    recs = records(result.run_dir)
    assert len(recs) == 8 and not result.ok
    assert {r["status"] for r in recs} == {"error"}
    assert {r["cassette"]["state"] for r in recs} == {"miss"}
    assert all(r["error"].startswith("CassetteMissError: ") for r in recs)


def test_a_cell_that_would_go_live_without_its_key_is_refused_before_any_cell_runs(
    providers, tmp_path, monkeypatch
):
    monkeypatch.delenv("OPENAI_API_KEY")  # `once` with no cassette goes live, and there is no key
    suite = suite_file(
        tmp_path, "name: nokey\nmodels: [openai:gpt-4.1-mini]\ncases:\n  - {id: a, prompt: hi}\n"
    )
    with pytest.raises(ConfigurationError, match=r"OPENAI_API_KEY.*case 'a' would record its cassette live"):
        Runner(suite, RunOptions(cassettes_dir=tmp_path / "c", record_mode="once", out=tmp_path / "run"))
    assert not (tmp_path / "run").exists()
    assert providers.requests == []  # nothing went out without a key
    # with the cassette there, the same cell replays and needs no key
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-openai")
    Runner(suite, RunOptions(cassettes_dir=tmp_path / "c", record_mode="once", out=tmp_path / "rec")).run()
    monkeypatch.delenv("OPENAI_API_KEY")
    result = Runner(
        suite, RunOptions(cassettes_dir=tmp_path / "c", record_mode="once", out=tmp_path / "run")
    ).run()
    assert result.ok and result.states == {"replayed": 1}


def test_an_error_in_one_cell_is_recorded_and_does_not_stop_the_run(providers, tmp_path):
    suite = suite_file(
        tmp_path,
        "name: one\nmodels: [openai:gpt-4.1-mini]\ncases:\n"
        + "".join(f"  - {{id: c{i}, prompt: 'q{i}'}}\n" for i in range(4)),
    )
    providers.queue(Fault.http(400, "bad request from the emulator"))
    result = Runner(suite, RunOptions(cassettes_dir=None, concurrency=1, out=tmp_path / "run")).run()
    recs = records(result.run_dir)
    assert [r["status"] for r in recs] == ["error", "passed", "passed", "passed"]
    assert recs[0]["error"].startswith("ModelInvalidRequestError: ") and "bad request" in recs[0]["error"]
    assert result.counts == {"passed": 3, "failed": 0, "error": 1, "skipped": 0}


def test_a_429_storm_completes(providers, tmp_path):
    suite = suite_file(
        tmp_path,
        "name: storm\nmodels: [openai:gpt-4.1-mini]\ncases:\n"
        + "".join(f"  - {{id: c{i}, prompt: 'q{i}'}}\n" for i in range(20)),
    )
    providers.queue(*[Fault.rate_limit(retry_after=0.02) for _ in range(30)])
    runner = Runner(suite, RunOptions(cassettes_dir=None, concurrency=10, out=tmp_path / "run"))
    result = runner.run()
    assert result.ok and result.counts["passed"] == 20
    limiter = runner.limiters["openai"]
    assert limiter.rate_limited >= 5
    assert len(providers.requests) == 50


def test_transient_server_errors_are_retried(providers, tmp_path):
    suite = suite_file(tmp_path, "name: t\nmodels: [openai:gpt-4.1-mini]\ncases: [{id: a, prompt: hi}]\n")
    providers.queue(Fault.server_error(503), Fault.server_error(500))
    result = Runner(suite, RunOptions(cassettes_dir=None, out=tmp_path / "run")).run()
    assert result.ok and len(providers.requests) == 3


def test_resume_skips_finished_cells_and_repairs_a_torn_line(providers, tmp_path):
    suite = suite_file(
        tmp_path,
        "name: r\nmodels: [openai:gpt-4.1-mini]\ncases:\n"
        + "".join(f"  - {{id: c{i}, prompt: 'q{i}'}}\n" for i in range(6)),
    )
    first = Runner(suite, RunOptions(cassettes_dir=None, out=tmp_path / "run")).run()
    path = first.run_dir / "results.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:3]) + lines[3][:40])  # as if killed while writing the 4th record
    providers.clear()
    again = Runner(suite, RunOptions(cassettes_dir=None, resume=first.run_dir)).run()
    assert again.run_id == first.run_id and again.skipped == 3 and again.ran == 3
    assert len(providers.requests) == 3
    recs = records(first.run_dir)
    assert sorted(r["case_id"] for r in recs) == [f"c{i}" for i in range(6)]
    assert all(line.endswith(b"\n") for line in path.read_bytes().splitlines(keepends=True))


def test_retry_errors_reruns_only_errored_cells(providers, tmp_path):
    suite = suite_file(
        tmp_path,
        "name: r\nmodels: [openai:gpt-4.1-mini]\ncases:\n"
        + "".join(f"  - {{id: c{i}, prompt: 'q{i}'}}\n" for i in range(3)),
    )
    providers.queue(Fault.http(400, "nope"))
    first = Runner(suite, RunOptions(cassettes_dir=None, concurrency=1, out=tmp_path / "run")).run()
    assert first.counts["error"] == 1
    providers.clear()
    plain = Runner(suite, RunOptions(cassettes_dir=None, resume=first.run_dir)).run()
    assert plain.ran == 0 and plain.counts["error"] == 1
    fixed = Runner(suite, RunOptions(cassettes_dir=None, resume=first.run_dir, retry_errors=True)).run()
    assert fixed.ran == 1 and fixed.ok and len(providers.requests) == 1
    recs = records(first.run_dir)
    assert len(recs) == 3 and {r["status"] for r in recs} == {"passed"}


def test_tool_from_an_import_path_and_repeats(providers, tmp_path, monkeypatch):
    (tmp_path / "calc_tools_mod.py").write_text("def add(a: int, b: int) -> int:\n    return a + b\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    suite = suite_file(
        tmp_path,
        """\
        name: tools
        models: [openai:gpt-4.1-mini]
        repeat: 2
        cases:
          - id: calc
            prompt: "What is 2 + 3?"
            tools: [{name: add, description: Add two numbers, function: "calc_tools_mod:add",
                     parameters: {type: object, properties: {a: {type: integer}, b: {type: integer}}}}]
        """,
    )
    providers.queue(
        Reply(tool_calls=[{"name": "add", "args": {"a": 2, "b": 3}}]),
        Reply(text="5"),
        Reply(tool_calls=[{"name": "add", "args": {"a": 2, "b": 3}}]),
        Reply(text="5"),
    )
    result = Runner(suite, RunOptions(cassettes_dir=None, concurrency=1, out=tmp_path / "run")).run()
    recs = records(result.run_dir)
    assert [r["repeat"] for r in recs] == [0, 1]
    assert recs[0]["transcript"][2]["content"] == "5" and recs[0]["output"]["text"] == "5"


def test_everything_is_validated_before_any_cell_runs(providers, tmp_path):
    bad_model = suite_file(
        tmp_path,
        "name: m\nmodels:\n  - openai:gpt-4.1-mini\n  - opnai:gpt-4.1\ncases: [{id: a, prompt: hi}]\n",
    )
    with pytest.raises(SuiteError) as info:
        Runner(bad_model, RunOptions(out=tmp_path / "run"))
    assert str(info.value).endswith(
        "demo.yaml:4: models[1]: model 'opnai:gpt-4.1': unknown provider 'opnai'. "
        "Did you mean 'openai'? Known providers: " + str(info.value).split("providers: ")[1]
    )
    undefined = parse_suite(
        "name: u\nmodels: [openai:gpt-4.1-mini]\ncases:\n  - {id: a, prompt: '{{ nope }}'}\n", "u.yaml"
    )
    with pytest.raises(
        SuiteError, match=r"u.yaml:4: cases\[0\]\.prompt \(case 'a'\): template error: 'nope' is undefined"
    ):
        Runner(undefined, RunOptions(out=tmp_path / "run"))
    bad_tool = parse_suite(
        "name: t\nmodels: [openai:gpt-4.1-mini]\ncases:\n  - id: a\n    prompt: hi\n"
        "    tools: [{name: x, function: 'no_such_module:f'}]\n",
        "t.yaml",
    )
    with pytest.raises(
        SuiteError,
        match=r"t.yaml:6: cases\[0\].tools\[0\]: tool 'x' `function` 'no_such_module:f': cannot import "
        r"'no_such_module' \(ModuleNotFoundError",
    ):
        Runner(bad_tool, RunOptions(out=tmp_path / "run"))
    with pytest.raises(ConfigurationError, match="--models: model 'nope:x': unknown provider"):
        Runner(bad_model, RunOptions(models=["nope:x"], out=tmp_path / "run"))
    assert not (tmp_path / "run").exists()
    ok = suite_file(tmp_path, "name: ok\nmodels: [openai:gpt-4.1-mini]\ncases: [{id: a, prompt: hi}]\n")
    done = Runner(ok, RunOptions(cassettes_dir=None, out=tmp_path / "done")).run()
    with pytest.raises(InputError, match="already holds results"):
        Runner(ok, RunOptions(cassettes_dir=None, out=done.run_dir))
    assert len(records(done.run_dir)) == 1


def test_a_sharded_replay_over_two_processes_writes_every_cell_once(providers, tmp_path, monkeypatch):
    suite = suite_file(
        tmp_path,
        "name: shard\nmodels: [openai:gpt-4.1-mini, {model: 'anthropic:claude-haiku-4-5', "
        "id: haiku}]\ncases:\n" + "".join(f"  - {{id: c{i}, prompt: 'q{i}'}}\n" for i in range(10)),
    )
    cas = tmp_path / "cassettes"
    Runner(suite, RunOptions(cassettes_dir=cas, record_mode="all", out=tmp_path / "rec")).run()
    providers.stop()
    monkeypatch.setenv("CI", "1")
    result = Runner(
        suite, RunOptions(cassettes_dir=cas, workers=2, concurrency=4, out=tmp_path / "rep")
    ).run()
    recs = records(result.run_dir)
    assert result.ran == 20 and result.states == {"replayed": 20} and result.ok
    assert sorted((r["case_id"], r["model_id"]) for r in recs) == sorted(
        (f"c{i}", m) for i in range(10) for m in ("openai:gpt-4.1-mini", "haiku")
    )
    assert json.loads((result.run_dir / "run.json").read_text())["summary"]["haiku"]["cells"] == 10


TOOL_ON_THE_SDK = '''
import openai

def describe(city: str) -> str:
    """A tool that asks another model, through the openai SDK (env-configured), as agents' tools do."""
    with openai.OpenAI() as client:
        reply = client.chat.completions.create(
            model="gpt-4.1-nano", messages=[{"role": "user", "content": f"Describe {city} in one line."}]
        )
    return reply.choices[0].message.content
'''


def test_a_cells_sdk_calls_are_recorded_in_its_cassette_and_a_miss_in_them_is_the_cells_miss(
    providers, tmp_path, monkeypatch
):
    (tmp_path / "sdk_tools_mod.py").write_text(TOOL_ON_THE_SDK)
    monkeypatch.syspath_prepend(str(tmp_path))
    text = """\
        name: agent
        models: [openai:gpt-4.1-mini]
        cases:
          - id: city
            prompt: "Tell me about {{ city }}."
            tools: [{name: describe, description: Describe a city, function: "sdk_tools_mod:describe",
                     parameters: {type: object, properties: {city: {type: string}}, required: [city]}}]
        """
    suite = suite_file(tmp_path, text.replace("{{ city }}", "Lyon"))
    cas = tmp_path / "cassettes"
    first = Runner(suite, RunOptions(cassettes_dir=cas, record_mode="all", out=tmp_path / "rec")).run()
    assert first.states == {"recorded": 1} and first.ok
    asked = [
        ix.request.json()["model"]
        for ix in load_cassette(cas / "agent" / "city" / "openai-gpt-4.1-mini.yaml")
    ]
    assert asked == ["gpt-4.1-mini", "gpt-4.1-nano", "gpt-4.1-mini"]  # the tool's own SDK call included
    providers.stop()
    block_sockets(monkeypatch)
    second = Runner(suite, RunOptions(cassettes_dir=cas, record_mode="none", out=tmp_path / "rep")).run()
    assert second.states == {"replayed": 1} and second.ok
    assert records(second.run_dir)[0]["output"] == records(first.run_dir)[0]["output"]
    # the tool now asks something else: the cell fails as a cassette miss, not as an SDK "Connection error"
    (tmp_path / "sdk_tools_mod.py").write_text(TOOL_ON_THE_SDK.replace("in one line", "in two lines"))
    monkeypatch.delitem(sys.modules, "sdk_tools_mod", raising=False)
    third = Runner(suite, RunOptions(cassettes_dir=cas, record_mode="none", out=tmp_path / "miss")).run()
    [rec] = records(third.run_dir)
    assert rec["cassette"]["state"] == "miss" and rec["error"].startswith("CassetteMissError: ")
