"""The end of a pytest session: the files `--harness-results` / `--harness-report` ask for and the
terminal summary, from the records of every model test (merged from xdist workers)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from harness.files import write_atomic
from harness.pytest_plugin.support import utc_now


def write_outputs(session: Any) -> list[tuple[str, Path]]:
    """--harness-results (JSONL, plus run.json beside a file named results.jsonl) and --harness-report."""
    from harness.results.io import RESULTS_FILE, dumps_line, latest, write_run
    from harness.results.summary import summarize

    config = session.config
    rank = {m: i for i, m in enumerate(session.models or [])}  # --models / ini harness_models order

    def model_rank(model: str) -> tuple[int, str]:
        return rank.get(model, len(rank)), model

    records = sorted(
        session.records,
        key=lambda r: (str(r.get("case_id")), model_rank(str(r.get("model_id") or r.get("model")))),
    )
    results_opt, report_opt = config.getoption("harness_results"), config.getoption("harness_report")
    if not (results_opt or report_opt):
        return []
    base = config.invocation_params.dir
    models: dict[str, str] = {}
    for r in sorted(records, key=lambda r: model_rank(str(r.get("model_id") or r.get("model")))):
        models.setdefault(str(r.get("model_id") or r.get("model")), str(r.get("provider") or ""))
    summary = summarize(latest(records).values())
    meta = {
        "run_id": session.run_id,
        "suite": "pytest",
        "suite_path": None,
        "models": [{"id": m, "model": m, "provider": p} for m, p in models.items()],
        "config": {
            "models": session.models or None,
            "record_mode": session.record_mode,
            "replay_speed": session.replay_speed,
            "cassettes_dir": session.relative(session.cassette_dir),
        },
        "started_at": session.started_at,
        "finished_at": utc_now(),
        "summary": {m: summary[m] for m in sorted(summary, key=model_rank)},
    }
    written: list[tuple[str, Path]] = []
    if results_opt:
        path = Path(base, results_opt)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.name == RESULTS_FILE:  # the folder is a RUN_DIR: `harness report` reads it
            write_run(path.parent, records, meta)
        else:
            write_atomic(path, b"".join(dumps_line(r) for r in records))
        written.append(("results", path))
    if report_opt:
        from harness.report import render_report

        with tempfile.TemporaryDirectory(prefix="harness-pytest-") as run_dir:
            write_run(Path(run_dir), records, meta)
            written.append(("report", render_report(run_dir, Path(base, report_opt))))
    return written


def summary_lines(session: Any) -> list[str]:
    """Per model: pass rate, latency, tokens, cassette replays / recordings / misses / unused."""
    from harness.results.io import latest
    from harness.results.summary import format_ms, format_rate, format_usd, summarize

    summary = summarize(latest(session.records).values())
    rows = [
        (
            "model",
            "cases",
            "passed",
            "p50 ms",
            "tokens in/out",
            "cost $",
            "replayed",
            "recorded",
            "misses",
            "unused",
        )
    ]
    rank = {m: i for i, m in enumerate(session.models or [])}  # --models / ini harness_models order
    for model, s in sorted(summary.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0])):
        cas = [
            r.get("cassette") or {}
            for r in session.records
            if str(r.get("model_id") or r.get("model")) == model
        ]
        replayed, recorded, misses = (
            sum(_count(c, k) for c in cas) for k in ("replayed", "recorded", "misses")
        )
        rows.append(
            (
                model,
                str(s["cells"]),
                f"{s['passed']} ({format_rate(s['pass_rate'])})",
                format_ms(s["latency_p50_ms"]),
                f"{s['input_tokens']}/{s['output_tokens']}",
                format_usd(s["cost_usd"]),
                str(replayed),
                str(recorded),
                str(misses),
                str(sum(int(c.get("unused") or 0) for c in cas)),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    out += [f"{what}: {path}" for what, path in session.written]
    return out


def _count(cassette: dict[str, Any], key: str) -> int:
    """Calls of a test record by kind; a suite cell's record has only a state (one cell, counted once)."""
    if key in cassette:
        return int(cassette[key] or 0)
    return int(cassette.get("state") == {"misses": "miss"}.get(key, key))
