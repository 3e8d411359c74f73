"""The one per-model summary of results records, and how its figures are printed.

run.json's `summary`, the console table of `harness run`, `harness compare`, the GitHub step summary,
the pytest plugin's terminal table and the HTML report all take their figures from `summarize` /
`SummaryBuilder`, rounded here once, and print them with the `format_*` functions below, so one run
shows the same numbers everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

from harness.results.record import (
    judge_tokens,
    latency_ms,
    model_key,
    num,
    part,
    state_of,
    status_of,
    tokens,
    ttft_ms,
)

MS_DIGITS = 1  # latencies in ms, to a tenth
RATE_DIGITS = 4  # pass rate as a fraction: 0.6667 (66.67%)
USD_DIGITS = 8  # dollars, to a millionth of a cent


class LatencyBox(TypedDict):
    min: float
    p5: float
    p25: float
    p50: float
    p75: float
    p95: float
    max: float


class ModelSummary(TypedDict):
    cells: int
    passed: int
    failed: int
    errors: int
    skipped: int  # cells that did not run (--max-cost spent); the pass rate counts the cells that ran
    pass_rate: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_mean_ms: float | None
    ttft_p50_ms: float | None
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    reasoning_tokens: int
    total_tokens: int
    cost_usd: float | None
    cost_avoided_usd: float
    judge_input_tokens: int  # llm_judge calls, counted apart from the model's
    judge_output_tokens: int
    judge_cost_usd: float | None  # None when no judge call was priced
    unpriced_cells: int
    states: dict[str, int]
    latency_box: LatencyBox | None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile of sorted or unsorted values (numpy's default); q in [0, 100]."""
    if not values:
        return None
    data = sorted(values)
    pos = (len(data) - 1) * (q / 100.0)
    lo, hi = math.floor(pos), math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, MS_DIGITS)


def _box(latencies: list[float]) -> LatencyBox | None:
    if not latencies:
        return None
    s = sorted(latencies)

    def at(q: float) -> float:
        return round(percentile(s, q) or 0.0, MS_DIGITS)

    return LatencyBox(
        min=round(s[0], MS_DIGITS),
        p5=at(5),
        p25=at(25),
        p50=at(50),
        p75=at(75),
        p95=at(95),
        max=round(s[-1], MS_DIGITS),
    )


