"""Results: the one results record (docs/results-record.md), how it is built, read, written, summarised,
exported and compared.

Owns: `build` (a record from a cell's exchange), `io` (results.jsonl and run.json, the summary,
comparison), `ci_outputs` (JUnit XML, the GitHub step summary).
May import: `harness.messages`, `harness.assertions`, `harness.pricing`, `harness.errors`.
"""

from __future__ import annotations

from harness.results.io import (
    RESULTS_FILE,
    RUN_FILE,
    SummaryBuilder,
    cell_key,
    compare_runs,
    dumps_line,
    export,
    flatten,
    iter_records,
    latest_records,
    load_results,
    load_run_meta,
    percentile,
    summarize,
    write_json_atomic,
)

__all__ = [
    "RESULTS_FILE",
    "RUN_FILE",
    "dumps_line",
    "cell_key",
    "iter_records",
    "latest_records",
    "load_run_meta",
    "flatten",
    "load_results",
    "export",
    "percentile",
    "SummaryBuilder",
    "summarize",
    "compare_runs",
    "write_json_atomic",
]
