"""The HTML report in headless Chromium (Debian's /usr/bin/chromium driven by Playwright).

Screenshots go to test-artifacts/report/ (gitignored) for a human look.
"""

from __future__ import annotations

import concurrent.futures
import os
import re
import tempfile
from pathlib import Path

import pytest
from _helpers import TOOL_LOOP_TARGET
from report_fixtures import CHROMIUM, XSS, launch_chromium, synth_records, write_fixture_runs, write_run

from harness.report import render_report

pytestmark = pytest.mark.browser

if not os.path.exists(CHROMIUM):
    pytest.skip(
        f"{CHROMIUM} is not installed (apt-get install chromium chromium-driver)", allow_module_level=True
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
expect = sync_api.expect

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "report"


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    cur, base = write_fixture_runs(tmp)
    big = write_run(tmp / "big", synth_records(260))
    return {
        "plain": render_report(cur, tmp / "plain.html"),
        "diff": render_report(cur, tmp / "diff.html", baseline_dir=base),
        "big": render_report(big, tmp / "big.html"),
        "empty": render_report(write_run(tmp / "empty", []), tmp / "empty.html"),
    }


@pytest.fixture(scope="module")
def playwright():
    with sync_api.sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def context(playwright):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        ctx = launch_chromium(playwright, profile, viewport={"width": 1440, "height": 1000})
        yield ctx
        ctx.close()


class Page:
    """A page with console errors, uncaught errors, requests and dialogs recorded."""

    def __init__(self, context, path: Path):
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.page = p = context.new_page()
        p.on("console", lambda m: self.errors.append(m.text) if m.type in ("error", "warning") else None)
        p.on("pageerror", lambda e: self.errors.append(str(e)))
        p.on("request", lambda r: self.requests.append(r.url))
        p.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        p.goto(path.resolve().as_uri())
        p.wait_for_selector("body[data-ready='1']", timeout=15_000)

    def cell(self, case_id: str, model_id: str):
        col = self.page.eval_on_selector_all(
            "#matrix-head th",
            f"ths => ths.findIndex(t => t.querySelector('.mc-name')?.textContent === {model_id!r})",
        )
        assert col > 0, f"no column {model_id}"
        return (
            self.page.locator("#matrix-body tr")
            .filter(has=self.page.locator("th.case .case-id", has_text=re.compile(f"^{case_id}$")))
            .locator("td, th")
            .nth(col)
        )

    def row_ids(self) -> list[str]:
        return self.page.locator("#matrix-body th.case .case-id").all_inner_texts()

    def shot(self, name: str, full_page: bool = False) -> None:
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)

    def close(self) -> None:
        self.page.close()


@pytest.fixture()
def open_report(context, reports):
    pages: list[Page] = []

    def _open(name: str) -> Page:
        pages.append(Page(context, reports[name]))
        return pages[-1]

    yield _open
    for p in pages:
        p.close()


def test_loads_without_errors_or_network(open_report):
    pg = open_report("diff")
    pg.shot("summary-full", full_page=True)
    assert pg.errors == []
    assert [u for u in pg.requests if not u.startswith(("file://", "data:"))] == []
    assert len(pg.requests) == 1  # the file itself, nothing else
    assert pg.page.locator(".card").count() == 3
    assert pg.page.locator("svg.chart").count() == 4
    assert pg.page.locator("svg.chart title").first.text_content() == "Pass rate per model"


def test_empty_run_renders(open_report):
    pg = open_report("empty")
    assert pg.errors == []
    assert "No matching cases" in pg.page.locator("#count").inner_text()


