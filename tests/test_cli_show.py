"""The terminal: `harness show RUN_DIR`, `harness run --show outputs`, and the suite's model order in
the console, run.json and `harness compare` — through the CLI against the provider emulator."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.testing import EmulatedRequest, ProviderEmulator, Reply

# the suite's first model answers last: completion order is the reverse of the suite's
SUITE = """\
name: order
description: Which model answers what
models: [{model: "openai:gpt-4.1-mini", id: slow}, {model: "anthropic:claude-haiku-4-5", id: fast}]
cases:
  - id: capital
    description: capitals
    prompt: "Capital of {{ country }}?"
    stream: true
    vars: {country: France}
    assert: [{type: icontains, value: paris}]
  - id: multi
    prompt: Two lines please
    stream: true
    assert: [{type: contains, value: "second line"}]
"""


def replies(req: EmulatedRequest) -> Reply:
    slow = 0.4 if req.provider == "openai" else 0.0
    if "Capital" in req.last_user_text:
        text = (
            "Paris is the capital of France, and this sentence is long enough to be cut." if slow else "Lyon"
        )
        return Reply(text=text, ttft=slow)
    return Reply(text="first line\nsecond line", ttft=slow)


@pytest.fixture
def run_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for k in list(os.environ):
        if k.endswith(("_API_KEY", "_BASE_URL")) or k in ("CI", "HARNESS_RECORD_MODE", "GITHUB_STEP_SUMMARY"):
            monkeypatch.delenv(k)
    (tmp_path / "order.yaml").write_text(SUITE, encoding="utf-8")
    with ProviderEmulator() as emu:
        emu.reply_fn = replies
        monkeypatch.setenv("OPENAI_BASE_URL", emu.base_url("openai"))
        monkeypatch.setenv("ANTHROPIC_BASE_URL", emu.base_url("anthropic"))
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
        result = invoke("run", "order.yaml", "--no-cassettes", "--no-report", "--repeat", "2", "--out", "run",
                        "--show", "outputs")  # fmt: skip
        assert result.exit_code == 1, result.output
        yield tmp_path / "run", result


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def finished_order(run_dir) -> list[str]:
    return [json.loads(line)["model_id"] for line in (run_dir / "results.jsonl").read_text().splitlines()]


def table_rows(text: str) -> list[list[str]]:
    return [
        [c.strip() for c in line.strip("│┃ ").split("│")]
        for line in text.splitlines()
        if line.startswith("│")
    ]


def test_show_prints_cases_by_models_in_the_suites_order_then_the_failures(run_dir):
    run, _ = run_dir
    assert finished_order(run)[0] == "fast"  # the fast model finished first ...
    result = invoke("show", str(run), "--width", "30")
    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if line.startswith("┃"))
    assert [c.strip() for c in header.strip("┃").split("┃")] == ["case", "slow", "fast"]  # ... shown second
    assert (
        result.output.splitlines()[0].startswith("order · ") and "Which model answers what" in result.output
    )
    assert table_rows(result.output) == [
        ["capital", "✓ Paris is the capital of Franc…", "✗ Lyon"],
        ["capital #2", "✓ Paris is the capital of Franc…", "✗ Lyon"],
        ["multi", "✓ first line", "✓ first line"],
        ["multi #2", "✓ first line", "✓ first line"],
    ]
    failures = result.output.split("Failures (2 of 8 cells):\n")[1].splitlines()
    assert failures == [
        "  ✗ capital × fast: expected output to contain 'paris' (case-insensitive); got 'Lyon'",
        "  ✗ capital #2 × fast: expected output to contain 'paris' (case-insensitive); got 'Lyon'",
    ]
    only = invoke("show", str(run), "--failures-only")
    assert [r[0] for r in table_rows(only.output)] == ["capital", "capital #2"]


def test_run_show_outputs_and_the_summary_keep_the_suites_model_order(run_dir):
    run, result = run_dir
    assert "capital #2" in result.output and "✓ first line" in result.output
    summary = [
        line.split("│")[1].strip()
        for line in result.output.splitlines()
        if line.startswith("│ s") or line.startswith("│ f")
    ]
    assert summary[:2] == ["slow", "fast"]
    meta = json.loads((run / "run.json").read_text())
    assert list(meta["summary"]) == ["slow", "fast"]
    assert meta["description"] == "Which model answers what"
    assert meta["cases"] == [{"id": "capital", "description": "capitals"}, {"id": "multi"}]
    diff = invoke("compare", str(run), str(run), "--json")
    assert list(json.loads(diff.output)["models"]) == ["slow", "fast"]


def test_show_of_a_directory_without_results_is_one_line(tmp_path):
    result = invoke("show", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path}: no results in this run directory (no results.jsonl, or it is empty)"
    ]
