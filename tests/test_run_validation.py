"""`harness run` refuses a suite before its first cell: python paths, judges, provider capabilities,
price files. Each mistake is one located line, exit code 2, and nothing written. Paths to .py files
are found next to the suite."""

from __future__ import annotations

import json
import os
import re
import textwrap

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.results.io import iter_records
from harness.testing import ProviderEmulator, Reply

CHECKS = """\
from pydantic import BaseModel

NOT_A_FUNCTION = 42


def mentions_paris(text):
    return "Paris" in text


class City(BaseModel):
    name: str


def add(a: int, b: int) -> int:
    return a + b
"""


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """The working directory; suites and their checks.py live in suites/ below it."""
    monkeypatch.chdir(tmp_path)
    for k in list(os.environ):
        if k.endswith(("_API_KEY", "_BASE_URL")) or k in ("CI", "HARNESS_RECORD_MODE", "GITHUB_STEP_SUMMARY"):
            monkeypatch.delenv(k)
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "checks.py").write_text(CHECKS, encoding="utf-8")
    return tmp_path


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, ["run", *args], env=env, catch_exceptions=False)


def case(body: str) -> str:
    """A one-model suite whose only case is `body` (YAML under `cases: - id: a`); line 5 is its first."""
    return "name: v\nmodels: [openai:gpt-4.1-mini]\ncases:\n  - id: a\n" + textwrap.indent(
        textwrap.dedent(body), "    "
    )


BAD_SUITES = [
    (
        case("prompt: hi\nassert: [{type: python, path: 'no_such_checks:fn'}]\n"),
        r"bad.yaml:6: cases\[0\].assert\[0\]: python `path` 'no_such_checks:fn': cannot import "
        r"'no_such_checks' \(ModuleNotFoundError: No module named 'no_such_checks'\); expected "
        r"'package.module:name' or 'path/to/file.py:name'$",
    ),
    (
        case(
            "prompt: hi\nassert:\n  - {type: contains, value: x}\n  - {type: python, path: 'checks.py:nope'}\n"
        ),
        r"bad.yaml:8: cases\[0\].assert\[1\]: python `path` 'checks.py:nope': module 'checks.py' has no "
        r"attribute 'nope'",
    ),
    (
        case("prompt: hi\nassert: [{type: python, path: 'checks.py:NOT_A_FUNCTION'}]\n"),
        r"bad.yaml:6: .*'checks.py:NOT_A_FUNCTION' is not a function \(it is int\)",
    ),
    (
        case("prompt: hi\nassert: [{type: pydantic, class: 'checks.py:mentions_paris'}]\n"),
        r"bad.yaml:6: .*'checks.py:mentions_paris' is not a pydantic BaseModel subclass \(it is function\)",
    ),
    (
        case("prompt: hi\nassert: [{type: python, path: 'elsewhere/missing.py:fn'}]\n"),
        r"bad.yaml:6: .*cannot import 'elsewhere/missing.py' \(FileNotFoundError: no such file "
        r"'elsewhere/missing.py' \(looked in '.*suites' or '.*'\)\)",
    ),
    (
        case(
            "prompt: hi\ntools:\n  - {name: ok, returns: fine}\n  - {name: add, function: 'checks.py:sub'}\n"
        ),
        r"bad.yaml:8: cases\[0\].tools\[1\]: tool 'add' `function` 'checks.py:sub': module 'checks.py' has "
        r"no attribute 'sub'",
    ),
    (
        case("prompt: hi\nstructured_output: {schema: 'checks.py:Town'}\n"),
        r"bad.yaml:6: cases\[0\].structured_output.schema: structured_output `schema` 'checks.py:Town': "
        r"module 'checks.py' has no attribute 'Town'",
    ),
    (
        case("prompt: hi\nassert: [{type: llm_judge, rubric: polite}]\n"),
        r"bad.yaml:6: cases\[0\].assert\[0\]: llm_judge needs a judge model: set this assertion's "
        r"`model:` or the suite's `judge:`$",
    ),
    (
        case("prompt: hi\nassert:\n  - {type: llm_judge, rubric: polite, model: 'opnai:gpt-4.1'}\n"),
        r"bad.yaml:7: cases\[0\].assert\[0\]: judge model: model 'opnai:gpt-4.1': unknown provider 'opnai'",
    ),
    (
        "name: v\nmodels: [openai:gpt-4.1-mini, anthropic:claude-haiku-4-5]\ncases:\n  - id: a\n"
        "    prompt: hi\n    structured_output:\n      schema: {type: object}\n      method: json_mode\n",
        r"bad.yaml:8: cases\[0\].structured_output.method: model 'anthropic:claude-haiku-4-5': anthropic "
        r"does not support structured output method 'json_mode'. Supported: function_calling, json_schema.$",
    ),
    (
        case("prompt: hi\nvars: [{pat: 'a+'}, {pat: '('}]\nassert: [{type: regex, value: '{{ pat }}'}]\n"),
        r"bad.yaml:7: cases\[0\].assert\[0\]: 'a\[\(\]': regex: invalid regular expression '\(': "
        r"missing \) at position 1$",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD_SUITES)
def test_a_suite_that_would_fail_mid_run_is_refused_before_the_first_cell(workdir, text, expected):
    (workdir / "suites" / "bad.yaml").write_text(text, encoding="utf-8")
    result = run("suites/bad.yaml")
    assert result.exit_code == 2, result.output + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: suites/bad.yaml:"), result.stderr
    assert re.search(expected, lines[0]), lines[0]
    assert not (workdir / "runs").exists() and not (workdir / "cassettes").exists()
    assert not (workdir / "reports").exists()


def test_a_malformed_price_file_is_refused_before_the_first_cell(workdir):
    (workdir / "suites" / "ok.yaml").write_text(case("prompt: hi\n"), encoding="utf-8")
    (workdir / "prices.yaml").write_text("openai:\n  gpt-4.1-mini: {input: 1, output: cheap}\n")
    result = run("suites/ok.yaml", "--prices", "prices.yaml")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: prices.yaml:2: openai.gpt-4.1-mini.output: expected a non-negative number "
        "(USD per million tokens); got 'cheap'"
    )
    assert not (workdir / "runs").exists()


