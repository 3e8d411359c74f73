"""Results of a run: read `RUN_DIR/results.jsonl`, summarise per model, export, compare two runs.

    from harness.results.io import load_results
    df = load_results("runs/quickstart-20261124T063000-3f2a")     # one row per case × model × repeat
    df.groupby("model_id")["passed"].mean()

The record format is docs/results-record.md.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from harness.errors import InputError
from harness.files import write_atomic

RESULTS_FILE = "results.jsonl"
RUN_FILE = "run.json"

_orjson: Any = None
try:  # 3-5x faster than json for the runner's per-cell writes; a declared dependency, but stay robust
    import orjson

    _orjson = orjson
except ImportError:  # pragma: no cover
    pass


def dumps_line(record: dict[str, Any]) -> bytes:
    if _orjson is not None:
        try:
            return _orjson.dumps(record, option=_orjson.OPT_NON_STR_KEYS, default=str) + b"\n"
        except TypeError:
            pass
    return (json.dumps(record, ensure_ascii=False, default=str) + "\n").encode()


def _loads(line: bytes) -> Any:
    return _orjson.loads(line) if _orjson is not None else json.loads(line)


def cell_key(record: dict[str, Any]) -> tuple[str, str, int]:
    return (
        str(record.get("case_id")),
        str(record.get("model_id") or record.get("model")),
        int(record.get("repeat") or 0),
    )


# --- reading -----------------------------------------------------------------------------------------


def iter_records(run_dir: str | Path, *, repair: bool = False) -> Iterator[dict[str, Any]]:
    """The records of RUN_DIR, in file order. A truncated last line (a run killed mid-write) is
    skipped, and with repair=True cut off the file so appends start on a fresh line."""
    path = Path(run_dir) / RESULTS_FILE
    if not path.is_file():
        return
    good_end = 0
    with path.open("rb") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                good_end += len(line)
                continue
            if not line.endswith(b"\n"):
                break  # a partial write: the process died before the newline
            try:
                record = _loads(line)
            except ValueError:
                raise InputError(
                    "corrupt results record, not valid JSON", path=str(path), line=lineno
                ) from None
            good_end += len(line)
            if isinstance(record, dict):
                yield record
    if repair and path.stat().st_size != good_end:
        with path.open("r+b") as fh:
            fh.truncate(good_end)


def latest_records(run_dir: str | Path) -> list[dict[str, Any]]:
    """One record per cell (the last written, should a cell appear twice)."""
    by_key: dict[tuple[str, str, int], dict[str, Any]] = {}
    for r in iter_records(run_dir):
        by_key[cell_key(r)] = r
    return list(by_key.values())


def load_run_meta(run_dir: str | Path) -> dict[str, Any]:
    path = Path(run_dir) / RUN_FILE
    if not path.is_file():
        return {}
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise InputError(f"corrupt run metadata: {e}", path=str(path)) from None
    return meta if isinstance(meta, dict) else {}


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
    import pandas as pd

    if not Path(run_dir).is_dir():
        raise InputError("run directory does not exist", path=str(run_dir))
    rows = [flatten(r) for r in latest_records(run_dir)]
    return pd.DataFrame(rows, columns=list(_COLUMNS))


# --- exports ----------------------------------------------------------------------------------------


def _scalar_frame(df: Any) -> Any:
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
        path.write_text(
            json.dumps(latest_records(run_dir), ensure_ascii=False, indent=1, default=str), encoding="utf-8"
        )
        return path
    df = load_results(run_dir)
    if fmt == "csv":
        _scalar_frame(df).to_csv(path, index=False)
    elif fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise InputError(
                "Parquet export needs pyarrow: pip install 'harness[parquet]'", path=str(path)
            ) from None
        _scalar_frame(df).to_parquet(path, index=False)
    else:
        raise InputError(f"unknown export format {fmt!r}; allowed: csv, json, parquet", path=str(path))
    return path


# --- summary ----------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (as numpy's default); None for no values."""
    if not values:
        return None
    s = sorted(values)
    pos = (len(s) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return round(s[lo] + (s[hi] - s[lo]) * (pos - lo), 3)


class SummaryBuilder:
    """Per-model summary built one record at a time (the runner never holds all records)."""

    def __init__(self) -> None:
        self.models: dict[str, dict[str, Any]] = {}

    def add(self, record: dict[str, Any]) -> None:
        mid = str(record.get("model_id") or record.get("model"))
        m = self.models.get(mid)
        if m is None:
            m = self.models[mid] = {
                "cells": 0,
                "passed": 0,
                "failed": 0,
                "errors": 0,
                "lat": [],
                "ttft": [],
                "input_tokens": 0,
                "output_tokens": 0,
                "cost": None,
                "avoided": 0.0,
            }
        m["cells"] += 1
        status = record.get("status")
        m["passed" if status == "passed" else "failed" if status == "failed" else "errors"] += 1
        timing = record.get("timing") or {}
        if status != "error" and timing.get("total_ms") is not None:
            m["lat"].append(float(timing["total_ms"]))
        if status != "error" and timing.get("ttft_ms") is not None:
            m["ttft"].append(float(timing["ttft_ms"]))
        usage = record.get("usage") or {}
        m["input_tokens"] += int(usage.get("input_tokens") or 0)
        m["output_tokens"] += int(usage.get("output_tokens") or 0)
        if record.get("cost_usd") is not None:
            m["cost"] = (m["cost"] or 0.0) + float(record["cost_usd"])
        m["avoided"] += float(record.get("cost_avoided_usd") or 0.0)

    def summary(self) -> dict[str, dict[str, Any]]:
        out = {}
        for mid, m in self.models.items():
            out[mid] = {
                "cells": m["cells"],
                "passed": m["passed"],
                "failed": m["failed"],
                "errors": m["errors"],
                "pass_rate": round(m["passed"] / m["cells"], 4) if m["cells"] else None,
                "latency_p50_ms": percentile(m["lat"], 50),
                "latency_p95_ms": percentile(m["lat"], 95),
                "ttft_p50_ms": percentile(m["ttft"], 50),
                "input_tokens": m["input_tokens"],
                "output_tokens": m["output_tokens"],
                "cost_usd": round(m["cost"], 8) if m["cost"] is not None else None,
                "cost_avoided_usd": round(m["avoided"], 8),
            }
        return out


def summarize(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The per-model summary of run.json from any records."""
    b = SummaryBuilder()
    for r in records:
        b.add(r)
    return b.summary()


# --- compare ----------------------------------------------------------------------------------------


def _cell_name(key: tuple[str, str, int]) -> str:
    case, model, rep = key
    return f"{case} × {model}" + (f" #{rep}" if rep else "")


def compare_runs(run_a: str | Path, run_b: str | Path, *, latency_threshold: float = 0.2) -> dict[str, Any]:
    """What changed from run A to run B: regressions (passed → failed/error), fixes, new and removed
    cells, per-model pass rate / latency / cost, and cells whose latency moved by more than the
    threshold (a fraction, and at least 50 ms)."""
    for d in (run_a, run_b):
        if not (Path(d) / RESULTS_FILE).is_file():
            raise InputError(
                f"no {RESULTS_FILE} here; expected a run directory written by `harness run`", path=str(d)
            )
    a = {cell_key(r): r for r in latest_records(run_a)}
    b = {cell_key(r): r for r in latest_records(run_b)}
    regressions, fixes, latency = [], [], []
    for key in sorted(a.keys() & b.keys()):
        ra, rb = a[key], b[key]
        entry = {
            "case_id": key[0],
            "model_id": key[1],
            "repeat": key[2],
            "cell": _cell_name(key),
            "before": ra.get("status"),
            "after": rb.get("status"),
        }
        if ra.get("status") == "passed" and rb.get("status") != "passed":
            reasons = [x.get("reason") for x in rb.get("assertions") or [] if not x.get("passed")]
            entry["reason"] = rb.get("error") or "; ".join(str(r) for r in reasons) or None
            regressions.append(entry)
        elif ra.get("status") != "passed" and rb.get("status") == "passed":
            fixes.append(entry)
        la, lb = (ra.get("timing") or {}).get("total_ms"), (rb.get("timing") or {}).get("total_ms")
        if la and lb and abs(lb - la) >= 50 and abs(lb - la) / la > latency_threshold:
            latency.append(
                {**entry, "latency_a_ms": la, "latency_b_ms": lb, "change": round((lb - la) / la, 4)}
            )
    sa, sb = summarize(a.values()), summarize(b.values())
    models = {}
    for mid in sorted(sa.keys() | sb.keys()):
        x, y = sa.get(mid, {}), sb.get(mid, {})
        models[mid] = {
            f"{k}_{side}": s.get(k)
            for k in ("pass_rate", "latency_p50_ms", "latency_p95_ms", "ttft_p50_ms", "cost_usd")
            for side, s in (("a", x), ("b", y))
        }
    meta_a, meta_b = load_run_meta(run_a), load_run_meta(run_b)
    latency.sort(key=lambda e: -abs(e["change"]))
    return {
        "a": {"run_dir": str(run_a), "run_id": meta_a.get("run_id"), "suite": meta_a.get("suite")},
        "b": {"run_dir": str(run_b), "run_id": meta_b.get("run_id"), "suite": meta_b.get("suite")},
        "regressions": regressions,
        "fixes": fixes,
        "new": [_cell_name(k) for k in sorted(b.keys() - a.keys())],
        "removed": [_cell_name(k) for k in sorted(a.keys() - b.keys())],
        "latency_changes": latency,
        "models": models,
    }


def write_json_atomic(path: Path, data: Any) -> None:
    write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
