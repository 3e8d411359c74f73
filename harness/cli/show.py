"""``harness show RUN_DIR`` — a run in the terminal: cases × models with each output's first line,
then the failures with their reasons. `harness run --show outputs` prints the same after a run.

Models are in the suite's order (run.json `models`) and cases in the suite file's order (run.json
`cases`), never in the order cells finished; a repeat after the first is labelled `#2`, `#3`, ...
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from harness.errors import InputError

EXAMPLES = """\b
Examples:
  harness show runs/quickstart-20261124T063000-3f2a
  harness show runs/quickstart-20261124T063000-3f2a --width 80 --failures-only
  harness run suites/quickstart.yaml --show outputs

\b
Exit codes: 0 printed, 2 usage or input error (no results.jsonl, an unreadable run).
"""
MARKS = {"passed": "[green]✓[/]", "failed": "[red]✗[/]", "error": "[yellow]![/]"}


def output_line(record: dict[str, Any], width: int) -> str:
    """The first line of a cell's output (its tool calls, structured output or error when it has no
    text), cut to `width` characters with "…"."""
    out: dict[str, Any] = record["output"] if isinstance(record.get("output"), dict) else {}
    text = str(out.get("text") or "").strip()
    if not text and out.get("structured") is not None:
        text = json.dumps(out["structured"], ensure_ascii=False)
    if not text and out.get("tool_calls"):
        calls = out["tool_calls"]
        text = ", ".join(
            f"→ {c.get('name')}({json.dumps(c.get('args'), ensure_ascii=False)})"
            for c in calls
            if isinstance(c, dict)
        )
    if not text and record.get("error"):
        text = str(record["error"])
    return cut(text.splitlines()[0] if text else "(no output)", width)


def cut(text: str, width: int) -> str:
    """`text` cut to `width` characters, ending with "…" when it was cut."""
    return text if len(text) <= width else text[: max(1, width - 1)] + "…"


def fitted_width(console_width: int, case_width: int, n_models: int, width: int) -> int:
    """Characters per output so that the case column and every model's column fit the terminal (at
    most `width`, at least 8): rich would otherwise squeeze the case column to nothing."""
    borders = 3 * (n_models + 1) + 1  # "│ " + " " around each column, and the last "│"
    room = (console_width - borders - case_width) // max(1, n_models) - 2  # the mark and its space
    return max(8, min(width, room))


def reason_of(record: dict[str, Any]) -> str:
    why = record.get("error") or "; ".join(
        str(a.get("reason"))
        for a in record.get("assertions") or []
        if isinstance(a, dict) and not a.get("passed")
    )
    text = str(why).strip()
    return text.splitlines()[0] if text else "?"


def miss_detail(record: dict[str, Any], limit: int = 6) -> list[str]:
    """For a cassette miss, what the terminal adds under its first line: the changed lines of the diff
    against the nearest recorded request and how to record it (the whole diff is in the report)."""
    text = str(record.get("error") or "")
    if not text.startswith("CassetteMissError"):
        return []
    lines = text.splitlines()[1:]
    changed = [
        ln.strip() for ln in lines if ln.startswith(("  -", "  +")) and not ln.startswith(("  ---", "  +++"))
    ]
    more = [f"... {len(changed) - limit} more changed line(s)"] if len(changed) > limit else []
    hint = [ln.strip() for ln in lines if ln.strip().startswith(("To record", "Record what"))]
    return [cut(ln, 200) for ln in changed[:limit]] + more + hint[:1]


def ordered_records(run_dir: Path) -> tuple[dict[str, Any], list[str], list[str], list[dict[str, Any]]]:
    """(run.json, case ids, model ids, records) in the suite's order: cases, repeats, then models."""
    from harness.results.io import latest_records, load_run_meta
    from harness.results.record import case_order, cell_key, model_order

    records = latest_records(run_dir)
    if not records:
        raise InputError(
            "no results in this run directory (no results.jsonl, or it is empty)", path=str(run_dir)
        )
    meta = load_run_meta(run_dir)
    keys = [cell_key(r) for r in records]
    cases = case_order(meta, (k[0] for k in keys))
    models = [m for m in model_order(meta) if any(k[1] == m for k in keys)]
    models += list(dict.fromkeys(k[1] for k in keys if k[1] not in models))
    case_rank = {c: i for i, c in enumerate(cases)}
    model_rank = {m: i for i, m in enumerate(models)}
    pairs = sorted(
        zip(keys, records, strict=True), key=lambda kr: (case_rank[kr[0][0]], kr[0][2], model_rank[kr[0][1]])
    )
    return meta, cases, models, [r for _, r in pairs]


def print_outputs(run_dir: Path, console: Any, *, width: int = 48, failures_only: bool = False) -> None:
    """The cases × models table of a run's outputs, then its failures with their reasons."""
    from rich.markup import escape
    from rich.table import Table

    from harness.results.record import cell_key, repeat_label

    meta, _cases, models, records = ordered_records(run_dir)
    title = f"{meta.get('suite') or run_dir.name} · {meta.get('run_id') or ''}".rstrip(" ·")
    if meta.get("description"):
        title += f" — {meta['description']}"
    table = Table(title=escape(title), title_justify="left", show_lines=False)
    labels = [case + repeat_label(repeat) for case, _, repeat in map(cell_key, records)]
    case_width = min(max(map(len, ["case", *labels])), 40)
    table.add_column("case", no_wrap=True, min_width=case_width, max_width=case_width)
    width = fitted_width(console.width, case_width, len(models), width)
    for m in models:
        table.add_column(escape(m), no_wrap=True, overflow="ellipsis", max_width=width + 2)
    rows: dict[tuple[str, int], dict[str, str]] = {}
    for rec in records:
        case, model, repeat = cell_key(rec)
        if failures_only and rec.get("status") == "passed":
            continue
        mark = MARKS.get(str(rec.get("status")), "?")
        rows.setdefault((case, repeat), {})[model] = f"{mark} {escape(output_line(rec, width))}"
    for (case, repeat), cells in rows.items():
        table.add_row(escape(case + repeat_label(repeat)), *(cells.get(m, "") for m in models))
    console.print(table)
    bad = [r for r in records if r.get("status") != "passed"]
    if not bad:
        console.print(f"[green]all {len(records)} cells passed[/]")
        return
    console.print(f"[bold]Failures[/] ({len(bad)} of {len(records)} cells):")
    for r in bad:
        case, model, repeat = cell_key(r)
        console.print(
            f"  {MARKS.get(str(r.get('status')), '?')} {escape(case + repeat_label(repeat))} × {escape(model)}: "
            f"{escape(cut(reason_of(r), 300))}",
            highlight=False,
        )
        for line in miss_detail(r):
            console.print(f"      {escape(line)}", highlight=False)


@click.command("show", epilog=EXAMPLES, short_help="Print a run's outputs (cases x models) and failures.")
@click.argument("run_dir", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--width", type=click.IntRange(min=8), default=48, show_default=True, help="Characters per output."
)
@click.option("--failures-only", is_flag=True, help="Show only the cells that failed or errored.")
def show_cmd(run_dir: Path, width: int, failures_only: bool) -> None:
    """Print RUN_DIR as a table: one row per case (and repeat), one column per model, each cell the
    status and the first line of the output; then every failure with its reason."""
    from rich.console import Console

    console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    try:
        print_outputs(run_dir, console, width=width, failures_only=failures_only)
    except InputError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
