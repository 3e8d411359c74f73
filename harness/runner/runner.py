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
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.assertions.base import SpecBase
from harness.cassettes.modes import RECORD_MODES
from harness.errors import ConfigurationError, SuiteError, UnknownParameterWarning
from harness.langchain.wrapped import LANGCHAIN_PREFIX, LangChainChatModel, langchain_model
from harness.models.chat import ChatModel
from harness.models.init import init_chat_model
from harness.rate_limiters import AdaptiveLimiter
from harness.redaction import redact_params
from harness.results.build import Pricing, utc_now
from harness.results.io import (
    RUN_FILE,
    load_run_meta,
    merge_parts,
    write_json_atomic,
)
from harness.results.summary import SummaryBuilder
from harness.runner.cell import CaseRuntime, ResolvedModel, execute_cell
from harness.runner.options import (
    DEFAULT_CONCURRENCY,
    Cell,
    RunOptions,
    RunProgress,
    RunResult,
    new_run_id,
)
from harness.runner.plan import check_live_keys
from harness.runner.pool import CellRunner
from harness.runner.rundir import choose_run_dir, recount, resume_state
from harness.runner.selection import selected_cases
from harness.runner.validation import CaseAssertions, case_judges, check_cases, check_cassette_paths
from harness.runner.workers import EarlyPool, run_pool, worker_count, worker_spec
from harness.suite.spec import ExpandedCase, ModelEntry, ModelSpec, Suite, slugify

__all__ = [
    "Cell",
    "RunOptions",
    "RunProgress",
    "RunResult",
    "Runner",
    "run_suite",
    "new_run_id",
    "execute_cell",
]


