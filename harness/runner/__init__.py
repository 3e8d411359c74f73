"""The runner: every case x model x repeat of a suite, each cell under its own cassette.

Owns: `runner` (models, planning, resuming, run.json), `options` (RunOptions, RunResult, Cell,
RunProgress), `rundir` (choosing or resuming the run directory, and reading its records back), `validation` (every case checked before any
cell), `cell` (one cell's model calls and tool loop), `target` (suite targets: TargetInput, the
user's function called under the cell's cassette), `pool` (the task pool that runs cells and
appends records), `workers` (worker processes for replay-heavy runs), `selection` (choosing cases,
models and failing cells), `plan` (each cell's replay / record / live / miss, missing keys, estimated
cost, before anything is spent). Retries go through
`harness.models.retry.RetryPolicy`, concurrency through `harness.rate_limiters.AdaptiveLimiter`
(one per provider).
May import: `harness.suite`, `harness.rate_limiters`, `harness.assertions`, `harness.models`, `harness.cassettes`,
`harness.results`, `harness.errors`, `harness.messages`, `harness.tools`, `harness.runnables`, `harness.imports`,
`harness.files`, `harness.redaction`, `harness.langchain` (`langchain:` model entries), `harness.providers`
(a target's LangChain or SDK reply).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.runner.runner import (
        Cell,
        Runner,
        RunOptions,
        RunResult,
        execute_cell,
        new_run_id,
        run_suite,
    )
    from harness.runner.target import TargetInput

__all__ = [
    "Cell",
    "RunOptions",
    "RunResult",
    "Runner",
    "TargetInput",
    "run_suite",
    "new_run_id",
    "execute_cell",
]


def __getattr__(name: str) -> Any:
    # imported on first use: `harness run --workers N` starts its worker processes from
    # `harness.runner.workers` before it imports the runner itself (the processes import it meanwhile)
    if name == "TargetInput":
        from harness.runner.target import TargetInput

        return TargetInput
    if name in __all__:
        from harness.runner import runner

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
