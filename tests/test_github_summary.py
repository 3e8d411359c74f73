"""The GitHub step summary of `harness run`: the baseline diff (regressions, fixes) with --baseline,
model output shown as inert markdown, and reasons cut with "…"."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.testing import Reply

SUITE = """\
name: ci
models: [{model: "openai:gpt-4.1-mini", id: mini}]
cases:
  - id: hello
    prompt: Say hello to Ann
    assert: [{type: icontains, value: ann}, {type: not-icontains, value: script}]
  - id: secret
    prompt: Say the secret word
    assert: [{type: icontains, value: zebra}]
"""

HOSTILE = "<script>alert(1)</script> **bold** | [x](http://e) " + "B" * 300 + "\nsecond line"


@pytest.fixture
def workdir(tmp_path, monkeypatch, emulator):
    monkeypatch.chdir(tmp_path)
    for k in list(os.environ):
        if k.endswith(("_API_KEY", "_BASE_URL")) or k in ("CI", "HARNESS_RECORD_MODE", "GITHUB_STEP_SUMMARY"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("OPENAI_BASE_URL", emulator.base_url("openai"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    (tmp_path / "ci.yaml").write_text(SUITE, encoding="utf-8")
    return tmp_path


def run(*args: str, summary) -> int:
    result = CliRunner().invoke(
        cli,
        ["run", "ci.yaml", "--no-cassettes", "--concurrency", "1", "--no-report", *args],
        env={"GITHUB_STEP_SUMMARY": str(summary)},
        catch_exceptions=False,
    )
    return result.exit_code


def test_the_step_summary_shows_the_baseline_diff_and_inert_cut_output(workdir, emulator):
    emulator.queue(Reply(text="Hello Ann"), Reply(text="no idea"))
    assert run("--out", "runs/base", summary=workdir / "base.md") == 1
    assert "Against baseline" not in (workdir / "base.md").read_text()

    emulator.queue(Reply(text=HOSTILE), Reply(text="zebra"))
    assert run("--out", "runs/new", "--baseline", "runs/base", summary=workdir / "new.md") == 1
    text = (workdir / "new.md").read_text()
    assert "**Against baseline " in text
    assert "1 regression(s), 1 fix(es), 0 new, 0 removed cell(s)." in text
    regression = next(line for line in text.splitlines() if line.startswith("- ▼ "))
    assert regression.startswith("- ▼ **hello × mini**: passed → failed: expected output to contain")
    assert regression.endswith("…")
    assert "- ▲ **secret × mini**: failed → passed" in text

    failing = next(line for line in text.splitlines() if line.startswith("- **hello**"))
    reason, _, output = failing.partition(" — output: ")
    assert reason.endswith("…") and output.endswith("…")
    assert output.startswith(
        "&lt;script&gt;alert\\(1\\)&lt;/script&gt; \\*\\*bold\\*\\* \\| \\[x\\]\\(http://e\\) BBB"
    )
    assert "<script>" not in text and "second line" not in text  # the first line of the output only


def test_a_step_summary_that_cannot_be_written_is_one_warning_line_and_the_run_stands(workdir, emulator):
    emulator.queue(Reply(text="Hello Ann"), Reply(text="zebra"))
    result = CliRunner().invoke(
        cli,
        ["run", "ci.yaml", "--no-cassettes", "--concurrency", "1", "--no-report", "--out", "runs/a"],
        env={"GITHUB_STEP_SUMMARY": str(workdir / "no-such-dir" / "summary.md")},
    )
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and result.exception is None
    [warning] = [line for line in result.stderr.splitlines() if "GITHUB_STEP_SUMMARY" in line]
    assert warning.startswith("warning: cannot append the step summary to ") and "No such file" in warning
