"""`harness run` gates (--fail-under, --max-cost) and `--resume` keeping the options of the run it
continues, through the CLI against the emulator."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.results.io import RESULTS_FILE, iter_records
from harness.testing import Reply

SUITE = """\
name: gates
models: [{model: "openai:gpt-4.1-mini", id: mini}, {model: "anthropic:claude-haiku-4-5", id: haiku}]
cases:
  - id: hello
    prompt: Say hello to Ann
    assert: [{type: icontains, value: ann}]
  - id: secret
    prompt: Say the secret word
    assert: [{type: icontains, value: zebra}]
"""


@pytest.fixture
def workdir(tmp_path, monkeypatch, emulator):
    monkeypatch.chdir(tmp_path)
    for k in list(os.environ):
        if k.endswith(("_API_KEY", "_BASE_URL")) or k in ("CI", "HARNESS_RECORD_MODE", "GITHUB_STEP_SUMMARY"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("OPENAI_BASE_URL", emulator.base_url("openai"))
    monkeypatch.setenv("ANTHROPIC_BASE_URL", emulator.base_url("anthropic"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    (tmp_path / "gates.yaml").write_text(SUITE, encoding="utf-8")
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["run", *args], catch_exceptions=False)
    return result.exit_code, result.output


def queue_answers(emulator) -> None:
    """With --concurrency 1 cells run in plan order: hello×mini, hello×haiku, secret×mini, secret×haiku.
    mini passes both cases, haiku misses the secret: mini 100%, haiku 50%, overall 75%."""
    emulator.queue(Reply(text="Hello Ann"), Reply(text="Hello Ann"), Reply(text="zebra"), Reply(text="no"))


BASE = ("gates.yaml", "--no-cassettes", "--concurrency", "1", "--no-report")


def test_fail_under_gates_the_exit_code_overall_and_per_model(workdir, emulator):
    queue_answers(emulator)
    code, out = run(*BASE, "--out", "runs/a", "--fail-under", "0.75", "--fail-under", "mini=100%")
    assert code == 0, out
    assert "Gate --fail-under 0.75: pass rate 75% (overall) ✓ held" in out
    assert "Gate --fail-under mini=1: pass rate 100% (mini) ✓ held" in out

    queue_answers(emulator)
    code, out = run(
        *BASE, "--out", "runs/b", "--fail-under", "0.5", "--fail-under", "anthropic:claude-haiku-4-5=0.6"
    )
    assert code == 1
    assert "Gate --fail-under haiku=0.6: pass rate 50% (haiku) ✗ missed" in out

    queue_answers(emulator)
    code, out = run(*BASE, "--out", "runs/c")
    assert code == 1  # without a gate, any failed cell fails the run


@pytest.mark.parametrize(
    "value, message",
    [
        ("1.5", "'1.5': allowed: a pass rate from 0 to 1 (0.9) or a percentage (90%)"),
        ("mini=lots", "'mini=lots': allowed: a pass rate from 0 to 1"),
        ("gpt-5=0.5", "--fail-under gpt-5=0.5: suite 'gates' has no model 'gpt-5'; its models: mini, haiku"),
    ],
)
def test_a_bad_fail_under_is_one_line_and_exit_2(workdir, emulator, value, message):
    code, out = run(*BASE, "--fail-under", value)
    assert code == 2 and message in out
    assert "Traceback" not in out and not (workdir / "runs").exists()


def test_max_cost_skips_the_live_cells_once_spent_and_a_resume_runs_them(workdir, emulator):
    code, out = run(*BASE, "--out", "runs/budget", "--max-cost", "0.000001", "--junit", "j.xml")
    assert code == 3, out
    records = list(iter_records(workdir / "runs/budget"))
    assert [r["status"] for r in records] == ["passed", "skipped", "skipped", "skipped"]
    assert records[0]["cost_usd"] > 0.000001
    assert records[1]["error"].startswith("skipped: --max-cost $1e-06 was spent ($0.0000") and records[1][
        "error"
    ].endswith("resume the run with a higher --max-cost to run it")
    assert "3 cell(s) skipped: --max-cost $1e-06 was spent on live calls" in out
    summary = json.loads((workdir / "runs/budget/run.json").read_text())["summary"]
    assert summary["mini"]["skipped"] == 1 and summary["mini"]["pass_rate"] == 1.0
    suite = ET.parse(workdir / "j.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("skipped") == "3"
    assert len(suite.findall("testcase/skipped")) == 3
    report = CliRunner().invoke(cli, ["report", "runs/budget", "-o", "budget.html"])
    assert report.exit_code == 0, report.output
    html = (workdir / "budget.html").read_text(encoding="utf-8")
    assert '<span class="st st-skip">– 1 skipped</span>' in html and "– 2 skipped" in html

    emulator.queue(Reply(text="Hello Ann"), Reply(text="zebra"), Reply(text="zebra"))
    code, out = run("--resume", "runs/budget", "--max-cost", "1")
    assert code == 0, out
    assert [r["status"] for r in iter_records(workdir / "runs/budget")] == ["passed"] * 4


def test_resume_reuses_every_option_of_the_run_and_says_which(workdir, emulator):
    queue_answers(emulator)
    code, out = run(
        *BASE, "--out", "runs/r", "--junit", "out/j.xml", "--export", "out/r.csv", "--fail-under", "0.7"
    )
    assert code == 0, out
    saved = json.loads((workdir / "runs/r/cli.json").read_text())["options"]
    assert saved["junit"] == "out/j.xml" and saved["exports"] == ["out/r.csv"] and saved["no_report"] is True

    # the run was killed after two cells: its outputs were never written
    path = workdir / "runs/r" / RESULTS_FILE
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:2]))
    for f in ("out/j.xml", "out/r.csv"):
        (workdir / f).unlink()
    emulator.queue(Reply(text="zebra"), Reply(text="no"))
    code, out = run("--resume", "runs/r")
    assert code == 0, out
    assert (
        "Resuming runs/r: reusing --no-cassettes; --no-report; --concurrency 1; --junit out/j.xml; "
        "--export out/r.csv; --fail-under 0.7 (from its cli.json)"
    ) in out
    assert (workdir / "out/j.xml").is_file() and (workdir / "out/r.csv").is_file()
    assert not (workdir / "reports").exists()  # --no-report kept
    assert "Gate --fail-under 0.7: pass rate 75% (overall) ✓ held" in out

    # explicit options on the resume command win; --report drops the reused --no-report
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:3]))
    emulator.queue(Reply(text="no"))
    code, out = run(
        "--resume", "runs/r", "--junit", "out/other.xml", "--report", "r.html", "--fail-under", "0.8"
    )
    assert code == 1
    assert "--junit out/j.xml" not in out and "--no-report" not in out.split("(from")[0]
    assert (workdir / "out/other.xml").is_file() and (workdir / "r.html").is_file()
    assert json.loads((workdir / "runs/r/cli.json").read_text())["options"]["junit"] == "out/other.xml"


def test_a_crafted_cli_json_cannot_send_outputs_outside_the_working_directory(workdir, emulator):
    queue_answers(emulator)
    code, _ = run(*BASE, "--out", "runs/x")
    (workdir / "runs/x/cli.json").write_text(json.dumps({"options": {"junit": "/tmp/elsewhere/j.xml"}}))
    code, out = run("--resume", "runs/x")
    assert code == 2
    assert "runs/x/cli.json: --junit must lie inside" in out and "Traceback" not in out
