"""``harness compare RUN_A RUN_B`` — regressions, fixes, latency and cost changes between two runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from harness.errors import InputError


def _delta(a: Any, b: Any, fmt: Any) -> str:
    return fmt(b) if a == b else f"{fmt(a)} → {fmt(b)}"


@click.command(
    "compare",
    short_help="Compare two runs: regressions, fixes, latency and cost changes.",
    epilog="""\b
Examples:
  harness compare runs/quickstart-20261124T063000-3f2a runs/quickstart-20261125T090000-7c1d
  harness compare RUN_A RUN_B --json > diff.json
\b
Exit codes: 0 no regressions, 1 some cell passed in RUN_A and not in RUN_B, 2 usage or input error.
""",
)
@click.argument("run_a", type=click.Path(path_type=Path, file_okay=False))
@click.argument("run_b", type=click.Path(path_type=Path, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@click.option(
    "--latency-threshold",
    type=click.FloatRange(min=0),
    default=0.2,
    show_default=True,
    help="Report cells whose latency changed by more than this fraction (and 50 ms).",
)
def compare_cmd(run_a: Path, run_b: Path, as_json: bool, latency_threshold: float) -> None:
    """Compare RUN_B against RUN_A (the baseline), cell by cell and model by model."""
    from harness.results.compare import compare_runs

    try:
        diff = compare_runs(run_a, run_b, latency_threshold=latency_threshold)
    except InputError as e:
        click.echo(f"error: {e}", err=True)
        raise SystemExit(2) from None
    if as_json:
        click.echo(json.dumps(diff, indent=2, ensure_ascii=False, default=str))
    else:
        _print(diff)
    raise SystemExit(1 if diff["regressions"] else 0)


def _print(diff: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from harness.results.summary import format_ms, format_rate, format_usd

    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    a, b = diff["a"], diff["b"]
    console.print(
        f"A: {a['run_dir']} ({a.get('run_id') or '?'})   B: {b['run_dir']} ({b.get('run_id') or '?'})"
    )
    if a.get("suite") and b.get("suite") and a["suite"] != b["suite"]:  # perhaps the wrong folder
        console.print(
            f"[yellow]note:[/] A is a run of suite {escape(repr(a['suite']))}, B of suite "
            f"{escape(repr(b['suite']))}: cells are matched by case and model id only"
        )
    table = Table(title="per model (A → B)", title_justify="left")
    columns = {
        "pass rate": ("pass_rate", format_rate),
        "latency p50 ms": ("latency_p50_ms", format_ms),
        "latency p95 ms": ("latency_p95_ms", format_ms),
        "latency mean ms": ("latency_mean_ms", format_ms),
        "TTFT p50 ms": ("ttft_p50_ms", format_ms),
        "cost": ("cost_usd", format_usd),
    }
    table.add_column("model")
    for col in columns:
        table.add_column(col, justify="right")
    for mid, m in diff["models"].items():
        table.add_row(mid, *(_delta(m[f"{k}_a"], m[f"{k}_b"], fmt) for k, fmt in columns.values()))
    console.print(table)
    for title, rows, mark in (
        ("Regressions", diff["regressions"], "[red]✗[/]"),
        ("Fixes", diff["fixes"], "[green]✓[/]"),
    ):
        console.print(f"{title}: {len(rows)}")
        for r in rows[:50]:
            reason = str(r.get("reason") or "").strip()
            why = (
                f" — {escape(reason.splitlines()[0][:200])}" if reason else ""
            )  # first line: a miss's diff is long
            console.print(f"  {mark} {escape(str(r['cell']))}: {r['before']} → {r['after']}{why}")
    lat = diff["latency_changes"]
    if lat:
        console.print(f"Latency changes: {len(lat)}")
        for r in lat[:20]:
            console.print(
                f"  {r['cell']}: {format_ms(r['latency_a_ms'])} → {format_ms(r['latency_b_ms'])} ms "
                f"({r['change'] * 100:+.0f}%)"
            )
    if diff["new"]:
        console.print(f"New cells: {len(diff['new'])}")
    if diff["removed"]:
        console.print(f"Removed cells: {len(diff['removed'])}")
