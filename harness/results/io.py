"""Reading and writing run directories: `RUN_DIR/results.jsonl` (one record a line) and `RUN_DIR/run.json`.

    from harness.results.io import load_results
    df = load_results("runs/quickstart-20261124T063000-3f2a")     # one row per case × model × repeat
    df.groupby("model_id")["passed"].mean()

Every reader of records goes through `iter_records`: the runner resuming a run, `load_results`,
`harness compare`, the CI outputs and the HTML report. A half-written last line (a run killed while
writing it) is skipped by all of them alike. The record format is docs/results-record.md.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from harness.errors import InputError
from harness.files import write_atomic
from harness.results.record import CellKey, cell_key

RESULTS_FILE = "results.jsonl"
RUN_FILE = "run.json"
PART_GLOB = (
    "results.part-*.jsonl"  # a worker process's own share of a run, appended to results.jsonl at the end
)


def dumps_line(record: Any) -> bytes:
    """One record as a results.jsonl line (orjson: the runner writes thousands a second)."""
    try:
        return orjson.dumps(record, option=orjson.OPT_NON_STR_KEYS, default=str) + b"\n"
    except TypeError:  # what orjson cannot encode (an integer over 64 bits in a case's vars)
        return (json.dumps(record, ensure_ascii=False, default=str) + "\n").encode()


def loads_line(line: bytes) -> dict[str, Any]:
    """A results.jsonl line as a record; ValueError saying why when it is not a JSON object."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as e:
        raise ValueError(f"not valid JSON ({e})") from None
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
    return record


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic GC while building many small acyclic objects (halves the time for big runs)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# --- reading -----------------------------------------------------------------------------------------


def iter_records(run_dir: str | Path, *, repair: bool = False) -> Iterator[dict[str, Any]]:
    """The records of RUN_DIR, in file order (none when it has no results.jsonl). A half-written last
    line (a run killed mid-write) is skipped, and with repair=True cut off the file so appends start on
    a fresh line. Any other line that is not a JSON object is an InputError naming the file and line."""
    path = Path(run_dir) / RESULTS_FILE
    if not path.is_file():
        return
    good_end = 0
    with path.open("rb") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.endswith(b"\n"):
                last = _last_line(line)
                if last is not None:  # complete but for the newline (a file written by hand)
                    good_end += len(line)
                    yield last
                break
            good_end += len(line)
            if not line.strip():
                continue
            try:
                yield loads_line(line)
            except ValueError as e:
                raise InputError(f"corrupt results record, {e}", path=str(path), line=lineno) from None
    if repair:
        _repair(path, good_end)


def _last_line(line: bytes) -> dict[str, Any] | None:
    """The record of a last line with no newline, or None when it is half-written (the process died
    while writing it: a prefix of a JSON object is never a JSON object)."""
    try:
        return loads_line(line) if line.strip() else None
    except ValueError:
        return None


def _repair(path: Path, good_end: int) -> None:
    """Cut a half-written last line off, and end the file with a newline, so appends start a fresh line."""
    with path.open("r+b") as fh:
        fh.truncate(good_end)
        if good_end:
            fh.seek(good_end - 1)
            if fh.read(1) != b"\n":
                fh.write(b"\n")


def part_path(run_dir: str | Path, name: str) -> Path:
    """The results file one worker process of a run writes alone (`results.part-<name>.jsonl`)."""
    return Path(run_dir) / PART_GLOB.replace("*", name)


def merge_parts(run_dir: str | Path) -> int:
    """Append every worker's part file to RUN_DIR/results.jsonl and delete it; the number of lines moved.

    Done when a run's workers finish, and again when a run is resumed (a killed run leaves its parts).
    A half-written last line of a part (its worker killed mid-write) is dropped, as readers drop it."""
    run_dir = Path(run_dir)
    parts = sorted(run_dir.glob(PART_GLOB))
    if not parts:
        return 0
    target = run_dir / RESULTS_FILE
    if target.is_file() and target.stat().st_size and not _ends_with_newline(target):
        for _ in iter_records(run_dir, repair=True):  # end the file on a whole line before appending
            pass
    moved = 0
    with target.open("ab") as out:
        for part_file in parts:
            data = part_file.read_bytes()
            data = data[: data.rfind(b"\n") + 1]
            out.write(data)
            moved += data.count(b"\n")
        out.flush()
        os.fsync(out.fileno())
    for part_file in parts:
        part_file.unlink()
    return moved


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) == b"\n"


def read_records(run_dir: str | Path) -> list[dict[str, Any]]:
    """Every record of a run directory that must hold results (the report, `harness compare`)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError("run directory does not exist", path=str(run_dir))
    if not (run_dir / RESULTS_FILE).is_file():
        raise InputError(
            f"no {RESULTS_FILE} in this run directory; expected a run directory written by `harness run`",
            path=str(run_dir),
        )
    with paused_gc():
        return list(iter_records(run_dir))


def latest(records: list[dict[str, Any]]) -> dict[CellKey, dict[str, Any]]:
    """One record per cell (the last written, should a cell appear twice), in order of first appearance."""
    return {cell_key(r): r for r in records}


def latest_records(run_dir: str | Path) -> list[dict[str, Any]]:
    return list(latest(list(iter_records(run_dir))).values())


def load_run_meta(run_dir: str | Path) -> dict[str, Any]:
    """RUN_DIR/run.json, or {} when absent (a run still in progress has none yet)."""
    path = Path(run_dir) / RUN_FILE
    if not path.is_file():
        return {}
    try:
        meta = json.loads(path.read_text(encoding="utf-8", errors="replace"))
    except ValueError as e:
        raise InputError(f"corrupt run metadata, not valid JSON: {e}", path=str(path)) from None
    if not isinstance(meta, dict):
        raise InputError("corrupt run metadata: expected a JSON object", path=str(path))
    return meta


def write_json_atomic(path: Path, data: Any) -> None:
    write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def write_run(run_dir: Path, records: list[dict[str, Any]], meta: dict[str, Any]) -> None:
    """A whole run directory at once (the pytest plugin writes its records when the session ends)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(run_dir / RESULTS_FILE, b"".join(dumps_line(r) for r in records))
    write_json_atomic(run_dir / RUN_FILE, meta)


