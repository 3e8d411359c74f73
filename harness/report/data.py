"""Turn results records into the compact, JSON-serialisable payload the report page renders.

The payload is embedded once in the HTML file, so it is built for size: strings that repeat
(assertion types and reasons, cassette directories, tags) go through a string table, the case input
is stored once per case rather than once per cell, and the final output is not repeated when it is
the last assistant turn of the transcript. The codes and array positions (``CELL_*``, ``DIFF_*``) and
the message encoding live in :mod:`harness.report.encode`, the baseline comparison in
:mod:`harness.report.diff`; both are named here too, where the tests and readers look for them.
"""

from __future__ import annotations

import datetime as _dt
import posixpath
from typing import Any

from harness.report.diff import baseline_block, cell_diff, first_value
from harness.report.encode import (
    CELL_ASSERTIONS,
    CELL_AVOIDED,
    CELL_CACHED,
    CELL_CASE,
    CELL_COST,
    CELL_DETAIL,
    CELL_DIFF,
    CELL_IN,
    CELL_LATENCY,
    CELL_MODEL,
    CELL_OUT,
    CELL_REASON,
    CELL_REASONING,
    CELL_REPEAT,
    CELL_STATE,
    CELL_STATUS,
    CELL_TTFT,
    DIFF_BASE_STATUS,
    DIFF_BASE_TEXT,
    DIFF_CHANGED,
    DIFF_CODE,
    DIFF_CODES,
    DIFF_COST,
    DIFF_CUR_TEXT,
    DIFF_LATENCY,
    DIFF_TOKENS,
    FORMAT_VERSION,
    ROLES,
    STATES,
    STATUS_CODES,
    Strings,
    compact_message,
    messages_of,
    money,
    round1,
    same_message,
    text_of,
    tool_calls_of,
)
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
from harness.results.summary import summarize

# the payload's codes and positions are named here too, where the page's readers look for them
__all__ = [
    "build_report_data",
    "CELL_ASSERTIONS",
    "CELL_AVOIDED",
    "CELL_CACHED",
    "CELL_CASE",
    "CELL_COST",
    "CELL_DETAIL",
    "CELL_DIFF",
    "CELL_IN",
    "CELL_LATENCY",
    "CELL_MODEL",
    "CELL_OUT",
    "CELL_REASON",
    "CELL_REASONING",
    "CELL_REPEAT",
    "CELL_STATE",
    "CELL_STATUS",
    "CELL_TTFT",
    "DIFF_BASE_STATUS",
    "DIFF_BASE_TEXT",
    "DIFF_CHANGED",
    "DIFF_CODE",
    "DIFF_CODES",
    "DIFF_COST",
    "DIFF_CUR_TEXT",
    "DIFF_LATENCY",
    "DIFF_TOKENS",
    "FORMAT_VERSION",
    "ROLES",
    "STATES",
    "STATUS_CODES",
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


def _detail(rec: dict[str, Any], case_input: list[dict[str, Any]], strings: Strings) -> dict[str, Any]:
    d: dict[str, Any] = {}
    inp = messages_of(rec.get("input"))
    if len(inp) != len(case_input) or not all(
        same_message(a, b) for a, b in zip(inp, case_input, strict=True)
    ):
        d["in"] = [compact_message(m) for m in inp]
    transcript = messages_of(rec.get("transcript"))
    skip = 0
    while skip < min(len(transcript), len(inp)) and same_message(transcript[skip], inp[skip]):
        skip += 1
    turns = [compact_message(m) for m in transcript[skip:]]
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
    calls = tool_calls_of(out.get("tool_calls"))
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
        round1(c.get("latency_ms")),
        round1(c.get("ttft_ms")),
        intval((u or {}).get("input_tokens")),
        intval((u or {}).get("output_tokens")),
        names,
        str(c.get("source") or ""),
        str(c.get("client") or ""),
        text_of(c.get("error")) if c.get("error") else "",
    ]


def _assertions(rec: dict[str, Any], strings: Strings) -> tuple[list[list[Any]], int | None]:
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
    strings = Strings()
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
            "run_id": str(run_meta.get("run_id") or first_value(recs, "run_id") or "run"),
            "suite": str(run_meta.get("suite") or first_value(recs, "suite") or "suite"),
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
        data["baseline"] = baseline_block(base, by_key, models, cells, baseline_meta or {})
    data["s"] = strings.items
    return data


def _cases(
    recs: list[dict[str, Any]], strings: Strings, descriptions: dict[str, str]
) -> tuple[list[list[Any]], dict[str, int], list[list[dict[str, Any]]]]:
    """One row per case in the order of `recs`: [id, tag indices, vars, input messages, description]."""
    cases: list[list[Any]] = []
    case_idx: dict[str, int] = {}
    case_inputs: list[list[dict[str, Any]]] = []
    for rec in recs:
        cid = str(rec.get("case_id"))
        if cid not in case_idx:
            case_idx[cid] = len(cases)
            inp = messages_of(rec.get("input"))
            case_inputs.append(inp)
            tags = sorted({strings(t) for t in rec.get("tags") or [] if isinstance(t, str)})
            description = descriptions.get(cid.split("[", 1)[0])
            cases.append([cid, tags, rec.get("vars") or None, [compact_message(m) for m in inp], description])

    return cases, case_idx, case_inputs


def _cells(
    by_key: dict[tuple[str, str, int], dict[str, Any]],
    case_idx: dict[str, int],
    model_idx: dict[str, int],
    case_inputs: list[list[dict[str, Any]]],
    base: dict[tuple[str, str, int], dict[str, Any]] | None,
    strings: Strings,
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
                round1(latency_ms(rec)),
                round1(ttft_ms(rec)),
                t[0],
                t[1],
                t[2],
                t[3],
                money(rec.get("cost_usd")),
                money(rec.get("cost_avoided_usd")) or 0,
                reason,
                assertions,
                cell_diff(rec, base.get(key)) if base is not None else None,
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
