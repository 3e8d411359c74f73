"""Replay-heavy runs on several cores: the runner's cells spread over a standard-library process pool.

Replaying is CPU-bound (cassette parsing, HTTP plumbing, records), so one event loop uses one core.
With `workers = N > 1` the cells of the plan are cut into ranges (chunks) that N runners take in turn
from one queue: this process and N - 1 processes of a `concurrent.futures.ProcessPoolExecutor`. The
parent has already parsed, validated and planned the suite, so it runs chunks itself rather than pay
for one more interpreter; a worker process parses the suite once (the pool's initializer), runs each
chunk it is given under its own event loop and appends its records to its own part file,
`RUN_DIR/results.part-<pid>.jsonl`; its chunk returns only counts and its share of the summary. The
parent never reads a worker's record: it folds the chunks' summaries together and appends the part
files to results.jsonl at the end (`harness.results.io.merge_parts`). A killed run leaves its part
files, which `--resume` merges before anything else. When a worker dies (the pool breaks), this process
runs the chunks nobody has taken, the records the dead worker's chunk wrote are merged all the same,
and the run's counts and summary are taken from the file: what reached results.jsonl is what the run did.

Workers are started with `spawn` (a fresh interpreter): forking a process that runs an event loop
and holds open HTTP clients is not safe. They are started early (`EarlyPool`), so that each imports
harness and parses the suite while the parent does and validates it: `harness run --workers N` starts
them before it parses the suite (`EarlyPool.before_parse`; a worker that cannot parse it stays quiet,
the parent says why), `harness run` with `auto` on a whole suite once it is parsed and counted
(`after_parse`), a `Runner` otherwise as soon as it has counted its cells (`for_runner`). A
worker builds its own runner when its first chunk arrives (with the run's spec). Should validation
fail, or the run end up needing another number of workers, the early pool is shut down and nothing
ran in it. A worker leaves without tearing its interpreter down
(its part file is closed first): freeing a plan's worth of objects one by one only delays the parent.
"""

from __future__ import annotations

import asyncio
import atexit
import dataclasses
import multiprocessing
import os
import sys
import threading
import weakref
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.results.io import part_path
from harness.results.summary import SummaryBuilder

if TYPE_CHECKING:
    from harness.runner.pool import CellRunner
    from harness.runner.runner import Cell, Runner
    from harness.suite.spec import Suite

AUTO_MIN_CELLS = 4000  # below this a second process costs more to start than it saves
CHUNK_SHARE = 2  # a chunk is 1 / (CHUNK_SHARE x workers) of the cells left
MIN_CHUNK = 50  # cells: a chunk's round trip and event loop cost well under 1% of its replay


def auto_workers(todo: int, suite_path: str | None) -> int:
    """What `--workers auto` runs `todo` cells with: one process per core for a large run of a suite read
    from a file, else one."""
    if todo < AUTO_MIN_CELLS or not suite_path or not os.path.isfile(suite_path):
        return 1
    return os.cpu_count() or 1


def worker_count(runner: Runner, todo: int) -> int:
    requested = runner.options.workers
    if requested is None:
        requested = auto_workers(todo, runner.suite.path)
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


