"""JUnit XML (one testcase per cell) and the GitHub step summary (markdown) of finished runs.

Text from records (case ids, model output, error messages) is model- or user-controlled: the summary
escapes it as HTML and markdown, and both outputs mask credentials in URLs a message may quote."""

from __future__ import annotations

import html
import os
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from harness.errors import InputError
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
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_time = 0.0
    for run_dir in run_dirs:
        records = latest_records(run_dir)
        meta = load_run_meta(run_dir)
        suite_name = str(meta.get("suite") or (records[0].get("suite") if records else run_dir.name))
        suite_el = ET.SubElement(root, "testsuite", name=suite_name)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
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
            kind = _verdict(tc, r)
            if kind is not None:
                counts[kind] += 1
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


def _verdict(tc: ET.Element, r: dict[str, Any]) -> str | None:
    """The testcase's <error>, <skipped> or <failure> element; returns the count it adds to."""
    status = r.get("status")
    if status == "error":
        error = mask_text(str(r.get("error") or ""))
        ET.SubElement(tc, "error", message=error or "error").text = error
        return "errors"
    if status == "skipped":
        ET.SubElement(tc, "skipped", message=mask_text(str(r.get("error") or "skipped")))
        return "skipped"
    if status == "failed":
        failed = [a for a in r.get("assertions") or [] if not a.get("passed")]
        message = mask_text("; ".join(f"{a.get('type')}: {a.get('reason')}" for a in failed) or "failed")
        ET.SubElement(tc, "failure", message=message).text = message
        return "failures"
    return None


def write_junit(run_dirs: list[Path], path: str | Path) -> Path:
    path = Path(path)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    tree = ET.ElementTree(junit_xml(run_dirs))
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return path


def _cut(text: str, limit: int) -> str:
    """`text` cut to `limit` characters; a cut one ends with "…" so a reader knows there is more."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _output_line(record: dict[str, Any]) -> str:
    out = record.get("output") or {}
    text = str(out.get("text") or "").strip()
    return text.splitlines()[0] if text else ""


def summary_markdown(run_dir: Path, report: Path | None = None, baseline: Path | None = None) -> str:
    records = latest_records(run_dir)
    meta = load_run_meta(run_dir)
    summary = summarize(records, model_order(meta))
    judged = any(s["judge_input_tokens"] or s["judge_output_tokens"] for s in summary.values())
    skipped = any(s["skipped"] for s in summary.values())
    head = "| model | passed | failed | errors |" + (" skipped |" if skipped else "")
    head += " pass rate | p50 ms | p95 ms | TTFT p50 ms | tokens in/out | cost | avoided |"
    head += " judge cost |" if judged else ""
    lines = [
        f"### harness: {_md(meta.get('suite') or run_dir.name)} ({_md(meta.get('run_id') or '')})",
        "",
        head,
        "|---|" + "---:|" * (head.count("|") - 2),
    ]
    for mid, s in summary.items():
        rate = format_rate(s["pass_rate"])
        lines.append(
            f"| {_md(mid)} | {s['passed']} | {s['failed']} | {s['errors']} |"
            + (f" {s['skipped']} |" if skipped else "")
            + f" {rate} | {_fmt(s['latency_p50_ms'])} | "
            f"{_fmt(s['latency_p95_ms'])} | {_fmt(s['ttft_p50_ms'])} | {s['input_tokens']}/{s['output_tokens']} | "
            f"{_usd(s['cost_usd'])} | {_usd(s['cost_avoided_usd'])} |"
            + (f" {_usd(s['judge_cost_usd'])} |" if judged else "")
        )
    if baseline is not None:
        lines += _baseline_diff(baseline, run_dir)
    bad = [r for r in records if r.get("status") != "passed"]
    if bad:
        lines += ["", f"<details><summary>{len(bad)} failing cell(s)</summary>", ""]
        lines += [_failing(r) for r in bad[:50]]
        lines += ["", "</details>"]
    if report is not None:
        lines += ["", f"Report: {_md(report)}"]
    return "\n".join(lines) + "\n\n"


def _failing(r: dict[str, Any]) -> str:
    """One failing cell: why (cut with "…"), and the first line of what the model said, both inert."""
    reasons = r.get("error") or "; ".join(
        str(a.get("reason")) for a in r.get("assertions") or [] if not a.get("passed")
    )
    line = (
        f"- **{_md(r.get('case_id'))}** × {_md(r.get('model_id'))} ({_md(r.get('status'))}): "
        f"{_md(_cut(mask_text(str(reasons)), 300))}"
    )
    said = _output_line(r)
    return line + (f" — output: {_md(_cut(mask_text(said), 120))}" if said else "")


def _baseline_diff(baseline: Path, run_dir: Path) -> list[str]:
    """Regressions (passed in the baseline, not now) and fixes, as `harness compare` finds them."""
    from harness.results.compare import compare_runs

    try:
        diff = compare_runs(baseline, run_dir)
    except InputError as e:  # the run is done: a bad baseline costs its diff, not the summary
        return ["", f"Baseline not compared: {_md(e)}"]
    regressions, fixes = diff["regressions"], diff["fixes"]
    lines = [
        "",
        f"**Against baseline {_md(diff['a'].get('run_id') or baseline.name)}:** "
        f"{len(regressions)} regression(s), {len(fixes)} fix(es), "
        f"{len(diff['new'])} new, {len(diff['removed'])} removed cell(s).",
    ]
    if regressions:
        lines += ["", "Regressions:", ""]
        lines += [
            f"- ▼ **{_md(e['cell'])}**: {_md(e['before'])} → {_md(e['after'])}: "
            f"{_md(_cut(mask_text(str(e.get('reason') or '')), 300))}"
            for e in regressions[:50]
        ]
    if fixes:
        lines += ["", "Fixes:", ""]
        lines += [f"- ▲ **{_md(e['cell'])}**: {_md(e['before'])} → passed" for e in fixes[:50]]
    return lines


def write_github_summary(
    run_dirs: list[Path], reports: dict[Path, Path | None] | None = None, baseline: Path | None = None
) -> Path | None:
    """Append the run summaries to $GITHUB_STEP_SUMMARY when it is set; with `baseline` (a run
    directory), each says which cells regressed and which were fixed against it."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    text = "".join(summary_markdown(run_dir, (reports or {}).get(run_dir), baseline) for run_dir in run_dirs)
    try:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as e:  # the run stands; CI shows the warning
        print(
            f"warning: cannot append the step summary to {target} (GITHUB_STEP_SUMMARY): {e.strerror}",
            file=sys.stderr,
        )
        return None
    return Path(target)
