"""The runner's worker pool: run cells under their cassettes, build records, append them to results.jsonl.

A fixed pool of `concurrency` tasks pulls cells from one lazy iterator, so a 100,000-cell run holds
only the cells in flight; each finished record is written and flushed at once (a killed run loses
at most the cells in flight, and never a written one). In a worker process (`workers`) the same
class writes to that worker's part file.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from harness.cassettes import Cassette as CassetteSession
from harness.cassettes import use_cassette
from harness.errors import CassetteMissError
from harness.messages.core import AIMessage
from harness.results.build import (
    NO_CALLS,
    CallFigures,
    build_record,
    evaluate,
    make_context,
    text_of,
    transcript_entry,
    utc_now,
)
from harness.results.io import RESULTS_FILE, dumps_line
from harness.results.record import AssertionOutcome, Cassette, ResultRecord, Status
from harness.results.summary import SummaryBuilder
from harness.runner.cell import Exchange, execute_cell

if TYPE_CHECKING:
    from harness.runner.runner import Cell, Runner, RunProgress
    from harness.runner.workers import ChunkResult


def _tally(counts: dict[str, int], key: str, n: int = 1) -> None:
    counts[key] = counts.get(key, 0) + n


class CellRunner:
    """Runs cells and writes their records to `sink` (a worker's part file) or RUN_DIR/results.jsonl,
    keeping the counts, the cassette states and the summary as it goes."""

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
        self.incomplete = False  # worker processes ended without reporting every chunk
        self.sink = sink  # a worker process's part file, which the worker owns
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

    def emit(self, record: ResultRecord) -> None:
        self._fh.write(dumps_line(record))
        self._fh.flush()  # a killed run loses only the cells in flight
        self._count(record)

    def _count(self, record: Any) -> None:
        self.ran += 1
        if self.summary is not None:
            self.summary.add(record)
        _tally(self.counts, record["status"])
        _tally(self.states, record["cassette"]["state"])
        if self.progress is not None:
            self.progress.advance(self.counts, self.states)
        if self.runner.options.on_record is not None:
            self.runner.options.on_record(record)

    def absorb(self, chunk: ChunkResult) -> None:
        """A chunk of cells a worker process finished: its counts and summary, not its records."""
        self.ran += chunk.ran
        if self.summary is not None:
            self.summary.merge(chunk.summary)
        for key, n in chunk.counts.items():
            _tally(self.counts, key, n)
        for key, n in chunk.states.items():
            _tally(self.states, key, n)
        if self.progress is not None:
            self.progress.advance(self.counts, self.states, chunk.ran)

    async def run_cell(self, cell: Cell) -> ResultRecord:
        runner = self.runner
        started = utc_now()
        path = runner.cassette_path(cell)
        ex: Exchange | None = None
        outcomes: list[AssertionOutcome] = []
        error: str | None = None
        state = "live"
        cassette: CassetteSession | None = None
        figures = NO_CALLS
        try:
            if path is not None:
                async with use_cassette(
                    path,
                    record_mode=runner.options.record_mode,
                    replay_speed=runner.options.replay_speed,
                    secret_headers=runner.suite.secret_headers,
                    scrub_patterns=runner.suite.scrub_patterns,
                ) as cassette:
                    ex, outcomes, figures = await self._execute(cell)
            else:
                ex, outcomes, figures = await self._execute(cell)
        except CassetteMissError as e:
            error, state = f"{type(e).__name__}: {e}", "miss"
        except Exception as e:
            error = f"{type(e).__name__}: {e}"
        if cassette is not None and state != "miss":
            # "unused": the cell made no model call (it failed first, e.g. a missing key) — never "replayed"
            state = "miss" if cassette.misses else cassette.state
        status: Status = "error" if error else ("passed" if all(o["passed"] for o in outcomes) else "failed")
        return self._record(
            cell, ex, outcomes, figures, status, error, Cassette(path=path, state=state), started
        )

    async def _execute(self, cell: Cell) -> tuple[Exchange, list[AssertionOutcome], CallFigures]:
        runner = self.runner
        ex = await execute_cell(cell.case, cell.model, runner.runtime, runner.options.retry)
        figures = self._figures(cell, ex)
        outcomes: list[AssertionOutcome] = []
        specs = runner.assertions_for(cell.case)
        if specs:
            final = ex.final if ex.final is not None else AIMessage(content="")
            text = text_of(ex.final)
            if not text and ex.structured is not None:  # tool-call structured output has no text
                text = json.dumps(ex.structured, ensure_ascii=False, default=str)
            ctx = make_context(
                output=final,
                text=text,
                structured=ex.structured,
                transcript=ex.transcript,
                tool_calls=[
                    {"name": c.get("name"), "args": c.get("args") or {}, "id": c.get("id")}
                    for m in ex.ai_messages
                    for c in m.tool_calls
                ],
                usage=figures.usage,
                cost_usd=figures.cost_usd,
                timing=figures.timing,
                vars=cell.case.vars,
                case_id=cell.case.id,
                model=cell.model.id,
                judge=(j.chat if (j := runner.case_judges.get(id(cell.case.case))) is not None else None),
            )
            outcomes = await evaluate(list(specs), ctx)
        if ex.parse_error is not None:
            outcomes.append(
                AssertionOutcome(
                    type="structured_output",
                    passed=False,
                    score=None,
                    reason=f"the output could not be parsed: {ex.parse_error}",
                )
            )
        return ex, outcomes, figures

    def _figures(self, cell: Cell, ex: Exchange) -> CallFigures:
        return CallFigures.of(ex.ai_messages, self.runner.pricing, cell.model.provider, cell.model.name)

    def _record(
        self,
        cell: Cell,
        ex: Exchange | None,
        outcomes: list[AssertionOutcome],
        figures: CallFigures,
        status: Status,
        error: str | None,
        cassette: Cassette,
        started: str,
    ) -> ResultRecord:
        runner = self.runner
        return build_record(
            run_id=runner.run_id,
            suite=runner.suite.name,
            case_id=cell.case.id,
            model=cell.model.model,
            model_id=cell.model.id,
            provider=cell.model.provider,
            repeat=cell.repeat,
            vars=cell.case.vars,
            tags=[*runner.suite.tags, *cell.case.case.tags],
            status=status,
            assertions=outcomes,
            input=cell.case.messages(),
            final=ex.final if ex is not None else None,
            structured=ex.structured if ex is not None else None,
            transcript=[transcript_entry(m) for m in ex.transcript] if ex is not None else [],
            figures=figures,
            cassette=cassette,
            error=error,
            started_at=started,
        )
