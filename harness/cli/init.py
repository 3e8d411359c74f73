"""``harness init [DIR]`` — scaffold a suite, a pytest example and a CI workflow in a new project."""

from __future__ import annotations

from pathlib import Path

import click

from harness.files import write_atomic

SUITE = """\
# yaml-language-server: $schema=suite.schema.json
# (editor checks; after upgrading harness: harness suite-schema -o suites/suite.schema.json)
# Run it:     harness run suites/example.yaml          (replays cassettes/; no key, no network)
# Record it:  harness run suites/example.yaml --record-mode once   (needs OPENAI_API_KEY)
# Check it:   harness validate suites/example.yaml     (cells, replay / record / live, keys, cost)
name: example
description: A first suite - edit the cases, record once, commit cassettes/.
models:
  - openai:gpt-4.1-mini
defaults: {temperature: 0}
cases:
  - id: capital
    description: Knows a capital city.
    prompt: "What is the capital of {{ country }}? Answer in one word."
    vars: {country: France}
    assert:
      - {type: icontains, value: Paris}
  - id: short
    description: Answers in one short sentence.
    prompt: Say hello to {{ name }} in one short sentence.
    vars: [{name: Ann}, {name: Bo}]
    assert:
      - {type: icontains, value: "{{ name }}"}
      - {type: latency, max_ms: 10000}
"""

PYTEST = """\
\"\"\"Model tests with the harness pytest plugin: `pytest --models openai:gpt-4.1-mini`.

Record once with a key (`pytest --models openai:gpt-4.1-mini --record-mode=once`), commit cassettes/, and
the tests replay offline.
\"\"\"

from harness.pytest_plugin import assert_contains


def test_capital(chat_model):  # runs once per model of --models (or ini harness_models)
    reply = chat_model.invoke("What is the capital of France? Answer in one word.")
    assert_contains(reply, "paris", ignore_case=True)


def test_suite(harness_run):  # a YAML suite inside a test: every cell must pass
    result = harness_run("../suites/example.yaml")
    assert result.ok, result.counts
"""

WORKFLOW = """\
# Replays the recorded cassettes on every push and pull request: no API key, no network.
# Record new cassettes locally and commit them: `harness run suites/example.yaml --record-mode once`
# and `pytest --models openai:gpt-4.1-mini --record-mode=once` (the tests' own cassettes).
name: model-tests
on: [push, pull_request]
jobs:
  models:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with: {python-version: "3.12"}
      - run: pip install harness pytest
      - run: harness validate suites/example.yaml
      - run: harness run suites/example.yaml --record-mode none --junit out/junit.xml --report out/report.html
      - run: pytest --models openai:gpt-4.1-mini --record-mode=none --block-network
      - uses: actions/upload-artifact@v4
        if: always()
        with: {name: harness-report, path: out/}
"""

RECORD_SUITE = "harness run suites/example.yaml --record-mode once"
RECORD_TESTS = "pytest --models openai:gpt-4.1-mini --record-mode=once"  # the tests' cassettes, too

FILES = {
    "suites/example.yaml": SUITE,
    "tests/test_models.py": PYTEST,
    ".github/workflows/model-tests.yml": WORKFLOW,
}


@click.command(
    "init",
    short_help="Scaffold a suite, a pytest example and a CI workflow.",
    epilog="""\b
Examples:
  harness init                 # in the current folder
  harness init my-project      # in a new folder
\b
Writes suites/example.yaml (and suites/suite.schema.json, for editors), tests/test_models.py and
.github/workflows/model-tests.yml; refuses (exit 2) when any of them exists, and then writes nothing.
""",
)
@click.argument("directory", default=".", type=click.Path(path_type=Path, dir_okay=True, file_okay=False))
def init_cmd(directory: Path) -> None:
    """Scaffold a new harness project in DIRECTORY (default: the current folder)."""
    from harness.suite.schema import schema_text

    files = {**FILES, "suites/suite.schema.json": schema_text()}  # the suite's `$schema` names it
    existing = [name for name in files if (directory / name).exists()]
    if existing:
        click.echo(
            f"error: {directory / existing[0]} already exists; harness init writes only into a project "
            f"without {', '.join(files)} (nothing was written)",
            err=True,
        )
        raise SystemExit(2)
    for name, text in files.items():
        write_atomic(directory / name, text)
        click.echo(f"created {directory / name}")
    click.echo(
        "next: harness validate suites/example.yaml; record once with a key: "
        f"{RECORD_SUITE} && {RECORD_TESTS}; then commit cassettes/ (CI replays them)"
    )
