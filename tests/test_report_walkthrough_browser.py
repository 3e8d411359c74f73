"""A newcomer's report in headless Chromium: a suite of four models with a prompt case and a target
case (an app on the openai SDK's HTTP path through `inp.model`), recorded from the provider emulator
and then replayed offline: the emulator banner counts every cell that the emulator answered, the
target's cells too."""

from __future__ import annotations

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
