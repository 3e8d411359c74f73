"""Runs at scale: cells over worker processes (each writing its own part file), `--shard K/N` slices
merged back with `harness merge` / `harness report` into exactly the run made unsharded, Parquet
partitioned by run and model. Real loopback HTTP to the emulator for recording, offline replay."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.errors import SuiteError
from harness.results.io import iter_records
from harness.runner.runner import Runner, RunOptions
from harness.suite.spec import load_suite
from harness.testing import ProviderEmulator

N_CASES = 7
SUITE = (
    "name: wide\nmodels: [openai:gpt-4.1-mini, {model: 'anthropic:claude-haiku-4-5', id: haiku}]\n"
    "cases:\n"
    + "".join(
        f"  - {{id: c{i}, prompt: 'Question {i}', assert: [{{type: contains, value: 'Question {i}'}}]}}\n"
        for i in range(N_CASES)
    )
    + "  - {id: nope, prompt: 'Question x', assert: [{type: contains, value: 'not in the echo'}]}\n"
)
CELLS = (N_CASES + 1) * 2


@pytest.fixture
def recorded(tmp_path, monkeypatch):
    """A suite recorded from the emulator; afterwards the emulator is gone and replay is offline."""
    monkeypatch.chdir(tmp_path)
    for k in list(os.environ):
        if k.endswith(("_API_KEY", "_BASE_URL")) or k in ("HARNESS_RECORD_MODE", "GITHUB_STEP_SUMMARY"):
            monkeypatch.delenv(k)
    (tmp_path / "wide.yaml").write_text(SUITE, encoding="utf-8")
    with ProviderEmulator() as emu:
        env = {
            "OPENAI_BASE_URL": emu.base_url("openai"),
            "ANTHROPIC_BASE_URL": emu.base_url("anthropic"),
            "OPENAI_API_KEY": "sk-test",
            "ANTHROPIC_API_KEY": "sk-ant-test",
        }
        rec = harness(["run", "wide.yaml", "--record-mode", "all", "--out", "rec", "--no-report"], env)
        assert rec.exit_code == 1, rec.output  # the `nope` case fails on both models
        urls = {k: v for k, v in env.items() if k.endswith("_BASE_URL")}
    monkeypatch.setenv("CI", "1")
    for k, v in urls.items():  # replays match requests built for the recorded base URLs
        monkeypatch.setenv(k, v)
    return tmp_path, urls


def harness(args, env=None):
    return CliRunner().invoke(cli, args, env=env, catch_exceptions=False)


def cells(run_dir) -> dict:
    return {(r["case_id"], r["model_id"], r["repeat"]): r for r in iter_records(run_dir)}


def comparable(record: dict) -> dict:
    """A record less what differs between two replays of the same cell (its run and wall-clock times)."""
    return {k: v for k, v in record.items() if k not in ("run_id", "started_at", "finished_at")}


def summary(run_dir) -> dict:
    return json.loads((run_dir / "run.json").read_text())["summary"]


def test_shards_merged_give_exactly_the_cells_and_figures_of_the_unsharded_run(recorded):
    root, urls = recorded
    full = harness(["run", "wide.yaml", "--out", "full", "--no-report", "--workers", "1"], urls)
    assert full.exit_code == 1 and f"{CELLS} replayed" in full.output
    shard_cells = []
    for k in (1, 2, 3):
        shard = harness(["run", "wide.yaml", "--shard", f"{k}/3", "--out", f"s{k}", "--no-report"], urls)
        assert shard.exit_code == (0 if k == 2 else 1), shard.output  # `nope` is cells 15 and 16
        shard_cells.append(set(cells(root / f"s{k}")))
    assert [len(s) for s in shard_cells] == [6, 5, 5]  # every 3rd cell of the plan: 16 = 6 + 5 + 5
    assert not (shard_cells[0] & shard_cells[1]) and not (shard_cells[1] & shard_cells[2])

    merged = harness(  # a run directory or a results file (as a pytest job's --harness-results) alike
        [
            "merge",
            "s1",
            "s2/results.jsonl",
            "s3",
            "--out",
            "all",
            "--junit",
            "all.xml",
            "--report",
            "all.html",
        ],
        urls,
    )
    assert merged.exit_code == 0, merged.output
    assert f"Merged {CELLS} cells from 3 source(s)" in merged.output and "warning" not in merged.output
    a, b = cells(root / "full"), cells(root / "all")
    assert a.keys() == b.keys() and len(a) == CELLS
    assert all(comparable(a[key]) == comparable(b[key]) for key in a)
    assert summary(root / "all") == summary(root / "full")
    assert (root / "all.html").is_file()
    junit = (root / "all.xml").read_text()
    assert junit.count("<testcase ") == CELLS and junit.count("<failure") == 2

    report = harness(["report", "s1", "s2", "s3", "-o", "joined.html"])
    assert report.exit_code == 0, report.output
    assert "nope" in (root / "joined.html").read_text()


def test_merge_warns_of_a_missing_shard_and_refuses_an_out_that_holds_results(recorded):
    root, urls = recorded
    for k in (1, 3):
        harness(["run", "wide.yaml", "--shard", f"{k}/3", "--out", f"s{k}", "--no-report"], urls)
    merged = harness(["merge", "s1", "s3", "--out", "part"])
    assert merged.exit_code == 0 and "warning: shards 2/3 were not among the sources" in merged.output
    again = harness(["merge", "s1", "--out", "part"])
    assert again.exit_code == 2 and "already holds results" in again.output
    missing = harness(["merge", "s1", "nowhere", "--out", "x"])
    assert missing.exit_code == 2 and "nowhere: does not exist" in missing.output


@pytest.mark.parametrize("value", ["0/2", "3/2", "2", "a/b"])
def test_a_bad_shard_is_one_line_and_exit_2(recorded, value):
    result = harness(["run", "wide.yaml", "--shard", value])
    assert result.exit_code == 2 and "--shard" in result.output and "Traceback" not in result.output


def test_a_sharded_run_resumes_its_own_slice(recorded):
    root, urls = recorded
    first = harness(["run", "wide.yaml", "--shard", "3/3", "--out", "s2", "--no-report"], urls)
    assert first.exit_code == 1
    kept = (root / "s2" / "results.jsonl").read_bytes().splitlines(keepends=True)
    (root / "s2" / "results.jsonl").write_bytes(b"".join(kept[:2]))
    again = harness(["run", "--resume", "s2", "--no-report"], urls)
    assert again.exit_code == 1, again.output
    assert (
        len(cells(root / "s2")) == 5
        and json.loads((root / "s2" / "run.json").read_text())["config"]["shard"] == "3/3"
    )


def test_two_worker_processes_write_part_files_merged_into_one_results_file(recorded):
    root, _ = recorded
    suite = load_suite(root / "wide.yaml")
    result = Runner(suite, RunOptions(workers=2, concurrency=4, out=root / "two")).run()
    assert result.ran == CELLS and result.states == {"replayed": CELLS}
    assert sorted(p.name for p in (root / "two").iterdir()) == ["results.jsonl", "run.json"]
    one = Runner(suite, RunOptions(workers=1, out=root / "one")).run()
    a, b = cells(root / "one"), cells(root / "two")
    assert a.keys() == b.keys()
    for k in a:
        assert comparable(a[k]) == comparable(b[k])
    assert summary(root / "one") == summary(root / "two")
    assert result.counts == one.counts == {"passed": CELLS - 2, "failed": 2, "error": 0, "skipped": 0}


def test_a_killed_workers_part_file_is_merged_on_resume_and_its_half_line_rerun(recorded):
    root, _ = recorded
    suite = load_suite(root / "wide.yaml")
    Runner(suite, RunOptions(workers=1, out=root / "run")).run()
    lines = (root / "run" / "results.jsonl").read_bytes().splitlines(keepends=True)
    # as a run killed while a worker was writing: 10 records merged, 4 in a part file, a 5th half-written
    (root / "run" / "results.jsonl").write_bytes(b"".join(lines[:10]))
    (root / "run" / "results.part-4242.jsonl").write_bytes(b"".join(lines[10:14]) + lines[14][:30])
    resumed = Runner(suite, RunOptions(resume=root / "run", workers=1)).run()
    assert resumed.skipped == 14 and resumed.ran == CELLS - 14
    assert len(list(iter_records(root / "run"))) == CELLS and len(cells(root / "run")) == CELLS
    assert not list((root / "run").glob("results.part-*"))


def test_merge_writes_parquet_partitioned_by_run_and_model(recorded):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    root, urls = recorded
    for k in (1, 2):
        harness(["run", "wide.yaml", "--shard", f"{k}/2", "--out", f"s{k}", "--no-report"], urls)
    merged = harness(["merge", "s1", "s2", "--out", "all", "--parquet", "pq"])
    assert merged.exit_code == 0, merged.output
    run_id = json.loads((root / "all" / "run.json").read_text())["run_id"]
    parts = sorted(p.relative_to(root / "pq").parts[:2] for p in (root / "pq").rglob("*.parquet"))
    assert [p[1] for p in parts] == ["model_id=haiku", "model_id=openai%3Agpt-4.1-mini"]
    assert {p[0] for p in parts} == {f"run_id={run_id}"}
    df = pd.read_parquet(root / "pq")
    assert len(df) == CELLS and set(df["model_id"].astype(str)) == {"haiku", "openai:gpt-4.1-mini"}
    shutil.rmtree(root / "pq")
    # harness run writes its own run into such a dataset too; runs accumulate side by side
    for out in ("r1", "r2"):
        run = harness(["run", "wide.yaml", "--out", out, "--no-report", "--parquet", "many"], urls)
        assert run.exit_code == 1 and "Parquet: many" in run.output
    df = pd.read_parquet(root / "many")
    assert len(df) == 2 * CELLS and df["run_id"].nunique() == 2


CHECKS = """
import os