def test_matrix_shows_every_cell(open_report):
    pg = open_report("plain")
    assert pg.row_ids() == [
        "capital",
        "weather_tool",
        "extract_person",
        "reasoning_math",
        "xss_echo",
        "rate_limited",
        "long_answer",
    ]
    assert pg.page.locator("#matrix-body td.cell").count() == 21
    assert pg.page.locator("#matrix-body td.cell.missing").count() == 0
    assert pg.page.locator("#matrix-head th[scope=col]").all_inner_texts()[1].startswith("gpt-mini")
    cell = pg.cell("extract_person", "claude-sonnet")
    assert "✗ fail" in cell.inner_text() and "is not of type 'integer'" in cell.inner_text()
    assert "replayed" in cell.inner_text()
    assert "⚠ error" in pg.cell("rate_limited", "gemini-flash").inner_text()
    assert "live" in pg.cell("capital", "gemini-flash").inner_text()
    assert "recorded" in pg.cell("capital", "claude-sonnet").inner_text()
    pg.shot("matrix")


def test_pagination_keeps_every_cell_reachable(open_report):
    pg = open_report("big")
    assert "1–100 of 260" in pg.page.locator("#count").inner_text()
    assert pg.page.locator("#matrix-body td.cell").count() == 300
    pg.page.click("#p-last")
    assert "201–260 of 260" in pg.page.locator("#count").inner_text()
    assert pg.page.locator("#matrix-body td.cell").count() == 180
    assert pg.page.locator("#p-info").inner_text() == "Page 3 of 3"


def test_click_opens_side_by_side_detail(open_report):
    pg = open_report("plain")
    cell = pg.cell("weather_tool", "claude-sonnet")
    cell.click()
    detail = pg.page.locator("#detail")
    detail.wait_for(state="visible")
    assert pg.page.locator("#detail-title").inner_text() == "weather_tool"
    cols = pg.page.locator("#detail .dcol")
    assert cols.count() == 3
    assert [c.split("\n")[0] for c in cols.all_inner_texts()] == ["gpt-mini", "claude-sonnet", "gemini-flash"]
    text = cols.nth(1).inner_text()
    for expected in (
        "get_weather",
        '"location": "Boston"',
        "Tool result",
        '"sky": "sunny"',
        "Assistant · turn 2",
        "get_weather was called",
        "TTFT",
        "Per turn",
        "cassettes/quickstart/weather_tool/anthropic-claude-sonnet-4-5.yaml",
    ):
        assert expected in text, expected
    assert "What's the weather in Boston?" in pg.page.locator("#detail .d-info").inner_text()
    box = [cols.nth(i).bounding_box() for i in range(3)]
    assert box[0]["x"] < box[1]["x"] < box[2]["x"] and abs(box[0]["y"] - box[2]["y"]) < 2  # side by side
    pg.shot("detail-tools")
    pg.page.keyboard.press("Escape")
    detail.wait_for(state="hidden")
    assert pg.page.evaluate("document.activeElement.tagName") == "TD"

    pg.cell("reasoning_math", "gpt-mini").click()
    reasoning = pg.page.locator("#detail .dcol").first.locator("details.reasoning")
    assert reasoning.count() == 1 and reasoning.get_attribute("open") is None  # collapsed
    assert not reasoning.locator("pre").is_visible()
    reasoning.locator("summary").click()
    assert "340 + 51 = 391" in reasoning.locator("pre").inner_text()
    pg.page.click("#d-next")
    assert pg.page.locator("#detail-title").inner_text() == "xss_echo"
    pg.page.click("#d-close")

    pg.cell("extract_person", "gpt-mini").click()
    structured = pg.page.locator("#detail .dcol").first.locator("pre.structured").inner_text()
    assert '"born": 1815' in structured and '\n  "fields": [' in structured
    pg.shot("detail-structured")


def test_keyboard_navigation(open_report):
    pg = open_report("plain")
    page = pg.page
    page.locator("#f-q").focus()
    for _ in range(20):  # tab through the toolbar into the grid (one tab stop)
        page.keyboard.press("Tab")
        if page.evaluate("!!document.activeElement.closest('#matrix-body')"):
            break
    assert page.evaluate("document.activeElement.getAttribute('aria-label')").startswith("capital × gpt-mini")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')").startswith(
        "weather_tool × claude-sonnet: passed"
    )
    assert page.locator("#matrix-body [tabindex='0']").count() == 1  # roving tabindex
    page.keyboard.press("Enter")
    page.locator("#detail").wait_for(state="visible")
    assert page.locator("#detail .dcol.focus-col h3").inner_text() == "claude-sonnet"
    page.keyboard.press("j")
    assert page.locator("#detail-title").inner_text() == "extract_person"
    page.keyboard.press("Escape")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')").startswith(
        "extract_person × claude"
    )


