"""``harness report RUN_DIR [-o FILE.html] [--baseline RUN_DIR]`` — write the single-file HTML report."""

from __future__ import annotations

from pathlib import Path

import click

from harness.errors import InputError
from harness.report import render_report

EXAMPLES = """\b
Examples:
  harness report runs/quickstart-20261124T063000-3f2a                    # -> reports/quickstart-<run id>.html
  harness report runs/quickstart-20261124T063000-3f2a -o report.html --baseline runs/last-good
  harness report runs/shard-1 runs/shard-2 pytest/results.jsonl -o ci.html   # several runs as one

\b
Exit codes: 0 written, 2 usage or input error (no results.jsonl, an unreadable run).
"""


@click.command("report", epilog=EXAMPLES, short_help="Render the HTML report of a run directory.")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Where to write the HTML file (default: reports/<suite>-<run_id>.html).",
)
@click.option(
    "--baseline",
    "baseline",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="A previous run directory to diff against (new / fixed / regressed / unchanged).",
)
def report_cmd(run_dirs: tuple[Path, ...], output: Path | None, baseline: Path | None) -> None:
    """Render RUN_DIR's results.jsonl into one self-contained HTML report (opens offline). Given
    several RUN_DIRs (shards of a run, pytest results files), report them as one run (`harness merge`)."""
    try:
        if len(run_dirs) == 1 and not run_dirs[0].is_file():
            path = render_report(run_dirs[0], output, baseline_dir=baseline)
        else:
            path = _merged_report(run_dirs, output, baseline)
    except InputError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    click.echo(f"Report written to {path}")


def _merged_report(sources: tuple[Path, ...], output: Path | None, baseline: Path | None) -> Path:
    import tempfile

    from harness.results.merge import merge_runs

    with tempfile.TemporaryDirectory(prefix="harness-merge-") as tmp:
        merged = merge_runs(sources, Path(tmp) / "run")
        return Path(render_report(merged.run_dir, output, baseline_dir=baseline))
