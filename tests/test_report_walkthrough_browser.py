"""A newcomer's report in headless Chromium: a suite of four models with a prompt case and a target
case (an app on the openai SDK's HTTP path through `inp.model`), recorded from the provider emulator
and then replayed offline: the emulator banner counts every cell that the emulator answered, the
target's cells too."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from report_fixtures import CHROMIUM, launch_chromium

from harness.cli import cli
from harness.testing import ProviderEmulator

pytestmark = pytest.mark.browser

if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")

SUITE = """\
name: app
models:
  - {model: "openai:gpt-4.1-mini", id: gpt-mini}
  - {model: "anthropic:claude-haiku-4-5", id: haiku}
  - {model: "openai:gpt-4o", id: gpt-4o}
  - {model: "anthropic:claude-sonnet-4-5", id: sonnet}
cases:
  - id: capital
    prompt: Capital of France?
  - id: agent
    target: agent.py:answer
    prompt: Should I pack an umbrella?
"""

AGENT = """\
def answer(inp):
    first = inp.model.invoke(inp.messages)
    return inp.model.invoke([*inp.messages, first, ("user", "And in one word?")])
"""


def run(tmp: Path, env: dict[str, str], *args: str) -> None:
    cwd = os.getcwd()
    os.chdir(tmp)
    try:
        result = CliRunner().invoke(cli, ["run", "app.yaml", *args], env=env, catch_exceptions=False)
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("app")
    (tmp / "app.yaml").write_text(SUITE, encoding="utf-8")
    (tmp / "agent.py").write_text(AGENT, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    env.pop("CI", None)
    env.pop("HARNESS_RECORD_MODE", None)
    with ProviderEmulator() as emu:
        live = dict(env, OPENAI_BASE_URL=emu.base_url("openai"), ANTHROPIC_BASE_URL=emu.base_url("anthropic"))
        live.update(OPENAI_API_KEY="sk-test", ANTHROPIC_API_KEY="sk-ant-test")
        run(tmp, live, "--record-mode", "once", "--out", "recorded", "--report", "recorded.html")
    run(tmp, env, "--record-mode", "none", "--out", "replayed", "--report", "replayed.html")
    return tmp / "recorded.html", tmp / "replayed.html"


@pytest.mark.parametrize("which", [0, 1], ids=["recorded", "replayed"])
def test_the_emulator_banner_counts_the_target_cells_too(reports, which):
    with sync_api.sync_playwright() as pw, tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        ctx = launch_chromium(pw, profile, viewport={"width": 1280, "height": 900})
        page = ctx.new_page()
        page.goto(reports[which].resolve().as_uri())
        page.wait_for_selector("body[data-ready='1']", timeout=15_000)
        banner = " ".join(page.locator("#emulated-banner").inner_text().split())
        ctx.close()
    assert "8 of 8 cells were answered by harness's provider emulator" in banner


TEXT_OUTSIDE = """() => [...document.querySelectorAll('svg.chart text')].filter(t => {
  const vb = t.ownerSVGElement.viewBox.baseVal, b = t.getBBox();
  return b.x < vb.x - 0.5 || b.x + b.width > vb.x + vb.width + 0.5;
}).map(t => t.textContent)"""


def test_no_chart_value_is_cut_and_cost_ticks_are_plain_numbers(tmp_path):
    """A model whose cost ends just short of the axis's last tick ($0.000098 of $0.0001): its value
    label after the bar stays inside the chart, and the ticks read 0.00002, not 2e-05."""
    (tmp_path / "one.yaml").write_text(
        "name: one\nmodels: [openai:gpt-4.1-mini]\ncases: [{id: c, prompt: Capital of France?}]\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    with ProviderEmulator() as emu:
        env.update(OPENAI_BASE_URL=emu.base_url("openai"), OPENAI_API_KEY="sk-test")
        args = ["--no-cassettes", "--no-report"]
        cwd = os.getcwd()
        os.chdir(tmp_path)
        try:
            first = CliRunner().invoke(cli, ["run", "one.yaml", "--out", "first", *args], env=env)
            assert first.exit_code == 0, first.output
            tokens = json.loads((tmp_path / "first" / "results.jsonl").read_text())["usage"]["input_tokens"]
            (tmp_path / "prices.yaml").write_text(
                f"openai:\n  gpt-4.1-mini: {{input: {98 / tokens!r}, output: 0}}\n", encoding="utf-8"
            )
            second = CliRunner().invoke(
                cli,
                ["run", "one.yaml", "--no-cassettes", "--prices", "prices.yaml", "--report", "r.html"],
                env=env,
            )
            assert second.exit_code == 0, second.output
        finally:
            os.chdir(cwd)
    with sync_api.sync_playwright() as pw, tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        ctx = launch_chromium(pw, profile, viewport={"width": 1280, "height": 900})
        page = ctx.new_page()
        page.goto((tmp_path / "r.html").resolve().as_uri())
        page.wait_for_selector("body[data-ready='1']", timeout=15_000)
        outside = page.evaluate(TEXT_OUTSIDE)
        ticks = page.eval_on_selector_all("#chart-cost text.tick", "ts => ts.map(t => t.textContent)")
        values = page.eval_on_selector_all("#chart-cost text.mini", "ts => ts.map(t => t.textContent)")
        ctx.close()
    assert values == ["cost $0.000098", "avoided $0"]
    assert outside == [], outside
    assert ticks == ["0", "0.00002", "0.00004", "0.00006", "0.00008", "0.0001"]
