"""Shared by the walkthrough tests (a newcomer's first use of the CLI and the docs' examples): the
repository root, the CLI runner, a working directory whose providers are the emulator, small suites."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.testing import ProviderEmulator

ROOT = Path(__file__).resolve().parent.parent


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def emulated_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """`tmp_path` as the working directory, no key or base URL of the caller's, and OpenAI and
    Anthropic played by the provider emulator (any key accepted). Each test module's `emulated`."""
    monkeypatch.chdir(tmp_path)
    for k in list(os.environ):
        if k.endswith(("_API_KEY", "_BASE_URL")) or k in ("CI", "HARNESS_RECORD_MODE", "GITHUB_STEP_SUMMARY"):
            monkeypatch.delenv(k)
    with ProviderEmulator() as emu:
        monkeypatch.setenv("OPENAI_BASE_URL", emu.base_url("openai"))
        monkeypatch.setenv("ANTHROPIC_BASE_URL", emu.base_url("anthropic"))
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
        yield tmp_path


TAGGED = """\
name: tagged
tags: [nightly]
models: [openai:gpt-4.1-mini]
cases:
  - {id: capital, prompt: Capital of France?, tags: [geo, smoke]}
  - {id: weather, prompt: Weather?}
"""


MY_MODELS = """\
from langchain_openai import ChatOpenAI

def make(**params):
    return ChatOpenAI(model="gpt-4.1-mini", **params)
"""


def fenced(doc: str, lang: str) -> list[str]:
    """The ```lang blocks of a doc, in order."""
    text = (ROOT / doc).read_text(encoding="utf-8")
    return [part.split("```", 1)[0] for part in text.split(f"```{lang}\n")[1:]]
