"""The run directory a run writes: a fresh one (never one that already holds results) or one to resume.

Chosen while the runner validates, so a wrong `--out` or `--resume` is an input error before any cell
runs; `run.json` names the suite, and resuming another suite's run is refused. Its records are read
back here too: what a resumed run keeps (`resume_state`) and, after a worker pool broke, what reached
the file (`recount`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import InputError
from harness.files import write_atomic
from harness.results.io import (
    RESULTS_FILE,
    RUN_FILE,
    dumps_line,
    iter_records,
    latest,
    load_run_meta,
    merge_parts,
)
from harness.results.summary import SummaryBuilder
from harness.runner.options import RunOptions, new_run_id
from harness.suite.spec import slugify


def choose_run_dir(suite_name: str, opts: RunOptions) -> tuple[str, Path, bool]:
    """(run id, run directory, resuming) for a run of `suite_name` under `opts`."""
    if opts.resume is not None:
        return _resumed_run_dir(suite_name, Path(opts.resume), opts)
    run_id = opts.run_id or new_run_id()
    run_dir = Path(opts.out) if opts.out else Path(opts.runs_dir) / f"{slugify(suite_name)}-{run_id}"
    results = run_dir / RESULTS_FILE
    if results.is_file() and results.stat().st_size > 0:
        raise InputError(
            f"already holds results; resume it with --resume {run_dir} or choose another --out",
            path=str(run_dir),
        )
    return run_id, run_dir, False


def _resumed_run_dir(suite_name: str, run_dir: Path, opts: RunOptions) -> tuple[str, Path, bool]:
    meta = load_run_meta(run_dir)
    if not meta and not (run_dir / RESULTS_FILE).is_file():
        raise InputError("nothing to resume: no run.json or results.jsonl here", path=str(run_dir))
    if meta.get("suite") not in (None, suite_name):
        raise InputError(
            f"this run is of suite {meta.get('suite')!r}, not {suite_name!r}",
            path=str(run_dir / RUN_FILE),
        )
    return str(meta.get("run_id") or opts.run_id or new_run_id()), run_dir, True


def resume_state(
    run_dir: Path, summary: SummaryBuilder, counts: dict[str, int], *, retry_errors: bool
) -> set[tuple[str, str, int]]:
    """Keys of finished cells; skipped records (a spent --max-cost) are dropped from the file, and with
    retry_errors errored ones too: those cells run again."""
    path = run_dir / RESULTS_FILE
    merge_parts(run_dir)  # a killed run's worker processes left their records in part files
    kept: list[dict[str, Any]] = []
    dropped = False
    for rec in iter_records(run_dir, repair=True):
        if rec.get("status") == "skipped" or (retry_errors and rec.get("status") == "error"):
            dropped = True
            continue
        kept.append(rec)
    if dropped:
        write_atomic(path, b"".join(dumps_line(rec) for rec in kept))
    cells = latest(kept)  # should a cell appear twice, its last record counts, as everywhere
    for rec in cells.values():
        summary.add(rec)
        counts[str(rec.get("status"))] = counts.get(str(rec.get("status")), 0) + 1
    return set(cells)


def recount(
    run_dir: Path, done: set[tuple[str, str, int]]
) -> tuple[SummaryBuilder, dict[str, int], dict[str, int], int]:
    """Summary, counts, cassette states and cells run, from the records on disk (a run whose worker
    pool broke: what reached the file is what counts)."""
    summary = SummaryBuilder()
    counts: dict[str, int] = {"passed": 0, "failed": 0, "error": 0}
    states: dict[str, int] = {}
    ran = 0
    for key, rec in latest(list(iter_records(run_dir))).items():
        summary.add(rec)
        counts[str(rec.get("status"))] = counts.get(str(rec.get("status")), 0) + 1
        if key not in done:
            ran += 1
            state = str((rec.get("cassette") or {}).get("state"))
            states[state] = states.get(state, 0) + 1
    return summary, counts, states, ran
