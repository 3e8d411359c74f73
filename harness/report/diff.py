"""The comparison with a baseline run: each cell's diff array (``DIFF_*``) and the baseline block."""

from __future__ import annotations

import json
from typing import Any

from harness.report.encode import (
    CELL_DIFF,
    DIFF_CHANGED,
    DIFF_CODE,
    DIFF_CODES,
    STATUS_CODES,
    money,
    text_of,
    to_json,
    tool_calls_of,
)
from harness.results.record import latency_ms, num, part, status_of, tokens
from harness.results.summary import ModelSummary, summarize


def first_value(records: list[dict[str, Any]], key: str) -> Any:
    """The first truthy ``key`` among ``records`` (a run's id or suite when run.json lacks it)."""
    return next((r[key] for r in records if r.get(key)), None)


def _output_signature(rec: dict[str, Any]) -> str:
    out = part(rec, "output")
    return to_json([text_of(out.get("text")), out.get("structured"), tool_calls_of(out.get("tool_calls"))])


def _output_display(rec: dict[str, Any]) -> str:
    out = part(rec, "output")
    parts = [text_of(out.get("text"))]
    if out.get("structured") is not None:
        parts.append(json.dumps(out["structured"], indent=2, ensure_ascii=False, default=str))
    for name, args, _id in tool_calls_of(out.get("tool_calls")):
        parts.append(f"tool call {name}({to_json(args)})")
    return "\n".join(p for p in parts if p)


def _is_passing(rec: dict[str, Any]) -> bool:
    return status_of(rec) == "passed"


def cell_diff(rec: dict[str, Any], base: dict[str, Any] | None) -> list[Any]:
    if base is None:
        return [DIFF_CODES["new"], 0, None, None, None, None, None, None]
    now_ok, was_ok = _is_passing(rec), _is_passing(base)
    code = "unchanged"
    if now_ok and not was_ok:
        code = "fixed"
    elif was_ok and not now_ok:
        code = "regressed"
    changed = _output_signature(rec) != _output_signature(base)
    lat, blat = latency_ms(rec), latency_ms(base)
    cost, bcost = num(rec.get("cost_usd")), num(base.get("cost_usd"))
    t, bt = tokens(rec), tokens(base)
    return [
        DIFF_CODES[code],
        1 if changed else 0,
        round(lat - blat, 1) if lat is not None and blat is not None else None,
        money(cost - bcost) if cost is not None and bcost is not None else None,
        STATUS_CODES[status_of(base)],
        _output_display(base) if changed else None,
        (t[0] + t[1]) - (bt[0] + bt[1]),
        _output_display(rec) if changed else None,
    ]


def baseline_block(
    base: dict[tuple[str, str, int], dict[str, Any]],
    current: dict[tuple[str, str, int], dict[str, Any]],
    models: list[str],
    cells: list[list[Any]],
    meta: dict[str, Any],
) -> dict[str, Any]:
    counts = dict.fromkeys(DIFF_CODES, 0)
    names = {v: k for k, v in DIFF_CODES.items()}
    changed = 0
    for c in cells:
        counts[names[c[CELL_DIFF][DIFF_CODE]]] += 1
        changed += c[CELL_DIFF][DIFF_CHANGED]
    removed = [[k[0], k[1], k[2], STATUS_CODES[status_of(r)]] for k, r in base.items() if k not in current]
    base_recs = list(base.values())
    summary: dict[str, ModelSummary] = {m: s for m, s in summarize(base_recs).items() if m in models}
    return {
        "run_id": str(meta.get("run_id") or first_value(base_recs, "run_id") or "baseline"),
        "suite": str(meta.get("suite") or first_value(base_recs, "suite") or ""),
        "started_at": meta.get("started_at"),
        "counts": {**counts, "removed": len(removed), "output_changed": changed},
        "removed": removed,
        "summary": summary,
    }
