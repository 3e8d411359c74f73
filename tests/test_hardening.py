"""What a hostile cassette, model reply, temp dir or run.json can do: nothing. Terminal controls are shown
as escapes, the step summary is inert markdown, files follow the umask, the lock directory is private and
a resumed run's paths stay inside the project."""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile

import pytest
from click.testing import CliRunner

from harness import init_chat_model
from harness.cassettes import load_cassette, use_cassette
from harness.cli import cli
from harness.errors import CassetteError
from harness.runner.runner import Runner, RunOptions
from harness.suite.spec import load_suite
from harness.testing import ProviderEmulator, Reply

HOSTILE = "\x1b]0;owned\x07\x1b[2J\x9b31m\u202egnp.exe <script>alert(1)</script> | **bold** [x](http://e)"
KEY = "sk-SENTINEL-hardening-00000000000000000000"


@pytest.fixture
def emu():
    with ProviderEmulator() as e:
        yield e


def test_cassettes_show_prints_terminal_controls_as_escapes(emu, tmp_path):
    emu.queue(Reply(text=HOSTILE), Reply(text=HOSTILE))
    model = init_chat_model("openai:gpt-4.1-mini", base_url=emu.base_url("openai"), api_key="sk-x")
    with use_cassette(tmp_path / "c.yaml", record_mode="all"):
        model.invoke("hi")
        list(model.stream("again"))
    for args in ([], ["--json"]):
        out = CliRunner().invoke(cli, ["cassettes", "show", str(tmp_path / "c.yaml"), *args]).output
        assert not {"\x1b", "\x07", "\x9b", "\u202e"} & set(out), args
        assert "\\u001b]0;owned\\u0007" in out
    shown = json.loads(CliRunner().invoke(cli, ["cassettes", "show", str(tmp_path), "--json"]).output)
    assert [d["reply"]["text"] for d in shown] == [HOSTILE, HOSTILE]  # the JSON still means the same text


