"""One run, one set of figures: run.json, the console summary of `harness run`, `harness compare` and the
HTML report's embedded data all show the same per-model numbers; and a half-written last line of
results.jsonl is read the same way by every reader."""

from __future__ import annotations

import json
import os
import re

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.results.io import RESULTS_FILE, dumps_line, iter_records, load_results
from harness.results.record import RECORD_VERSION
from harness.results.summary import format_ms, format_rate, format_usd
from harness.testing import ProviderEmulator

SUITE = """\
name: figures
models: [openai:gpt-4.1-mini, {model: "anthropic:claude-haiku-4-5", id: haiku}]
repeat: 3
cases:
  - id: hello
    prompt: "Say hello to Ann"
    assert: [{type: icontains, value: Ann}]
  - id: never
    prompt: "Say hello"
    assert: [{type: icontains, value: "a phrase the emulator never says"}]
"""
FIGURES = ("pass_rate", "latency_p50_ms", "latency_p95_ms", "latency_mean_ms", "cost_usd")


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for k in list(os.environ):
        if k.endswith(("_API_KEY", "_BASE_URL")) or k in ("CI", "HARNESS_RECORD_MODE", "GITHUB_STEP_SUMMARY"):
            monkeypatch.delenv(k)
    (tmp_path / "figures.yaml").write_text(SUITE, encoding="utf-8")
    return tmp_path


def invoke(args, env=None):
    return CliRunner().invoke(cli, args, env=env, catch_exceptions=False)


def table_row(output: str, model: str) -> list[str]:
    """The cells of the rich table row that starts with `model`."""
    for line in output.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) > 2 and cells[1] == model:
            return cells[1:-1]
    raise AssertionError(f"no table row for {model!r} in:\n{output}")


def embedded_report_data(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S)
    assert m, "the report has no embedded data"
    return json.loads(m.group(1))


def test_one_run_shows_the_same_figures_everywhere(workdir):
    with ProviderEmulator(latency=0.002) as emu:
        env = {
            "OPENAI_BASE_URL": emu.base_url("openai"),
            "ANTHROPIC_BASE_URL": emu.base_url("anthropic"),
            "OPENAI_API_KEY": "sk-test",
            "ANTHROPIC_API_KEY": "sk-ant-test",
        }
        run = invoke(["run", "figures.yaml", "--no-cassettes", "--out", "run", "--report", "r.html"], env=env)
    assert run.exit_code == 1, run.output  # the `never` case fails on purpose: pass rate 50%
    summary = json.loads((workdir / "run" / "run.json").read_text(encoding="utf-8"))["summary"]
    assert set(summary) == {"openai:gpt-4.1-mini", "haiku"}
    compared = invoke(["compare", "run", "run", "--json"])
    assert compared.exit_code == 0, compared.output
    compare_models = json.loads(compared.output)["models"]
    compare_text = invoke(["compare", "run", "run"]).output
    report = {s["model_id"]: s for s in embedded_report_data((workdir / "r.html").read_text())["summary"]}
    for model, s in summary.items():
        assert s["pass_rate"] == 0.5 and s["cells"] == 6
        assert s["latency_p50_ms"] is not None and s["latency_mean_ms"] is not None
        assert s["cost_usd"] > 0  # both models are priced
        for figure in FIGURES:
            assert report[model][figure] == s[figure], (model, figure)
            assert compare_models[model][f"{figure}_a"] == s[figure], (model, figure)
        printed = [
            format_rate(s["pass_rate"]),
            format_ms(s["latency_p50_ms"]),
            format_ms(s["latency_p95_ms"]),
            format_ms(s["latency_mean_ms"]),
        ]
        console_row = table_row(run.output, model)
        assert console_row[5:9] == printed and console_row[11] == format_usd(s["cost_usd"])
        assert table_row(compare_text, model)[1:5] == printed
        assert table_row(compare_text, model)[6] == format_usd(s["cost_usd"])


def write_run_dir(run_dir, records):
    run_dir.mkdir()
    (run_dir / RESULTS_FILE).write_bytes(b"".join(dumps_line(r) for r in records))


def record(case: str, **extra) -> dict:
    return {
        "run_id": "r1",
        "suite": "s",
        "case_id": case,
        "model": "m",
        "model_id": "m",
        "repeat": 0,
        "status": "passed",
        "timing": {"ttft_ms": 10.0, "total_ms": 20.0, "replayed": False},
        **extra,
    }


def test_a_half_written_last_line_is_skipped_by_every_reader(tmp_path):
    run_dir = tmp_path / "run"
    write_run_dir(run_dir, [record("a"), record("b"), record("c")])
    with (run_dir / RESULTS_FILE).open("ab") as fh:
        fh.write(dumps_line(record("d"))[:25])  # the run was killed while writing this line

    assert len(load_results(run_dir)) == 3
    out = invoke(["report", str(run_dir), "-o", str(tmp_path / "r.html")])
    assert out.exit_code == 0, out.output
    data = embedded_report_data((tmp_path / "r.html").read_text())
    assert data["meta"]["records"] == 3 and data["summary"][0]["cells"] == 3
    diff = invoke(["compare", str(run_dir), str(run_dir), "--json"])
    assert diff.exit_code == 0 and json.loads(diff.output)["models"]["m"]["pass_rate_a"] == 1.0


def test_a_corrupt_line_before_the_last_is_one_located_error_everywhere(tmp_path):
    run_dir = tmp_path / "run"
    write_run_dir(run_dir, [record("a")])
    with (run_dir / RESULTS_FILE).open("ab") as fh:
        fh.write(b'{"case_id": "b", "status": \n' + dumps_line(record("c")))
    for args in (["report", str(run_dir)], ["compare", str(run_dir), str(run_dir)]):
        out = invoke(args)
        assert out.exit_code == 2
        assert out.output.strip() == out.output.strip().splitlines()[0]  # one line, no traceback
        assert f"{run_dir / RESULTS_FILE}:2: corrupt results record, not valid JSON" in out.output


def test_a_last_line_without_its_newline_is_read_and_repaired(tmp_path):
    run_dir = tmp_path / "run"
    write_run_dir(run_dir, [record("a")])
    with (run_dir / RESULTS_FILE).open("ab") as fh:
        fh.write(dumps_line(record("b")).rstrip(b"\n"))  # complete, but written by hand
    assert [r["case_id"] for r in iter_records(run_dir, repair=True)] == ["a", "b"]
    assert (run_dir / RESULTS_FILE).read_bytes().endswith(b"}\n")  # an append starts on a fresh line


def test_records_carry_a_version_and_files_without_one_still_read(workdir, tmp_path):
    old = tmp_path / "old"
    write_run_dir(old, [record("a")])  # written before records had a version
    assert "version" not in next(iter_records(old))
    assert len(load_results(old)) == 1
    with ProviderEmulator() as emu:
        env = {"OPENAI_BASE_URL": emu.base_url("openai"), "OPENAI_API_KEY": "sk-test"}
        invoke(
            ["run", "figures.yaml", "--no-cassettes", "--models", "openai:gpt-4.1-mini", "--out", "new"],
            env=env,
        )
    assert {r["version"] for r in iter_records(workdir / "new")} == {RECORD_VERSION}
