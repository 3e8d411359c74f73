"""Cells a spent `--max-cost` skipped, and a judge's figures, in the HTML report (headless Chromium)."""

from __future__ import annotations

import os
import tempfile

import pytest
from report_fixtures import CHROMIUM, launch_chromium, record, write_run

from harness.report import render_report

pytestmark = pytest.mark.browser

if not os.path.exists(CHROMIUM):
    pytest.skip(
        f"{CHROMIUM} is not installed (apt-get install chromium chromium-driver)", allow_module_level=True
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")

REASON = "skipped: --max-cost $0.01 was spent ($0.0123 on live calls) before this cell started"


def test_a_skipped_cell_shows_its_reason_and_the_status_filter_finds_it(tmp_path):
    judged = record("capital", 0, text="Paris.")
    judged["judge_usage"] = {"input_tokens": 147, "output_tokens": 14, "total_tokens": 161}
    judged["judge_cost_usd"] = 0.0000203
    skipped = record("weather", 0, status="skipped", state="unused", error=REASON)
    skipped["output"], skipped["transcript"] = None, []
    run = write_run(tmp_path / "run", [judged, record("capital", 1, text="Paris."), skipped])
    html = render_report(run, tmp_path / "r.html")
    with sync_api.sync_playwright() as pw, tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        ctx = launch_chromium(pw, profile, viewport={"width": 1280, "height": 900})
        try:
            page = ctx.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(html.resolve().as_uri())
            page.wait_for_selector("body[data-ready='1']", timeout=15_000)
            card = page.locator(".card").first.inner_text()
            assert "– 1 skipped" in card and "Judge tokens / cost" in card and "147 / 14" in card
            cell = page.locator("#matrix-body td.cell.s-skip")
            assert cell.count() == 1
            assert "– skipped" in cell.inner_text() and "--max-cost $0.01 was spent" in cell.inner_text()
            page.select_option("#f-status", "skipped")
            assert page.locator("#matrix-body th.case .case-id").all_inner_texts() == ["weather"]
            assert errors == []
        finally:
            ctx.close()
