"""Per-model summary statistics computed straight from results records (no pandas needed)."""

from __future__ import annotations

import contextlib
import gc
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

STATES = ("replayed", "recorded", "live", "miss", "mixed", "unused")


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


def num(value: Any) -> float | None:
    """A finite float, or None for missing / non-numeric / NaN / infinite values."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def intval(value: Any) -> int:
    f = num(value)
    return int(f) if f is not None else 0


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default method); ``q`` in [0, 100]."""
    if not values:
        return None
    data = sorted(values)
    if len(data) == 1:
        return data[0]
    pos = (len(data) - 1) * (q / 100.0)
    lo = math.floor(pos)
    hi = min(lo + 1, len(data) - 1)
    frac = pos - lo
    return data[lo] + (data[hi] - data[lo]) * frac


def status_of(rec: dict[str, Any]) -> str:
    status = rec.get("status")
    if status in ("passed", "failed", "error"):
        return status
    return "error" if rec.get("error") else "failed"


def model_key(rec: dict[str, Any]) -> str:
    return str(rec.get("model_id") or rec.get("model") or "unknown")


def state_of(rec: dict[str, Any]) -> str:
    cassette = rec.get("cassette")
    state = cassette.get("state") if isinstance(cassette, dict) else None
    return state if isinstance(state, str) and state else ""


def _usage(rec: dict[str, Any]) -> dict[str, Any]:
    u = rec.get("usage")
    return u if isinstance(u, dict) else {}


def _timing(rec: dict[str, Any]) -> dict[str, Any]:
    t = rec.get("timing")
    return t if isinstance(t, dict) else {}


def latency_ms(rec: dict[str, Any]) -> float | None:
    return num(_timing(rec).get("total_ms"))


def ttft_ms(rec: dict[str, Any]) -> float | None:
    return num(_timing(rec).get("ttft_ms"))


def tokens(rec: dict[str, Any]) -> tuple[int, int, int, int]:
    """(input, output, cache_read, reasoning) tokens of a record."""
    u = _usage(rec)
    return (
        intval(u.get("input_tokens")),
        intval(u.get("output_tokens")),
        intval(u.get("cache_read_tokens")),
        intval(u.get("reasoning_tokens")),
    )


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def summarize(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Summary of one model's records (keys follow the run.json ``summary`` contract, plus extras)."""
    cells = passed = failed = errors = unpriced = 0
    lat: list[float] = []
    ttft: list[float] = []
    tok = [0, 0, 0, 0]
    total_tokens = 0
    cost = 0.0
    avoided = 0.0
    priced = False
    states: dict[str, int] = {}
    for rec in records:
        cells += 1
        st = status_of(rec)
        if st == "passed":
            passed += 1
        elif st == "failed":
            failed += 1
        else:
            errors += 1
        lv = latency_ms(rec)
        if lv is not None:
            lat.append(lv)
        tv = ttft_ms(rec)
        if tv is not None:
            ttft.append(tv)
        t = tokens(rec)
        for i in range(4):
            tok[i] += t[i]
        total_tokens += intval(_usage(rec).get("total_tokens")) or (t[0] + t[1])
        c = num(rec.get("cost_usd"))
        if c is None:
            if t[0] or t[1]:  # tokens were used but have no price; a cell that sent nothing is not "unpriced"
                unpriced += 1
        else:
            priced = True
            cost += c
        avoided += num(rec.get("cost_avoided_usd")) or 0.0
        state = state_of(rec) or "unknown"
        states[state] = states.get(state, 0) + 1
    lat.sort()
    box = None
    if lat:
        box = {
            "min": lat[0],
            "p5": percentile(lat, 5),
            "p25": percentile(lat, 25),
            "p50": percentile(lat, 50),
            "p75": percentile(lat, 75),
            "p95": percentile(lat, 95),
            "max": lat[-1],
        }
        box = {k: _round(v) for k, v in box.items()}
    return {
        "cells": cells,
        "passed": passed,
        "failed": failed,
        "errors": errors,
        "pass_rate": (passed / cells) if cells else None,
        "latency_p50_ms": _round(percentile(lat, 50)),
        "latency_p95_ms": _round(percentile(lat, 95)),
        "latency_mean_ms": _round(sum(lat) / len(lat)) if lat else None,
        "ttft_p50_ms": _round(percentile(ttft, 50)),
        "input_tokens": tok[0],
        "output_tokens": tok[1],
        "cached_tokens": tok[2],
        "reasoning_tokens": tok[3],
        "total_tokens": total_tokens,
        "cost_usd": cost if priced else None,
        "cost_avoided_usd": avoided,
        "unpriced_cells": unpriced,
        "states": states,
        "latency_box": box,
    }
