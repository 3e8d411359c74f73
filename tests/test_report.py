"""The HTML report without a browser: payload computation, baseline diff, escaping, self-containment."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from report_fixtures import (
    XSS,
    baseline_records,
    current_records,
    record,
    synth_records,
    write_fixture_runs,
    write_run,
)

from harness.cli.report import report_cmd
from harness.errors import InputError
from harness.report import build_report_data, embed_json, render_html, render_report
from harness.report import data as D
from harness.report.charts import nice_ticks
from harness.results.summary import percentile, summarize


@pytest.fixture()
def runs(tmp_path):
    return write_fixture_runs(tmp_path)


def _cell(data, case_id, model_id, repeat=0):
    ci = next(i for i, c in enumerate(data["cases"]) if c[0] == case_id)
    mi = data["models"].index(model_id)
    return next(
        c
        for c in data["cells"]
        if c[D.CELL_CASE] == ci and c[D.CELL_MODEL] == mi and c[D.CELL_REPEAT] == repeat
    )


def _embedded(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S)
    assert m, "payload script tag missing"
    return json.loads(m.group(1))


# --- statistics -------------------------------------------------------------------------------


def test_percentile_matches_numpy_linear():
    np = pytest.importorskip("numpy")
    values = [812.0, 95.5, 300.1, 120.0, 4500.0, 77.7, 640.0]
    for q in (0, 5, 25, 50, 75, 95, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    assert percentile([], 50) is None
    assert percentile([3.0], 95) == 3.0


def test_summary_per_model():
    data = build_report_data(current_records(), {"models": ["google:gemini-2.5-flash"]})
    assert data["models"][0] == "gemini-flash"  # run.json order first, then order of appearance
    gem = data["summary"][0]
    assert (gem["cells"], gem["passed"], gem["failed"], gem["errors"]) == (7, 5, 1, 1)
    assert gem["pass_rate"] == round(5 / 7, 4)  # the summary keeps four digits everywhere
    lat = [
        r["timing"]["total_ms"]
        for r in current_records()
        if r["model_id"] == "gemini-flash" and r["timing"]["total_ms"] is not None
    ]
    assert gem["latency_p50_ms"] == pytest.approx(percentile(lat, 50), abs=0.05)
    assert gem["latency_p95_ms"] == pytest.approx(percentile(lat, 95), abs=0.05)
    assert gem["reasoning_tokens"] == 660 and gem["cached_tokens"] == 64
    assert gem["states"] == {"live": 2, "replayed": 4, "recorded": 1}
    claude = next(s for s in data["summary"] if s["model_id"] == "claude-sonnet")
    assert claude["unpriced_cells"] == 1  # long_answer has no price for claude
    assert claude["cost_avoided_usd"] > 0


def test_summary_tolerates_missing_fields():
    s = summarize([{"case_id": "a", "status": "passed"}, {"case_id": "b"}])["unknown"]
    assert (s["cells"], s["passed"], s["failed"]) == (2, 1, 1)
    assert s["latency_p50_ms"] is None and s["cost_usd"] is None and s["latency_box"] is None


# --- payload ----------------------------------------------------------------------------------


def test_payload_dedupes_input_and_output():
    data = build_report_data(current_records(), {})
    assert len(data["cells"]) == 21 and len(data["cases"]) == 7
    cap = _cell(data, "capital", "gpt-mini")
    det = cap[D.CELL_DETAIL]
    assert "in" not in det  # the case input is stored once per case
    assert [t["r"] for t in det["t"]] == ["a"]  # transcript without the input prefix
    assert "o" not in det  # output text == last assistant turn, not repeated
    weather = _cell(data, "weather_tool", "claude-sonnet")[D.CELL_DETAIL]
    assert [t["r"] for t in weather["t"]] == ["a", "t", "a"]
    assert weather["t"][0]["tc"] == [["get_weather", {"location": "Boston", "unit": "celsius"}, "call_1"]]
    person = _cell(data, "extract_person", "gpt-mini")[D.CELL_DETAIL]
    assert person["st"]["born"] == 1815
    assert _cell(data, "reasoning_math", "gpt-mini")[D.CELL_DETAIL]["t"][0]["rs"].startswith("17 × 23")
    err = _cell(data, "rate_limited", "gemini-flash")
    assert err[D.CELL_STATUS] == 2 and data["s"][err[D.CELL_REASON]].startswith("ModelRateLimitError")
    failing = _cell(data, "extract_person", "claude-sonnet")
    assert data["s"][failing[D.CELL_REASON]] == "json_schema: born: '1815' is not of type 'integer'"
    path = _cell(data, "capital", "claude-sonnet")[D.CELL_DETAIL]["cp"]
    assert (
        "/".join(data["s"][i] for i in path)
        == "cassettes/quickstart/capital/anthropic-claude-sonnet-4-5.yaml"
    )


def test_payload_odd_records():
    recs = [
        {
            "case_id": "a",
            "model": "m",
            "status": "passed",
            "transcript": [
                {"role": "assistant", "content": [{"type": "text", "text": "hello"}, {"type": "image"}]}
            ],
        },
        {"case_id": "a", "model": "m", "repeat": 1, "status": "failed", "timing": {"total_ms": float("nan")}},
        {
            "case_id": "a",
            "model": "m",
            "repeat": 1,
            "status": "passed",
            "timing": {"total_ms": 5},
        },  # replaces
    ]
    data = build_report_data(recs, None)
    assert data["meta"]["repeats"] == 2 and len(data["cells"]) == 2
    assert data["cells"][0][D.CELL_DETAIL]["t"][0]["c"] == 'hello\n{"type": "image"}'
    assert data["cells"][1][D.CELL_STATUS] == 0 and data["cells"][1][D.CELL_LATENCY] == 5
    text = embed_json({"x": float("nan"), "y": [float("inf")]})
    assert json.loads(text) == {"x": None, "y": [None]}


def test_baseline_diff():
    data = build_report_data(current_records(), {}, baseline_records())
    code = {v: k for k, v in D.DIFF_CODES.items()}

    def diff(case, model):
        return _cell(data, case, model)[D.CELL_DIFF]

    assert code[diff("long_answer", "gemini-flash")[D.DIFF_CODE]] == "regressed"
    assert diff("long_answer", "gemini-flash")[D.DIFF_LATENCY] == pytest.approx(200)
    assert code[diff("weather_tool", "claude-sonnet")[D.DIFF_CODE]] == "fixed"
    assert code[diff("reasoning_math", "gemini-flash")[D.DIFF_CODE]] == "new"
    assert code[diff("extract_person", "claude-sonnet")[D.DIFF_CODE]] == "unchanged"  # failed before too
    cap = diff("capital", "gpt-mini")
    assert code[cap[D.DIFF_CODE]] == "unchanged" and cap[D.DIFF_CHANGED] == 1
    assert cap[D.DIFF_BASE_TEXT] == "The capital is Paris." and cap[D.DIFF_CUR_TEXT] == "Paris."
    assert diff("capital", "claude-sonnet")[D.DIFF_CHANGED] == 0
    counts = data["baseline"]["counts"]
    assert counts == {
        "new": 1,
        "fixed": 1,
        "regressed": 1,
        "unchanged": 18,
        "removed": 1,
        "output_changed": 3,
    }
    assert data["baseline"]["removed"] == [["dropped_case", "gpt-mini", 0, 0]]
    assert data["baseline"]["run_id"] == "20261123T120000-aaaa"


# --- HTML: escaping and self-containment -------------------------------------------------------


def test_embed_json_cannot_close_the_script_tag():
    payload = {"t": XSS + "</script><!-- & \u2028"}
    text = embed_json(payload)
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == payload


def test_html_is_self_contained_and_inert(runs):
    cur, base = runs
    html = render_html(build_report_data(*_load(cur), _load(base)[0]))
    # the XSS payload never appears as markup, only as escaped JSON inside the data block
    assert "<script>alert" not in html and "<img src=x" not in html
    assert html.count("<script") == 2  # the JSON payload + our one inline script
    assert re.search(r"<script[^>]*\bsrc=", html) is None
    assert re.search(r"""(?:src|href|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I) is None
    assert re.search(r"url\(\s*['\"]?(?:https?:)?//", html, re.I) is None
    assert "@import" not in html and 'rel="stylesheet"' not in html
    # http(s):// only as the SVG namespace, never as something to fetch
    assert set(re.findall(r"https?://[^\s\"'<>)]+", html)) <= {"http://www.w3.org/2000/svg"}
    # a strict CSP: the one inline script is allowed by its hash, nothing may be fetched
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
    assert "default-src 'none'" in csp
    script = re.search(r"<script>(.*?)</script>", html, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp
    data = _embedded(html)
    assert any(XSS in s for s in data["s"])  # the payload survives as data, to be shown as text


def test_charts_and_cards_escape_model_names():
    recs = [record("c", 0, text="x")]
    recs[0]["model_id"] = "<b>evil</b>"
    html = render_html(build_report_data(recs, {}))
    assert "<b>evil</b>" not in html and "&lt;b&gt;evil&lt;/b&gt;" in html


def test_nice_ticks():
    assert nice_ticks(4292) == [0, 1000, 2000, 3000, 4000, 5000]
    assert nice_ticks(0.0028) == pytest.approx([0, 0.001, 0.002, 0.003])
    assert nice_ticks(0) == [0.0, 1.0]


def _load(run_dir):
    from harness.results.io import load_run_meta, read_records

    return read_records(run_dir), load_run_meta(run_dir)


# --- files, paths, CLI ------------------------------------------------------------------------


def test_render_report_default_path_and_atomic_write(runs, tmp_path, monkeypatch):
    cur, base = runs
    monkeypatch.chdir(tmp_path)
    path = render_report(cur, baseline_dir=base)
    assert path == Path("reports/quickstart-20261124T063000-3f2a.html")
    assert path.is_file() and path.stat().st_size < 300_000
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left behind
    out = render_report(cur, tmp_path / "deep" / "dir" / "r.html")
    assert out.is_file() and _embedded(out.read_text())["baseline"] is None


def test_cli_report(runs, tmp_path):
    cur, base = runs
    out = tmp_path / "r.html"
    res = CliRunner().invoke(report_cmd, [str(cur), "-o", str(out), "--baseline", str(base)])
    assert res.exit_code == 0, res.output
    assert str(out) in res.output and out.is_file()
    assert _embedded(out.read_text())["baseline"]["counts"]["regressed"] == 1


def test_cli_errors_exit_2_with_one_line(tmp_path, runs):
    cur, _ = runs
    empty = tmp_path / "empty"
    empty.mkdir()
    res = CliRunner().invoke(report_cmd, [str(empty)])
    assert res.exit_code == 2
    assert len(res.output.strip().splitlines()) == 1 and "results.jsonl" in res.output

    bad = write_run(tmp_path / "bad", current_records()[:2])
    with (bad / "results.jsonl").open("a") as fh:
        fh.write('{"case_id": "x", "status": \n')
    res = CliRunner().invoke(report_cmd, [str(bad)])
    assert res.exit_code == 2
    line = res.output.strip()
    assert len(line.splitlines()) == 1 and f"{bad / 'results.jsonl'}:3:" in line and "not valid JSON" in line

    res = CliRunner().invoke(report_cmd, [str(cur), "--baseline", str(empty), "-o", str(tmp_path / "x.html")])
    assert res.exit_code == 2 and "results.jsonl" in res.output
    with pytest.raises(InputError):
        render_report(tmp_path / "missing")


def test_file_size_scales_under_target(tmp_path):
    """30,000 cells must stay under 15 MB: measure 6,000 realistic cells and extrapolate."""
    recs = synth_records(2000)
    t0 = time.perf_counter()
    html = render_html(build_report_data(recs, {}))
    elapsed = time.perf_counter() - t0
    per_cell = len(html.encode()) / len(recs)
    assert per_cell * 30_000 < 15e6, f"{per_cell:.0f} bytes per cell"
    assert elapsed < 5, f"rendering 6,000 cells took {elapsed:.1f}s"
    assert math.isfinite(per_cell)


def test_empty_run_and_per_model_input(tmp_path):
    empty = write_run(tmp_path / "empty", [])
    html = Path(render_report(empty, tmp_path / "e.html")).read_text()
    assert "This run has no results records." in html and _embedded(html)["cells"] == []

    recs = [record("c", 0, text="a"), record("c", 1, text="b", system="Answer in French.")]
    data = build_report_data(recs, {})
    assert "in" not in data["cells"][0][D.CELL_DETAIL]
    assert data["cells"][1][D.CELL_DETAIL]["in"][0] == {"r": "s", "c": "Answer in French."}
