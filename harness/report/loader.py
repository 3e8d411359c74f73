"""Read a run directory (``results.jsonl`` + ``run.json``) with plain :mod:`json`.

The report depends only on the results-record contract (docs/results-record.md), not on the runner.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.errors import InputError

from .stats import paused_gc

RESULTS_FILE = "results.jsonl"
RUN_FILE = "run.json"


class ReportInputError(InputError):
    """The run directory is missing, has no results, or holds a corrupt line."""


def load_records(run_dir: str | Path) -> list[dict[str, Any]]:
    """Every record of ``RUN_DIR/results.jsonl``; blank lines are skipped, a corrupt line raises."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ReportInputError("run directory does not exist", path=str(run_dir))
    path = run_dir / RESULTS_FILE
    if not path.is_file():
        raise ReportInputError(
            f"no {RESULTS_FILE} in this run directory (expected the runner's results records)",
            path=str(run_dir),
        )
    records: list[dict[str, Any]] = []
    with paused_gc(), path.open("r", encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ReportInputError(
                    f"corrupt results record, not valid JSON ({exc.msg} at column {exc.colno})",
                    path=str(path),
                    line=lineno,
                ) from None
            if not isinstance(rec, dict):
                raise ReportInputError(
                    f"corrupt results record: expected a JSON object, got {type(rec).__name__}",
                    path=str(path),
                    line=lineno,
                )
            records.append(rec)
    return records


def load_run_meta(run_dir: str | Path) -> dict[str, Any]:
    """``RUN_DIR/run.json`` or ``{}`` when absent (a run still in progress has none yet)."""
    path = Path(run_dir) / RUN_FILE
    if not path.is_file():
        return {}
    try:
        meta = json.loads(path.read_text(encoding="utf-8", errors="replace"))
    except json.JSONDecodeError as exc:
        raise ReportInputError(
            f"corrupt run metadata, not valid JSON ({exc.msg})", path=str(path), line=exc.lineno
        ) from None
    if not isinstance(meta, dict):
        raise ReportInputError("corrupt run metadata: expected a JSON object", path=str(path))
    return meta


def load_run(run_dir: str | Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    return load_records(run_dir), load_run_meta(run_dir)
