"""``harness merge RUN_DIR... --out RUN_DIR`` — shards of a run and pytest results files as one run."""

from __future__ import annotations

from pathlib import Path

import click

from harness.errors import InputError

EXAMPLES = """\b
Examples:
  harness merge runs/shard-1 runs/shard-2 runs/shard-3 --out runs/all --junit junit.xml
  harness merge runs/all pytest-a/results.jsonl pytest-b/results.jsonl --out runs/ci --report ci.html
  harness merge runs/shard-* --out runs/all --parquet results.parquet/   # partitioned by run and model

\b
Exit codes: 0 written, 2 usage or input error (a missing or corrupt source, an --out that holds results).
"""


@click.command("merge", epilog=EXAMPLES, short_help="Merge run shards and pytest results into one run.")
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="The merged run directory (results.jsonl, run.json); must hold no results yet.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the HTML report.",
)
@click.option("--junit", type=click.Path(path_type=Path, dir_okay=False), help="Also write JUnit XML.")
@click.option(
    "--parquet",
    type=click.Path(path_type=Path, file_okay=False),
    help="Also write a Parquet dataset partitioned by run and model (needs pyarrow).",
)
def merge_cmd(
    sources: tuple[Path, ...], out: Path, report_path: Path | None, junit: Path | None, parquet: Path | None
) -> None:
    """Merge SOURCES (run directories of `harness run --shard K/N`, results files of pytest's
    --harness-results) into one run directory: one results.jsonl, one run.json, one summary."""
    from harness.results.merge import merge_runs, write_parquet_dataset

    try:
        merged = merge_runs(sources, out)
        click.echo(f"Merged {merged.cells:,} cells from {len(sources)} source(s) into {merged.run_dir}")
        if merged.duplicates:
            click.echo(
                f"warning: {merged.duplicates} cell(s) were in more than one source; the last given counts"
            )
        if merged.missing_shards:
            click.echo(f"warning: shards {', '.join(merged.missing_shards)} were not among the sources")
        if report_path is not None:
            from harness.report import render_report

            click.echo(f"Report: {render_report(merged.run_dir, report_path)}")
        if junit is not None:
            from harness.results.ci_outputs import write_junit

            click.echo(f"JUnit: {write_junit([merged.run_dir], junit)}")
        if parquet is not None:
            click.echo(f"Parquet: {write_parquet_dataset([merged.run_dir], parquet)}")
    except InputError as e:
        click.echo(f"error: {e}", err=True)
        raise SystemExit(2) from None
