"""Replay-heavy runs on several cores: the runner's cells spread over a standard-library process pool.

Replaying is CPU-bound (cassette parsing, HTTP plumbing, records), so one event loop uses one core.
With `workers > 1` the parent plans the cells and hands out ranges of them (chunks) to a
`concurrent.futures.ProcessPoolExecutor`. Each worker process parses the suite once (the pool's
initializer), runs every chunk it is given under its own event loop, and appends its records to its
own part file, `RUN_DIR/results.part-<pid>.jsonl`; a chunk returns only its counts and its share of
the summary. The parent reads no record: it folds the chunks' summaries together, moves the part
files into results.jsonl at the end (`harness.results.io.merge_parts`), and is never the bottleneck.
A killed run leaves its part files, which `--resume` merges before anything else. When a worker dies
(the pool breaks), the records its last chunk wrote are merged all the same, and the run's counts and
summary are taken from the file: what reached results.jsonl is what the run did.

Workers are started with `spawn` (a fresh interpreter): forking a process that runs an event loop
and holds open HTTP clients is not safe. They are started early (`EarlyPool`): as soon as the parent
has counted the cells, before it validates the cases, so each worker imports harness and parses the
suite while the parent validates; a worker builds its own runner when its first chunk arrives (with
the run's spec). Should validation fail, or the run end up needing another number of workers, the
early pool is shut down and nothing ran in it.
"""

from __future__ import annotations

import asyncio
import atexit
import dataclasses
import multiprocessing
import os
import sys
import weakref
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

from harness.results.io import part_path
from harness.results.summary import SummaryBuilder

if TYPE_CHECKING:
    from harness.runner.pool import CellRunner
    from harness.runner.runner import Cell, Runner

AUTO_MIN_CELLS = 4000  # below this a second process costs more to start than it saves
CHUNKS_PER_WORKER = 8  # small enough to keep every worker busy to the end, large enough to cost nothing


def worker_count(runner: Runner, todo: int) -> int:
    requested = runner.options.workers
    if requested is None:  # auto: only large runs of a suite read from a file
        if todo < AUTO_MIN_CELLS or not runner.suite.path or not os.path.isfile(runner.suite.path):
            return 1
        requested = os.cpu_count() or 1
    if requested > 1 and not (runner.suite.path and os.path.isfile(runner.suite.path)):
        return 1  # a suite built in memory cannot be handed to another process
    if runner.options.on_record is not None:
        return 1  # a callback per record runs where the records are made: in this process
    if runner.options.max_cost is not None:
        return 1  # one running total of live spending decides which cells may still start
    return max(1, min(int(requested), max(1, todo)))


@dataclass
class ChunkResult:
    """What a chunk of cells sends back: counts and a summary, never the records themselves."""

    ran: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    states: dict[str, int] = field(default_factory=dict)
    summary: SummaryBuilder = field(default_factory=SummaryBuilder)


def worker_spec(runner: Runner, done: set[tuple[str, str, int]], concurrency: int) -> dict[str, Any]:
    """Everything a worker needs to rebuild the same plan: the suite's path and the run's options."""
    o = runner.options
    return {
        "suite_path": os.path.abspath(str(runner.suite.path)),
        "cwd": os.getcwd(),
        "run_id": runner.run_id,
        "run_dir": str(runner.run_dir),
        "concurrency": concurrency,
        "done": [list(key) for key in done],
        "options": {
            "models": [m.entry.model_dump(exclude_none=True) for m in runner.models] if o.models else None,
            "record_mode": o.record_mode,
            "cassettes_dir": str(o.cassettes_dir) if o.cassettes_dir is not None else None,  # cwd is the same
            "replay_speed": o.replay_speed,
            "repeat": o.repeat,
            "prices_file": o.prices_file,
            "match_host": o.match_host,
            "retry": dataclasses.asdict(o.retry),
            "cases": list(o.cases) if o.cases is not None else None,
            "cells": [list(key) for key in o.cells] if o.cells is not None else None,
            "shard": o.shard,
        },
    }


