"""``harness run SUITE...`` — run suites over models, write results.jsonl, run.json and the HTML report."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from harness.cassettes.modes import RECORD_MODES
from harness.cli.run_console import Progress, print_failures, print_summary
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
  harness run suites/big.yaml --dry-run --max-cells 500000   # validate and count; run nothing
  harness run --resume runs/quickstart-20261124T063000-3f2a --retry-errors

\b
Exit codes: 0 every cell passed, 1 a cell failed or errored, 2 usage or input error.
"""


def _split_models(value: str | None) -> list[str] | None:
    if not value:
        return None
    models = [m.strip() for m in value.split(",") if m.strip()]
    return models or None


def _replay_speed(value: str | None) -> str | float | None:
    if value is None or value in ("instant", "realtime"):
        return value
    try:
        speed = float(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r}: allowed: instant, realtime, or a speed factor such as 2.0",
            param_hint="--replay-speed",
        ) from None
    if speed <= 0:
        raise click.BadParameter(
            f"{value!r}: a speed factor must be greater than 0", param_hint="--replay-speed"
        )
    return speed


EXPORT_FORMATS = ("csv", "json", "parquet")


def _check_exports(paths: tuple[Path, ...]) -> None:
    """Refuse an export the run could not write, before any cell runs (not after a long run)."""
    for path in paths:
        fmt = path.suffix.lstrip(".").lower()
        if fmt not in EXPORT_FORMATS:
            raise click.BadParameter(
                f"{str(path)!r}: unknown export format {fmt or '(no suffix)'!r}; "
                f"allowed suffixes: .csv, .json, .parquet",
                param_hint="--export",
            )
        if fmt == "parquet":
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                raise click.BadParameter(
                    f"{str(path)!r}: Parquet export needs pyarrow: pip install 'harness[parquet]'",
                    param_hint="--export",
                ) from None


def _shard(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    k, sep, n = value.partition("/")
    if sep and k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n):
        return int(k), int(n)
    raise click.BadParameter(f"{value!r}: allowed: K/N with 1 <= K <= N, e.g. 1/4", param_hint="--shard")


def _workers(value: str) -> int | None:
    if value == "auto":
        return None
    if value.isdigit() and int(value) >= 1:
        return int(value)
    raise click.BadParameter(
        f"{value!r}: allowed: a number of processes (1, 2, ...) or auto", param_hint="--workers"
    )


