"""The run directory a run writes: a fresh one (never one that already holds results) or one to resume.

Chosen while the runner validates, so a wrong `--out` or `--resume` is an input error before any cell
runs; `run.json` names the suite, and resuming another suite's run is refused.
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import InputError
from harness.results.io import RESULTS_FILE, RUN_FILE, load_run_meta
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
