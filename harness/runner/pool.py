"""The runner's worker pool: run cells under their cassettes, build records, append them to results.jsonl.

A fixed pool of `concurrency` tasks pulls cells from one lazy iterator, so a 100,000-cell run holds
only the cells in flight; each finished record is written and flushed at once (a killed run loses
at most the cells in flight, and never a written one).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from harness.cassettes import Cassette, use_cassette
from harness.errors import CassetteMissError
from harness.messages.core import AIMessage, message_to_dict
from harness.results.build import (
    costs,
    evaluate,
    make_context,
    sum_usage,
    text_of,
    timing_of,
    transcript_entry,
    usage_of,
    utc_now,
)
from harness.results.io import RESULTS_FILE, SummaryBuilder, dumps_line
from harness.runner.cell import Exchange, execute_cell

if TYPE_CHECKING:
    from harness.runner.runner import Cell, Runner, RunProgress


class CellRunner:
    def __init__(
        self,
        runner: Runner,
        summary: SummaryBuilder | None,
        counts: dict[str, int],
        states: dict[str, int],
        progress: RunProgress | None,
        sink: BinaryIO | None = None,
    ) -> None:
        self.runner = runner
        self.summary = summary
        self.counts = counts
        self.states = states
        self.progress = progress
        self.ran = 0
        # a worker process (sink = its stdout) sends records to the parent, the only writer of the file
        self.sink = sink
        self._fh = sink if sink is not None else (runner.run_dir / RESULTS_FILE).open("ab")

    def close(self) -> None:
        if self.sink is None:
            self._fh.close()

    async def run_all(self, cells: Iterator[Cell], workers: int) -> None:
        async def worker() -> None:
            for cell in cells:  # one shared iterator: next() never awaits, so no two workers get a cell twice
                record = await self.run_cell(cell)
                self.emit(record)

        await asyncio.gather(*(worker() for _ in range(workers)))

    def emit(self, record: dict[str, Any]) -> None:
        self._fh.write(dumps_line(record))
        self._fh.flush()
        if self.sink is None:
            self._count(record)

    def emit_line(self, line: bytes) -> None:
        """A record a worker process finished (already one JSON line)."""
        self._fh.write(line)
        self._fh.flush()
        self._count(json.loads(line))

    def _count(self, record: dict[str, Any]) -> None:
        self.ran += 1
        if self.summary is not None:
            self.summary.add(record)
        status = record["status"]
        self.counts[status] = self.counts.get(status, 0) + 1
        state = record["cassette"]["state"]
        self.states[state] = self.states.get(state, 0) + 1
        if self.progress is not None:
            self.progress.advance(record, self.counts, self.states)
        if self.runner.options.on_record is not None:
            self.runner.options.on_record(record)

    async def run_cell(self, cell: Cell) -> dict[str, Any]:
        runner = self.runner
        started = utc_now()
        path = runner.cassette_path(cell)
        ex: Exchange | None = None
        outcomes: list[dict[str, Any]] = []
        error: str | None = None
        state = "live"
        cassette: Cassette | None = None
        derived: dict[str, Any] = {}
        try:
            if path is not None:
                async with use_cassette(
                    path,
                    record_mode=runner.options.record_mode,
                    replay_speed=runner.options.replay_speed,
                    secret_headers=runner.suite.secret_headers,
                    scrub_patterns=runner.suite.scrub_patterns,
                ) as cassette:
                    ex, outcomes, derived = await self._execute(cell)
            else:
                ex, outcomes, derived = await self._execute(cell)
        except CassetteMissError as e:
            error, state = f"{type(e).__name__}: {e}", "miss"
        except Exception as e:
            error = f"{type(e).__name__}: {e}"
        if cassette is not None and state != "miss":
            # "unused": the cell made no model call (it failed first, e.g. a missing key) — never "replayed"
            state = "miss" if cassette.misses else cassette.state
        status = "error" if error else ("passed" if all(o.get("passed") for o in outcomes) else "failed")
        return self._record(cell, ex, outcomes, derived, status, error, state, path, started)

    async def _execute(self, cell: Cell) -> tuple[Exchange, list[dict[str, Any]], dict[str, Any]]:
        runner = self.runner
        ex = await execute_cell(cell.case, cell.model, runner.runtime, runner.options.retry)
        derived = self._derive(cell, ex)
        outcomes: list[dict[str, Any]] = []
        specs = runner.assertions_for(cell.case)
        if specs:
            final = ex.final if ex.final is not None else AIMessage(content="")
            text = derived["text"]
            if not text and ex.structured is not None:  # tool-call structured output has no text
                text = json.dumps(ex.structured, ensure_ascii=False, default=str)
            ctx = make_context(
                output=final,
                text=text,
                structured=ex.structured,
                transcript=ex.transcript,
                tool_calls=derived["tool_calls"],
                usage=derived["usage"],
                cost_usd=derived["cost"],
                timing=derived["timing"],
                vars=cell.case.vars,
                case_id=cell.case.id,
                model=cell.model.id,
                judge=(j.chat if (j := runner.case_judges.get(id(cell.case.case))) is not None else None),
            )
            outcomes = await evaluate(list(specs), ctx)
        if ex.parse_error is not None:
            outcomes.append(
                {
                    "type": "structured_output",
                    "passed": False,
                    "score": None,
                    "reason": f"the output could not be parsed: {ex.parse_error}",
                }
            )
        return ex, outcomes, derived

    def _derive(self, cell: Cell, ex: Exchange) -> dict[str, Any]:
        ai = ex.ai_messages
        usages = [usage_of(m) for m in ai]
        timings = [timing_of(m) for m in ai]
        cost, avoided = costs(self.runner.pricing, cell.model.provider, cell.model.name, ai, usages)
        totals = [float(t["total_ms"]) for t in timings if t.get("total_ms") is not None]
        return {
            "text": text_of(ex.final),
            "tool_calls": [
                {"name": c.get("name"), "args": c.get("args") or {}, "id": c.get("id")}
                for m in ai
                for c in m.tool_calls
            ],
            "usage": sum_usage(usages),
            "cost": cost,
            "avoided": avoided,
            "timing": {
                "ttft_ms": timings[0].get("ttft_ms") if timings else None,
                "total_ms": round(sum(totals), 3) if totals else None,
                "replayed": bool(timings) and all(t.get("replayed") for t in timings),
            },
        }

    def _record(
        self,
        cell: Cell,
        ex: Exchange | None,
        outcomes: list[dict[str, Any]],
        derived: dict[str, Any],
        status: str,
        error: str | None,
        state: str,
        path: Any,
        started: str,
    ) -> dict[str, Any]:
        runner = self.runner
        final = ex.final if ex is not None else None
        if ex is not None and not derived:
            derived = self._derive(cell, ex)
        output = None
        if final is not None:
            d = message_to_dict(final)
            output = {
                "text": derived.get("text", ""),
                "tool_calls": d.get("tool_calls", []),
                "structured": ex.structured if ex is not None else None,
                "reasoning": d.get("reasoning"),
                "finish_reason": final.response_metadata.get("finish_reason"),
            }
        return {
            "run_id": runner.run_id,
            "suite": runner.suite.name,
            "case_id": cell.case.id,
            "model": cell.model.model,
            "model_id": cell.model.id,
            "provider": cell.model.provider,
            "repeat": cell.repeat,
            "vars": cell.case.vars,
            "tags": [*runner.suite.tags, *cell.case.case.tags],
            "status": status,
            "assertions": outcomes,
            "input": cell.case.messages(),
            "output": output,
            "transcript": [transcript_entry(m) for m in ex.transcript] if ex is not None else [],
            "usage": derived.get("usage"),
            "cost_usd": derived.get("cost"),
            "cost_avoided_usd": derived.get("avoided", 0.0),
            "timing": derived.get("timing") or {"ttft_ms": None, "total_ms": None, "replayed": False},
            "cassette": {"path": path, "state": state},
            "error": error,
            "started_at": started,
            "finished_at": utc_now(),
        }