def check(text, ctx):
    if os.environ.get("HARNESS_TEST_DIE_BUT") not in (None, str(os.getpid())):
        os._exit(3)  # a worker process dies on its first cell, as one killed by the OOM killer would
    return True
"""


def test_a_worker_that_dies_loses_only_its_unfinished_cells_and_resume_completes(recorded, monkeypatch):
    root, _ = recorded
    (root / "checks.py").write_text(CHECKS, encoding="utf-8")
    text = (root / "wide.yaml").read_text(encoding="utf-8")
    (root / "dies.yaml").write_text(
        text.replace(
            "assert: [{type: contains,", "assert: [{type: python, path: 'checks.py:check'}, {type: contains,"
        ),
        encoding="utf-8",
    )
    suite = load_suite(root / "dies.yaml")
    monkeypatch.setenv("HARNESS_TEST_DIE_BUT", str(os.getpid()))  # this process runs cells too: it lives
    first = Runner(suite, RunOptions(workers=2, concurrency=2, out=root / "run")).run()
    # the cells of the chunk the worker died in are missing, nothing else: this process ran the rest
    assert 0 < first.ran < CELLS
    assert len(cells(root / "run")) == first.ran
    assert not list((root / "run").glob("results.part-*"))  # what the workers wrote is in results.jsonl
    assert sum(m["cells"] for m in summary(root / "run").values()) == first.ran  # run.json agrees with it
    monkeypatch.delenv("HARNESS_TEST_DIE_BUT")
    resumed = Runner(suite, RunOptions(resume=root / "run", workers=2, concurrency=2)).run()
    assert resumed.skipped == first.ran and resumed.ran == CELLS - first.ran
    assert len(list(iter_records(root / "run"))) == CELLS and len(cells(root / "run")) == CELLS


def test_a_suite_that_fails_validation_with_two_workers_runs_nothing_and_leaves_no_process(tmp_path):
    """The worker processes start before the cases are validated; a bad case stops them all."""
    bad = SUITE.replace("prompt: 'Question 3'", "prompt: 'Question {{ missing }}'")
    (tmp_path / "bad.yaml").write_text(bad, encoding="utf-8")
    with pytest.raises(SuiteError, match="missing"):
        Runner(load_suite(tmp_path / "bad.yaml"), RunOptions(workers=2, out=tmp_path / "run"))
    assert multiprocessing.active_children() == [] and not (tmp_path / "run").exists()


def test_run_with_two_workers_from_the_cli_replays_every_cell_once(recorded):
    """`--workers 2`: the worker process starts before the suite is parsed; the run equals one process's."""
    root, urls = recorded
    two = harness(["run", "wide.yaml", "--out", "two", "--no-report", "--workers", "2"], urls)
    one = harness(["run", "wide.yaml", "--out", "one", "--no-report", "--workers", "1"], urls)
    assert two.exit_code == one.exit_code == 1, two.output  # the `nope` case fails on both models
    a, b = cells(root / "one"), cells(root / "two")
    assert len(b) == CELLS and a.keys() == b.keys()
    assert all(comparable(a[k]) == comparable(b[k]) for k in a)
    assert not list((root / "two").glob("results.part-*"))  # merged into results.jsonl
    assert summary(root / "one") == summary(root / "two")


