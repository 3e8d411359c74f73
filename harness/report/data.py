"""Turn results records into the compact, JSON-serialisable payload the report page renders.

The payload is embedded once in the HTML file, so it is built for size: strings that repeat
(assertion types and reasons, cassette directories, tags) go through a string table, the case input
is stored once per case rather than once per cell, and the final output is not repeated when it is
the last assistant turn of the transcript. ``CELL_*`` below are the positions of the per-cell array;
``static/report.js`` reads the same positions.
"""

from __future__ import annotations

import datetime as _dt
import json
import posixpath
from typing import Any

from harness.results.io import latest, paused_gc
from harness.results.record import (
    calls_of,
    case_descriptions,
    case_order,
    intval,
    latency_ms,
    model_key,
    num,
    part,
    state_of,
    status_of,
    tokens,
    ttft_ms,
)
from harness.results.summary import ModelSummary, summarize

FORMAT_VERSION = 1
STATUS_CODES = {"passed": 0, "failed": 1, "error": 2, "skipped": 3}
DIFF_CODES = {"new": 0, "fixed": 1, "regressed": 2, "unchanged": 3}
STATES = ["", "live", "recorded", "replayed", "miss", "mixed", "unused"]
ROLES = {"system": "s", "user": "u", "assistant": "a", "tool": "t"}

# positions in each cell array
(
    CELL_CASE,
    CELL_MODEL,
    CELL_REPEAT,
    CELL_STATUS,
    CELL_STATE,
    CELL_LATENCY,
    CELL_TTFT,
    CELL_IN,
    CELL_OUT,
    CELL_CACHED,
    CELL_REASONING,
    CELL_COST,
    CELL_AVOIDED,
    CELL_REASON,
    CELL_ASSERTIONS,
    CELL_DIFF,
    CELL_DETAIL,
) = range(17)
# positions in a cell's diff array
(
    DIFF_CODE,
    DIFF_CHANGED,
    DIFF_LATENCY,
    DIFF_COST,
    DIFF_BASE_STATUS,
    DIFF_BASE_TEXT,
    DIFF_TOKENS,
    DIFF_CUR_TEXT,
) = range(8)


class _Strings:
    """A string table: each distinct string is stored once and referenced by index."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._index: dict[str, int] = {}

    def __call__(self, value: Any) -> int:
        s = value if isinstance(value, str) else str(value)
        idx = self._index.get(s)
        if idx is None:
            idx = self._index[s] = len(self.items)
            self.items.append(s)
        return idx


def text_of(content: Any) -> str:
    """Message content as display text (strings as-is, content blocks joined, anything else as JSON)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict) and isinstance(block.get("text"), str):
                parts.append(block["text"])
            else:
                parts.append(_json(block))
        return "\n".join(parts)
    return _json(content)


