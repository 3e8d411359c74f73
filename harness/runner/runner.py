"""The runner: every case × model × repeat of a suite, concurrently, each cell under its own cassette.

    from harness.runner.runner import RunOptions, Runner
    runner = Runner(load_suite("suites/quickstart.yaml"), RunOptions(concurrency=8))   # validates all
    result = runner.run()            # or: await runner.arun()
    result.run_dir, result.summary, result.ok

Nothing runs until everything validated (suite, models, judges, prices, run directory, and each case:
`harness.runner.validation`). Records are
appended to RUN_DIR/results.jsonl as each cell finishes, so a killed run resumes where it stopped
(`RunOptions(resume=RUN_DIR)`), and an error in one cell never stops the others.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from harness.assertions.base import SpecBase
from harness.cassettes.modes import RECORD_MODES
from harness.errors import ConfigurationError, InputError, SuiteError
from harness.files import write_atomic
from harness.models.chat import ChatModel
from harness.models.init import init_chat_model
from harness.models.retry import RetryPolicy
from harness.rate_limiters import AdaptiveLimiter
from harness.redaction import redact_params
from harness.results.build import Pricing, utc_now
from harness.results.io import (
    RESULTS_FILE,
    RUN_FILE,
    dumps_line,
    iter_records,
    latest,
    load_run_meta,
    write_json_atomic,
)
from harness.results.summary import ModelSummary, SummaryBuilder
from harness.runner.cell import CaseRuntime, ResolvedModel, execute_cell
from harness.runner.pool import CellRunner
from harness.runner.validation import CaseAssertions, check_cases, check_cassette_paths
from harness.runner.workers import run_child, shard_spec, worker_count
from harness.suite.spec import ExpandedCase, ModelEntry, ModelSpec, Suite, slugify

DEFAULT_CONCURRENCY = 8
DEFAULT_MAX_CELLS = 100_000  # cells one run may plan (--max-cells): a typo in a matrix is not a 24 GB run
# the runner's retries: models are built with max_retries=0 and each cell's calls retry through this
# (a 429 storm passes, so it gets a bigger budget than a failing provider)
RUNNER_RETRY = RetryPolicy(max_retries=3, max_rate_limit_retries=24)

__all__ = ["Cell", "RunOptions", "RunResult", "Runner", "run_suite", "new_run_id", "execute_cell"]


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(2)


class RunProgress(Protocol):
    """What the runner tells a progress display (the CLI's bar): the totals, each record, the end."""

    def start(self, total: int, done: int, counts: dict[str, int]) -> None: ...

    def advance(self, record: dict[str, Any], counts: dict[str, int], states: dict[str, int]) -> None: ...

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
    workers: int | None = 1  # processes for CPU-bound (replay) runs; None: auto (large runs, up to 4)
    max_cells: int = DEFAULT_MAX_CELLS  # refuse a suite that would plan more cells, before building any


@dataclass
class Cell:
    case: ExpandedCase
    model: ResolvedModel
    repeat: int

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.case.id, self.model.id, self.repeat)


@dataclass
class RunResult:
    run_id: str
    suite: str
    run_dir: Path
    summary: dict[str, ModelSummary]
    counts: dict[str, int]  # passed / failed / error over the whole run (resumed cells included)
    states: dict[str, int]  # cassette states of the cells run now: replayed / recorded / live / miss / mixed
    ran: int  # cells run by this invocation
    skipped: int  # cells already finished (resume)
    elapsed_s: float

    @property
    def ok(self) -> bool:
        return self.counts.get("failed", 0) == 0 and self.counts.get("error", 0) == 0