def test_filters_and_sorting(open_report):
    pg = open_report("plain")
    page = pg.page
    page.select_option("#f-status", "failed")
    assert pg.row_ids() == ["extract_person", "xss_echo", "long_answer"]
    assert page.locator("#matrix-body td.cell.dim").count() == 6  # passing cells in those rows are dimmed
    page.select_option("#f-status", "error")
    assert pg.row_ids() == ["rate_limited"]
    page.select_option("#f-status", "")
    page.select_option("#f-tag", label="math")
    assert pg.row_ids() == ["reasoning_math"]
    page.select_option("#f-tag", "")
    page.select_option("#f-atype", label="json_schema")
    assert pg.row_ids() == ["extract_person"]
    page.select_option("#f-atype", "")
    page.fill("#f-q", "boston sunny")
    rows = page.locator("#matrix-body th.case .case-id")
    expect(rows).to_have_text(["weather_tool"])
    page.fill("#f-q", "429")
    expect(rows).to_have_text(["rate_limited"])
    page.fill("#f-q", "")
    expect(rows).to_have_count(7)
    page.uncheck(".f-model[value='1']")
    assert page.locator("#matrix-head th").count() == 3
    assert "claude-sonnet" not in page.locator("#matrix-head").inner_text()
    page.check(".f-model[value='1']")
    page.select_option("#f-sort", "latency")
    assert pg.row_ids()[0] == "long_answer"  # slowest model call first
    page.click("#f-dir")
    assert pg.row_ids()[0] == "rate_limited"  # fastest slowest-model first
    page.select_option("#f-sort", "cost")
    assert pg.row_ids()[0] == "weather_tool"  # two-turn tool loop, the priciest
    page.select_option("#f-sort", "tokens")
    assert pg.row_ids()[0] == "weather_tool"
    page.select_option("#f-sort", "case")
    assert pg.row_ids() == sorted(pg.row_ids())
    page.select_option("#f-status", "notpassed")
    pg.shot("filtered")


def test_baseline_diff_marks_cells(open_report):
    pg = open_report("diff")
    page = pg.page
    regressed = pg.cell("long_answer", "gemini-flash")
    assert (
        "d-regressed" in regressed.get_attribute("class") and "▼ regressed" in regressed.inner_text().lower()
    )
    assert "▲ fixed" in pg.cell("weather_tool", "claude-sonnet").inner_text().lower()
    assert "✚ new" in pg.cell("reasoning_math", "gemini-flash").inner_text().lower()
    assert "δ output" in pg.cell("capital", "gpt-mini").inner_text().lower()
    page.click("#show-changes")
    assert pg.row_ids() == ["weather_tool", "reasoning_math", "long_answer"]
    assert page.locator("#matrix-body td.cell:not(.dim)").count() == 3
    pg.shot("baseline-changes")
    page.select_option("#f-diff", "regressed")
    assert pg.row_ids() == ["long_answer"]
    page.select_option("#f-diff", "")
    pg.cell("capital", "gpt-mini").click()
    col = page.locator("#detail .dcol").first
    diff = col.locator("pre.diff")
    assert diff.locator("del").all_inner_texts() and diff.locator("ins").count() >= 0
    assert "The capital is" in "".join(diff.locator("del").all_inner_texts())
    assert "Baseline status" in col.inner_text() and "Δ latency" in col.inner_text()
    page.keyboard.press("Escape")
    pg.cell("long_answer", "gemini-flash").click()
    col = page.locator("#detail .dcol").nth(2)
    assert "+200 ms" in col.inner_text() and "ERROR" in "".join(col.locator("pre.diff ins").all_inner_texts())
    pg.shot("baseline-detail")


