"""The report of a real `harness run` (four models against the provider emulator) in headless
Chromium: the output's first line in each matrix cell, the output before the assertions in the
detail, a detail that stays usable with four models, no inner scroll box, no clipped label, the
emulator banner and the suite's and cases' descriptions."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from report_fixtures import CHROMIUM, launch_chromium

from harness.cli import cli
from harness.testing import EmulatedRequest, ProviderEmulator, Reply

pytestmark = pytest.mark.browser

if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")

LONG_ID = "openai:gpt-4.1-mini-with-a-rather-long-deployment-name"
SUITE = f"""\
name: four
description: Four models answer two questions
models:
  - {{model: "openai:gpt-4.1-mini", id: "{LONG_ID}"}}
  - {{model: "anthropic:claude-haiku-4-5", id: haiku}}
  - {{model: "openai:gpt-4o", id: gpt-4o}}
  - {{model: "anthropic:claude-sonnet-4-5", id: sonnet}}
cases:
  - id: capital
    description: Knows the capital of France
    prompt: Capital of France?
    assert: [{{type: icontains, value: paris}}]
  - id: essay
    prompt: Write a long essay
    assert: [{{type: contains, value: "Paragraph 40"}}]
"""


def replies(req: EmulatedRequest) -> Reply:
    if "Capital" in req.last_user_text:
        return Reply(text="Paris is the capital.\nIt sits on the Seine.")
    return Reply(text="\n".join(f"Paragraph {i}: " + "words " * 30 for i in range(1, 41)))


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("four")
    (tmp / "four.yaml").write_text(SUITE, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    with ProviderEmulator() as emu:
        emu.reply_fn = replies
        env.update(
            OPENAI_BASE_URL=emu.base_url("openai"),
            ANTHROPIC_BASE_URL=emu.base_url("anthropic"),
            OPENAI_API_KEY="sk-test",
            ANTHROPIC_API_KEY="sk-ant-test",
        )
        cwd = os.getcwd()
        os.chdir(tmp)
        try:
            result = CliRunner().invoke(
                cli,
                ["run", "four.yaml", "--no-cassettes", "--out", "run", "--report", "report.html"],
                env=env,
                catch_exceptions=False,
            )
        finally:
            os.chdir(cwd)
    assert result.exit_code == 0, result.output
    return tmp / "report.html"


@pytest.fixture(scope="module")
def page(report):
    with sync_api.sync_playwright() as pw, tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        ctx = launch_chromium(pw, profile, viewport={"width": 1280, "height": 900})
        p = ctx.new_page()
        errors: list[str] = []
        p.on("pageerror", lambda e: errors.append(str(e)))
        p.goto(Path(report).resolve().as_uri())
        p.wait_for_selector("body[data-ready='1']", timeout=15_000)
        yield p
        assert errors == []
        ctx.close()


INNER_SCROLLERS = """() => [...document.querySelectorAll('body *')].filter(e => {
  const s = getComputedStyle(e);
  const y = /(auto|scroll)/.test(s.overflowY) && e.scrollHeight > e.clientHeight + 1;
  const x = /(auto|scroll)/.test(s.overflowX) && e.scrollWidth > e.clientWidth + 1;
  return (x || y) && e.id !== 'detail-body' && e.offsetParent !== null;
}).map(e => e.tagName + '.' + e.className)"""

CLIPPED = """(sel) => [...document.querySelectorAll(sel)].filter(e => e.offsetParent !== null &&
  (e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1)).map(e => e.textContent)"""

SVG_LABELS_OUTSIDE = """() => [...document.querySelectorAll('svg.chart text.lbl')].filter(t => {
  const vb = t.ownerSVGElement.viewBox.baseVal, b = t.getBBox();
  return b.x < vb.x - 0.5 || b.x + b.width > vb.x + vb.width + 0.5;
}).map(t => t.textContent)"""


def test_banner_descriptions_and_first_lines_in_the_matrix(page):
    banner = page.locator("#emulated-banner")
    assert banner.is_visible() and "8 of 8 cells were answered by harness's provider emulator" in " ".join(
        banner.inner_text().split()
    )
    assert page.locator(".suite-desc").inner_text() == "Four models answer two questions"
    capital = page.locator("#matrix-body tr").filter(has=page.locator(".case-id", has_text="capital"))
    assert capital.locator(".case-desc").inner_text() == "Knows the capital of France"
    outputs = capital.locator("td .c-output").all_inner_texts()
    assert outputs == ["Paris is the capital."] * 4  # the first line only
    heads = page.locator("#matrix-head .mc-name").all_inner_texts()
    assert heads == [LONG_ID, "haiku", "gpt-4o", "sonnet"]  # the suite's order


def test_no_inner_scroll_box_and_no_clipped_label(page):
    page.set_viewport_size({"width": 1280, "height": 600})
    assert page.evaluate(INNER_SCROLLERS) == []
    assert (
        page.evaluate(CLIPPED, ".mc-name, .mc-sub, .case-id, .case-desc, .c-output, figcaption, .card h3")
        == []
    )
    assert page.evaluate(SVG_LABELS_OUTSIDE) == []
    shown = page.eval_on_selector_all("svg.chart text.lbl", "ts => ts.map(t => t.lastChild.textContent)")
    assert shown[:4] == [LONG_ID, "haiku", "gpt-4o", "sonnet"]  # whole, in the suite's order
    page.set_viewport_size({"width": 1280, "height": 900})


def test_the_detail_shows_the_output_first_and_fits_four_models(page):
    page.locator("#matrix-body tr").filter(has=page.locator(".case-id", has_text="essay")).locator("td").nth(
        1
    ).click()
    page.locator("#detail").wait_for(state="visible")
    assert page.locator("#detail .d-info .d-desc").count() == 0  # essay has no description
    cols = page.locator("#detail .dcol")
    assert cols.count() == 4
    for i in range(4):
        titles = cols.nth(i).locator("h4").all_inner_texts()
        assert titles.index("OUTPUT") < titles.index("ASSERTIONS (1)"), titles
        assert "Paragraph 40" in cols.nth(i).locator(".d-output pre").inner_text()  # whole, not cut
    body = page.locator("#detail-body")
    assert body.evaluate("b => b.scrollWidth <= b.clientWidth + 1")  # no sideways scrolling
    widths = [cols.nth(i).bounding_box()["width"] for i in range(4)]
    assert min(widths) >= 380, widths
    assert page.evaluate(INNER_SCROLLERS) == []  # long outputs grow; no scroll box inside the drawer
    page.keyboard.press("Escape")
    page.locator("#matrix-body tr").filter(has=page.locator(".case-id", has_text="capital")).locator(
        "td"
    ).first.click()
    assert page.locator("#detail .d-info .d-desc").inner_text() == "Knows the capital of France"
    page.keyboard.press("Escape")