def chunks(todo: int, workers: int) -> list[tuple[int, int]]:
    size = max(1, -(-todo // (workers * CHUNKS_PER_WORKER)))
    return [(start, min(start + size, todo)) for start in range(0, todo, size)]


class EarlyPool:
    """Worker processes started before the parent validates the suite (see the module's docstring)."""

    def __init__(self, runner: Runner, total: int) -> None:
        k, n = runner.options.shard or (1, 1)
        self.workers = 1 if runner.options.plan_only else worker_count(runner, len(range(k - 1, total, n)))
        self.pool: ProcessPoolExecutor | None = None
        if self.workers > 1:
            self.pool = _new_pool(str(runner.suite.path), self.workers)
            for _ in range(self.workers):  # with `spawn`, each submit starts one process: all start now
                self.pool.submit(_ready)
            weakref.finalize(self, self.pool.shutdown, wait=False, cancel_futures=True)  # never run

    def take(self, workers: int) -> ProcessPoolExecutor | None:
        """The pool, if it has `workers` processes; otherwise it is shut down and None."""
        pool, self.pool = self.pool, None
        if pool is not None and workers != self.workers:
            pool.shutdown(wait=True, cancel_futures=True)
            return None
        return pool

    def close(self) -> None:
        self.take(0)


def _new_pool(suite_path: str, workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_preload,
        initargs=(os.path.abspath(suite_path), os.getcwd()),
    )


async def run_pool(
    cell_runner: CellRunner,
    spec: dict[str, Any],
    todo: int,
    workers: int,
    early: ProcessPoolExecutor | None = None,
) -> None:
    """Run the `todo` cells of the plan over `workers` processes (those of `early` when given); fold each
    chunk's result in as it ends."""
    loop = asyncio.get_running_loop()
    cell_runner.incomplete = True  # until every chunk has reported
    with early or _new_pool(spec["suite_path"], workers) as pool:
        futures = [loop.run_in_executor(pool, _run_chunk, spec, a, b) for a, b in chunks(todo, workers)]
        try:
            for next_done in asyncio.as_completed(futures):
                cell_runner.absorb(await next_done)
            cell_runner.incomplete = False
        except BrokenProcessPool:
            print(
                "harness: a worker process died; its unfinished cells are missing: "
                f"resume with --resume {spec['run_dir']}",
                file=sys.stderr,
            )
        finally:
            for fut in futures:
                fut.cancel()


# --- inside a worker process ----------------------------------------------------------------------------


@dataclass
class _Worker:
    runner: Runner
    cells: list[Cell]
    concurrency: int
    out: BinaryIO


_worker: _Worker | None = None
_suite: Any = None  # the suite this process parsed when it started


def _preload(suite_path: str, cwd: str) -> None:
    """The pool's initializer: import the runner and parse the suite, while the parent validates it."""
    global _suite
    from harness.runner import runner  # noqa: F401  (imported now, not when the first chunk arrives)
    from harness.suite.spec import load_suite

    os.chdir(cwd)
    _suite = load_suite(suite_path)


def _ready() -> None:
    """A no-op task: submitting one per worker starts every process at once."""


def _setup(spec: dict[str, Any]) -> _Worker:
    """This process's runner and plan, built once, from the run's spec (with its first chunk)."""
    from harness.models.retry import RetryPolicy
    from harness.runner.runner import Runner, RunOptions
    from harness.suite.spec import load_suite

    os.chdir(spec["cwd"])
    options = dict(spec["options"])
    shard = options.pop("shard")
    retry = RetryPolicy(**options.pop("retry"))
    opts = RunOptions(
        **options,
        retry=retry,
        shard=(shard[0], shard[1]) if shard else None,
        out=spec["run_dir"],
        run_id=spec["run_id"],
        workers=1,
        concurrency=spec["concurrency"],
    )
    suite = _suite if _suite is not None else load_suite(spec["suite_path"])
    runner = Runner(suite, opts, in_worker=True)
    done = {tuple(k) for k in spec["done"]}
    cells = [c for c in runner.cells() if c.key not in done]
    out = part_path(spec["run_dir"], str(os.getpid())).open("ab")
    atexit.register(out.close)
    return _Worker(runner, cells, spec["concurrency"], out)


def _run_chunk(spec: dict[str, Any], start: int, stop: int) -> ChunkResult:
    global _worker
    from harness.runner.pool import CellRunner

    if _worker is None:
        _worker = _setup(spec)
    worker = _worker
    result = ChunkResult()
    cell_runner = CellRunner(
        worker.runner, result.summary, result.counts, result.states, None, sink=worker.out
    )

    async def go() -> None:
        try:
            await cell_runner.run_all(iter(worker.cells[start:stop]), worker.concurrency)
        finally:
            await worker.runner.aclose()

    asyncio.run(go())
    result.ran = cell_runner.ran
    return result