def test_xss_payload_stays_text(open_report, context):
    pg = open_report("plain")
    page = pg.page
    cell = pg.cell("xss_echo", "gpt-mini")
    assert XSS in cell.inner_text()
    cell.click()
    detail = page.locator("#detail")
    assert XSS in detail.locator(".dcol").first.inner_text()
    assert XSS in detail.locator(".d-info").inner_text()  # vars and the user message
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    assert page.evaluate("document.querySelectorAll('script').length") == 2
    assert page.evaluate("[...document.querySelectorAll('*')].some(e => e.hasAttribute('onerror'))") is False
    page.fill("#f-q", "onerror")  # searching for it renders it again, still as text
    page.keyboard.press("Escape")
    assert pg.dialogs == [] and pg.errors == []
    pg.shot("xss-detail")


def test_xss_inert_even_without_csp(reports, playwright, tmp_path):
    """Escaping alone must keep the payload inert: run with the Content-Security-Policy bypassed."""
    ctx = launch_chromium(playwright, str(tmp_path / "profile"), bypass_csp=True)
    try:
        ctx.add_init_script("window.__alerts = 0; window.alert = function () { window.__alerts += 1; };")
        pg = Page(ctx, reports["plain"])
        pg.cell("xss_echo", "gpt-mini").click()
        pg.page.fill("#f-q", "onerror")
        pg.page.wait_for_timeout(300)
        assert pg.page.evaluate("window.__alerts") == 0 and pg.dialogs == [] and pg.errors == []
        assert pg.page.evaluate("document.querySelectorAll('img').length") == 0
    finally:
        ctx.close()


def test_a_target_cells_model_calls_show_as_a_timeline(context, tmp_path):
    from harness.runner import Runner, RunOptions
    from harness.suite.spec import load_suite
    from harness.testing import ProviderEmulator, Reply, ToolCallSpec

    (tmp_path / "app.py").write_text(TOOL_LOOP_TARGET)
    with ProviderEmulator() as emu:
        (tmp_path / "suite.yaml").write_text(
            "name: app\nmodels:\n  - {model: 'openai:gpt-4.1-mini', base_url: '"
            + emu.base_url("openai")
            + "', api_key: sk-test-0123456789abcdef}\n"
            "cases:\n  - id: weather\n    target: app.py:agent\n    prompt: Weather in Paris?\n"
        )
        emu.queue(
            Reply(
                tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})],
                usage={"input_tokens": 20, "output_tokens": 10},
            ),
            Reply(text="Sunny in Paris.", usage={"input_tokens": 40, "output_tokens": 8}),
        )
        runner = Runner(
            load_suite(tmp_path / "suite.yaml"), RunOptions(cassettes_dir=None, out=tmp_path / "run")
        )
        with concurrent.futures.ThreadPoolExecutor(1) as pool:  # Playwright's loop runs in this thread
            result = pool.submit(runner.run).result()
    pg = Page(context, render_report(result.run_dir, tmp_path / "report.html"))
    try:
        pg.cell("weather", "openai:gpt-4.1-mini").click()
        pg.page.locator("#detail").wait_for(state="visible")
        timeline = pg.page.locator("#detail .dcol .d-calls")
        assert timeline.locator("h4").inner_text().lower() == "model calls (2)"
        calls = timeline.locator("li.call")
        assert calls.count() == 2
        first, second = calls.nth(0).inner_text(), calls.nth(1).inner_text()
        assert "openai:gpt-4.1-mini" in first and "20 in / 10 out tok" in first and "get_weather" in first
        assert "40 in / 8 out tok" in second and "get_weather" not in second
        bars = [calls.nth(i).locator(".call-bar").bounding_box() for i in range(2)]
        assert bars[1]["x"] >= bars[0]["x"] + bars[0]["width"] - 1  # the second call starts after the first
        assert '"turns": 4' in pg.page.locator("#detail .dcol").first.inner_text()  # the target's metadata
        assert pg.errors == []
        pg.shot("detail-target-calls")
    finally:
        pg.close()