class Runner:
    def __init__(self, suite: Suite, options: RunOptions | None = None, *, shard: bool = False) -> None:
        self.suite = suite
        self.shard = shard  # a worker process of a sharded run: the parent validated and owns the run dir
        self.options = options or RunOptions()
        if not shard:
            self._check_cell_count()
        self.cases = suite.expand()
        self.models = self._resolve_models()
        self.judges: dict[str, ResolvedModel] = {}
        self.suite_judge = self.judge(suite.judge, ("judge",)) if suite.judge is not None else None
        self.runtime = CaseRuntime(Path(suite.path).parent if suite.path else None)
        self.assertions = CaseAssertions(suite)
        self.case_judges = check_cases(self)
        self.run_id, self.run_dir, self.resuming = self._run_dir()
        if self.options.record_mode is not None and self.options.record_mode not in RECORD_MODES:
            raise ConfigurationError(
                f"--record-mode {self.options.record_mode!r} is not allowed; "
                f"allowed: {', '.join(RECORD_MODES)}"
            )
        self.pricing = Pricing.load(self.options.prices_file)
        self._model_slugs: dict[str, str] = {}
        cas = self.options.cassettes_dir
        self._cassette_root = (Path(cas) / slugify(suite.name)).as_posix() if cas is not None else ""
        if not shard:
            check_cassette_paths(self)

    # --- validation (before any cell runs) ----------------------------------------------------

    def _check_cell_count(self) -> None:
        """Count cells arithmetically, before expanding anything: a too-big suite costs no memory."""
        n_models = max(1, len(self.options.models or self.suite.models))
        per_case = self.suite.cell_counts(self.options.repeat)
        total = sum(per_case) * n_models
        limit = self.options.max_cells
        if total <= limit:
            return
        biggest = max(range(len(per_case)), key=per_case.__getitem__)
        case = self.suite.cases[biggest]
        raise self.suite.error(
            f"the suite would run {total:,} cells (cases x variants x repeats x {n_models} model(s)), "
            f"above the limit of {limit:,}; case {case.id!r} alone is {per_case[biggest] * n_models:,}. "
            "Shrink its vars/matrix/repeat, or raise the limit with --max-cells N",
            "cases",
            biggest,
        )

    def _build(self, entry: ModelEntry) -> ChatModel:
        params = {**self.suite.defaults, **entry.params}
        params.setdefault("max_retries", 0)  # the runner retries, adapting concurrency on 429s
        chat = init_chat_model(entry.model, **params)
        if not isinstance(chat, ChatModel):
            raise ConfigurationError(
                f"model {entry.model!r}: 'configurable_fields' is not allowed here; a suite names fixed models"
            )
        return chat

    def _resolve_models(self) -> list[ResolvedModel]:
        override = self.options.models
        entries = [ModelEntry.coerce(m) for m in override] if override else self.suite.model_entries
        if not entries:
            raise SuiteError(
                "no models: list them under 'models:' in the suite or pass --models a,b",
                path=self.suite.path,
                line=1,
            )
        limit = self.concurrency
        limiters: dict[str, AdaptiveLimiter] = {}
        out: list[ResolvedModel] = []
        seen: set[str] = set()
        for i, entry in enumerate(entries):
            try:
                chat = self._build(entry)
            except (ConfigurationError, TypeError, ValueError) as e:
                if override:
                    raise ConfigurationError(f"--models: {e}") from None
                raise self.suite.error(str(e), "models", i) from None
            if entry.display_id in seen:
                msg = f"two models have the id {entry.display_id!r}; give one an 'id:'"
                raise (
                    ConfigurationError(f"--models: {msg}") if override else self.suite.error(msg, "models", i)
                )
            seen.add(entry.display_id)
            provider = chat.model_provider
            if provider not in limiters:
                limiters[provider] = AdaptiveLimiter(self.suite.provider_concurrency.get(provider, limit))
            self._check_key(chat, entry)
            out.append(ResolvedModel(entry, chat, limiters[provider]))
        self.limiters = limiters
        return out

    def _check_key(self, chat: ChatModel, entry: ModelEntry) -> None:
        """Re-recording everything needs live calls: a missing API key is an input error up front."""
        missing = chat.adapter.missing_key
        if (
            missing is not None
            and self.options.record_mode in ("all", "rewrite")
            and self.options.cassettes_dir is not None
        ):
            raise ConfigurationError(f"model {entry.model!r}: {missing}")

    def judge(self, spec: ModelSpec, loc: tuple[str | int, ...]) -> ResolvedModel:
        entry = ModelEntry.coerce(spec)
        key = entry.model_dump_json()
        if key not in self.judges:
            try:
                chat = self._build(entry)
            except (ConfigurationError, TypeError, ValueError) as e:
                raise self.suite.error(f"judge model: {e}", *loc) from None
            limiter = self.limiters.setdefault(chat.model_provider, AdaptiveLimiter(self.concurrency))
            self.judges[key] = ResolvedModel(entry, chat, limiter)
        return self.judges[key]

    def assertions_for(self, ec: ExpandedCase) -> list[SpecBase]:
        """The case's assertions with `{{ var }}` templates in their values rendered for this cell."""
        return self.assertions.of(ec)

    @property
    def concurrency(self) -> int:
        return int(self.options.concurrency or self.suite.concurrency or DEFAULT_CONCURRENCY)

    def _run_dir(self) -> tuple[str, Path, bool]:
        opts = self.options
        if self.shard:
            return str(opts.run_id), Path(str(opts.out)), False
        if opts.resume is not None:
            run_dir = Path(opts.resume)
            meta = load_run_meta(run_dir)
            if not meta and not (run_dir / RESULTS_FILE).is_file():
                raise InputError("nothing to resume: no run.json or results.jsonl here", path=str(run_dir))
            if meta.get("suite") not in (None, self.suite.name):
                raise InputError(
                    f"this run is of suite {meta.get('suite')!r}, not {self.suite.name!r}",
                    path=str(run_dir / RUN_FILE),
                )
            return str(meta.get("run_id") or opts.run_id or new_run_id()), run_dir, True
        run_id = opts.run_id or new_run_id()
        run_dir = Path(opts.out) if opts.out else Path(opts.runs_dir) / f"{slugify(self.suite.name)}-{run_id}"
        results = run_dir / RESULTS_FILE
        if results.is_file() and results.stat().st_size > 0:
            raise InputError(
                f"already holds results; resume it with --resume {run_dir} or choose another --out",
                path=str(run_dir),
            )
        return run_id, run_dir, False

    # --- planning -------------------------------------------------------------------------------

    def repeats(self, ec: ExpandedCase) -> int:
        return int(self.options.repeat or ec.case.repeat or self.suite.repeat or 1)

    def cells(self) -> Iterator[Cell]:
        for ec in self.cases:
            for model in self.models:
                for r in range(self.repeats(ec)):
                    yield Cell(ec, model, r)

    @property
    def total_cells(self) -> int:
        return sum(self.repeats(ec) for ec in self.cases) * len(self.models)

    def cassette_path(self, cell: Cell) -> str | None:
        """cassettes/<suite>/<case>/<model>.yaml (repeats after the first: <model>.r<N>.yaml)."""
        if self.options.cassettes_dir is None:
            return None
        name = self._model_slugs.get(cell.model.id)
        if name is None:
            name = self._model_slugs[cell.model.id] = slugify(cell.model.id)
        suffix = f".r{cell.repeat}.yaml" if cell.repeat else ".yaml"
        return f"{self._cassette_root}/{cell.case.slug}/{name}{suffix}"

    def config(self) -> dict[str, Any]:
        o = self.options
        return {
            "models": [redact_params(m.entry.model_dump(exclude_none=True)) for m in self.models]
            if o.models
            else None,
            "record_mode": o.record_mode,
            "replay_speed": o.replay_speed,
            "cassettes_dir": str(o.cassettes_dir) if o.cassettes_dir is not None else None,
            "concurrency": self.concurrency,
            "repeat": o.repeat,
        }

    # --- running --------------------------------------------------------------------------------

    def _resume_state(self, summary: SummaryBuilder, counts: dict[str, int]) -> set[tuple[str, str, int]]:
        """Keys of finished cells; with retry_errors, errored records are dropped from the file."""
        path = self.run_dir / RESULTS_FILE
        kept: list[dict[str, Any]] = []
        dropped = False
        for rec in iter_records(self.run_dir, repair=True):
            if self.options.retry_errors and rec.get("status") == "error":
                dropped = True
                continue
            kept.append(rec)
        if dropped:
            write_atomic(path, b"".join(dumps_line(rec) for rec in kept))
        cells = latest(kept)  # should a cell appear twice, its last record counts, as everywhere
        for rec in cells.values():
            summary.add(rec)
            counts[str(rec.get("status"))] = counts.get(str(rec.get("status")), 0) + 1
        return set(cells)

    def _write_meta(self, started: str, summary: SummaryBuilder, finished: str | None) -> None:
        meta = load_run_meta(self.run_dir) if self.resuming else {}
        write_json_atomic(
            self.run_dir / RUN_FILE,
            {
                "run_id": self.run_id,
                "suite": self.suite.name,
                "suite_path": self.suite.path,
                "models": [{"id": m.id, "model": m.model, "provider": m.provider} for m in self.models],
                "config": self.config(),
                "started_at": meta.get("started_at") or started,
                "finished_at": finished,
                "summary": summary.summary(),
            },
        )

    async def arun(self, progress: RunProgress | None = None) -> RunResult:
        t0 = time.perf_counter()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        summary = SummaryBuilder()
        counts: dict[str, int] = {"passed": 0, "failed": 0, "error": 0}
        done = self._resume_state(summary, counts) if self.resuming else set()
        started = utc_now()
        self._write_meta(started, summary, None)
        states: dict[str, int] = {}
        cells = (c for c in self.cells() if c.key not in done)
        todo = self.total_cells - len(done)
        if progress is not None:
            progress.start(total=self.total_cells, done=len(done), counts=counts)
        worker = CellRunner(self, summary, counts, states, progress)
        n = worker_count(self, todo)
        try:
            if n == 1:
                await worker.run_all(cells, min(self.concurrency, max(1, todo)))
            else:
                share = max(1, self.concurrency // n)
                mine = (c for i, c in enumerate(self.cells()) if i % n == 0 and c.key not in done)
                await asyncio.gather(
                    worker.run_all(mine, share),
                    *(run_child(worker, shard_spec(self, k, n, done, share)) for k in range(1, n)),
                )
        finally:
            worker.close()
            await self.aclose()
            self._write_meta(started, summary, utc_now())
            if progress is not None:
                progress.stop()
        return RunResult(
            self.run_id,
            self.suite.name,
            self.run_dir,
            summary.summary(),
            counts,
            states,
            worker.ran,
            len(done),
            time.perf_counter() - t0,
        )

    def run(self, progress: RunProgress | None = None) -> RunResult:
        return asyncio.run(self.arun(progress))

    async def aclose(self) -> None:
        """Close the HTTP clients of every model this runner built (they reopen if it runs again)."""
        for model in [*self.models, *self.judges.values()]:
            await model.chat.aclose()


def run_suite(
    suite: Suite, options: RunOptions | None = None, progress: RunProgress | None = None
) -> RunResult:
    return Runner(suite, options).run(progress)
