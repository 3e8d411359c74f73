"""What a run is given and what it returns: `RunOptions`, `RunResult`, the `Cell` it plans, the
`RunProgress` a display implements, and the run id. Re-exported by `harness.runner`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from harness.models.retry import RetryPolicy
from harness.results.record import CellKey
from harness.results.record import new_run_id as new_run_id  # re-exported: harness.runner.new_run_id
from harness.results.summary import ModelSummary
from harness.runner.cell import ResolvedModel
from harness.suite.spec import ExpandedCase, ModelEntry

DEFAULT_CONCURRENCY = 8
DEFAULT_MAX_CELLS = 100_000  # cells one run may plan (--max-cells): a typo in a matrix is not a 24 GB run
# the runner's retries: models are built with max_retries=0 and each cell's calls retry through this
# (a 429 storm passes, so it gets a bigger budget than a failing provider)
RUNNER_RETRY = RetryPolicy(max_retries=3, max_rate_limit_retries=24)


class RunProgress(Protocol):
    """What the runner tells a progress display (the CLI's bar): the totals, the cells as they finish
    (one by one, or a chunk at a time from worker processes), the end."""

    def start(self, total: int, done: int, counts: dict[str, int]) -> None: ...

    def advance(self, counts: dict[str, int], states: dict[str, int], cells: int = 1) -> None: ...

    def stop(self) -> None: ...


@dataclass
class RunOptions:
    models: Sequence[str | ModelEntry | dict[str, Any]] | None = None  # overrides the suite's models
    record_mode: str | None = None  # None: the cassette's default (none in CI or when it exists)
    cassettes_dir: str | Path | None = "cassettes"  # None: no cassettes, every call live
    out: str | Path | None = None  # the run directory (default runs/<suite>-<run_id>)
    runs_dir: str | Path = "runs"
    concurrency: int | None = None
    repeat: int | None = None
    replay_speed: str | float = "instant"
    resume: str | Path | None = None
    retry_errors: bool = False
    retry: RetryPolicy = RUNNER_RETRY
    prices_file: str | None = None
    run_id: str | None = None
    on_record: Callable[[dict[str, Any]], Any] | None = None  # called after each record is written
    workers: int | None = 1  # processes for CPU-bound (replay) runs; None: auto (large runs: one per core)
    shard: tuple[int, int] | None = None  # (K, N): run only the K-th of N slices of the cells (1-based)
    max_cells: int = DEFAULT_MAX_CELLS  # refuse a suite that would plan more cells, before building any
    match_host: bool = False  # cassettes also match the host of recognised requests (use_cassette's)
    # US dollars this run may spend on live calls (model and judge); once spent, no new cell that would
    # go live starts: it gets a "skipped" record (a resume runs it). None: no limit
    max_cost: float | None = None
    cases: Sequence[str] | None = None  # expanded case ids to run (harness.runner.selection); None: all
    cells: Sequence[CellKey] | None = None  # only these (case, model, repeat) cells, e.g. the failing ones
    plan_only: bool = False  # validate and plan (harness validate, --dry-run): missing keys are listed


@dataclass
class Cell:
    case: ExpandedCase
    model: ResolvedModel
    repeat: int

    @property
    def key(self) -> CellKey:
        return (self.case.id, self.model.id, self.repeat)


@dataclass
class RunResult:
    run_id: str
    suite: str
    run_dir: Path
    summary: dict[str, ModelSummary]
    counts: dict[str, int]  # passed / failed / error / skipped over the whole run (resumed cells included)
    states: dict[str, int]  # cassette states of the cells run now: replayed / recorded / live / miss / mixed
    ran: int  # cells run by this invocation
    skipped: int  # cells already finished (resume)
    elapsed_s: float

    @property
    def ok(self) -> bool:
        return self.counts.get("failed", 0) == 0 and self.counts.get("error", 0) == 0
