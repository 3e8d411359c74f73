"""No data loss, no poisoned cassettes (security issue items 9 and 10): answers a retry could change are
not recorded, a cassette is written only when its session completes, a failed or killed session leaves
the previous file as it was, and `--resume --retry-errors` records a cell an outage broke."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from harness import init_chat_model
from harness.cassettes import load_cassette, use_cassette
from harness.errors import ModelAPIError
from harness.models.retry import RetryPolicy
from harness.results.io import iter_records
from harness.runner.runner import Runner, RunOptions
from harness.suite.spec import load_suite
from harness.testing import Fault, ProviderEmulator, Reply, ToolCallSpec

ONE_RETRY = RetryPolicy(max_retries=1, initial_delay=0.01, jitter=0)
KEY = "sk-SENTINEL-dataloss-0123456789abcdef"
OUTAGE = [Fault.server_error(500)]  # models here do not retry; the runner below retries once


def model_for(emu, retries=0):
    return init_chat_model(
        "openai:gpt-4.1-mini", base_url=emu.base_url("openai"), api_key=KEY, max_retries=retries
    )


def test_an_outage_during_once_writes_no_cassette_and_the_next_run_records(emulator, tmp_path):
    path = tmp_path / "c.yaml"
    emulator.queue(*OUTAGE)
    with pytest.raises(ModelAPIError), use_cassette(path, record_mode="once"):
        model_for(emulator).invoke("hello")
    assert not path.exists()
    with use_cassette(path, record_mode="once") as cas:
        assert model_for(emulator).invoke("hello").content == "Emulated reply to: hello"
    assert cas.state == "recorded" and [ix.response.status for ix in load_cassette(path)] == [200]


def test_a_retried_error_is_not_recorded_only_the_answer_that_followed(emulator, tmp_path):
    path = tmp_path / "c.yaml"
    emulator.queue(Fault.server_error(503), Fault.rate_limit(0.01))
    with use_cassette(path, record_mode="once"):
        model_for(emulator, retries=2).invoke("hello")
    assert [ix.response.status for ix in load_cassette(path)] == [200]
    with use_cassette(path, record_mode="none") as cas:
        assert model_for(emulator).invoke("hello").content == "Emulated reply to: hello"
    assert cas.state == "replayed"


def test_record_all_during_an_outage_keeps_the_good_cassette(emulator, tmp_path):
    path = tmp_path / "c.yaml"
    with use_cassette(path, record_mode="once"):
        model_for(emulator).invoke("hello")
    good = path.read_bytes()
    emulator.queue(*OUTAGE)
    with pytest.raises(ModelAPIError), use_cassette(path, record_mode="all"):
        model_for(emulator).invoke("hello")
    assert path.read_bytes() == good


def test_a_block_that_raises_after_recording_leaves_the_file_as_it_was(emulator, tmp_path):
    path = tmp_path / "c.yaml"
    with pytest.raises(RuntimeError), use_cassette(path, record_mode="once"):
        model_for(emulator).invoke("first")
        raise RuntimeError("the cell failed after one call")
    assert not path.exists()


def test_record_errors_keeps_a_scripted_error_for_tests_of_error_handling(emulator, tmp_path):
    path = tmp_path / "c.yaml"
    emulator.queue(Fault.server_error(500))
    with use_cassette(path, record_mode="once", record_errors=True), pytest.raises(ModelAPIError):
        model_for(emulator, retries=0).invoke("hello")
    assert [ix.response.status for ix in load_cassette(path)] == [500]


def test_resume_retry_errors_records_a_cell_an_outage_broke(emulator, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", emulator.base_url("openai"))
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("HARNESS_RECORD_MODE", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text("name: s\nmodels: [openai:gpt-4.1-mini]\ncases: [{id: a, prompt: hi}]\n")
    suite = load_suite(tmp_path / "s.yaml")
    emulator.queue(*OUTAGE, *OUTAGE)
    first = Runner(suite, RunOptions(record_mode="once", retry=ONE_RETRY, out=tmp_path / "run")).run()
    assert first.counts["error"] == 1
    assert not list((tmp_path / "cassettes").rglob("*.yaml"))
    again = Runner(
        suite, RunOptions(record_mode="once", retry=ONE_RETRY, resume=first.run_dir, retry_errors=True)
    ).run()
    assert again.ran == 1 and again.ok
    assert [r["status"] for r in iter_records(first.run_dir)] == ["passed"]


# --- killed mid-cell ----------------------------------------------------------------------------------

RECORDER = """\
import sys
from harness import init_chat_model
from harness.cassettes import use_cassette

model = init_chat_model("openai:gpt-4.1-mini", base_url=sys.argv[2], api_key="{key}")
with use_cassette(sys.argv[1], record_mode="once"):
    model.invoke("first")
    print("recorded one", flush=True)
    for _ in model.stream("second"):  # slow: killed while it streams
        pass