@click.command("run", epilog=EXAMPLES, short_help="Run suites over models; write results and a report.")
@click.argument("suites", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--models", help="Comma-separated models replacing the suite's, e.g. openai:gpt-4.1-mini,ollama:llama3.2"
)
@click.option(
    "--record-mode",
    type=click.Choice(RECORD_MODES),
    default=None,
    help="Cassette record mode (default: $HARNESS_RECORD_MODE, else none in CI or when a cassette exists).",
)
@click.option(
    "--cassettes",
    "cassettes_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Cassette directory (default: cassettes/); files are <suite>/<case>/<model>.yaml.",
)
@click.option("--no-cassettes", is_flag=True, help="Call every model live; record and replay nothing.")
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
@click.option("--repeat", type=click.IntRange(min=1), help="Run every case N times per model.")
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
    "--prices",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="A price file overriding the built-in prices.",
)
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
    "--dry-run", is_flag=True, help="Validate everything and print the cell counts; run and write nothing."
)
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
            _replay_speed(replay_speed),
            resume,
            retry_errors,
            prices,
            progress,
            _workers(workers),
            max_cells,
            dry_run,
            _shard(shard),
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
    shard: tuple[int, int] | None = None,
    parquet: Path | None = None,
) -> int:
    from harness.results.io import load_run_meta
    from harness.runner.runner import Runner, RunOptions
    from harness.suite.spec import load_suite

    if retry_errors and resume is None:
        raise click.UsageError("--retry-errors needs --resume RUN_DIR")
    config: dict[str, Any] = {}
    if resume is not None:
        meta = load_run_meta(resume)
        config = _trusted_paths(meta, resume, cassettes_given=cassettes_dir is not None or no_cassettes)
        if not suites and meta.get("suite_path"):
            suites = (Path(meta["suite_path"]),)
        if len(suites) > 1:
            raise click.UsageError("--resume continues one run: give one SUITE (or none, to use the run's)")
    if not suites:
        raise click.UsageError("give at least one SUITE file (e.g. suites/quickstart.yaml)")
    _check_exports(exports + ((parquet / "x.parquet",) if parquet is not None else ()))
    if no_cassettes and (record_mode or cassettes_dir):
        raise click.UsageError("--no-cassettes cannot be combined with --record-mode or --cassettes")
    cas_dir: str | Path | None = (
        None if no_cassettes else (cassettes_dir or config.get("cassettes_dir", "cassettes"))
    )
    loaded = [load_suite(p) for p in suites]  # every suite validated before anything runs
    runners = []
    for suite in loaded:
        run_out = out / suite.name if (out is not None and len(loaded) > 1) else out
        options = RunOptions(
            models=_split_models(models) or config.get("models"),
            record_mode=record_mode or config.get("record_mode"),
            cassettes_dir=cas_dir,
            out=run_out,
            concurrency=concurrency or config.get("concurrency"),
            repeat=repeat or config.get("repeat"),
            replay_speed=replay_speed or config.get("replay_speed") or "instant",
            resume=resume,
            retry_errors=retry_errors,
            prices_file=str(prices) if prices else None,
            workers=workers,
            max_cells=max_cells,
            shard=shard or _shard(config.get("shard")),
        )
        runners.append(Runner(suite, options))
    if dry_run:
        for runner in runners:
            click.echo(
                f"{runner.suite.path}: valid; {runner.total_cells:,} cells "
                f"({len(runner.cases):,} case variants x {len(runner.models)} model(s) x repeats)"
            )
        return 0
    code = _execute(runners, progress, no_report, report_path, baseline, exports, junit)
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
) -> int:
    """Run validated runners one after another; print, report, export. The exit code: 1 if any failed."""
    from rich.console import Console

    from harness.results.io import export

    show = progress if progress is not None else sys.stderr.isatty()
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    code = 0
    run_dirs, reports = [], {}
    for runner in runners:
        result = runner.run(Progress(runner.suite.name) if show else None)
        run_dirs.append(result.run_dir)
        print_summary(result, console)
        if not result.ok:
            code = 1
            print_failures(result.run_dir, console)
        console.print(f"Results: {result.run_dir / 'results.jsonl'}")
        if not no_report:
            reports[result.run_dir] = _report(result, report_path, baseline, len(runners) > 1, console)
        for path in exports:
            target = path.with_name(f"{path.stem}-{result.suite}{path.suffix}") if len(runners) > 1 else path
            console.print(f"Exported: {export(result.run_dir, target)}")
    if junit is not None:
        from harness.results.ci_outputs import write_junit

        console.print(f"JUnit: {write_junit(run_dirs, junit)}")
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        from harness.results.ci_outputs import write_github_summary

        write_github_summary(run_dirs, reports)
    return code


def _trusted_paths(meta: dict[str, Any], run_dir: Path, *, cassettes_given: bool) -> dict[str, Any]:
    """The config of a run being resumed, its paths confined to the working directory: run.json is a
    file anyone may hand over, and a crafted one must not send cassettes or suites elsewhere."""
    from harness.files import confined

    source = str(run_dir / "run.json")
    config = dict(meta.get("config") or {})
    cwd = Path.cwd()
    if meta.get("suite_path"):
        meta["suite_path"] = str(confined(meta["suite_path"], cwd, what="suite_path", source=source))
    if config.get("cassettes_dir") is not None and not cassettes_given:
        what = "config.cassettes_dir (pass --cassettes DIR to choose another)"
        config["cassettes_dir"] = str(confined(config["cassettes_dir"], cwd, what=what, source=source))
    return config


def _report(
    result: Any, report_path: Path | None, baseline: Path | None, several: bool, console: Any
) -> Path | None:
    from harness.report import render_report

    target = report_path
    if target is not None and several:
        target = target.with_name(f"{target.stem}-{result.suite}{target.suffix}")
    try:
        path = render_report(result.run_dir, target, baseline_dir=baseline)
    except InputError as e:
        console.print(f"[yellow]report not written:[/] {e}")
        return None
    console.print(f"Report: {path}")
    return Path(path)
