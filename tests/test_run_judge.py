"""`llm_judge` in a run, through the CLI against the emulator: the judge's calls are retried and
limited like model calls, a judge that gives no verdict makes the cell `error` (so `--retry-errors`
runs it again), and the judge's tokens and cost are counted apart from the model's."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.results.io import iter_records
from harness.testing import Fault, Reply

SUITE = """\
name: judged
models: [openai:gpt-4.1-mini]
judge: openai:gpt-4.1-nano
cases:
  - id: nolan
    prompt: Who directed Inception?
    assert: [{type: llm_judge, rubric: names Christopher Nolan}]
"""

VERDICT = '{"pass": true, "score": 0.9, "reason": "Names Nolan."}'


@pytest.fixture
def workdir(tmp_path, monkeypatch, emulator):
    monkeypatch.chdir(tmp_path)
    for k in list(os.environ):
        if k.endswith(("_API_KEY", "_BASE_URL")) or k in ("CI", "HARNESS_RECORD_MODE", "GITHUB_STEP_SUMMARY"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("OPENAI_BASE_URL", emulator.base_url("openai"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    (tmp_path / "judged.yaml").write_text(SUITE, encoding="utf-8")
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["run", *args], catch_exceptions=False)
    return result.exit_code, result.output


def only_record(run_dir) -> dict:
    [record] = list(iter_records(run_dir))
    return record


def test_a_rate_limited_judge_is_retried_and_its_tokens_are_counted_apart(workdir, emulator):
    emulator.queue(
        Reply(text="Christopher Nolan.", usage={"input_tokens": 12, "output_tokens": 3}),
        Fault.rate_limit(retry_after=0.01),
        Reply(text=VERDICT, usage={"input_tokens": 147, "output_tokens": 14}),
    )
    code, out = run("judged.yaml", "--no-cassettes", "--out", "runs/a", "--report", "a.html")
    assert code == 0, out
    record = only_record(workdir / "runs/a")
    assert record["status"] == "passed"
    assert record["usage"]["input_tokens"] == 12 and record["usage"]["output_tokens"] == 3
    assert record["judge_usage"]["input_tokens"] == 147 and record["judge_usage"]["output_tokens"] == 14
    assert record["judge_cost_usd"] > 0
    assert record["judge_cost_usd"] != record["cost_usd"]
    summary = json.loads((workdir / "runs/a/run.json").read_text())["summary"]["openai:gpt-4.1-mini"]
    assert (summary["judge_input_tokens"], summary["judge_output_tokens"]) == (147, 14)
    assert summary["judge_cost_usd"] == pytest.approx(record["judge_cost_usd"])
    assert summary["input_tokens"] == 12  # the model's figures stay the model's
    assert "Judge calls: 147/14 tokens in/out, $0.0000203" in out
    from harness.results import load_results

    row = load_results(workdir / "runs/a").iloc[0]
    assert (row["judge_input_tokens"], row["judge_output_tokens"]) == (147, 14)
    assert row["input_tokens"] == 12 and row["judge_cost_usd"] == pytest.approx(record["judge_cost_usd"])
    html = (workdir / "a.html").read_text(encoding="utf-8")
    assert "<dt>Judge tokens / cost</dt><dd>147 / 14 · $" in html
    judge_calls = [r for r in emulator.requests_for("openai") if r.body.get("model") == "gpt-4.1-nano"]
    assert len(judge_calls) == 2  # the 429, then the verdict


def test_a_judge_that_cannot_answer_makes_the_cell_error_and_retry_errors_reruns_it(workdir, emulator):
    emulator.queue(
        Reply(text="Christopher Nolan."),
        Fault.http(400, "the judge request was refused"),
    )
    code, out = run("judged.yaml", "--no-cassettes", "--out", "runs/b", "--no-report")
    assert code == 1
    record = only_record(workdir / "runs/b")
    assert record["status"] == "error"
    assert record["error"].startswith("JudgeError: the judge openai:gpt-4.1-nano could not answer: ")
    assert "ModelInvalidRequestError" in record["error"]
    assert record["output"]["text"] == "Christopher Nolan."  # the model's answer is kept

    emulator.queue(Reply(text="Christopher Nolan."), Reply(text=VERDICT))
    code, out = run("--resume", "runs/b", "--retry-errors", "--no-cassettes", "--no-report")
    assert code == 0, out
    assert only_record(workdir / "runs/b")["status"] == "passed"


def test_a_judge_reply_that_is_no_verdict_is_an_error_not_a_failure(workdir, emulator):
    emulator.queue(Reply(text="Christopher Nolan."), Reply(text="Looks fine to me!"))
    code, _ = run("judged.yaml", "--no-cassettes", "--out", "runs/c", "--no-report")
    assert code == 1
    record = only_record(workdir / "runs/c")
    assert record["status"] == "error"
    assert record["error"] == (
        'JudgeError: the judge openai:gpt-4.1-nano did not answer with a JSON object {"pass", "score", '
        "\"reason\"}; it said 'Looks fine to me!'"
    )


TWO_JUDGES = """\
name: two
models: [openai:gpt-4.1-mini]
judge: openai:gpt-4.1-nano
cases:
  - id: nolan
    prompt: Who directed Inception?
    assert:
      - {type: llm_judge, rubric: names Christopher Nolan}
      - {type: llm_judge, rubric: is one sentence, model: "anthropic:claude-haiku-4-5"}
"""


def test_each_llm_judge_asks_its_own_judge_and_both_are_counted(workdir, emulator, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_BASE_URL", emulator.base_url("anthropic"))
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    (workdir / "two.yaml").write_text(TWO_JUDGES, encoding="utf-8")
    emulator.queue(
        Reply(text="Christopher Nolan.", usage={"input_tokens": 12, "output_tokens": 3}),
        Reply(text=VERDICT, usage={"input_tokens": 100, "output_tokens": 10}),
        Reply(text=VERDICT, usage={"input_tokens": 200, "output_tokens": 20}),
    )
    code, out = run("two.yaml", "--no-cassettes", "--out", "runs/two", "--no-report")
    assert code == 0, out
    nano = [r for r in emulator.requests_for("openai") if r.body.get("model") == "gpt-4.1-nano"]
    haiku = emulator.requests_for("anthropic")
    assert len(nano) == 1 and "names Christopher Nolan" in json.dumps(nano[0].body)
    assert len(haiku) == 1 and "is one sentence" in json.dumps(haiku[0].body)
    record = only_record(workdir / "runs/two")
    assert (record["judge_usage"]["input_tokens"], record["judge_usage"]["output_tokens"]) == (300, 30)
    nano_cost = (100 * 0.10 + 10 * 0.40) / 1e6  # each judge priced as itself (harness/data/prices.yaml)
    haiku_cost = (200 * 1.00 + 20 * 5.00) / 1e6
    assert record["judge_cost_usd"] == pytest.approx(nano_cost + haiku_cost)