class Runner:
    def __init__(
        self,
        suite: Suite,
        options: RunOptions | None = None,
        *,
        in_worker: bool = False,
        early: EarlyPool | None = None,
    ) -> None:
        self.suite = suite
        self.in_worker = in_worker  # a worker process of a run: the parent validated and owns the run dir
        self.options = options or RunOptions()
        try:
            self._check_shard()
            total = self._check_cell_count()
        except BaseException:
            if early is not None:
                early.close()
            raise
        # worker processes start now (or started earlier: `early`) and parse the suite while this one
        # validates it (`workers`)
        self.early = None if in_worker else EarlyPool.for_runner(self, total, early)
        try:
            self._setup(suite, in_worker)
        except BaseException:
            if self.early is not None:
                self.early.close()
            raise

    def _setup(self, suite: Suite, in_worker: bool) -> None:
        self.cases = selected_cases(suite.expand(), self.options.cases)
        self._target_chats: dict[str, ChatModel] = {}
        self.models = self._resolve_models()
        self.judges: dict[str, ResolvedModel] = {}
        self.suite_judge = self.judge(suite.judge, ("judge",)) if suite.judge is not None else None
        self.runtime = CaseRuntime(Path(suite.path).parent if suite.path else None)
        self.assertions = CaseAssertions(suite)
        self.case_judges = case_judges(self) if in_worker else check_cases(self)
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
        if not in_worker:
            check_cassette_paths(self)
            if not self.options.plan_only:
                check_live_keys(self)

    # --- validation (before any cell runs) ----------------------------------------------------

    def _check_cell_count(self) -> int:
        """Count cells arithmetically, before expanding anything: a too-big suite costs no memory."""
        n_models = max(1, len(self.options.models or self.suite.models))
        per_case = self.suite.cell_counts(self.options.repeat)
        total = sum(per_case) * n_models
        limit = self.options.max_cells
        if total <= limit:
            return total
        biggest = max(range(len(per_case)), key=per_case.__getitem__)
        case = self.suite.cases[biggest]
        raise self.suite.error(
            f"the suite would run {total:,} cells (cases x variants x repeats x {n_models} model(s)), "
            f"above the limit of {limit:,}; case {case.id!r} alone is {per_case[biggest] * n_models:,}. "
            "Shrink its vars/matrix/repeat, or raise the limit with --max-cells N",
            "cases",
            biggest,
        )

    def _build(self, entry: ModelEntry) -> ChatModel | LangChainChatModel:
        params = {**self.suite.defaults, **entry.params}
        if entry.model.startswith(LANGCHAIN_PREFIX):  # the factory gets the params as they are
            base_dir = Path(self.suite.path).parent if self.suite.path else None
            return langchain_model(entry.model, params, base_dir=base_dir)
        params.setdefault("max_retries", 0)  # the runner retries, adapting concurrency on 429s
        with warnings.catch_warnings():  # a suite is a file: a misspelt parameter is refused, not sent
            warnings.simplefilter("error", UnknownParameterWarning)
            try:
                chat = init_chat_model(entry.model, **params)
            except UnknownParameterWarning as e:
                raise ConfigurationError(
                    f"model {entry.model!r}: {e.name!r} (in the model entry or the suite's defaults) is not "
                    f"a parameter {e.provider} knows.{e.hint} To send it in the request "
                    f"body as is, put it under model_kwargs: {{{e.name}: ...}}"
                ) from None
        if not isinstance(chat, ChatModel):
            raise ConfigurationError(
                f"model {entry.model!r}: 'configurable_fields' is not allowed here; a suite names fixed models"
            )
        return chat

    def target_chat(self, model: ResolvedModel) -> ChatModel | LangChainChatModel:
        """The model a target gets (`TargetInput.model`): the entry's, with its own retries (the runner
        retries prompt cells' calls itself; a target's calls retry as the model does), built once.
        A `langchain:` entry's model is the run's own (its factory chose its retries)."""
        if isinstance(model.chat, LangChainChatModel):
            return model.chat
        chat = self._target_chats.get(model.id)
        if chat is None:
            params = {**self.suite.defaults, **model.entry.params}
            chat = self._target_chats[model.id] = init_chat_model(model.entry.model, **params)
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

    def _check_key(self, chat: ChatModel | LangChainChatModel, entry: ModelEntry) -> None:
        """Re-recording everything needs live calls: a missing API key is an input error up front
        (a LangChain model's keys are its own business)."""
        if not isinstance(chat, ChatModel):
            return
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
        if self.in_worker:  # a worker process writes into the run directory its parent chose
            return str(self.options.run_id), Path(str(self.options.out)), False
        return choose_run_dir(self.suite.name, self.options)

    # --- planning -------------------------------------------------------------------------------

    def repeats(self, ec: ExpandedCase) -> int:
        return int(self.options.repeat or ec.case.repeat or self.suite.repeat or 1)

    def cells(self) -> Iterator[Cell]:
        """The cells of this run in plan order (case, model, repeat), less those the selection leaves
        out; with a shard K/N, every Nth of them from the (K-1)th: the same slice on every machine, and
        the N slices together are the whole run."""
        k, n = self.options.shard or (1, 1)
        only = {tuple(c) for c in self.options.cells} if self.options.cells is not None else None
        i = 0
        for ec in self.cases:
            for model in self.models:
                for r in range(self.repeats(ec)):
                    if only is not None and (ec.id, model.id, r) not in only:
                        continue
                    if i % n == k - 1:
                        yield Cell(ec, model, r)
                    i += 1

    @property
    def total_cells(self) -> int:
        if self.options.cells is not None:
            return sum(1 for _ in self.cells())
        total = sum(self.repeats(ec) for ec in self.cases) * len(self.models)
        k, n = self.options.shard or (1, 1)
        return len(range(k - 1, total, n))

    def _check_shard(self) -> None:
        shard = self.options.shard
        if shard is not None and not (1 <= shard[0] <= shard[1]):
            raise ConfigurationError(
                f"--shard {shard[0]}/{shard[1]} is not allowed; allowed: K/N with 1 <= K <= N, e.g. 1/4"
            )

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
            "match_host": o.match_host,
            "max_cost": o.max_cost,
            "shard": f"{o.shard[0]}/{o.shard[1]}" if o.shard else None,
        }

    # --- running --------------------------------------------------------------------------------

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
                **self.described(),
            },
        )

    def described(self) -> dict[str, Any]:
        """What run.json says of the suite for the report and `harness show`: its description and its
        cases in file order (ids and descriptions)."""
        cases = [
            {"id": c.id, **({"description": c.description} if c.description else {})}
            for c in self.suite.cases
        ]
        return {"description": self.suite.description, "cases": cases}

    async def arun(self, progress: RunProgress | None = None) -> RunResult:
        t0 = time.perf_counter()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        summary = SummaryBuilder([m.id for m in self.models])
        counts: dict[str, int] = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
        done = (
            resume_state(self.run_dir, summary, counts, retry_errors=self.options.retry_errors)
            if self.resuming
            else set()
        )
        started = utc_now()
        self._write_meta(started, summary, None)
        states: dict[str, int] = {}
        cells = (c for c in self.cells() if c.key not in done) if done else self.cells()
        todo = sum(1 for c in self.cells() if c.key not in done) if done else self.total_cells
        if progress is not None:
            progress.start(total=self.total_cells, done=len(done), counts=counts)
        worker = CellRunner(self, summary, counts, states, progress)
        n = 1 if self.options.max_cost is not None else worker_count(self, todo)  # one purse, one process
        try:
            early = self.early.take(n) if self.early is not None else None
            if n == 1:
                await worker.run_all(cells, min(self.concurrency, max(1, todo)))
            else:
                spec = worker_spec(self, done, max(1, self.concurrency // n))
                await run_pool(worker, spec, list(cells), n, early)
        finally:
            worker.close()
            if n > 1:
                merge_parts(self.run_dir)
                if worker.incomplete:  # a dead worker's last chunk wrote records it never reported
                    summary, counts, states, worker.ran = recount(self.run_dir, done)
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
        for chat in self._target_chats.values():
            await chat.aclose()


def run_suite(
    suite: Suite, options: RunOptions | None = None, progress: RunProgress | None = None
) -> RunResult:
    return Runner(suite, options).run(progress)
