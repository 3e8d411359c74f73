"""``harness validate SUITE...`` — check suites and list what a run would do, spending nothing.

The same listing is `harness run --dry-run`: every cell, whether it replays, records, goes live or
would miss its cassette, the keys the live ones lack, and an estimated cost from the price table.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from harness.cli.run_options import cassettes_value, plan_options
from harness.cli.select import load_env_files, selected, selection_options, split_models
from harness.errors import ConfigurationError, InputError

if TYPE_CHECKING:
    from harness.runner.runner import Runner

LISTED_CELLS = 40  # cells listed one per line; the rest are counted


def print_plan(runner: Runner) -> bool:
    """The cells the runner would run and where each answer comes from, then the totals and cost.
    False (after one `missing key:` line per model) when a live cell lacks its key."""
    from harness.runner.plan import estimate_cost, missing_keys, plan_cells, record_mode_of

    plans = plan_cells(runner)
    mode = "no cassettes" if runner.options.cassettes_dir is None else f"record mode {record_mode_of(runner)}"
    click.echo(
        f"{runner.suite.path}: valid; {len(plans):,} cells "
        f"({len(runner.cases):,} case variants x {len(runner.models)} model(s) x repeats); {mode}"
    )
    width = max([4, *(len(p.cell.case.id) for p in plans[:LISTED_CELLS])])
    mwidth = max([5, *(len(p.cell.model.id) for p in plans[:LISTED_CELLS])])
    for p in plans[:LISTED_CELLS]:
        repeat = f" #{p.cell.repeat + 1}" if p.cell.repeat else ""
        line = f"  {p.cell.case.id + repeat:<{width}}  {p.cell.model.id:<{mwidth}}  {p.source:<6}"
        click.echo((line + (f"  {p.cassette}" if p.cassette else "")).rstrip())
    if len(plans) > LISTED_CELLS:
        click.echo(f"  ... and {len(plans) - LISTED_CELLS:,} more cells")
    counts = Counter(p.source for p in plans)
    click.echo("cells: " + ", ".join(f"{counts[s]:,} {s}" for s in ("replay", "record", "live", "miss")))
    if counts["miss"]:
        click.echo(
            f"note: {counts['miss']:,} cell(s) have no cassette and record mode none: they would error; "
            "record them with --record-mode once"
        )
    cost, unpriced = estimate_cost(runner, plans)
    spending = counts["record"] + counts["live"]
    if spending:
        note = f" ({unpriced:,} cell(s) of models without a price)" if unpriced else ""
        click.echo(f"estimated cost of the {spending:,} cell(s) that record or go live: ${cost:.4f}{note}")
    else:
        click.echo("estimated cost: $0 (nothing records or goes live)")
    missing = Counter(line.split(" (case ")[0] for _, line in missing_keys(runner, plans))
    for line, n in missing.items():
        click.echo(
            f"missing key: {line} ({n:,} cell(s) that record or go live; harness run refuses to start without it)"
        )
    return not missing


@click.command(
    "validate",
    short_help="Check suites and list the cells a run would replay, record or call live.",
    epilog="""\b
Examples:
  harness validate suites/quickstart.yaml
  harness validate suites/quickstart.yaml --record-mode once --models claude-haiku
  harness validate suites/*.yaml --no-cassettes          # everything live: keys and cost
\b
Exit codes: 0 valid, 2 a problem (one line naming the file and place).
""",
)
@click.argument("suites", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@plan_options
@selection_options
def validate_cmd(
    suites: tuple[Path, ...],
    models: str | None,
    record_mode: str | None,
    cassettes_dir: Path | None,
    no_cassettes: bool,
    prices: Path | None,
    repeat: int | None,
    **selection: Any,
) -> None:
    """Validate SUITE files as `harness run` would, and list what a run would do; run nothing."""
    from harness.runner.runner import Runner, RunOptions
    from harness.suite.spec import load_suite

    cas_dir = cassettes_value(no_cassettes, record_mode, cassettes_dir, "cassettes")
    load_env_files(suites)
    try:
        for path in suites:
            suite = load_suite(path)
            options = RunOptions(
                record_mode=record_mode,
                cassettes_dir=cas_dir,
                prices_file=str(prices) if prices else None,
                repeat=repeat,
                plan_only=True,
                **selected(suite, split_models(models), selection),
            )
            runner = Runner(suite, options)
            check_selection(runner)
            print_plan(runner)
    except (InputError, ConfigurationError) as e:
        click.echo(f"error: {e}", err=True)
        raise SystemExit(2) from None


def check_selection(runner: Runner) -> None:
    """A --filter-failing selection none of whose cells is in this suite's plan is refused."""
    if runner.options.cells is not None and runner.total_cells == 0:
        raise InputError(
            f"{runner.suite.path}: none of the failing cells is in this suite with these models; "
            "check --models and the run directory given to --filter-failing"
        )
