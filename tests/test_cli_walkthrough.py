"""What a newcomer met using the CLI for the first time (init, run, show, filters), each through the
CLI against the provider emulator: the terminal output they read, the lines their mistakes get."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.testing import ProviderEmulator

FIVE_MODELS = """\
name: five
models:
  - {model: "openai:gpt-4.1-mini", id: gpt-mini}
  - {model: "openai:gpt-4.1", id: gpt-big}
  - {model: "openai:gpt-4o", id: gpt-4o}
  - {model: "anthropic:claude-haiku-4-5", id: claude-haiku}
  - {model: "anthropic:claude-sonnet-4-5", id: claude-sonnet}
cases:
  - id: capital-of-france
    prompt: "What is the capital of France? Please answer at length, as the report has to cut this."
    assert: [{type: not-icontains, value: capital}]
"""


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def emulated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for k in list(os.environ):
        if k.endswith(("_API_KEY", "_BASE_URL")) or k in ("CI", "HARNESS_RECORD_MODE", "GITHUB_STEP_SUMMARY"):
            monkeypatch.delenv(k)
    with ProviderEmulator() as emu:
        monkeypatch.setenv("OPENAI_BASE_URL", emu.base_url("openai"))
        monkeypatch.setenv("ANTHROPIC_BASE_URL", emu.base_url("anthropic"))
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
        yield tmp_path


def body_rows(text: str) -> list[list[str]]:
    return [
        [c.strip() for c in line.strip("│ ").split("│")] for line in text.splitlines() if line.startswith("│")
    ]


def test_show_with_five_models_keeps_the_case_column_and_fits_the_terminal(emulated):
    (emulated / "five.yaml").write_text(FIVE_MODELS, encoding="utf-8")
    run = invoke("run", "five.yaml", "--no-cassettes", "--no-report", "--out", "run")
    assert run.exit_code == 1, run.output
    shown = invoke("show", "run")  # not a terminal: 200 columns
    assert shown.exit_code == 0, shown.output
    table = [line for line in shown.output.splitlines() if line[:1] in "┏┃┡│└"]
    header = next(line for line in table if line.startswith("┃"))
    assert [c.strip() for c in header.strip("┃").split("┃")] == [
        "case", "gpt-mini", "gpt-big", "gpt-4o", "claude-haiku", "claude-sonnet"
    ]  # fmt: skip
    rows = body_rows(shown.output)
    assert [r[0] for r in rows] == ["capital-of-france"]
    assert all(cell.startswith("✗ Emulated reply to: What") and cell.endswith("…") for cell in rows[0][1:])
    assert max(len(line) for line in table) <= 200


def test_a_long_failure_reason_cut_in_the_terminal_ends_with_an_ellipsis(emulated):
    (emulated / "five.yaml").write_text(FIVE_MODELS.replace("this.", "this. " + "x" * 300), encoding="utf-8")
    run = invoke("run", "five.yaml", "--no-cassettes", "--no-report", "--out", "run", "--models", "gpt-mini")
    assert run.exit_code == 1, run.output
    assert failure_line(run.output, "  ✗ capital-of-france × gpt-mini: ").endswith("xxx…"), run.output
    shown = invoke("show", "run")
    assert failure_line(shown.output, "  ✗ capital-of-france × gpt-mini: ").endswith("'… (406 chars)")


def failure_line(output: str, start: str) -> str:
    """The failure line starting with `start`, with rich's wrapping undone."""
    text = output[output.index(start) :]
    return text.split("\nResults:")[0].replace("\n", "").strip()
