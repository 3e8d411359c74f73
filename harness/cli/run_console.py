"""What `harness run` prints: the progress bar, the summary table, the failures and the report line
(rich, on the terminal).

The figures come from the one summary (`harness.results.summary`), formatted by its own formatters, so
the console shows what run.json, `harness compare` and the report show.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class Progress:
    """A rich progress bar on stderr: done / total, pass / fail / error, and recorded vs live calls."""

    def __init__(self, suite: str) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("[bold]{task.fields[suite]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[stats]}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self.suite = suite
        self.task: Any = None

    @staticmethod
    def _stats(counts: dict[str, int], states: dict[str, int]) -> str:
        parts = [
            f"[green]{counts.get('passed', 0)} passed[/]",
            f"[red]{counts.get('failed', 0)} failed[/]",
            f"[yellow]{counts.get('error', 0)} errors[/]",
        ]
        cas = ", ".join(f"{v} {k}" for k, v in sorted(states.items()) if v)
        return " ".join(parts) + (f" · {cas}" if cas else "")

    def start(self, total: int, done: int, counts: dict[str, int]) -> None:
        self.progress.start()
        self.task = self.progress.add_task(
            "run", total=total, completed=done, suite=self.suite, stats=self._stats(counts, {})
        )

    def advance(self, counts: dict[str, int], states: dict[str, int], cells: int = 1) -> None:
        self.progress.update(self.task, advance=cells, stats=self._stats(counts, states))

    def stop(self) -> None:
        self.progress.stop()


def print_summary(result: Any, console: Any) -> None:
    from rich.table import Table

    from harness.results.summary import format_ms, format_rate, format_usd

    table = Table(title=f"{result.suite} · {result.run_id}", title_justify="left")
    for col in (
        "model",
        "cells",
        "passed",
        "failed",
        "errors",
        "pass rate",
        "p50 ms",
        "p95 ms",
        "mean ms",
        "TTFT p50",
        "tokens in/out",
        "cost",
        "avoided",
    ):
        table.add_column(col, justify="left" if col == "model" else "right")
    for mid, s in result.summary.items():
        table.add_row(
            mid,
            str(s["cells"]),
            str(s["passed"]),
            str(s["failed"]),
            str(s["errors"]),
            format_rate(s["pass_rate"]),
            format_ms(s["latency_p50_ms"]),
            format_ms(s["latency_p95_ms"]),
            format_ms(s["latency_mean_ms"]),
            format_ms(s["ttft_p50_ms"]),
            f"{s['input_tokens']}/{s['output_tokens']}",
            format_usd(s["cost_usd"]),
            format_usd(s["cost_avoided_usd"]),
        )
    console.print(table)
    judged = [
        s for s in result.summary.values() if s.get("judge_input_tokens") or s.get("judge_output_tokens")
    ]
    if judged:  # llm_judge calls, counted apart from the models' figures above
        cost = [s["judge_cost_usd"] for s in judged if s.get("judge_cost_usd") is not None]
        console.print(
            f"Judge calls: {sum(s['judge_input_tokens'] for s in judged)}/"
            f"{sum(s['judge_output_tokens'] for s in judged)} tokens in/out, "
            f"{format_usd(round(sum(cost), 8)) if cost else format_usd(None)}"
        )
    budget_skipped = result.counts.get("skipped", 0)  # --max-cost: recorded, but never run (said below)
    by_state = dict(result.states)
    by_state["unused"] = by_state.get("unused", 0) - budget_skipped  # a skipped cell's cassette is "unused"
    states = ", ".join(f"{v} {k}" for k, v in sorted(by_state.items()) if v > 0)
    resumed = f", {result.skipped} already done" if result.skipped else ""
    console.print(
        f"{result.ran - budget_skipped} cells run in {result.elapsed_s:.1f}s{resumed}"
        + (f" ({states})" if states else "")
    )


def print_failures(run_dir: Path, console: Any, limit: int = 10) -> None:
    """The first failures of a run, in the suite's order (cases, repeats, models), one line each."""
    from rich.markup import escape

    from harness.cli.show import MARKS, cut, miss_detail, ordered_records, reason_of
    from harness.results.record import cell_key, repeat_label

    bad = [r for r in ordered_records(run_dir)[3] if r.get("status") not in ("passed", "skipped")]
    for r in bad[:limit]:
        case, model, repeat = cell_key(r)
        console.print(
            f"  {MARKS.get(str(r.get('status')), '?')} {escape(case + repeat_label(repeat))} × {escape(model)}: "
            f"{escape(cut(reason_of(r), 240))}",
            markup=True,
            highlight=False,
        )
        for line in miss_detail(r):  # what changed since it was recorded, and how to record it
            console.print(f"      {escape(line)}", highlight=False)
    if len(bad) > limit:
        console.print(f"  ... and {len(bad) - limit} more")


def write_report(
    result: Any, report_path: Path | None, baseline: Path | None, several: bool, console: Any
) -> Path | None:
    """Render the run's HTML report (suffixed with the suite's name when one command ran several) and
    print its path; a report that cannot be written is a warning line, not a failed run."""
    from harness.errors import InputError
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