def test_python_files_next_to_the_suite_serve_checks_tools_and_schemas(workdir):
    (workdir / "suites" / "files.yaml").write_text(
        "name: files\nmodels: [openai:gpt-4.1-mini, 'openai:my-fine-tune']\ncases:\n"
        "  - id: calc\n    prompt: What is 2 + 3?\n"
        "    tools: [{name: add, function: 'checks.py:add'}]\n"
        "    assert: [{type: python, path: 'checks.py:mentions_paris'}]\n"
        "  - id: city\n    prompt: Name a city\n    structured_output: {schema: 'checks.py:City'}\n"
        "    assert: [{type: pydantic, class: 'checks.py:City'}]\n",
        encoding="utf-8",
    )
    with ProviderEmulator() as emu:
        for _ in range(2):  # per model: the tool loop, then the city
            emu.queue(
                Reply(tool_calls=[{"name": "add", "args": {"a": 2, "b": 3}}]),
                Reply(text="5, as in Paris"),
            )
        emu.queue(Reply(text='{"name": "Paris"}'), Reply(text='{"name": "Paris"}'))
        env = {"OPENAI_BASE_URL": emu.base_url("openai"), "OPENAI_API_KEY": "sk-test"}
        result = run(
            "suites/files.yaml",
            "--no-cassettes",
            "--out",
            "out",
            "--no-report",
            "--concurrency",
            "1",
            env=env,
        )
    assert result.exit_code == 0, result.output + result.stderr
    records = {(r["case_id"], r["model"]): r for r in iter_records(workdir / "out")}
    calc = records[("calc", "openai:gpt-4.1-mini")]
    assert calc["transcript"][2]["content"] == "5" and calc["status"] == "passed"
    assert records[("city", "openai:my-fine-tune")]["status"] == "passed"
    # a model the price table does not know costs None (unknown), not an error and not 0
    assert records[("calc", "openai:my-fine-tune")]["cost_usd"] is None
    assert isinstance(calc["cost_usd"], float)
    assert json.loads((workdir / "out" / "run.json").read_text())["finished_at"]