_COLUMNS = (
    "run_id",
    "suite",
    "case_id",
    "model",
    "model_id",
    "provider",
    "repeat",
    "status",
    "passed",
    "text",
    "structured",
    "tool_calls",
    "reasoning",
    "finish_reason",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cache_read_tokens",
    "cache_creation_tokens",
    "reasoning_tokens",
    "cost_usd",
    "cost_avoided_usd",
    "judge_input_tokens",
    "judge_output_tokens",
    "judge_cost_usd",
    "ttft_ms",
    "total_ms",
    "replayed",
    "cassette_path",
    "cassette_state",
    "error",
    "n_assertions",
    "n_failed",
    "assertions",
    "vars",
    "tags",
    "input",
    "transcript",
    "started_at",
    "finished_at",
)


def flatten(record: dict[str, Any]) -> dict[str, Any]:
    out = record.get("output") or {}
    usage = record.get("usage") or {}
    timing = record.get("timing") or {}
    cassette = record.get("cassette") or {}
    assertions = record.get("assertions") or []
    judge = record.get("judge_usage") or {}
    row = {
        k: record.get(k)
        for k in (
            "run_id",
            "suite",
            "case_id",
            "model",
            "model_id",
            "provider",
            "repeat",
            "status",
            "cost_usd",
            "cost_avoided_usd",
            "error",
            "vars",
            "tags",
            "input",
            "transcript",
            "calls",
            "tool_trajectory",
            "started_at",
            "finished_at",
        )
    }
    row.update(
        passed=record.get("status") == "passed",
        text=out.get("text"),
        structured=out.get("structured"),
        tool_calls=out.get("tool_calls"),
        reasoning=out.get("reasoning"),
        finish_reason=out.get("finish_reason"),
        ttft_ms=timing.get("ttft_ms"),
        total_ms=timing.get("total_ms"),
        replayed=timing.get("replayed"),
        cassette_path=cassette.get("path"),
        cassette_state=cassette.get("state"),
        assertions=assertions,
        n_assertions=len(assertions),
        n_failed=sum(1 for a in assertions if not a.get("passed")),
        judge_input_tokens=judge.get("input_tokens", 0),
        judge_output_tokens=judge.get("output_tokens", 0),
        judge_cost_usd=record.get("judge_cost_usd"),
    )
    for k in (
        "input_tokens",
        "output_tokens",
        "total_tokens",
        "cache_read_tokens",
        "cache_creation_tokens",
        "reasoning_tokens",
    ):
        row[k] = usage.get(k)
    return row


def load_results(run_dir: str | Path) -> Any:
    """RUN_DIR's records as a pandas DataFrame, one row per cell, nested fields flattened
    (`text`, `input_tokens`, `ttft_ms`, `cassette_state`, ...; `assertions`, `transcript` kept as lists)."""

    if not Path(run_dir).is_dir():
        raise InputError("run directory does not exist", path=str(run_dir))
    return records_frame(latest_records(run_dir))


def records_frame(records: list[dict[str, Any]]) -> Any:
    """Records as a pandas DataFrame, one row per record, with `load_results`' columns."""
    import pandas as pd

    return pd.DataFrame([flatten(r) for r in records], columns=list(_COLUMNS))


# --- exports ----------------------------------------------------------------------------------------


def scalar_frame(df: Any) -> Any:
    """Nested (dict / list) columns as JSON text, for CSV and Parquet."""
    out = df.copy()
    for col in ("structured", "tool_calls", "assertions", "vars", "tags", "input", "transcript"):
        out[col] = out[col].map(
            lambda v: None if v is None else json.dumps(v, ensure_ascii=False, default=str)
        )
    return out


def export(run_dir: str | Path, path: str | Path, fmt: str | None = None) -> Path:
    """Write the results as CSV, JSON (a list of records) or Parquet (needs pyarrow), by suffix or fmt."""
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt == "json":
        write_atomic(path, json.dumps(latest_records(run_dir), ensure_ascii=False, indent=1, default=str))
        return path
    df = load_results(run_dir)
    path.parent.mkdir(parents=True, exist_ok=True)  # as --junit does; write_atomic makes its own
    if fmt == "csv":
        scalar_frame(df).to_csv(path, index=False)
    elif fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise InputError(
                "Parquet export needs pyarrow: pip install 'harness[parquet]'", path=str(path)
            ) from None
        scalar_frame(df).to_parquet(path, index=False)
    else:
        raise InputError(f"unknown export format {fmt!r}; allowed: csv, json, parquet", path=str(path))
    return path
