"""The CLI end to end against the emulator: click's CliRunner in-process and real subprocesses."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.results.io import iter_records
from harness.suite.schema import SCHEMA_PATH
from harness.testing import ProviderEmulator

ROOT = Path(__file__).resolve().parent.parent

SUITE = """\
name: demo
models: [openai:gpt-4.1-mini, {model: "anthropic:claude-haiku-4-5", id: haiku}]
cases:
  - id: hello
    prompt: "Say hello to {{ who }}"
    vars: {who: Ann}
    assert: [{type: icontains, value: Ann}]
  - id: weather
    prompt: Weather in Boston?
    stream: true
    tools:
      - name: get_weather
        parameters: {type: object, properties: {location: {type: string}}}
        returns: "rainy in {{ location }}"
    assert: [{type: tool_called, name: get_weather}]
"""


def provider_env(emu: ProviderEmulator | None = None, keys: bool = True) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith(("_API_KEY", "_BASE_URL"))
        and k not in ("CI", "HARNESS_RECORD_MODE", "GITHUB_STEP_SUMMARY")
    }
    if emu is not None:
        env.update(OPENAI_BASE_URL=emu.base_url("openai"), ANTHROPIC_BASE_URL=emu.base_url("anthropic"))
    if keys:
        env.update(OPENAI_API_KEY="sk-test", ANTHROPIC_API_KEY="sk-ant-test")
    return env


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for k in list(os.environ):
        if k.endswith(("_API_KEY", "_BASE_URL")) or k in ("CI", "HARNESS_RECORD_MODE", "GITHUB_STEP_SUMMARY"):
            monkeypatch.delenv(k)
    (tmp_path / "demo.yaml").write_text(SUITE, encoding="utf-8")
    return tmp_path


def invoke(args, env=None):
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    return result


def block_sockets(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def cells(run_dir) -> dict:
    return {(r["case_id"], r["model_id"]): r for r in iter_records(run_dir)}


@pytest.mark.parametrize("command", ["run", "compare", "invoke", "emulate", "suite-schema"])
def test_help_shows_examples(command):
    result = invoke([command, "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.output and f"harness {command}" in result.output


def test_suite_schema_prints_the_committed_schema():
    result = invoke(["suite-schema"])
    assert result.exit_code == 0 and result.output == SCHEMA_PATH.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "name: demo\ncases:\n  - id: a\n    prompt: 'oops\n",
            r"bad.yaml:5: invalid YAML: .*\(it started on line 4\)",
        ),
        (
            "name: demo\nmodels: [openai:gpt-4.1-mini]\ncases:\n  - id: a\n    prompt: hi\n    assert: [{type: contians, value: x}]\n",
            r"bad.yaml:6: cases\[0\].assert\[0\]: unknown assertion type 'contians' \(did you mean 'contains'\?\); allowed: ",
        ),
        (
            "name: demo\nmodels:\n  - anthropc:claude-haiku-4-5\ncases: [{id: a, prompt: hi}]\n",
            r"bad.yaml:3: models\[0\]: model 'anthropc:claude-haiku-4-5': unknown provider 'anthropc'. Did you mean 'anthropic'\?",
        ),
    ],
)
def test_bad_suites_give_one_located_line_and_exit_2(workdir, text, expected):
    import re

    (workdir / "bad.yaml").write_text(text, encoding="utf-8")
    result = invoke(["run", "bad.yaml"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: bad.yaml:"), result.stderr
    assert re.search(expected, lines[0]), lines[0]
    assert not (workdir / "runs").exists() and not (workdir / "cassettes").exists()


def test_unknown_model_on_the_command_line_exits_2(workdir):
    result = invoke(["run", "demo.yaml", "--models", "openai:gpt-4.1-mini,mistrall:large"])
    assert result.exit_code == 2 and "--models: model 'mistrall:large': unknown provider" in result.stderr


def test_record_then_replay_with_the_emulator_stopped_and_sockets_blocked(workdir, monkeypatch):
    with ProviderEmulator() as emu:
        rec = invoke(
            [
                "run",
                "demo.yaml",
                "--record-mode",
                "all",
                "--out",
                "rec",
                "--junit",
                "rec.xml",
                "--export",
                "rec.csv",
            ],
            env=provider_env(emu),
        )
        assert rec.exit_code == 0, rec.output + rec.stderr
        loopback = provider_env(emu, keys=False)
    assert "4 recorded" in rec.output and (workdir / "rec.xml").is_file() and (workdir / "rec.csv").is_file()
    assert sorted(p.name for p in (workdir / "cassettes" / "demo" / "weather").iterdir()) == [
        "haiku.yaml",
        "openai-gpt-4.1-mini.yaml",
    ]
    block_sockets(monkeypatch)
    summary = workdir / "summary.md"
    rep = invoke(
        ["run", "demo.yaml", "--out", "rep", "--report", "rep.html"],
        env={**loopback, "CI": "1", "GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert rep.exit_code == 0, rep.output + rep.stderr
    assert "4 replayed" in rep.output and (workdir / "rep.html").is_file()
    assert "| haiku | 2 | 0 | 0 | 100% |" in summary.read_text()
    a, b = cells(workdir / "rec"), cells(workdir / "rep")
    assert a.keys() == b.keys() and len(a) == 4
    for key in a:
        assert a[key]["output"] == b[key]["output"] and a[key]["status"] == b[key]["status"] == "passed"
        assert a[key]["cassette"]["state"] == "recorded" and b[key]["cassette"]["state"] == "replayed"
    diff = invoke(["compare", "rec", "rep", "--json"])
    assert diff.exit_code == 0 and json.loads(diff.stdout)["regressions"] == []


def test_a_failing_cell_exits_1_and_compare_reports_the_regression(workdir):
    with ProviderEmulator() as emu:
        ok = invoke(
            ["run", "demo.yaml", "--no-cassettes", "--out", "a", "--no-report"], env=provider_env(emu)
        )
        assert ok.exit_code == 0
        (workdir / "demo.yaml").write_text(SUITE.replace("value: Ann", "value: Bob"), encoding="utf-8")
        bad = invoke(
            ["run", "demo.yaml", "--no-cassettes", "--out", "b", "--no-report"], env=provider_env(emu)
        )
    assert bad.exit_code == 1 and "hello × openai:gpt-4.1-mini" in bad.output
    diff = invoke(["compare", "a", "b"])
    assert diff.exit_code == 1 and "Regressions: 2" in diff.output
    data = json.loads(invoke(["compare", "a", "b", "--json"]).stdout)
    assert {r["cell"] for r in data["regressions"]} == {"hello × openai:gpt-4.1-mini", "hello × haiku"}


def test_invoke_prints_the_reply_and_records_then_replays(workdir, monkeypatch):
    with ProviderEmulator() as emu:
        env = provider_env(emu)
        out = invoke(["invoke", "openai:gpt-4.1-mini", "Hello there", "--stream"], env=env)
        assert out.exit_code == 0 and "Emulated reply to: Hello there" in out.output
        rec = invoke(
            ["invoke", "anthropic:claude-haiku-4-5", "Hi", "--cassette", "hi.yaml", "--record-mode", "once"],
            env=env,
        )
        assert rec.exit_code == 0 and "recorded" in rec.stderr
        replay_env = provider_env(emu, keys=False)
    block_sockets(monkeypatch)
    rep = invoke(
        ["invoke", "anthropic:claude-haiku-4-5", "Hi", "--cassette", "hi.yaml", "--json"], env=replay_env
    )
    assert rep.exit_code == 0, rep.stderr
    assert json.loads(rep.stdout)["content"] == "Emulated reply to: Hi" and "replayed" in rep.stderr
    bad = invoke(["invoke", "nope:model", "Hi"])
    assert bad.exit_code == 2 and "unknown provider 'nope'" in bad.stderr


def test_quickstart_replays_on_a_fresh_clone_with_no_keys_and_no_network(tmp_path):
    shutil.copytree(ROOT / "suites", tmp_path / "suites")
    shutil.copytree(ROOT / "cassettes" / "quickstart", tmp_path / "cassettes" / "quickstart")
    guard = (
        "import socket, sys\n"
        "def refuse(*a, **k):\n    raise OSError('network blocked')\n"
        "socket.socket.connect = refuse\nsocket.create_connection = refuse\n"
        "from harness.cli import main\nmain(sys.argv[1:])\n"
    )
    env = {**provider_env(keys=False), "CI": "true", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", guard, "run", "suites/quickstart.yaml", "--out", "runs/qs"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    recs = list(iter_records(tmp_path / "runs" / "qs"))
    assert len(recs) == 15 and {r["status"] for r in recs} == {"passed"}
    assert {r["cassette"]["state"] for r in recs} == {"replayed"}
    assert {r["provider"] for r in recs} >= {"openai", "anthropic"}
    packing = [r for r in recs if r["case_id"] == "packing"]  # the target case: an app's two calls
    assert [len(r["calls"]) for r in packing] == [2, 2, 2]
    assert {tuple(t["name"] for t in r["tool_trajectory"]) for r in packing} == {("get_weather",)}
    assert all(r["cost_usd"] == round(sum(c["cost_usd"] for c in r["calls"]), 10) for r in packing)
    assert list((tmp_path / "reports").glob("quickstart-*.html"))


def test_a_killed_run_resumes_without_losing_or_redoing_a_cell(tmp_path):
    n = 30
    suite = "name: long\nmodels: [openai:gpt-4.1-mini]\ncases:\n" + "".join(
        f"  - {{id: c{i:02d}, prompt: 'q{i}'}}\n" for i in range(n)
    )
    (tmp_path / "long.yaml").write_text(suite, encoding="utf-8")
    results = tmp_path / "run" / "results.jsonl"
    with ProviderEmulator(latency=0.08) as emu:
        env = {**provider_env(emu), "PYTHONPATH": str(ROOT)}
        cmd = [
            sys.executable,
            "-m",
            "harness",
            "run",
            "long.yaml",
            "--no-cassettes",
            "--out",
            "run",
            "--concurrency",
            "2",
            "--no-report",
            "--no-progress",
        ]
        with subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL) as proc:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if results.is_file() and results.read_bytes().count(b"\n") >= 8:
                    break
                time.sleep(0.01)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        done = [line for line in results.read_bytes().splitlines(keepends=True) if line.endswith(b"\n")]
        assert 8 <= len(done) < n
        emu.clear()
        resumed = subprocess.run(
            [sys.executable, "-m", "harness", "run", "--resume", "run", "--no-report", "--no-progress"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert len(emu.requests) == n - len(done)  # no finished cell sent again
    recs = list(iter_records(tmp_path / "run"))
    assert sorted(r["case_id"] for r in recs) == [f"c{i:02d}" for i in range(n)]  # none lost, none twice
    assert len({r["run_id"] for r in recs}) == 1
    meta = json.loads((tmp_path / "run" / "run.json").read_text())
    assert meta["summary"]["openai:gpt-4.1-mini"]["cells"] == n


def test_emulate_prints_base_urls_and_serves_until_interrupted(tmp_path):
    env = {**provider_env(keys=False), "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        [sys.executable, "-m", "harness", "emulate", "--port", "0"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        _ask_the_emulator_then_interrupt(proc)
    assert proc.returncode == 0


def test_emulate_refuses_what_the_api_refuses_unless_lenient(tmp_path):
    env = {**provider_env(keys=False), "PYTHONPATH": str(ROOT)}
    body = {"model": "m", "messages": [{"role": "user", "content": "ping"}], "chat_template_kwargs": {}}
    for flags, status in (([], 400), (["--lenient"], 200)):
        with subprocess.Popen(
            [sys.executable, "-m", "harness", "emulate", "--port", "0", *flags],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        ) as proc:
            try:
                url = next(p[1] for p in map(str.split, proc.stdout) if p and p[0] == "openai")
                assert httpx.post(url + "/chat/completions", json=body).status_code == status
            finally:
                proc.send_signal(signal.SIGINT)
                proc.wait(timeout=10)


def _ask_the_emulator_then_interrupt(proc):
    try:
        urls = {}
        for _ in range(20):
            line = proc.stdout.readline()
            parts = line.split()
            if len(parts) >= 2 and parts[1].startswith("http://127.0.0.1:"):
                urls[parts[0]] = parts[1]
            if {"openai", "anthropic"} <= urls.keys() and "google_genai" in urls:
                break
        assert "OPENAI_BASE_URL" in line or urls
        r = httpx.post(
            urls["openai"] + "/chat/completions",
            headers={"authorization": "Bearer x"},
            json={"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "ping"}]},
        )
        assert r.status_code == 200 and "ping" in r.json()["choices"][0]["message"]["content"]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
