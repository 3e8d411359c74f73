"""Results: the one results record (docs/results-record.md), how it is built, read, written, summarised,
exported and compared.

Owns: `record` (the record's type, its `version`, `cell_key` and tolerant field accessors), `build` (the
one builder, used by the runner and the pytest plugin), `io` (results.jsonl and run.json: the one
reader and writer), `summary` (the one per-model summary and how its figures are printed), `compare`
(two runs), `ci_outputs` (JUnit XML, the GitHub step summary).
May import: `harness.assertions`, `harness.errors`, `harness.files`, `harness.messages`,
`harness.pricing`, `harness.redaction`.
"""

from __future__ import annotations

from harness.results.compare import compare_runs
from harness.results.io import (
    RESULTS_FILE,
    RUN_FILE,
    dumps_line,
    export,
    flatten,
    iter_records,
    latest_records,
    load_results,
    load_run_meta,
    read_records,
    write_json_atomic,
)
from harness.results.record import RECORD_VERSION, ResultRecord, cell_key
from harness.results.summary import ModelSummary, SummaryBuilder, percentile, summarize

__all__ = [
    "RECORD_VERSION",
    "RESULTS_FILE",
    "RUN_FILE",
    "ModelSummary",
    "ResultRecord",
    "SummaryBuilder",
    "cell_key",
    "compare_runs",
    "dumps_line",
    "export",
    "flatten",
    "iter_records",
    "latest_records",
    "load_results",
    "load_run_meta",
    "percentile",
    "read_records",
    "summarize",
    "write_json_atomic",
]