@dataclass
class _Tally:
    """One model's running totals."""

    cells: int = 0
    by_status: dict[str, int] = field(
        default_factory=lambda: {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
    )
    latencies: list[float] = field(default_factory=list)
    ttfts: list[float] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    total_tokens: int = 0
    cost: float | None = None
    avoided: float = 0.0
    judge_input: int = 0
    judge_output: int = 0
    judge_cost: float | None = None
    unpriced: int = 0
    states: dict[str, int] = field(default_factory=dict)

    def add(self, record: dict[str, Any]) -> None:
        self.cells += 1
        self.by_status[status_of(record)] += 1
        if (latency := latency_ms(record)) is not None:
            self.latencies.append(latency)
        if (ttft := ttft_ms(record)) is not None:
            self.ttfts.append(ttft)
        inp, out, cached, reasoning = tokens(record)
        self.input_tokens += inp
        self.output_tokens += out
        self.cached_tokens += cached
        self.reasoning_tokens += reasoning
        self.total_tokens += int(num(part(record, "usage").get("total_tokens")) or inp + out)
        cost = num(record.get("cost_usd"))
        if cost is not None:
            self.cost = (self.cost or 0.0) + cost
        elif inp or out:  # tokens used but not priced; a cell that sent nothing is not "unpriced"
            self.unpriced += 1
        self.avoided += num(record.get("cost_avoided_usd")) or 0.0
        judge_in, judge_out = judge_tokens(record)
        self.judge_input += judge_in
        self.judge_output += judge_out
        judge_cost = num(record.get("judge_cost_usd"))
        if judge_cost is not None:
            self.judge_cost = (self.judge_cost or 0.0) + judge_cost
        state = state_of(record) or "unknown"
        self.states[state] = self.states.get(state, 0) + 1

    def merge(self, other: _Tally) -> None:
        """Add another tally of the same model (a worker process's share of the cells)."""
        self.cells += other.cells
        for status, n in other.by_status.items():
            self.by_status[status] = self.by_status.get(status, 0) + n
        self.latencies += other.latencies
        self.ttfts += other.ttfts
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cached_tokens += other.cached_tokens
        self.reasoning_tokens += other.reasoning_tokens
        self.total_tokens += other.total_tokens
        if other.cost is not None:
            self.cost = (self.cost or 0.0) + other.cost
        self.avoided += other.avoided
        self.unpriced += other.unpriced
        for state, n in other.states.items():
            self.states[state] = self.states.get(state, 0) + n

    def summary(self) -> ModelSummary:
        lat = self.latencies
        ran = self.cells - self.by_status["skipped"]
        return ModelSummary(
            cells=self.cells,
            passed=self.by_status["passed"],
            failed=self.by_status["failed"],
            errors=self.by_status["error"],
            skipped=self.by_status["skipped"],
            pass_rate=round(self.by_status["passed"] / ran, RATE_DIGITS) if ran else None,
            latency_p50_ms=_ms(percentile(lat, 50)),
            latency_p95_ms=_ms(percentile(lat, 95)),
            latency_mean_ms=_ms(sum(lat) / len(lat)) if lat else None,
            ttft_p50_ms=_ms(percentile(self.ttfts, 50)),
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cached_tokens=self.cached_tokens,
            reasoning_tokens=self.reasoning_tokens,
            total_tokens=self.total_tokens,
            cost_usd=None if self.cost is None else round(self.cost, USD_DIGITS),
            cost_avoided_usd=round(self.avoided, USD_DIGITS),
            judge_input_tokens=self.judge_input,
            judge_output_tokens=self.judge_output,
            judge_cost_usd=None if self.judge_cost is None else round(self.judge_cost, USD_DIGITS),
            unpriced_cells=self.unpriced,
            states=dict(self.states),
            latency_box=_box(lat),
        )


class SummaryBuilder:
    """The per-model summary, built one record at a time (the runner never holds every record)."""

    def __init__(self, order: Sequence[str] = ()) -> None:
        # the suite's model order: every summary lists models in it, never in completion order
        self._models: dict[str, _Tally] = {m: _Tally() for m in order}

    def add(self, record: dict[str, Any]) -> None:
        key = model_key(record)
        tally = self._models.get(key)
        if tally is None:
            tally = self._models[key] = _Tally()
        tally.add(record)

    def merge(self, other: SummaryBuilder) -> None:
        """Fold in a summary built elsewhere (a worker process's cells): the same figures as adding
        its records one by one."""
        for key, tally in other._models.items():
            mine = self._models.get(key)
            if mine is None:
                mine = self._models[key] = _Tally()
            mine.merge(tally)

    def summary(self) -> dict[str, ModelSummary]:
        return {model: tally.summary() for model, tally in self._models.items() if tally.cells}


def summarize(records: Iterable[dict[str, Any]], order: Sequence[str] = ()) -> dict[str, ModelSummary]:
    """{model_id: summary} of any records: models in `order` (the suite's, `results.model_order`)
    first, then the others in order of first appearance."""
    builder = SummaryBuilder(order)
    for record in records:
        builder.add(record)
    return builder.summary()


# --- printing: the console, `harness compare`, the step summary and the pytest table ---------------------


def format_ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.{MS_DIGITS}f}"


def format_rate(value: float | None) -> str:
    """Every digit the summary keeps, as a percentage: 66.67%, 50%."""
    if value is None:
        return "–"
    return f"{value * 100:.{RATE_DIGITS - 2}f}".rstrip("0").rstrip(".") + "%"


def format_usd(value: float | None) -> str:
    """Every digit the summary keeps: $0.00012345, $1.50."""
    if value is None:
        return "–"
    whole, _, cents = f"{value:.{USD_DIGITS}f}".rstrip("0").partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"