def _json(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return str(value)


def _r1(value: Any) -> float | None:
    f = num(value)
    return None if f is None else round(f, 1)


def _money(value: Any) -> float | None:
    f = num(value)
    return None if f is None else float(f"{f:.6g}")


def _tool_calls(calls: Any) -> list[list[Any]]:
    out = []
    for call in calls or []:
        if isinstance(call, dict):
            out.append([str(call.get("name") or ""), call.get("args"), call.get("id")])
    return out


# Content blocks that repeat what a message shows elsewhere (its tool calls, its reasoning).
_CALL_BLOCKS = frozenset({"tool_use", "server_tool_use", "function_call", "tool_call"})
_REASONING_BLOCKS = frozenset({"thinking", "redacted_thinking", "reasoning"})


def _content(m: dict[str, Any]) -> Any:
    """``m["content"]`` without the blocks shown on their own: a provider's raw tool-use block is not text."""
    content = m.get("content")
    if not isinstance(content, list):
        return content
    skip = (_CALL_BLOCKS if m.get("tool_calls") else frozenset()) | (
        _REASONING_BLOCKS if m.get("reasoning") else frozenset()
    )
    if not skip:
        return content
    return [b for b in content if not (isinstance(b, dict) and b.get("type") in skip)]


def _msg(m: dict[str, Any]) -> dict[str, Any]:
    role = str(m.get("role") or "")
    d: dict[str, Any] = {"r": ROLES.get(role, role), "c": text_of(_content(m))}
    if m.get("reasoning"):
        d["rs"] = text_of(m["reasoning"])
    tc = _tool_calls(m.get("tool_calls"))
    if tc:
        d["tc"] = tc
    if isinstance(m.get("usage"), dict):
        u = m["usage"]
        d["u"] = [
            intval(u.get("input_tokens")),
            intval(u.get("output_tokens")),
            intval(u.get("cache_read_tokens")),
            intval(u.get("reasoning_tokens")),
        ]
    if isinstance(m.get("timing"), dict):
        d["tm"] = [_r1(m["timing"].get("ttft_ms")), _r1(m["timing"].get("total_ms"))]
    if m.get("tool_call_id"):
        d["id"] = str(m["tool_call_id"])
    if m.get("name"):
        d["n"] = str(m["name"])
    if m.get("status"):
        d["s"] = str(m["status"])
    return d


def _same_msg(a: Any, b: Any) -> bool:
    return (
        isinstance(a, dict)
        and isinstance(b, dict)
        and a.get("role") == b.get("role")
        and text_of(a.get("content")) == text_of(b.get("content"))
    )


def _messages(value: Any) -> list[dict[str, Any]]:
    return [m for m in value or [] if isinstance(m, dict)] if isinstance(value, list) else []


def _output_signature(rec: dict[str, Any]) -> str:
    out = part(rec, "output")
    return _json([text_of(out.get("text")), out.get("structured"), _tool_calls(out.get("tool_calls"))])


def _output_display(rec: dict[str, Any]) -> str:
    out = part(rec, "output")
    parts = [text_of(out.get("text"))]
    if out.get("structured") is not None:
        parts.append(json.dumps(out["structured"], indent=2, ensure_ascii=False, default=str))
    for name, args, _id in _tool_calls(out.get("tool_calls")):
        parts.append(f"tool call {name}({_json(args)})")
    return "\n".join(p for p in parts if p)


def _is_passing(rec: dict[str, Any]) -> bool:
    return status_of(rec) == "passed"


def _diff(rec: dict[str, Any], base: dict[str, Any] | None) -> list[Any]:
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
        _money(cost - bcost) if cost is not None and bcost is not None else None,
        STATUS_CODES[status_of(base)],
        _output_display(base) if changed else None,
        (t[0] + t[1]) - (bt[0] + bt[1]),
        _output_display(rec) if changed else None,
    ]


def _model_order(records: list[dict[str, Any]], run_meta: dict[str, Any]) -> list[str]:
    seen: dict[str, dict[str, Any]] = {}
    for rec in records:
        seen.setdefault(model_key(rec), rec)
    order: list[str] = []
    for m in run_meta.get("models") or []:
        name = (
            m
            if isinstance(m, str)
            else (m.get("model_id") or m.get("id") or m.get("model") if isinstance(m, dict) else None)
        )
        for mid, rec in seen.items():
            if mid not in order and name in (mid, rec.get("model")):
                order.append(mid)
    return order + [mid for mid in seen if mid not in order]


def _detail(rec: dict[str, Any], case_input: list[dict[str, Any]], strings: _Strings) -> dict[str, Any]:
    d: dict[str, Any] = {}
    inp = _messages(rec.get("input"))
    if len(inp) != len(case_input) or not all(_same_msg(a, b) for a, b in zip(inp, case_input, strict=True)):
        d["in"] = [_msg(m) for m in inp]
    transcript = _messages(rec.get("transcript"))
    skip = 0
    while skip < min(len(transcript), len(inp)) and _same_msg(transcript[skip], inp[skip]):
        skip += 1
    turns = [_msg(m) for m in transcript[skip:]]
    if turns:
        d["t"] = turns
    out = part(rec, "output")
    last = next((t for t in reversed(turns) if t["r"] == "a"), None)
    text = text_of(out.get("text"))
    if text and (last is None or last["c"] != text):
        d["o"] = text
    reasoning = text_of(out.get("reasoning")) if out.get("reasoning") else ""
    if reasoning and (last is None or last.get("rs") != reasoning):
        d["rs"] = reasoning
    calls = _tool_calls(out.get("tool_calls"))
    if calls and (last is None or last.get("tc") != calls):
        d["tc"] = calls
    if out.get("structured") is not None:
        d["st"] = out["structured"]
    if isinstance(out.get("metadata"), dict) and out["metadata"]:
        d["md"] = out["metadata"]  # a target's metadata
    if out.get("finish_reason"):
        d["fr"] = str(out["finish_reason"])
    if rec.get("error"):
        d["e"] = text_of(rec["error"])
    cassette = part(rec, "cassette")
    if cassette.get("path"):
        head, tail = posixpath.split(str(cassette["path"]))
        d["cp"] = [strings(head), strings(tail)]
    u = part(rec, "usage")
    if u.get("total_tokens") is not None or u.get("cache_creation_tokens"):
        d["u"] = [intval(u.get("total_tokens")), intval(u.get("cache_creation_tokens"))]
    timing = part(rec, "timing")
    if timing.get("replayed"):
        d["rp"] = 1
    calls = [_call(c) for c in calls_of(rec)]
    if calls:
        d["mc"] = calls
    return d