"""


def kill_mid_cell(args, cwd, env=None, marker=b"recorded one"):
    """Start a process, SIGKILL it once it printed `marker` (or after the first call began)."""
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert marker in line, line
        time.sleep(0.3)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL


def test_sigkill_mid_session_leaves_no_partial_cassette_and_a_rerun_records(tmp_path):
    script = tmp_path / "record.py"
    script.write_text(RECORDER.format(key=KEY))
    path = tmp_path / "cassettes" / "c.yaml"
    with ProviderEmulator() as emu:
        emu.queue(Reply("one"), Reply("a slow streamed reply " * 20, ttft=0.05, chunk_delay=0.2))
        env = {**os.environ, "PYTHONPATH": os.getcwd()}
        kill_mid_cell([sys.executable, str(script), str(path), emu.base_url("openai")], tmp_path, env)
        assert not path.exists()
        assert not list(tmp_path.rglob("*.yaml"))  # what `git add cassettes/*.yaml` would pick up
        subprocess.run(
            [sys.executable, str(script), str(path), emu.base_url("openai")],
            cwd=tmp_path,
            env=env,
            check=True,
        )
    assert len(load_cassette(path)) == 2


def test_sigkill_of_harness_run_mid_cell_then_resume_records_cleanly(tmp_path):
    (tmp_path / "s.yaml").write_text(
        textwrap.dedent("""\
        name: s
        models: [openai:gpt-4.1-mini]
        cases:
          - {id: quick, prompt: one}
          - id: slow
            prompt: two
            stream: true
            tools:
              - {name: look, description: Look it up, parameters: {type: object}, returns: found}
        """)
    )
    with ProviderEmulator() as emu:
        slow = Reply("a slow streamed reply " * 20, ttft=0.05, chunk_delay=0.2)
        emu.queue(Reply("one"), Reply(tool_calls=[ToolCallSpec("look")]), slow)
        env = {
            **os.environ,
            "PYTHONPATH": os.getcwd(),
            "OPENAI_BASE_URL": emu.base_url("openai"),
            "OPENAI_API_KEY": KEY,
            "HARNESS_RECORD_MODE": "once",
        }
        env.pop("CI", None)
        run = [sys.executable, "-m", "harness", "run", "s.yaml", "--concurrency", "1", "--out", "run"]
        proc = subprocess.Popen(
            run, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            deadline = time.monotonic() + 20
            while len(emu.requests) < 3 and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(0.3)  # the slow cell is streaming
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.wait(timeout=10)
        assert len(emu.requests) == 3  # killed in the slow cell's second call
        cassettes = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.yaml"))
        assert cassettes == ["cassettes/s/quick/openai-gpt-4.1-mini.yaml", "s.yaml"]
        resume = [sys.executable, "-m", "harness", "run", "s.yaml", "--resume", "run"]
        done = subprocess.run(resume, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
    assert len(load_cassette(tmp_path / "cassettes/s/slow/openai-gpt-4.1-mini.yaml")) == 2


# --- one cassette per cell ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suite", "first", "second"),
    [
        (
            'models: [openai:gpt-4.1-mini, {model: "openai:gpt-4.1", id: openai-gpt-4.1-mini}]\n'
            "cases: [{id: a, prompt: hi}]\n",
            "case 'a' x model 'openai:gpt-4.1-mini'",
            "case 'a' x model 'openai-gpt-4.1-mini'",
        ),
        (
            "models: [openai:gpt-4.1-mini]\ncases: [{id: 'a:b', prompt: hi}, {id: a-b, prompt: ho}]\n",
            "case 'a:b'",
            "case 'a-b'",
        ),
        (
            "models: [openai:gpt-4.1-mini]\n"
            "cases: [{id: c, prompt: '{{ v }}', matrix: {v: ['x/y', 'x:y', 'x y']}}]\n",
            "case 'c[x/y]'",
            "case 'c[x:y]'",
        ),
        (
            "models: [openai:gpt-4.1-mini]\ncases: [{id: Capital, prompt: hi}, {id: capital, prompt: ho}]\n",
            "case 'Capital'",
            "case 'capital'",
        ),
    ],
)
def test_cells_that_would_share_a_cassette_refuse_the_suite_naming_both(tmp_path, suite, first, second):
    path = tmp_path / "s.yaml"
    path.write_text("name: s\n" + suite)
    env = {**os.environ, "PYTHONPATH": os.getcwd(), "OPENAI_API_KEY": KEY}
    done = subprocess.run(
        [sys.executable, "-m", "harness", "run", str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"{path}:" in done.stderr and first in done.stderr and second in done.stderr
    assert "would share the cassette cassettes/s/" in done.stderr
    assert not (tmp_path / "cassettes").exists()
