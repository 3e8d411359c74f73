"""HTML report benchmark: render time and file size for 10,000 cases × 3 models, and the browser's
load-to-interactive time for that file (targets: render < 5 s, interactive < 2 s, file < 15 MB).

    python benchmarks/report.py [--cases 10000] [--models 3] [--keep DIR]

Prints figures only (no asserts). The browser part needs /usr/bin/chromium and the playwright package.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from report_fixtures import CHROMIUM, launch_chromium, synth_records, write_run  # noqa: E402

from harness.files import write_atomic  # noqa: E402
from harness.report import build_report_data, render_html  # noqa: E402
from harness.results.io import load_run_meta, read_records  # noqa: E402


def _t(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def render_figures(run_dir: Path, out: Path) -> None:
    records, t_load = _t(read_records, run_dir)
    meta = load_run_meta(run_dir)
    data, t_build = _t(build_report_data, records, meta)
    html, t_html = _t(render_html, data)
    _, t_write = _t(write_atomic, out, html)
    total = t_load + t_build + t_html + t_write
    size = out.stat().st_size
    print(
        f"cells:               {len(records):,} ({data['meta']['cases']:,} cases × {len(data['models'])} models)"
    )
    print(
        f"render time:         {total:.2f} s  (read jsonl {t_load:.2f} s · build data {t_build:.2f} s · "
        f"template {t_html:.2f} s · write {t_write:.2f} s)  target < 5 s"
    )
    print(
        f"file size:           {size / 1e6:.2f} MB ({size / len(records):.0f} bytes per cell)  "
        f"target < 15 MB for 30,000 cells"
    )


def browser_figures(out: Path, runs: int = 3) -> None:
    if not os.path.exists(CHROMIUM):
        print(f"browser:             skipped ({CHROMIUM} not installed)")
        return
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("browser:             skipped (playwright not installed)")
        return
    ready, wall, dom, search, detail, page2, text = [], [], [], [], [], [], []
    with sync_playwright() as pw, tempfile.TemporaryDirectory(prefix="chromium-bench-") as profile:
        ctx = launch_chromium(pw, profile, viewport={"width": 1440, "height": 1000})
        try:
            for _ in range(runs):
                page = ctx.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
                t0 = time.perf_counter()
                page.goto(out.as_uri(), wait_until="commit")
                page.wait_for_selector("body[data-ready='1']", timeout=60_000)
                wall.append(time.perf_counter() - t0)
                ready.append(page.evaluate("window.__reportReadyMs") / 1000)
                dom.append(
                    page.evaluate(
                        "() => { const n = performance.getEntriesByType('navigation')[0];"
                        " return n.domContentLoadedEventEnd / 1000; }"
                    )
                )
                # interaction costs on the full data set
                t1 = time.perf_counter()
                page.select_option("#f-status", "failed")
                page.wait_for_selector("#matrix-body td.cell")
                search.append(time.perf_counter() - t1)
                before = page.inner_text("#count")
                t1 = time.perf_counter()
                page.fill("#f-q", "mountains rivers")
                while page.inner_text("#count") == before:
                    time.sleep(0.005)
                text.append(time.perf_counter() - t1)
                t1 = time.perf_counter()
                page.click("#p-next")
                page2.append(time.perf_counter() - t1)
                t1 = time.perf_counter()
                page.click("#matrix-body td.cell >> nth=0")
                page.wait_for_selector("#detail .dcol")
                detail.append(time.perf_counter() - t1)
                if errors:
                    print("page errors:", errors)
                page.close()
        finally:
            ctx.close()
    med = statistics.median
    print(
        f"load-to-interactive: {med(ready):.2f} s median of {runs} (navigation start → matrix rendered; "
        f"DOMContentLoaded {med(dom):.2f} s; wall incl. navigation {med(wall):.2f} s)  target < 2 s"
    )
    print(
        f"interactions:        status filter {med(search) * 1000:.0f} ms · next page {med(page2) * 1000:.0f} ms · "
        f"open detail {med(detail) * 1000:.0f} ms · free-text search {med(text) * 1000:.0f} ms (incl. 120 ms debounce)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--models", type=int, default=3)
    ap.add_argument("--keep", type=Path, default=None, help="keep the run dir and the HTML file here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="report-bench-") as tmp:
        base = args.keep or Path(tmp)
        run_dir = write_run(
            base / "run",
            synth_records(args.cases, n_models=args.models),
            {"run_id": "bench-run", "suite": "bench"},
        )
        out = base / "bench.html"
        render_figures(run_dir, out)
        browser_figures(out)


if __name__ == "__main__":
    main()