def _call(c: dict[str, Any]) -> list[Any]:
    """One model call of the timeline: [model, latency ms, ttft ms, in, out tokens, tool names, source,
    client, error]."""
    u = c.get("usage") if isinstance(c.get("usage"), dict) else {}
    names = [str(t.get("name") or "") for t in c.get("tool_calls") or [] if isinstance(t, dict)]
    model = ":".join(str(x) for x in (c.get("provider"), c.get("model")) if x)
    return [
        model or "?",
        _r1(c.get("latency_ms")),
        _r1(c.get("ttft_ms")),
        intval((u or {}).get("input_tokens")),
        intval((u or {}).get("output_tokens")),
        names,
        str(c.get("source") or ""),
        str(c.get("client") or ""),
        text_of(c.get("error")) if c.get("error") else "",
    ]


def _assertions(rec: dict[str, Any], strings: _Strings) -> tuple[list[list[Any]], int | None]:
    out: list[list[Any]] = []
    reason: int | None = None
    for a in rec.get("assertions") or []:
        if not isinstance(a, dict):
            continue
        passed = a.get("passed")
        item: list[Any] = [
            strings(a.get("type") or "assertion"),
            1 if passed else (0 if passed is False else 2),
            strings(text_of(a.get("reason"))),
        ]
        score = num(a.get("score"))
        if score is not None:
            item.append(round(score, 4))
        out.append(item)
        if passed is False and reason is None:
            reason = strings(f"{a.get('type') or 'assertion'}: {text_of(a.get('reason'))}")
    if status_of(rec) in ("error", "skipped") and rec.get("error"):
        reason = strings(text_of(rec["error"]))
    return out, reason


def _first(records: list[dict[str, Any]], key: str) -> Any:
    return next((r[key] for r in records if r.get(key)), None)


