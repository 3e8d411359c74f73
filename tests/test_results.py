"""Results: DataFrame loading, per-model summary, exports, JUnit, GitHub step summary, comparing runs."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from harness.errors import InputError
from harness.results.ci_outputs import write_github_summary, write_junit
from harness.results.compare import compare_runs
from harness.results.io import dumps_line, export, iter_records, load_results
from harness.results.summary import percentile, summarize


def rec(
    case: str,
    model: str = "m1",
    status: str = "passed",
    total: float = 100.0,
    ttft: float = 40.0,
    repeat: int = 0,
    cost: float | None = 0.001,
    replayed: bool = False,
) -> dict:
    return {
        "run_id": "r1",
        "suite": "s",
        "case_id": case,
        "model": f"openai:{model}",
        "model_id": model,
        "provider": "openai",
        "repeat": repeat,
        "vars": {"x": 1},
        "tags": ["t"],
        "status": status,
        "assertions": [
            {"type": "icontains", "passed": status == "passed", "reason": f"reason {case}", "score": None}
        ],
        "input": [{"role": "user", "content": "hi"}],
        "output": {
            "text": f"answer {case}",
            "tool_calls": [],
            "structured": None,
            "reasoning": None,
            "finish_reason": "stop",
        },
        "transcript": [],
        "usage": {
            "input_tokens": 10,
            "output_tokens": 5,
            "total_tokens": 15,
            "cache_read_tokens": 0,
            "cache_creation_tokens": 0,
            "reasoning_tokens": 0,
        },
        "cost_usd": cost,
        "cost_avoided_usd": cost if replayed and cost else 0.0,
        "timing": {"ttft_ms": ttft, "total_ms": total, "replayed": replayed},
        "cassette": {"path": f"cassettes/s/{case}/{model}.yaml", "state": "replayed" if replayed else "live"},
        "error": "ModelAPIError: boom" if status == "error" else None,
        "started_at": "2026-11-24T06:30:00.000Z",
        "finished_at": "2026-11-24T06:30:00.100Z",
    }


def make_run(tmp_path, name: str, records: list[dict], run_id: str = "r1"):
    run_dir = tmp_path / name
    run_dir.mkdir()
    (run_dir / "results.jsonl").write_bytes(b"".join(dumps_line(r) for r in records))
    (run_dir / "run.json").write_text(
        json.dumps({"run_id": run_id, "suite": "s", "summary": summarize(records)})
    )
    return run_dir


RECORDS = [
    rec("a", total=100),
    rec("b", total=300, status="failed"),
    rec("c", status="error", total=None),
    rec("a", model="m2", total=50, replayed=True),
    rec("b", model="m2", total=70, cost=None),
]


def test_load_results_gives_one_flat_row_per_cell(tmp_path):
    df = load_results(make_run(tmp_path, "run", RECORDS))
    assert len(df) == 5
    assert {
        "case_id",
        "model_id",
        "status",
        "passed",
        "text",
        "input_tokens",
        "ttft_ms",
        "total_ms",
        "cost_usd",
        "cassette_state",
        "assertions",
        "error",
    } <= set(df.columns)
    assert df.groupby("model_id")["passed"].sum().to_dict() == {"m1": 1, "m2": 2}
    row = df[(df.case_id == "a") & (df.model_id == "m1")].iloc[0]
    assert row.text == "answer a" and row.input_tokens == 10 and row.n_failed == 0


def test_load_results_of_a_missing_directory_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="run directory does not exist"):
        load_results(tmp_path / "nope")


def test_summary_per_model():
    s = summarize(RECORDS)
    m1, m2 = s["m1"], s["m2"]
    assert (m1["cells"], m1["passed"], m1["failed"], m1["errors"]) == (3, 1, 1, 1)
    assert m1["pass_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert m1["latency_p50_ms"] == 200.0 and m1["latency_p95_ms"] == 290.0  # errors have no latency
    assert m1["input_tokens"] == 30 and m1["cost_usd"] == pytest.approx(0.003)
    assert m2["cost_usd"] == pytest.approx(0.001) and m2["cost_avoided_usd"] == pytest.approx(0.001)
    assert percentile([], 50) is None and percentile([5.0], 95) == 5.0


def test_exports_csv_json_parquet(tmp_path):
    run = make_run(tmp_path, "run", RECORDS)
    import pandas as pd

    csv = pd.read_csv(export(run, tmp_path / "out.csv"))
    assert len(csv) == 5 and json.loads(csv.loc[0, "vars"]) == {"x": 1}
    data = json.loads(export(run, tmp_path / "out.json").read_text())
    assert [r["case_id"] for r in data] == ["a", "b", "c", "a", "b"]
    pytest.importorskip("pyarrow")
    pq = pd.read_parquet(export(run, tmp_path / "out.parquet"))
    assert list(pq.case_id) == ["a", "b", "c", "a", "b"]
    with pytest.raises(InputError, match="allowed: csv, json, parquet"):
        export(run, tmp_path / "out.xlsx")


def test_a_torn_last_line_is_skipped_and_repaired(tmp_path):
    run = make_run(tmp_path, "run", RECORDS[:2])
    path = run / "results.jsonl"
    path.write_bytes(path.read_bytes() + dumps_line(RECORDS[2])[:30])
    assert len(list(iter_records(run))) == 2
    list(iter_records(run, repair=True))
    assert path.read_bytes().endswith(b"\n") and len(path.read_bytes().splitlines()) == 2


def test_junit_has_one_testcase_per_cell_with_properties(tmp_path):
    run = make_run(tmp_path, "run", RECORDS)
    root = ET.parse(write_junit([run], tmp_path / "junit.xml")).getroot()
    suite = root.find("testsuite")
    assert suite.get("name") == "s" and suite.get("tests") == "5"
    assert suite.get("failures") == "1" and suite.get("errors") == "1"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["a", "b", "c", "a", "b"]
    props = {p.get("name"): p.get("value") for p in cases[0].find("properties")}
    assert props["latency_ms"] == "100" and props["input_tokens"] == "10" and props["ttft_ms"] == "40.0"
    assert cases[1].find("failure").get("message") == "icontains: reason b"
    assert cases[2].find("error").get("message") == "ModelAPIError: boom"


def test_github_step_summary_when_the_variable_is_set(tmp_path, monkeypatch):
    run = make_run(tmp_path, "run", RECORDS)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert write_github_summary([run]) is None
    target = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(target))
    write_github_summary([run])
    text = target.read_text()
    assert "| model | passed |" in text and "| m1 | 1 | 1 | 1 | 33.33% |" in text
    assert "**b** × m1 (failed): reason b" in text


def test_compare_finds_regressions_fixes_and_latency_changes(tmp_path):
    a = make_run(tmp_path, "a", [rec("x"), rec("y", status="failed"), rec("z", total=100), rec("gone")], "ra")
    b = make_run(tmp_path, "b", [rec("x", status="failed"), rec("y"), rec("z", total=400), rec("new")], "rb")
    diff = compare_runs(a, b)
    assert [r["case_id"] for r in diff["regressions"]] == ["x"]
    assert diff["regressions"][0]["reason"] == "reason x"
    assert [r["case_id"] for r in diff["fixes"]] == ["y"]
    assert [r["case_id"] for r in diff["latency_changes"]] == ["z"]
    assert diff["latency_changes"][0]["change"] == 3.0
    assert diff["new"] == ["new × m1"] and diff["removed"] == ["gone × m1"]
    assert diff["a"]["run_id"] == "ra" and diff["models"]["m1"]["pass_rate_a"] == 0.75
    with pytest.raises(InputError, match="expected a run directory"):
        compare_runs(a, tmp_path)
