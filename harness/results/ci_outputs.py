"""JUnit XML (one testcase per cell) and the GitHub step summary (markdown) of finished runs.

Text from records (case ids, model output, error messages) is model- or user-controlled: the summary
escapes it as HTML and markdown, and both outputs mask credentials in URLs a message may quote."""

from __future__ import annotations

import html
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from harness.redaction import mask_text
from harness.results.io import latest_records, load_run_meta
from harness.results.record import model_order, repeat_label
from harness.results.summary import format_rate, summarize

# markdown punctuation GitHub would act on (emphasis, links, tables, headings, code spans)
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")


def _md(value: Any) -> str:
    """Record text as inert markdown on one line: HTML escaped, markdown punctuation backslashed."""
    text = html.escape(" ".join(str(value).split()), quote=False)
    return _MARKDOWN.sub(r"\\\1", text)


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _usd(value: Any) -> str:
    return "–" if value is None else f"${value:.4f}"


def junit_xml(run_dirs: list[Path]) -> ET.Element:
    root = ET.Element("testsuites", name="harness")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    total_time = 0.0
    for run_dir in run_dirs:
        records = latest_records(run_dir)
        meta = load_run_meta(run_dir)
        suite_name = str(meta.get("suite") or (records[0].get("suite") if records else run_dir.name))
        suite_el = ET.SubElement(root, "testsuite", name=suite_name)
        counts = {"tests": 0, "failures": 0, "errors": 0}
        suite_time = 0.0
        for r in records:
            timing = r.get("timing") or {}
            seconds = float(timing.get("total_ms") or 0) / 1000.0
            suite_time += seconds
            name = str(r.get("case_id")) + repeat_label(r.get("repeat"))
            tc = ET.SubElement(
                suite_el,
                "testcase",
                name=name,
                classname=f"{suite_name}.{r.get('model_id')}",
                time=f"{seconds:.3f}",
            )
            props = ET.SubElement(tc, "properties")
            usage = r.get("usage") or {}
            cassette = r.get("cassette") or {}
            for key, value in (
                ("model", r.get("model")),
                ("latency_ms", timing.get("total_ms")),
                ("ttft_ms", timing.get("ttft_ms")),
                ("input_tokens", usage.get("input_tokens")),
                ("output_tokens", usage.get("output_tokens")),
                ("cost_usd", r.get("cost_usd")),
                ("cassette_state", cassette.get("state")),
            ):
                if value is not None:
                    ET.SubElement(props, "property", name=key, value=str(value))
            counts["tests"] += 1
            if r.get("status") == "error":
                counts["errors"] += 1
                error = mask_text(str(r.get("error") or ""))
                el = ET.SubElement(tc, "error", message=error or "error")
                el.text = error
            elif r.get("status") == "failed":
                counts["failures"] += 1
                failed = [a for a in r.get("assertions") or [] if not a.get("passed")]
                message = mask_text(
                    "; ".join(f"{a.get('type')}: {a.get('reason')}" for a in failed) or "failed"
                )
                el = ET.SubElement(tc, "failure", message=message)
                el.text = message
            text = ((r.get("output") or {}).get("text") or "")[:2000]
            if text:
                ET.SubElement(tc, "system-out").text = text
        for k, v in counts.items():
            suite_el.set(k, str(v))
            totals[k] += v
        suite_el.set("time", f"{suite_time:.3f}")
        total_time += suite_time
    for k, v in totals.items():
        root.set(k, str(v))
    root.set("time", f"{total_time:.3f}")
    return root


def write_junit(run_dirs: list[Path], path: str | Path) -> Path:
    path = Path(path)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    tree = ET.ElementTree(junit_xml(run_dirs))
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return path


def summary_markdown(run_dir: Path, report: Path | None = None) -> str:
    records = latest_records(run_dir)
    meta = load_run_meta(run_dir)
    summary = summarize(records, model_order(meta))
    lines = [
        f"### harness: {_md(meta.get('suite') or run_dir.name)} ({_md(meta.get('run_id') or '')})",
        "",
        "| model | passed | failed | errors | pass rate | p50 ms | p95 ms | TTFT p50 ms | tokens in/out | cost | avoided |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for mid, s in summary.items():
        rate = format_rate(s["pass_rate"])
        lines.append(
            f"| {_md(mid)} | {s['passed']} | {s['failed']} | {s['errors']} | {rate} | {_fmt(s['latency_p50_ms'])} | "
            f"{_fmt(s['latency_p95_ms'])} | {_fmt(s['ttft_p50_ms'])} | {s['input_tokens']}/{s['output_tokens']} | "
            f"{_usd(s['cost_usd'])} | {_usd(s['cost_avoided_usd'])} |"
        )
    bad = [r for r in records if r.get("status") != "passed"]
    if bad:
        lines += ["", f"<details><summary>{len(bad)} failing cell(s)</summary>", ""]
        for r in bad[:50]:
            reasons = r.get("error") or "; ".join(
                str(a.get("reason")) for a in r.get("assertions") or [] if not a.get("passed")
            )
            lines.append(
                f"- **{_md(r.get('case_id'))}** × {_md(r.get('model_id'))} ({_md(r.get('status'))}): "
                f"{_md(mask_text(str(reasons))[:300])}"
            )
        lines += ["", "</details>"]
    if report is not None:
        lines += ["", f"Report: {_md(report)}"]
    return "\n".join(lines) + "\n\n"


def write_github_summary(run_dirs: list[Path], reports: dict[Path, Path | None] | None = None) -> Path | None:
    """Append the run summaries to $GITHUB_STEP_SUMMARY when it is set."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    with open(target, "a", encoding="utf-8") as fh:
        for run_dir in run_dirs:
            fh.write(summary_markdown(run_dir, (reports or {}).get(run_dir)))
    return Path(target)
