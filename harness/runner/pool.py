"""The runner's worker pool: run cells under their cassettes, build records, append them to results.jsonl.

A fixed pool of `concurrency` tasks pulls cells from one lazy iterator, so a 100,000-cell run holds
only the cells in flight; each finished record is written and flushed at once (a killed run loses
at most the cells in flight, and never a written one). In a worker process (`workers`) the same
class writes to that worker's part file.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

from harness.cassettes import Cassette as CassetteSession
from harness.cassettes import use_cassette
from harness.cassettes.cassette import TrafficLog
from harness.cassettes.inspect import traffic_calls
from harness.cassettes.modes import default_record_mode
from harness.errors import CassetteMissError, TargetError
from harness.messages.core import AIMessage
from harness.redaction import mask_text
from harness.results.build import (
    NO_CALLS,
    CallFigures,
    Pricing,
    build_record,
    evaluate,
    make_context,
    priced_calls,
    sum_usage,
    text_of,
    transcript_entry,
    utc_now,
)
from harness.results.io import RESULTS_FILE, dumps_line
from harness.results.record import AssertionOutcome, Cassette, ModelCall, ResultRecord, Status, num, state_of
from harness.results.summary import SummaryBuilder
from harness.runner.cell import Exchange, JudgeCalls, execute_cell
from harness.runner.target import call_target, target_input

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
        self.spent = 0.0  # US dollars the live calls of this invocation cost (what --max-cost limits)
        self.incomplete = False  # worker processes ended without reporting every chunk
        self.sink = sink  # a worker process's part file, which the worker owns
        self._fh = sink if sink is not None else (runner.run_dir / RESULTS_FILE).open("ab")

    def close(self) -> None:
        if self.sink is None:
            self._fh.close()

    async def run_all(self, cells: Iterator[Cell], workers: int) -> None:
        async def worker() -> None:
            for cell in cells:  # one shared iterator: next() never awaits, so no two workers get a cell twice
                record = self.skipped(cell) if self._over_budget(cell) else await self.run_cell(cell)
                self.emit(record)
                # a replayed cell never waits on anything: without this, a run of them would hold the
                # event loop, and worker processes' finished chunks (`workers`) would wait unnoticed
                await asyncio.sleep(0)

        await asyncio.gather(*(worker() for _ in range(workers)))

    def emit(self, record: ResultRecord) -> None:
        self._fh.write(dumps_line(record))
        self._fh.flush()  # a killed run loses only the cells in flight
        self._count(record)

    def _over_budget(self, cell: Cell) -> bool:
        limit = self.runner.options.max_cost
        return limit is not None and self.spent >= limit and self._goes_live(cell)

    def _goes_live(self, cell: Cell) -> bool:
        """Whether the cell would call a provider: no cassettes, a recording mode that records
        everything, or once / new_episodes without its cassette file (then it records)."""
        path = self.runner.cassette_path(cell)
        if path is None:
            return True
        mode = self.runner.options.record_mode or default_record_mode()
        if mode in ("all", "rewrite"):
            return True
        return mode != "none" and not os.path.exists(path)

    def skipped(self, cell: Cell) -> ResultRecord:
        """The record of a cell that does not start because --max-cost is spent (a resume runs it)."""
        limit = self.runner.options.max_cost
        reason = (
            f"skipped: --max-cost ${limit:g} was spent (${self.spent:.4f} on live calls) before this cell "
            "started, and it would call the provider live; resume the run with a higher --max-cost to run it"
        )
        path = self.runner.cassette_path(cell)
        return self._record(cell, _Done(), "skipped", reason, Cassette(path=path, state="unused"), utc_now())

    def _count(self, record: Any) -> None:
        self.ran += 1
        self.spent += live_cost(record)
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
        done = _Done()
        error: str | None = None
        state = "live"
        cassette: CassetteSession | None = None
        log: TrafficLog | None = None
        try:
            if path is not None:
                async with use_cassette(
                    path,
                    record_mode=runner.options.record_mode,
                    replay_speed=runner.options.replay_speed,
                    secret_headers=runner.suite.secret_headers,
                    scrub_patterns=runner.suite.scrub_patterns,
                    match_host=runner.options.match_host,
                ) as cassette:
                    await self._execute(cell, done, cassette)
            elif cell.case.target is not None:  # no cassette: the target's live calls are still noted
                async with TrafficLog() as log:
                    await self._execute(cell, done, log)
            else:
                await self._execute(cell, done, None)
        except CassetteMissError as e:
            error, state = f"{type(e).__name__}: {e}", "miss"
        except TargetError as e:  # the user's code raised: its traceback is the cell's error
            error = e.text
        except Exception as e:
            error = f"{type(e).__name__}: {e}"
        if error:  # user code and LangChain integrations may quote a key in what they raise
            error = mask_text(error, cell.model.secrets())
        if cassette is not None and state != "miss":
            # "unused": the cell made no model call (it failed first, e.g. a missing key) — never "replayed"
            state = "miss" if cassette.misses else cassette.state
        if done.exchange is None and cell.case.target is not None:  # the calls a target made before it failed
            done.exchange = Exchange(input=[], calls=self._calls(cassette or log))
            done.figures = CallFigures.of_calls(done.exchange.calls or [])
        outcomes = done.outcomes
        status: Status = "error" if error else ("passed" if all(o["passed"] for o in outcomes) else "failed")
        return self._record(cell, done, status, error, Cassette(path=path, state=state), started)

    def _calls(self, cassette: CassetteSession | TrafficLog | None) -> list[ModelCall]:
        """The cell's model calls, read from its cassette's traffic (any client) and priced."""
        if cassette is None:
            return []
        return priced_calls(traffic_calls(cassette.traffic()), self.runner.pricing)

    async def _run(
        self, cell: Cell, cassette: CassetteSession | TrafficLog | None
    ) -> tuple[Exchange, CallFigures]:
        runner = self.runner
        ec, model, target = cell.case, cell.model, cell.case.target
        if target is None:
            ex = await execute_cell(ec, model, runner.runtime, runner.options.retry)
            return ex, self._figures(cell, ex)
        messages = ec.messages()
        inp = target_input(
            messages[-1]["content"] if ec.case.prompt is not None else None,  # the rendered prompt
            messages,
            ec.vars,
            ec.id,
            runner.target_chat(model),
            model.model,
            model.id,
            cell.repeat,
        )
        out = await call_target(runner.runtime.target(target), inp)
        ex = Exchange(input=list(inp.messages), transcript=[*inp.messages, out.final], final=out.final)
        ex.structured, ex.metadata, ex.calls = out.structured, out.metadata, self._calls(cassette)
        return ex, CallFigures.of_calls(ex.calls)

    async def _execute(self, cell: Cell, done: _Done, cassette: CassetteSession | TrafficLog | None) -> None:
        """Run the cell's calls, then its assertions, filling `done` as it goes: a judge that gives
        no verdict raises after the exchange and its figures are kept, so the record still shows them."""
        runner = self.runner
        ex, figures = await self._run(cell, cassette)
        done.exchange, done.figures = ex, figures
        specs = runner.assertions_for(cell.case)
        outcomes: list[AssertionOutcome] = []
        if specs:
            final = ex.final if ex.final is not None else AIMessage(content="")
            text = text_of(ex.final)
            if not text and ex.structured is not None:  # tool-call structured output has no text
                text = json.dumps(ex.structured, ensure_ascii=False, default=str)
            judges = runner.case_judges.get(id(cell.case.case))
            calls = done.judge = JudgeCalls(judges, runner.options.retry) if judges else None
            ctx = make_context(
                output=final,
                text=text,
                structured=ex.structured,
                transcript=ex.transcript,
                tool_calls=[
                    {"name": c.get("name"), "args": c.get("args") or {}, "id": c.get("id")}
                    for c in (
                        [tc for call in ex.calls for tc in call["tool_calls"]]
                        if ex.calls is not None
                        else [c for m in ex.ai_messages for c in m.tool_calls]
                    )
                ],
                usage=figures.usage,
                cost_usd=figures.cost_usd,
                timing=figures.timing,
                vars=cell.case.vars,
                case_id=cell.case.id,
                model=cell.model.id,
                judge=calls,
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
        done.outcomes = outcomes

    def _figures(self, cell: Cell, ex: Exchange) -> CallFigures:
        return CallFigures.of(ex.ai_messages, self.runner.pricing, cell.model.provider, cell.model.name)

    def _record(
        self, cell: Cell, done: _Done, status: Status, error: str | None, cassette: Cassette, started: str
    ) -> ResultRecord:
        runner = self.runner
        ex = done.exchange
        judge_figures = _judge_figures(done.judge, runner.pricing)
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
            assertions=done.outcomes,
            input=cell.case.messages(),
            final=ex.final if ex is not None else None,
            structured=ex.structured if ex is not None else None,
            transcript=[transcript_entry(m) for m in ex.transcript] if ex is not None else [],
            figures=done.figures,
            judge_figures=judge_figures,
            cassette=cassette,
            error=error,
            started_at=started,
            calls=ex.calls if ex is not None else None,
            metadata=ex.metadata if ex is not None else None,
        )


def _judge_figures(calls: JudgeCalls | None, pricing: Pricing) -> CallFigures:
    """The tokens and cost of a cell's judge calls, each priced as its judge model."""
    if calls is None or not calls.replies:
        return NO_CALLS
    parts = [
        CallFigures.of([m for j, m in calls.replies if j is judge], pricing, judge.provider, judge.name)
        for judge in {id(j): j for j, _ in calls.replies}.values()
    ]
    costs = [p.cost_usd for p in parts]
    return CallFigures(
        usage=sum_usage([p.usage for p in parts]),
        cost_usd=None if None in costs else round(sum(c for c in costs if c is not None), 10),
        cost_avoided_usd=round(sum(p.cost_avoided_usd for p in parts), 10),
        timing=parts[0].timing,
    )


def live_cost(record: dict[str, Any]) -> float:
    """What a record's calls cost that went to the provider: the model's cost less what replay avoided,
    and the judge's unless the cell replayed (its judge calls replayed with it). Unpriced calls count 0."""
    model = (num(record.get("cost_usd")) or 0.0) - (num(record.get("cost_avoided_usd")) or 0.0)
    judge = 0.0 if state_of(record) == "replayed" else (num(record.get("judge_cost_usd")) or 0.0)
    return max(0.0, model) + judge


@dataclass
class _Done:
    """What a cell got to before it ended (an error may stop it at any step)."""

    exchange: Exchange | None = None
    figures: CallFigures = NO_CALLS
    judge: JudgeCalls | None = None
    outcomes: list[AssertionOutcome] = field(default_factory=list)
