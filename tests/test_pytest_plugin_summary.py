"""The plugin's terminal summary and JUnit properties are the same whether or not a results file or
report was asked for (without one, each test keeps only the figures they show), in one process and
from xdist workers."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.testing import ProviderEmulator

pytest_plugins = ["pytester"]

MODELS = "openai:gpt-4.1-mini,anthropic:claude-haiku-4-5"
INI = "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
CONFTEST = """
import json, os
import pytest
from harness.models.init import parse_model_string

@pytest.fixture
def harness_model_kwargs():
    urls = json.loads(os.environ["HARNESS_TEST_BASE_URLS"])
    return lambda model: {"base_url": urls[parse_model_string(model)[1]], "api_key": "sk-test-key"}
"""
MODULE = """
import pytest

@pytest.mark.parametrize("i", range(3))
def test_call(chat_model, i):
    assert chat_model.invoke(f"question {i}").text

def test_fails(chat_model):
    assert "nothing" in chat_model.invoke("a question").text

def test_idle(chat_model):
    assert chat_model is not None

def test_two_calls(chat_model):
    chat_model.invoke("first")
    chat_model.invoke("second")
"""


def _table(stdout: str) -> list[list[str]]:
    """The rows of the harness section, without the p50 column (each run's own replay time) and the
    lines naming the files written."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"=+ harness =+$", line))
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("=") or not line.strip():
            break
        if line.startswith(("results: ", "report: ")):
            continue
        cells = re.split(r"\s{2,}", line.strip())
        rows.append(cells[:3] + cells[4:])
    return rows


def _properties(junit: Path) -> dict[str, list[tuple[str, str]]]:
    """Each test case's harness properties, less the latencies (each run's own)."""
    out = {}
    for case in ET.parse(junit).iter("testcase"):
        out[f"{case.get('classname')}::{case.get('name')}"] = [
            (p.get("name") or "", p.get("value") or "")
            for p in case.iter("property")
            if not (p.get("name") or "").startswith(("harness_latency_ms", "harness_ttft_ms"))
        ]
    return out


def test_summary_and_junit_properties_are_the_same_with_or_without_a_results_file(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HARNESS_RECORD_MODE", raising=False)
    pytester.makeini(INI)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_models=MODULE)
    args = ("-p", "no:cacheprovider", "--models", MODELS)
    with ProviderEmulator() as emu:
        monkeypatch.setenv("HARNESS_TEST_BASE_URLS", json.dumps(emu.base_urls))
        pytester.runpytest(*args, "--record-mode=once").assert_outcomes(passed=10, failed=2)

    full = pytester.runpytest(*args, "--harness-results", "full/results.jsonl", "--junitxml", "full.xml")
    full.assert_outcomes(passed=10, failed=2)
    light = pytester.runpytest(*args, "--junitxml", "light.xml")
    light.assert_outcomes(passed=10, failed=2)
    table = _table(full.stdout.str())
    assert table[0] == ["model", "cases", "passed", "tokens in/out", "cost $"] + [
        "replayed",
        "recorded",
        "misses",
        "unused",
    ]
    records = [json.loads(line) for line in (pytester.path / "full/results.jsonl").read_text().splitlines()]
    openai = [r for r in records if r["model"] == "openai:gpt-4.1-mini"]
    tokens = sum(r["usage"]["input_tokens"] for r in openai), sum(r["usage"]["output_tokens"] for r in openai)
    assert table[1][:4] == ["openai:gpt-4.1-mini", "6", "5 (83.33%)", f"{tokens[0]}/{tokens[1]}"]
    assert table[1][5:] == ["6", "0", "0", "0"]  # six calls replayed: test_idle made none
    assert _table(light.stdout.str()) == table
    assert "results: " not in light.stdout.str()
    assert _properties(pytester.path / "light.xml") == _properties(pytester.path / "full.xml")

    # from two xdist workers, with and without the results file
    for extra in ((), ("--harness-results", "par/results.jsonl")):
        parallel = pytester.runpytest_subprocess(*args, "-n", "2", "-p", "no:randomly", *extra)
        parallel.assert_outcomes(passed=10, failed=2)
        assert _table(parallel.stdout.str()) == table
