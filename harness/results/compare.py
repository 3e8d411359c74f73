"""What changed between two runs (`harness compare`): cell by cell, and model by model from the one summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.results.io import latest, load_run_meta, read_records
from harness.results.record import CellKey, latency_ms, model_order, repeat_label, status_of
from harness.results.summary import summarize

# the summary figures compared per model, each as <figure>_a and <figure>_b
COMPARED = ("pass_rate", "latency_p50_ms", "latency_p95_ms", "latency_mean_ms", "ttft_p50_ms", "cost_usd")


def _cell_name(key: CellKey) -> str:
    case, model, rep = key
    return f"{case} × {model}{repeat_label(rep)}"


def _why(record: dict[str, Any]) -> str | None:
    reasons = [str(x.get("reason")) for x in record.get("assertions") or [] if not x.get("passed")]
    return record.get("error") or "; ".join(reasons) or None


def _latency_change(
    entry: dict[str, Any], a: dict[str, Any], b: dict[str, Any], threshold: float
) -> dict[str, Any] | None:
    la, lb = latency_ms(a), latency_ms(b)
    if not la or not lb or abs(lb - la) < 50 or abs(lb - la) / la <= threshold:
        return None
    return {**entry, "latency_a_ms": la, "latency_b_ms": lb, "change": round((lb - la) / la, 4)}


def compare_runs(run_a: str | Path, run_b: str | Path, *, latency_threshold: float = 0.2) -> dict[str, Any]:
    """What changed from run A to run B: regressions (passed → failed/error), fixes, new and removed
    cells, the per-model summary figures of both, and cells whose latency moved by more than the
    threshold (a fraction, and at least 50 ms)."""
    a, b = latest(read_records(run_a)), latest(read_records(run_b))
    regressions, fixes, latency = [], [], []
    for key in sorted(a.keys() & b.keys()):
        ra, rb = a[key], b[key]
        before, after = status_of(ra), status_of(rb)
        if "skipped" in (before, after):  # a cell that did not run neither regressed nor was fixed
            continue
        entry: dict[str, Any] = {
            "case_id": key[0],
            "model_id": key[1],
            "repeat": key[2],
            "cell": _cell_name(key),
            "before": before,
            "after": after,
        }
        if before == "passed" and after != "passed":
            regressions.append({**entry, "reason": _why(rb)})
        elif before != "passed" and after == "passed":
            fixes.append(entry)
        if (change := _latency_change(entry, ra, rb, latency_threshold)) is not None:
            latency.append(change)
    order = list(dict.fromkeys([*model_order(load_run_meta(run_b)), *model_order(load_run_meta(run_a))]))
    sa, sb = summarize(a.values(), order), summarize(b.values(), order)
    models = {
        mid: {
            f"{figure}_{side}": (s[mid][figure] if mid in s else None)  # type: ignore[literal-required]
            for figure in COMPARED
            for side, s in (("a", sa), ("b", sb))
        }
        for mid in [*[m for m in order if m in sa or m in sb], *sorted((sa.keys() | sb.keys()) - set(order))]
    }
    latency.sort(key=lambda e: -abs(e["change"]))
    return {
        "a": _run_info(run_a),
        "b": _run_info(run_b),
        "regressions": regressions,
        "fixes": fixes,
        "new": [_cell_name(k) for k in sorted(b.keys() - a.keys())],
        "removed": [_cell_name(k) for k in sorted(a.keys() - b.keys())],
        "latency_changes": latency,
        "models": models,
    }


def _run_info(run_dir: str | Path) -> dict[str, Any]:
    meta = load_run_meta(run_dir)
    return {"run_dir": str(run_dir), "run_id": meta.get("run_id"), "suite": meta.get("suite")}