def test_a_broken_suite_with_workers_is_one_line_and_no_worker_traceback(tmp_path):
    """The workers of `--workers N` start before the parent parses the suite; its mistake is still one
    line from the parent, exit 2, and nothing from the workers (which parse it too)."""
    (tmp_path / "bad.yaml").write_text(SUITE.replace("cases:", "cases: [", 1), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "run", "bad.yaml", "--workers", "2", "--no-report"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "CI": "1"},
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "bad.yaml" in proc.stderr and "Traceback" not in proc.stdout + proc.stderr
    assert len([line for line in proc.stderr.splitlines() if line.strip()]) == 1, proc.stderr
    assert not (tmp_path / "runs").exists()


SLOW_CHECK = """
import time

def check(text, ctx):
    time.sleep(0.05)
    return True
"""


def test_a_killed_run_leaves_no_worker_process_behind_and_resumes(recorded):
    """SIGKILL of `harness run --workers 2` mid-run (a CI timeout, the OOM killer): its worker process
    exits too instead of waiting forever to report its chunk, and --resume completes the run."""
    root, urls = recorded
    (root / "checks.py").write_text(SLOW_CHECK, encoding="utf-8")
    text = (root / "wide.yaml").read_text(encoding="utf-8")
    slow = text.replace(
        "assert: [{type: contains,", "assert: [{type: python, path: 'checks.py:check'}, {type: contains,"
    )
    (root / "slow.yaml").write_text(slow, encoding="utf-8")
    env = {**os.environ, **urls, "CI": "1"}
    args = [
        sys.executable,
        "-m",
        "harness",
        "run",
        "slow.yaml",
        "--out",
        "run",
        "--no-report",
        "--workers",
        "2",
    ]
    proc = subprocess.Popen(
        [*args, "--concurrency", "1"], cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while not list((root / "run").glob("results.part-*")) and time.monotonic() < deadline:
            time.sleep(0.02)
        part = next((root / "run").glob("results.part-*"))
        worker = int(part.name.split("-")[1].split(".")[0])
        proc.kill()
    finally:
        proc.wait()
    deadline = time.monotonic() + 30
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(worker)
    resumed = subprocess.run(
        [sys.executable, "-m", "harness", "run", "--resume", "run", "--no-report"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert resumed.returncode == 1, resumed.stderr  # the `nope` case fails on both models
    assert len(cells(root / "run")) == CELLS == len(list(iter_records(root / "run")))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by init) is gone for this purpose
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().split(")")[-1].split()[0] != "Z"


def test_auto_runs_a_large_suite_in_one_process_per_core(tmp_path, monkeypatch):
    """`--workers auto` (the default) with 4,000 cells: every core runs some, each cell exactly once."""
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: auto runs one process")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CI", "1")
    (tmp_path / "app.py").write_text(
        "import os\n\ndef pid(inp):\n    return str(os.getpid())\n", encoding="utf-8"
    )
    (tmp_path / "big.yaml").write_text(
        "name: big\nmodels: [openai:gpt-4.1-mini]\ntarget: app.py:pid\nrepeat: 4000\n"
        "cases:\n  - {id: only, prompt: 'which process?'}\n",
        encoding="utf-8",
    )
    result = harness(["run", "big.yaml", "--out", "run", "--no-report"])
    assert result.exit_code == 0, result.output
    records = list(iter_records(tmp_path / "run"))
    assert len(records) == 4000 and len({r["repeat"] for r in records}) == 4000
    pids = {r["output"]["text"] for r in records}
    assert len(pids) == min(os.cpu_count() or 1, 4000) and str(os.getpid()) in pids
