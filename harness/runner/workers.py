"""Replay-heavy runs on several cores: the runner's cells split over worker processes.

Replaying is CPU-bound (cassette parsing, HTTP plumbing, records), so one event loop uses one core.
With `workers > 1` the parent runs every Nth cell itself and starts N-1 children
(`python -m harness.runner.workers`), each running its share and printing one JSON record per line on
stdout; the parent is still the only writer of results.jsonl, the progress bar and the summary.
The children get the suite path, options and finished cells on stdin, so they validate nothing new.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.runner.pool import CellRunner
    from harness.runner.runner import Runner

AUTO_MIN_CELLS = 4000  # below this a second process costs more to start than it saves


def worker_count(runner: Runner, todo: int) -> int:
    requested = runner.options.workers
    if requested is None:  # auto: only large runs of a suite read from a file
        if todo < AUTO_MIN_CELLS or not runner.suite.path or not os.path.isfile(runner.suite.path):
            return 1
        requested = min(os.cpu_count() or 1, 4)
    if requested > 1 and not (runner.suite.path and os.path.isfile(runner.suite.path)):
        return 1  # a suite built in memory cannot be handed to another process
    return max(1, min(int(requested), max(1, todo)))


def shard_spec(
    runner: Runner, k: int, n: int, done: set[tuple[str, str, int]], concurrency: int
) -> dict[str, Any]:
    o = runner.options
    return {
        "suite_path": os.path.abspath(str(runner.suite.path)),
        "run_id": runner.run_id,
        "run_dir": str(runner.run_dir),
        "shard": k,
        "shards": n,
        "concurrency": concurrency,
        "done": [list(key) for key in done],
        "options": {
            "models": [m.entry.model_dump(exclude_none=True) for m in runner.models] if o.models else None,
            "record_mode": o.record_mode,
            "cassettes_dir": os.path.abspath(str(o.cassettes_dir)) if o.cassettes_dir is not None else None,
            "replay_speed": o.replay_speed,
            "repeat": o.repeat,
            "prices_file": o.prices_file,
            "match_host": o.match_host,
            "retry": dataclasses.asdict(o.retry),
            "cases": list(o.cases) if o.cases is not None else None,
            "cells": [list(key) for key in o.cells] if o.cells is not None else None,
        },
    }


async def run_child(cell_runner: CellRunner, spec: dict[str, Any]) -> None:
    """Start one child, feed it its spec, and emit every record line it prints.

    A thread reads the child's stdout: the parent's event loop is busy replaying its own share, and
    a pipe it read only between cells would fill up and stall the child.
    """
    loop = asyncio.get_running_loop()
    with subprocess.Popen(
        [sys.executable, "-m", "harness.runner.workers"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=os.getcwd(),
    ) as proc:  # closes the pipes on the way out
        assert proc.stdin is not None and proc.stdout is not None
        stdout = proc.stdout

        def pump() -> None:
            for line in stdout:
                if line.endswith(b"\n"):
                    loop.call_soon_threadsafe(cell_runner.emit_line, line)

        try:
            proc.stdin.write(json.dumps(spec).encode() + b"\n")
            proc.stdin.close()
            await asyncio.to_thread(pump)
            code = await asyncio.to_thread(proc.wait)
            await asyncio.sleep(0)  # let the last emit_line callbacks run
            if code != 0:
                print(
                    f"harness: worker process {spec['shard']} exited with {code}; its unfinished cells are "
                    f"missing: resume with --resume {spec['run_dir']}",
                    file=sys.stderr,
                )
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _child() -> None:
    from harness.runner.pool import CellRunner
    from harness.runner.runner import Runner, RunOptions
    from harness.suite.spec import load_suite

    spec = json.loads(sys.stdin.readline())
    from harness.models.retry import RetryPolicy

    options = spec["options"]
    opts = RunOptions(
        **{**options, "retry": RetryPolicy(**options["retry"])},
        out=spec["run_dir"],
        run_id=spec["run_id"],
        workers=1,
        concurrency=spec["concurrency"],
    )
    runner = Runner(load_suite(spec["suite_path"]), opts, shard=True)
    done = {tuple(k) for k in spec["done"]}
    k, n = spec["shard"], spec["shards"]
    cells = (c for i, c in enumerate(runner.cells()) if i % n == k and c.key not in done)
    out = sys.stdout.buffer
    worker = CellRunner(runner, None, {}, {}, None, sink=out)
    asyncio.run(worker.run_all(cells, spec["concurrency"]))
    out.flush()


if __name__ == "__main__":
    _child()
