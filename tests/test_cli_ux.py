"""What a new user meets on the command line and in the report: error lines, help, small wording."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.report.encode import compact_message
from harness.results.summary import summarize

ROOT = Path(__file__).resolve().parent.parent


def test_report_transcript_hides_raw_tool_use_blocks():
    # an Anthropic assistant turn keeps its tool_use blocks in `content`; they are shown as tool calls
    msg = {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Let me look."},
            {"type": "tool_use", "id": "call_1", "name": "movie", "input": {"year": 2010}},
        ],
        "tool_calls": [{"name": "movie", "args": {"year": 2010}, "id": "call_1"}],
    }
    shown = compact_message(msg)
    assert shown["c"] == "Let me look."
    assert shown["tc"] and "tool_use" not in shown["c"]
    # without parsed tool calls nothing is dropped
    assert "tool_use" in compact_message({"role": "assistant", "content": msg["content"]})["c"]


def test_errored_cell_without_usage_is_not_unpriced():
    errored = {
        "case_id": "a",
        "model_id": "m",
        "status": "error",
        "error": "MissingAPIKeyError: ...",
        "usage": None,
        "cost_usd": None,
    }
    priced = {
        "case_id": "b",
        "model_id": "m",
        "status": "passed",
        "cost_usd": 0.001,
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }
    unpriced = {
        "case_id": "c",
        "model_id": "m",
        "status": "passed",
        "cost_usd": None,
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }
    assert summarize([errored, priced])["m"]["unpriced_cells"] == 0
    assert summarize([errored, priced, unpriced])["m"]["unpriced_cells"] == 1


# --- the command line ---------------------------------------------------------------------------------


@pytest.fixture
def quickstart(tmp_path, monkeypatch):
    """A copy of the shipped quickstart suite and cassettes, no keys, no CI: what a new user has."""
    shutil.copytree(ROOT / "suites", tmp_path / "suites")
    shutil.copytree(ROOT / "cassettes" / "quickstart", tmp_path / "cassettes" / "quickstart")
    monkeypatch.chdir(tmp_path)
    for k in list(os.environ):
        if k.endswith(("_API_KEY", "_BASE_URL")) or k in (
            "CI",
            "HARNESS_RECORD_MODE",
            "GITHUB_STEP_SUMMARY",
            "HARNESS_CASSETTE_USAGE",
        ):
            monkeypatch.delenv(k)
    return tmp_path


def _cli(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_unknown_export_format_is_refused_before_anything_runs(quickstart):
    res = _cli("run", "suites/quickstart.yaml", "--export", "results.xlsx")
    assert res.exit_code == 2
    assert "--export" in res.output and "'xlsx'" in res.output and ".csv, .json, .parquet" in res.output
    assert not (quickstart / "runs").exists() and not (quickstart / "reports").exists()


def test_bad_replay_speed_names_the_option(quickstart):
    res = _cli("run", "suites/quickstart.yaml", "--replay-speed", "fast")
    assert res.exit_code == 2
    assert "--replay-speed" in res.output and "realtime" in res.output


def test_failure_lines_show_the_first_line_of_a_multiline_error(quickstart):
    suite = (quickstart / "suites" / "quickstart.yaml").read_text()
    (quickstart / "suites" / "quickstart.yaml").write_text(
        suite.replace("max_turns: 3", "max_turns: 3\n    params: {max_tokens: 5}")
    )
    res = _cli("run", "suites/quickstart.yaml", "--no-report", "--no-progress")
    assert res.exit_code == 1
    lines = [ln for ln in res.stdout.splitlines() if "CassetteMissError" in ln]
    assert len(lines) == 3
    assert "nearest recorded" not in res.stdout and "+++ this request" not in res.stdout


def test_cassettes_ls_defaults_to_cassettes_dir_and_counts_in_words(quickstart):
    (quickstart / "suites" / "not-a-cassette.yaml").write_text("name: x\n")
    res = _cli("cassettes", "ls")
    assert res.exit_code == 0, res.output
    assert "suites/" not in res.output  # only cassettes/, as `harness run` uses
    assert " 1 interaction " in res.output and " 2 interactions " in res.output
    assert "1 interactions" not in res.output
    show = _cli("cassettes", "show", "cassettes/quickstart/capital/gpt-4.1-mini.yaml")
    assert "(1 interaction)" in show.output


@pytest.mark.parametrize(
    "args",
    [
        ["report"],
        ["cassettes"],
        ["cassettes", "ls"],
        ["cassettes", "show"],
        ["cassettes", "verify"],
        ["cassettes", "prune"],
        ["run"],
        ["compare"],
        ["invoke"],
        ["emulate"],
        ["suite-schema"],
        ["validate"],
        ["show"],
        ["init"],
    ],
)
def test_every_command_help_has_examples(args):
    res = _cli(*args, "--help")
    assert res.exit_code == 0
    assert "Examples:" in res.output, f"harness {' '.join(args)} --help has no examples"


def test_report_errors_are_one_lowercase_error_line(quickstart):
    res = _cli("report", "runs/nothing-here")
    assert res.exit_code == 2
    assert res.output.startswith("error: ") and "runs/nothing-here" in res.output


def test_chart_labels_are_whole_and_widen_the_chart():
    from harness.report.charts import LABEL_W, W, label_width, pass_rate_chart

    long = "anthropic:claude-haiku-4-5-with-a-very-long-suffix"
    summary = [
        {"model_id": m, "cells": 2, "passed": 1, "failed": 1, "errors": 0, "pass_rate": 0.5}
        for m in ("gpt-4.1-mini", long)
    ]
    svg = str(pass_rate_chart(summary))
    assert f"<title>{long}</title>{long}</text>" in svg and "…" not in svg
    extra = label_width(long) - LABEL_W + 4
    assert f'viewBox="{-extra:.0f} 0 {W + extra:.0f} ' in svg  # the label's room, left of the plot
    short = str(pass_rate_chart(summary[:1]))
    assert f'viewBox="0 0 {W} ' in short


def test_summary_card_says_1_error_not_1_errors(tmp_path):
    from report_fixtures import record, write_run

    from harness.report import render_report

    run = write_run(
        tmp_path / "run",
        [
            record("a", 0, status="error", error="MissingAPIKeyError: no key\nsecond line"),
            record("b", 0, text="fine"),
            record("a", 1, status="error", error="x"),
            record("b", 1, status="error", error="y"),
        ],
    )
    html = render_report(run, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "⚠ 1 error<" in html and "⚠ 1 errors" not in html
    assert "⚠ 2 errors<" in html


@pytest.mark.browser
def test_matrix_cell_label_and_detail_in_the_browser(tmp_path):
    """A cell's aria-label reads one line of a multi-line error; a plain answer has no empty 'Final output'."""
    import tempfile

    from report_fixtures import CHROMIUM, launch_chromium, record, write_run

    from harness.report import render_report

    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    run = write_run(
        tmp_path / "run",
        [
            record("a", 0, status="error", error="CassetteMissError: no match\n  --- recorded"),
            record("b", 0, text="The capital is Paris."),
        ],
    )
    path = render_report(run, tmp_path / "r.html")
    with sync_api.sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        ctx = launch_chromium(pw, profile, viewport={"width": 1200, "height": 900})
        page = ctx.new_page()
        page.goto(path.resolve().as_uri())
        cells = page.locator("td.cell")
        label = cells.nth(0).get_attribute("aria-label")
        assert "CassetteMissError: no match" in label and "--- recorded" not in label
        cells.nth(1).click()
        body = page.locator("#detail-body")
        expect = sync_api.expect
        expect(body).to_contain_text("The capital is Paris.")
        assert "Final output" not in body.inner_text() and "FINAL OUTPUT" not in body.inner_text()
        expect(body).to_contain_text("finish reason")
        ctx.close()
