"""``harness run SUITE...`` — run suites over models, write results.jsonl, run.json and the HTML report."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from harness.cli.run_console import Progress, print_failures, print_summary, write_report
from harness.cli.run_gates import Gate, combine, exit_code, parse_gates, resolve_gates
from harness.cli.run_options import (
    cassettes_value,
    check_exports,
    check_writable,
    plan_options,
    replay_speed_value,
    shard_value,
    trusted_paths,
    workers_value,
)
from harness.cli.run_resume import ResumingCommand, remember
from harness.cli.run_setup import build_runners
from harness.cli.select import load_env_files, selection_options
from harness.cli.show import print_outputs
from harness.cli.validate import print_plan
from harness.errors import ConfigurationError, InputError

if TYPE_CHECKING:
    from harness.runner.runner import Runner

EXAMPLES = """\b
Examples:
  harness run suites/quickstart.yaml                     # replay from cassettes/, write a report
  harness run suites/quickstart.yaml --models openai:gpt-4.1-mini,anthropic:claude-haiku-4-5   # live: keys needed
  harness run suites/quickstart.yaml --record-mode once  # record what has no cassette yet
  harness run suites/*.yaml --concurrency 20 --junit results.xml --no-report
  harness run suites/big.yaml --workers 2                # replay a large suite on two cores
  harness run suites/big.yaml --shard 2/4 --out runs/s2  # one CI job's slice; then: harness merge runs/s* --out runs/all
  harness run suites/big.yaml --dry-run --max-cells 500000   # validate and list the cells; run nothing
  harness run suites/quickstart.yaml --case 'capital*' --tag invoke --models claude-haiku
  harness run suites/quickstart.yaml --filter-failing runs/quickstart-20261124T063000-3f2a
  harness run --resume runs/quickstart-20261124T063000-3f2a --retry-errors   # keeps the run's options
  harness run suites/quickstart.yaml --fail-under 0.9 --max-cost 5

\b
Exit codes: 0 every cell passed (with --fail-under: every gate held), 1 a cell failed or errored
(with --fail-under: a gate was missed), 2 usage or input error, 3 --max-cost skipped cells.
"""


@click.command(
    "run",
    cls=ResumingCommand,
    epilog=EXAMPLES,
    short_help="Run suites over models; write results and a report.",
)
@click.argument("suites", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@plan_options
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Run directory (default: runs/<suite>-<run_id>).",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="HTML report path (default: reports/<suite>-<run_id>.html).",
)
@click.option(
    "--baseline",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="A previous run directory the report compares against.",
)
@click.option("--no-report", is_flag=True, help="Do not write the HTML report.")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    help="Cells in flight at once (default: the suite's, else 8).",
)
@click.option(
    "--workers",
    default="auto",
    show_default=True,
    help="Processes sharing the cells: N, or auto (one per core for runs of 4,000 cells or more, else 1).",
)
@click.option(
    "--shard",
    default=None,
    help="Run only slice K of N of the cells (e.g. 2/4, one per CI job); join the runs with harness merge.",
)
@click.option(
    "--junit",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write JUnit XML (one testcase per cell).",
)
@click.option(
    "--export",
    "exports",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Export results by suffix: .csv, .json or .parquet (repeatable).",
)
@click.option(
    "--parquet",
    type=click.Path(path_type=Path, file_okay=False),
    help="Also write the results into a Parquet dataset partitioned by run and model (needs pyarrow).",
)
@click.option("--replay-speed", default=None, help="instant (default), realtime, or a factor such as 2.0.")
@click.option(
    "--resume",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Continue a run directory: finished cells are skipped.",
)
@click.option("--retry-errors", is_flag=True, help="With --resume: run the errored cells again.")
@click.option(
    "--progress/--no-progress", default=None, help="Show a progress bar (default: when stderr is a terminal)."
)
@click.option(
    "--max-cells",
    type=click.IntRange(min=1),
    default=100_000,
    show_default=True,
    help="Refuse a suite that would run more cells (cases x variants x repeats x models).",
)
@click.option(
    "--match-host",
    is_flag=True,
    help="Replay only what was recorded against the same host (default: a provider endpoint matches on its path).",
)
@click.option(
    "--fail-under",
    multiple=True,
    metavar="RATE|MODEL=RATE",
    help="Exit 1 only when the pass rate is below RATE (0.9 or 90%), overall or for one model (repeatable).",
)
@click.option(
    "--max-cost",
    type=click.FloatRange(min=0),
    metavar="USD",
    help="Spend at most USD on live calls: once spent, cells that would go live are skipped (exit 3).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Validate everything and list the cells (replay / record / live, keys, cost); run nothing.",
)
@click.option(
    "--show",
    type=click.Choice(["outputs"]),
    default=None,
    help="After the run, print its outputs (cases x models) and failures, as `harness show` does.",
)
@selection_options
def run_cmd(
    suites: tuple[Path, ...],
    models: str | None,
    record_mode: str | None,
    cassettes_dir: Path | None,
    no_cassettes: bool,
    out: Path | None,
    report_path: Path | None,
    baseline: Path | None,
    no_report: bool,
    concurrency: int | None,
    repeat: int | None,
    junit: Path | None,
    exports: tuple[Path, ...],
    workers: str,
    shard: str | None,
    parquet: Path | None,
    replay_speed: str | None,
    resume: Path | None,
    retry_errors: bool,
    prices: Path | None,
    progress: bool | None,
    max_cells: int,
    dry_run: bool,
    match_host: bool,
    fail_under: tuple[str, ...],
    max_cost: float | None,
    show: str | None,
    **selection: Any,
) -> None:
    """Run SUITE files over their models (or --models): every case × model × repeat, concurrently.

    Results go to RUN_DIR/results.jsonl (one record per cell, written as each finishes) and
    RUN_DIR/run.json; then the HTML report is written. Everything is validated before the first
    cell runs: a bad suite or model is one error line and exit code 2.
    """
    try:
        code = _run(
            suites,
            models,
            record_mode,
            cassettes_dir,
            no_cassettes,
            out,
            report_path,
            baseline,
            no_report,
            concurrency,
            repeat,
            junit,
            exports,
            replay_speed_value(replay_speed),
            resume,
            retry_errors,
            prices,
            progress,
            workers_value(workers),
            max_cells,
            dry_run,
            match_host,
            fail_under,
            max_cost,
            selection,
            show,
            shard_value(shard),
            parquet,
        )
    except (InputError, ConfigurationError) as e:
        click.echo(f"error: {e}", err=True)
        raise SystemExit(2) from None
    raise SystemExit(code)


def _run(
    suites: tuple[Path, ...],
    models: str | None,
    record_mode: str | None,
    cassettes_dir: Path | None,
    no_cassettes: bool,
    out: Path | None,
    report_path: Path | None,
    baseline: Path | None,
    no_report: bool,
    concurrency: int | None,
    repeat: int | None,
    junit: Path | None,
    exports: tuple[Path, ...],
    replay_speed: str | float | None,
    resume: Path | None,
    retry_errors: bool,
    prices: Path | None,
    progress: bool | None,
    workers: int | None = 1,
    max_cells: int = 100_000,
    dry_run: bool = False,
    match_host: bool = False,
    fail_under: tuple[str, ...] = (),
    max_cost: float | None = None,
    selection: dict[str, Any] | None = None,
    show: str | None = None,
    shard: tuple[int, int] | None = None,
    parquet: Path | None = None,
) -> int:
    from harness.results.io import load_run_meta
    from harness.runner.workers import EarlyPool

    if retry_errors and resume is None:
        raise click.UsageError("--retry-errors needs --resume RUN_DIR")
    wanted = parse_gates(fail_under)
    config: dict[str, Any] = {}
    if resume is not None:
        meta = load_run_meta(resume)
        config = trusted_paths(meta, resume, cassettes_given=cassettes_dir is not None or no_cassettes)
        if not suites and meta.get("suite_path"):
            suites = (Path(meta["suite_path"]),)
        if len(suites) > 1:
            raise click.UsageError("--resume continues one run: give one SUITE (or none, to use the run's)")
    if not suites:
        raise click.UsageError("give at least one SUITE file (e.g. suites/quickstart.yaml)")
    check_exports(exports + ((parquet / "x.parquet",) if parquet is not None else ()))
    check_writable(out, report_path if not no_report else None, junit, exports)
    load_env_files(suites)
    given = dict(
        models=models,
        record_mode=record_mode,
        cassettes_dir=cassettes_value(
            no_cassettes, record_mode, cassettes_dir, config.get("cassettes_dir", "cassettes")
        ),
        concurrency=concurrency,
        repeat=repeat,
        replay_speed=replay_speed,
        resume=resume,
        retry_errors=retry_errors,
        prices_file=str(prices) if prices else None,
        workers=workers,
        max_cells=max_cells,
        match_host=match_host,
        max_cost=max_cost,
        plan_only=dry_run,
        shard=shard,
    )
    # `--workers N`: the processes start now and import harness while this one does
    early = EarlyPool.before_parse(str(suites[0]), workers) if len(suites) == 1 and not dry_run else None
    runners = build_runners(suites, config, early, out, given, selection)
    gates = {id(r): resolve_gates(wanted, r.models, r.suite.name) for r in runners}
    if dry_run:
        for runner in runners:
            print_plan(runner)
        return 0
    remember([r.run_dir for r in runners])  # what a --resume of these runs reuses
    code = _execute(
        runners, progress, no_report, report_path, baseline, exports, junit, gates, show == "outputs"
    )
    if parquet is not None:
        from harness.results.merge import write_parquet_dataset

        click.echo(f"Parquet: {write_parquet_dataset([r.run_dir for r in runners], parquet)}")
    return code


def _execute(
    runners: list[Runner],
    progress: bool | None,
    no_report: bool,
    report_path: Path | None,
    baseline: Path | None,
    exports: tuple[Path, ...],
    junit: Path | None,
    gates: dict[int, list[Gate]] | None = None,
    show_outputs: bool = False,
) -> int:
    """Run validated runners one after another; print, report, export. The exit code: run_gates'."""
    from rich.console import Console

    from harness.results.io import export

    show = progress if progress is not None else sys.stderr.isatty()
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    codes = []
    run_dirs, reports = [], {}
    for runner in runners:
        result = runner.run(Progress(runner.suite.name) if show else None)
        run_dirs.append(result.run_dir)
        print_summary(result, console)
        if show_outputs:
            print_outputs(result.run_dir, console)
        elif not result.ok:
            print_failures(result.run_dir, console)
        codes.append(exit_code(result, (gates or {}).get(id(runner), []), runner.options.max_cost, console))
        console.print(f"Results: {result.run_dir / 'results.jsonl'}")
        if not no_report:
            reports[result.run_dir] = write_report(result, report_path, baseline, len(runners) > 1, console)
        for path in exports:
            target = path.with_name(f"{path.stem}-{result.suite}{path.suffix}") if len(runners) > 1 else path
            console.print(f"Exported: {export(result.run_dir, target)}")
    if junit is not None:
        from harness.results.ci_outputs import write_junit

        console.print(f"JUnit: {write_junit(run_dirs, junit)}")
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        from harness.results.ci_outputs import write_github_summary

        write_github_summary(run_dirs, reports, baseline)
    return combine(codes)