def build_report_data(
    records: list[dict[str, Any]],
    run_meta: dict[str, Any] | None = None,
    baseline_records: list[dict[str, Any]] | None = None,
    *,
    baseline_meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The report payload for ``records`` (and, with ``baseline_records``, the diff against them). Pure."""
    with paused_gc():
        return _build(records, run_meta, baseline_records, baseline_meta)


def _build(
    records: list[dict[str, Any]],
    run_meta: dict[str, Any] | None,
    baseline_records: list[dict[str, Any]] | None,
    baseline_meta: dict[str, Any] | None,
) -> dict[str, Any]:
    run_meta = run_meta or {}
    strings = _Strings()
    by_key = latest(records)
    order = {cid: i for i, cid in enumerate(case_order(run_meta, (k[0] for k in by_key)))}
    recs = sorted(by_key.values(), key=lambda r: order[str(r.get("case_id"))])  # the suite's case order
    models = _model_order(recs, run_meta)
    model_idx = {m: i for i, m in enumerate(models)}
    base = latest(baseline_records) if baseline_records is not None else None

    cases, case_idx, case_inputs = _cases(recs, strings, case_descriptions(run_meta))

    cells = _cells(by_key, case_idx, model_idx, case_inputs, base, strings)
    summary = _summary(recs, models)

    data: dict[str, Any] = {
        "v": FORMAT_VERSION,
        "meta": {
            "run_id": str(run_meta.get("run_id") or _first(recs, "run_id") or "run"),
            "suite": str(run_meta.get("suite") or _first(recs, "suite") or "suite"),
            "suite_path": run_meta.get("suite_path"),
            "started_at": run_meta.get("started_at")
            or min((str(r["started_at"]) for r in recs if r.get("started_at")), default=None),
            "finished_at": run_meta.get("finished_at")
            or max((str(r["finished_at"]) for r in recs if r.get("finished_at")), default=None),
            "generated_at": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "records": len(records),
            "cells": len(cells),
            "cases": len(cases),
            "repeats": max((c[CELL_REPEAT] for c in cells), default=0) + 1,
            "description": run_meta.get("description") or None,
            # cells whose answers came from harness's provider emulator (live or from its recordings)
            "emulated": sum(1 for r in recs if part(r, "timing").get("emulated")),
        },
        "models": models,
        "summary": summary,
        "states": STATES,
        "cases": cases,
        "cells": cells,
        "baseline": None,
    }
    data["tags"] = sorted({t for c in cases for t in c[1]}, key=lambda i: strings.items[i])
    data["assertion_types"] = sorted(
        {a[0] for c in cells for a in c[CELL_ASSERTIONS]}, key=lambda i: strings.items[i]
    )
    if base is not None:
        data["baseline"] = _baseline_block(base, by_key, models, cells, baseline_meta or {})
    data["s"] = strings.items
    return data


def _cases(
    recs: list[dict[str, Any]], strings: _Strings, descriptions: dict[str, str]
) -> tuple[list[list[Any]], dict[str, int], list[list[dict[str, Any]]]]:
    """One row per case in the order of `recs`: [id, tag indices, vars, input messages, description]."""
    cases: list[list[Any]] = []
    case_idx: dict[str, int] = {}
    case_inputs: list[list[dict[str, Any]]] = []
    for rec in recs:
        cid = str(rec.get("case_id"))
        if cid not in case_idx:
            case_idx[cid] = len(cases)
            inp = _messages(rec.get("input"))
            case_inputs.append(inp)
            tags = sorted({strings(t) for t in rec.get("tags") or [] if isinstance(t, str)})
            description = descriptions.get(cid.split("[", 1)[0])
            cases.append([cid, tags, rec.get("vars") or None, [_msg(m) for m in inp], description])

    return cases, case_idx, case_inputs


def _cells(
    by_key: dict[tuple[str, str, int], dict[str, Any]],
    case_idx: dict[str, int],
    model_idx: dict[str, int],
    case_inputs: list[list[dict[str, Any]]],
    base: dict[tuple[str, str, int], dict[str, Any]] | None,
    strings: _Strings,
) -> list[list[Any]]:
    """One row per cell (case, repeat, model order), in the positional layout the page reads (CELL_*)."""
    cells: list[list[Any]] = []
    for key, rec in sorted(
        by_key.items(), key=lambda kv: (case_idx[kv[0][0]], kv[0][2], model_idx[kv[0][1]])
    ):
        ci = case_idx[key[0]]
        t = tokens(rec)
        assertions, reason = _assertions(rec, strings)
        cells.append(
            [
                ci,
                model_idx[key[1]],
                key[2],
                STATUS_CODES[status_of(rec)],
                STATES.index(state_of(rec)) if state_of(rec) in STATES else 0,
                _r1(latency_ms(rec)),
                _r1(ttft_ms(rec)),
                t[0],
                t[1],
                t[2],
                t[3],
                _money(rec.get("cost_usd")),
                _money(rec.get("cost_avoided_usd")) or 0,
                reason,
                assertions,
                _diff(rec, base.get(key)) if base is not None else None,
                _detail(rec, case_inputs[ci], strings),
            ]
        )
    return cells


def _summary(recs: list[dict[str, Any]], models: list[str]) -> list[dict[str, Any]]:
    """Per model, in the report's order: the one summary (run.json, console and `harness compare` show
    the same figures) with the model's name and provider."""
    figures = summarize(recs)  # the one summary: run.json, the console and `harness compare` show the same
    first_of: dict[str, dict[str, Any]] = {}
    for rec in recs:
        first_of.setdefault(model_key(rec), rec)
    summary: list[dict[str, Any]] = []
    for m in models:
        first = first_of[m]
        entry: dict[str, Any] = {**figures[m], "model_id": m}
        entry.update(model=str(first.get("model") or m), provider=str(first.get("provider") or ""))
        summary.append(entry)
    return summary


def _baseline_block(
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
        "run_id": str(meta.get("run_id") or _first(base_recs, "run_id") or "baseline"),
        "suite": str(meta.get("suite") or _first(base_recs, "suite") or ""),
        "started_at": meta.get("started_at"),
        "counts": {**counts, "removed": len(removed), "output_changed": changed},
        "removed": removed,
        "summary": summary,
    }