class ChunkQueue:
    """The plan's cells as ranges handed out in turn, each a share of what is left (guided scheduling):
    large at first, so a chunk's fixed costs are paid rarely, then smaller, so every runner finishes
    within a short chunk of the others whatever their start-up or speed."""

    def __init__(self, todo: int, workers: int) -> None:
        self.next, self.todo, self.workers = 0, todo, workers
        self.smallest = min(MIN_CHUNK, -(-todo // (4 * CHUNK_SHARE * workers)))  # a small run is shared too

    def take(self) -> tuple[int, int] | None:
        left = self.todo - self.next
        if left <= 0:
            return None
        size = min(left, max(self.smallest, -(-left // (CHUNK_SHARE * self.workers))))
        start, self.next = self.next, self.next + size
        return start, self.next


class EarlyPool:
    """Worker processes started before the parent validates the suite (see the module's docstring), for a
    run of `workers` runners: this process and `workers - 1` others."""

    def __init__(self, suite_path: str, workers: int) -> None:
        self.suite_path, self.workers = os.path.abspath(suite_path), workers
        self.pool: ProcessPoolExecutor | None = None
        if workers > 1:
            self.pool = _new_pool(self.suite_path, workers - 1)
            for _ in range(workers - 1):  # with `spawn`, each submit starts one process: all start now
                self.pool.submit(_ready)
            weakref.finalize(self, self.pool.shutdown, wait=False, cancel_futures=True)  # never run

    @classmethod
    def for_runner(cls, runner: Runner, total: int, given: EarlyPool | None) -> EarlyPool | None:
        """The pool a runner of `total` cells needs: `given` (started before the suite was even parsed)
        when it fits, else a new one (and `given` is shut down); None for a run in this process alone."""
        k, n = runner.options.shard or (1, 1)
        workers = 1 if runner.options.plan_only else worker_count(runner, len(range(k - 1, total, n)))
        path = os.path.abspath(str(runner.suite.path)) if runner.suite.path else None
        if given is not None and (given.workers, given.suite_path) == (workers, path):
            return given
        if given is not None:
            given.close()
        return cls(str(path), workers) if workers > 1 else None

    @classmethod
    def before_parse(cls, suite_path: str, workers: int | None) -> EarlyPool | None:
        """For `--workers N`: the processes started before the suite is parsed, so they import harness
        while this process does (`harness run`). `auto` waits for the count of cells."""
        if workers is None or workers < 2 or not os.path.isfile(suite_path):
            return None
        return cls(suite_path, workers)

    @classmethod
    def after_parse(
        cls, suite: Suite, models: int, repeat: int | None, shard: tuple[int, int] | None
    ) -> EarlyPool | None:
        """For `auto` on a whole suite: the processes its count of cells calls for, started as soon as
        it is parsed, before this process imports the runner (`harness run` with no selection)."""
        k, n = shard or (1, 1)
        workers = auto_workers(len(range(k - 1, sum(suite.cell_counts(repeat)) * models, n)), suite.path)
        return cls(str(suite.path), workers) if workers > 1 else None

    def take(self, workers: int) -> ProcessPoolExecutor | None:
        """The pool, if it was started for `workers` runners; otherwise it is shut down and None."""
        pool, self.pool = self.pool, None
        if pool is not None and workers != self.workers:
            pool.shutdown(wait=True, cancel_futures=True)
            return None
        return pool

    def close(self) -> None:
        """Stop the processes, which have run nothing (they exit once they have started)."""
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
    plan: list[Cell],
    workers: int,
    early: ProcessPoolExecutor | None = None,
) -> None:
    """Run the cells of `plan` (the run's plan less the cells done) with `workers` runners: this process and
    `workers - 1` processes (those of `early` when given), each taking the next chunk as it finishes one."""
    loop = asyncio.get_running_loop()
    queue = ChunkQueue(len(plan), workers)
    pool = early or _new_pool(spec["suite_path"], workers - 1)
    broken: list[BaseException] = []

    async def remote() -> None:
        while not broken and (chunk := queue.take()) is not None:
            start, stop = chunk
            try:
                cell_runner.absorb(await loop.run_in_executor(pool, _run_chunk, spec, start, stop))
            except BrokenProcessPool as e:  # a worker died: this process runs what is left
                broken.append(e)

    async def local() -> None:
        while (chunk := queue.take()) is not None:
            start, stop = chunk
            await cell_runner.run_all(iter(plan[start:stop]), spec["concurrency"])

    cell_runner.incomplete = True  # until every chunk has reported
    try:
        await asyncio.gather(local(), *(remote() for _ in range(workers - 1)))
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)  # chunks still running finish before the merge
        raise
    # every chunk reported and flushed its records: the part files can be merged while the processes
    # exit (waiting for them here would add their exit to the run's time)
    pool.shutdown(wait=False)
    cell_runner.incomplete = bool(broken)
    if broken:
        print(
            "harness: a worker process died; the cells of the chunk it was running are missing: "
            f"resume with --resume {spec['run_dir']}",
            file=sys.stderr,
        )


# --- inside a worker process ----------------------------------------------------------------------------


@dataclass
class _Worker:
    runner: Runner
    cells: list[Cell]
    concurrency: int
    part: Path  # this process's part file, open only while a chunk runs


_worker: _Worker | None = None
_suite: Any = None  # the suite this process parsed when it started


def _preload(suite_path: str, cwd: str) -> None:
    """The pool's initializer: import the runner and parse the suite, while the parent validates it."""
    global _suite
    from harness.runner import runner  # noqa: F401  (imported now, not when the first chunk arrives)
    from harness.suite.spec import load_suite

    atexit.register(_leave)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_outlive_not, args=(parent,), name="harness-parent", daemon=True).start()
    os.chdir(cwd)
    try:
        _suite = load_suite(suite_path)
    except Exception:  # started before the parent parsed it (`EarlyPool.before_parse`): the parent says why
        _suite = None
    else:
        _suite.expand()  # now rather than once the first chunk has come


def _outlive_not(parent: Any) -> None:
    """Exit when the parent process ends. A parent killed outright (SIGKILL, the OOM killer, a CI
    timeout) never reads the chunk its worker then finishes: the worker would wait on that pipe forever.
    Its records are in its part file, which `--resume` merges."""
    parent.join()
    os._exit(1)


def _leave() -> None:
    """Exit without the interpreter's teardown (see the module's docstring): the part file was closed with
    each chunk, and the standard streams are flushed here."""
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()
    os._exit(0)


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
    cells = [c for c in runner.cells() if c.key not in done] if done else list(runner.cells())
    return _Worker(runner, cells, spec["concurrency"], part_path(spec["run_dir"], str(os.getpid())))


def _run_chunk(spec: dict[str, Any], start: int, stop: int) -> ChunkResult:
    global _worker
    from harness.runner.pool import CellRunner

    if _worker is None:
        _worker = _setup(spec)
    worker = _worker
    result = ChunkResult()
    with worker.part.open("ab") as out:
        cell_runner = CellRunner(worker.runner, result.summary, result.counts, result.states, None, sink=out)

        async def go() -> None:
            try:
                await cell_runner.run_all(iter(worker.cells[start:stop]), worker.concurrency)
            finally:
                await worker.runner.aclose()

        asyncio.run(go())
    result.ran = cell_runner.ran
    return result
