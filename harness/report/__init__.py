"""The single-file HTML report: ``render_report(RUN_DIR)`` → ``reports/<suite>-<run_id>.html``.

Built purely from the results records (``RUN_DIR/results.jsonl`` + ``RUN_DIR/run.json``, see
docs/results-record.md), read and summarised by :mod:`harness.results` as everywhere else; CSS,
JavaScript, SVG charts and data are all inlined, so the file opens
offline from ``file://`` with no network access.

Owns: `data` (records to the page's payload), `encode` (the payload's codes, positions, string table
and compact messages), `diff` (the comparison with a baseline run), `render` (the page and its file),
`charts` (inline SVG), `fmt` (numbers as the page prints them).
May import: `harness.files`, `harness.results`.
"""

from __future__ import annotations

from harness.report.data import build_report_data
from harness.report.render import default_output_path, embed_json, render_html, render_report

__all__ = [
    "build_report_data",
    "default_output_path",
    "embed_json",
    "render_html",
    "render_report",
]