def test_the_step_summary_is_inert_markdown(emu, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    emu.queue(Reply(text=HOSTILE))
    (tmp_path / "s.yaml").write_text(
        f'name: hostile\nmodels: [{{model: "openai:gpt-4.1-mini", base_url: "{emu.base_url("openai")}", '
        "api_key: sk-x}]\ncases:\n  - id: a\n    prompt: hi\n    assert: [{type: icontains, value: zzz}]\n"
    )
    summary = tmp_path / "summary.md"
    result = CliRunner().invoke(
        cli, ["run", "s.yaml", "--no-cassettes", "--no-report"], env={"GITHUB_STEP_SUMMARY": str(summary)}
    )
    assert result.exit_code == 1, result.output
    text = summary.read_text()
    failing = next(line for line in text.splitlines() if line.startswith("- **a**"))
    assert "<script>" not in text and "&lt;script&gt;" in failing
    assert "\\*\\*bold\\*\\*" in failing and "\\[x\\]\\(http://e\\)" in failing and "\\|" in failing


def test_written_files_follow_the_umask(emu, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    old = os.umask(0o027)
    try:
        model = init_chat_model("openai:gpt-4.1-mini", base_url=emu.base_url("openai"), api_key="sk-x")
        with use_cassette(tmp_path / "c.yaml", record_mode="all"):
            model.invoke("hi")
        (tmp_path / "s.yaml").write_text(
            f'name: modes\nmodels: [{{model: "openai:gpt-4.1-mini", base_url: "{emu.base_url("openai")}", '
            "api_key: sk-x}]\ncases:\n  - id: a\n    prompt: hi\n"
        )
        result = CliRunner().invoke(cli, ["run", "s.yaml", "--record-mode", "all", "--report", "r.html"])
        assert result.exit_code == 0, result.output
    finally:
        os.umask(old)
    cassette = next((tmp_path / "cassettes").rglob("*.yaml"))
    for path in (tmp_path / "c.yaml", cassette, tmp_path / "r.html"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path


def test_the_lock_directory_is_private_and_a_squatted_one_is_refused(emu, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    model = init_chat_model("openai:gpt-4.1-mini", base_url=emu.base_url("openai"), api_key="sk-x")
    with use_cassette(tmp_path / "a.yaml", record_mode="all"):
        model.invoke("hi")
    [lock_dir] = tmp_path.glob("harness-cassette-locks-*")
    assert stat.S_IMODE(lock_dir.stat().st_mode) == 0o700
    shutil.rmtree(lock_dir)  # then someone else's link takes its place
    elsewhere = tmp_path / "someone-elses"
    elsewhere.mkdir()
    lock_dir.symlink_to(elsewhere)
    with (
        pytest.raises(CassetteError, match="is a symbolic link"),
        use_cassette(tmp_path / "b.yaml", record_mode="all"),
    ):
        model.invoke("hi")
    assert not any(elsewhere.iterdir())


@pytest.mark.parametrize(
    "field, value",
    [
        ("cassettes_dir", "../outside"),
        ("cassettes_dir", "/tmp/harness-squat"),
        ("suite_path", "../outside/s.yaml"),
    ],
)
def test_resume_keeps_the_paths_of_run_json_inside_the_project(tmp_path, monkeypatch, field, value):
    project = tmp_path / "project"
    (project / "run").mkdir(parents=True)
    monkeypatch.chdir(project)
    (project / "s.yaml").write_text("name: s\nmodels: [openai:gpt-4.1-mini]\ncases: [{id: a, prompt: hi}]\n")
    meta = {"run_id": "r", "suite": "s", "suite_path": "s.yaml", "config": {"cassettes_dir": "cassettes"}}
    if field == "suite_path":
        meta["suite_path"] = value
    else:
        meta["config"][field] = value
    (project / "run" / "run.json").write_text(json.dumps(meta))
    result = CliRunner().invoke(
        cli, ["run", "--resume", "run", "--record-mode", "all"], env={"OPENAI_API_KEY": "x"}
    )
    assert result.exit_code == 2
    assert (
        result.stderr.count("\n") == 1 and "run.json" in result.stderr and "must lie inside" in result.stderr
    )
    assert "Traceback" not in result.output
    assert not (tmp_path / "outside").exists() and not os.path.exists("/tmp/harness-squat/s")


def test_a_userinfo_url_is_scrubbed_on_record_and_still_replays(emu, tmp_path):
    base = emu.base_url("openai").replace("://", f"://user:{KEY}@")
    model = init_chat_model("openai:gpt-4.1-mini", base_url=base, api_key="sk-x")
    with use_cassette(tmp_path / "c.yaml", record_mode="all"):
        live = model.invoke("hi")
    [ix] = load_cassette(tmp_path / "c.yaml")
    assert "user:<REDACTED>@" in ix.request.uri and KEY.encode() not in (tmp_path / "c.yaml").read_bytes()
    sent = len(emu.requests)
    with use_cassette(tmp_path / "c.yaml", record_mode="none") as cas:
        assert model.invoke("hi").content == live.content
    assert cas.state == "replayed" and len(emu.requests) == sent


def test_run_json_holds_no_credential_of_a_model_given_as_a_dict(emu, tmp_path):
    (tmp_path / "s.yaml").write_text("name: s\nmodels: [openai:gpt-4.1-mini]\ncases: [{id: a, prompt: hi}]\n")
    entry = {
        "model": "openai:gpt-4.1-mini",
        "api_key": KEY,
        "base_url": emu.base_url("openai"),
        "default_headers": {"X-Api-Token": KEY, "X-Trace": "visible"},
        "max_tokens": 50,
    }
    options = RunOptions(models=[entry], cassettes_dir=None, out=tmp_path / "run")
    Runner(load_suite(tmp_path / "s.yaml"), options).run()
    meta = json.loads((tmp_path / "run" / "run.json").read_text())
    [stored] = meta["config"]["models"]
    assert KEY not in json.dumps(meta) and stored["api_key"] == "<REDACTED>"
    assert stored["default_headers"] == {"X-Api-Token": "<REDACTED>", "X-Trace": "visible"}
    assert stored["max_tokens"] == 50
