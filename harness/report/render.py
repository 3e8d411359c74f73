"""Render the report payload into one self-contained HTML file (CSS, JS, data and SVG inlined)."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from harness.files import write_atomic
from harness.report import charts, fmt
from harness.report.data import build_report_data
from harness.results.io import load_run_meta, read_records

JS_FILES = ("util.js", "detail.js", "matrix.js", "report.js")


def _static(name: str) -> str:
    return resources.files("harness.report").joinpath("static").joinpath(name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(ms=fmt.fmt_ms, tok=fmt.fmt_tokens, usd=fmt.fmt_usd, pct=fmt.fmt_pct, int=fmt.fmt_int)
    return env


def _sanitize(value: Any) -> Any:
    """Replace NaN/Infinity (not valid JSON) with None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _sanitize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_sanitize(v) for v in value]
    return value


_SCRIPT_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_SCRIPT_RE = re.compile("[<>&\u2028\u2029]")


def embed_json(data: Any) -> str:
    """JSON safe to place inside ``<script type="application/json">``: no ``<``, ``>`` or ``&`` survive."""
    try:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)
    except ValueError:
        text = json.dumps(_sanitize(data), ensure_ascii=False, separators=(",", ":"), default=str)
    return _SCRIPT_RE.sub(lambda m: _SCRIPT_ESCAPES[m.group(0)], text)


def _script_text() -> str:
    body = "\n".join(_static(name) for name in JS_FILES)
    if "</script" in body.lower():  # pragma: no cover - guards our own static files
        raise RuntimeError("static JS must not contain '</script'")
    return f'(function () {{\n"use strict";\n{body}\n}})();\n'


def render_html(data: dict[str, Any]) -> str:
    """The report page for a payload from :func:`build_report_data`."""
    script = _script_text()
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    csp = (
        f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    strings = data["s"]
    return (
        _env()
        .get_template("report.html.j2")
        .render(
            d=data,
            meta=data["meta"],
            summary=data["summary"],
            baseline=data.get("baseline"),
            strings=strings,
            tags=[(i, strings[i]) for i in data.get("tags", [])],
            assertion_types=[(i, strings[i]) for i in data.get("assertion_types", [])],
            charts=charts.all_charts(data["summary"]),
            csp=Markup(csp),
            css=Markup(_static("report.css")),
            script=Markup(script),
            data_json=Markup(embed_json(data)),
        )
    )


def _safe_name(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", value).strip("._") or "report"


def default_output_path(data: dict[str, Any]) -> Path:
    meta = data["meta"]
    return Path("reports") / f"{_safe_name(meta['suite'])}-{_safe_name(meta['run_id'])}.html"


def render_report(
    run_dir: str | os.PathLike[str],
    out_path: str | os.PathLike[str] | None = None,
    *,
    baseline_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """Write the HTML report of ``run_dir`` (optionally diffed against ``baseline_dir``); returns its path.

    The default path is ``reports/<suite>-<run_id>.html`` relative to the working directory.
    Raises :class:`~harness.errors.InputError` when a run has no or a corrupt results.jsonl.
    """
    records = read_records(Path(run_dir))
    meta = load_run_meta(Path(run_dir))
    baseline_records = baseline_meta = None
    if baseline_dir is not None:
        baseline_records = read_records(Path(baseline_dir))
        baseline_meta = load_run_meta(Path(baseline_dir))
    data = build_report_data(records, meta, baseline_records, baseline_meta=baseline_meta)
    path = Path(out_path) if out_path is not None else default_output_path(data)
    write_atomic(path, render_html(data).encode("utf-8"))
    return path
