"""Choosing cells (--case, --tag, --filter-pattern, --filter-failing, --models ids), checking before
spending (harness validate, run --dry-run, load-time errors) and harness init — through the CLI,
against the provider emulator on loopback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.results.io import iter_records
from harness.testing import ProviderEmulator

SUITE = """\
name: pick
tags: [all]
models: [openai:gpt-4.1-mini, {model: "anthropic:claude-haiku-4-5", id: haiku, max_tokens: 50}]
cases:
  - id: capital-fr
    description: a capital question
    prompt: "Capital of {{ country }}?"
    vars: [{country: France}, {country: Spain}]
    tags: [smoke]
    assert: [{type: icontains, value: "{{ country }}"}]
  - id: capital-de
    prompt: Capital of Germany?
    assert: [{type: contains, value: "never in the echo"}]
  - id: weather
    description: tool use in the rain
    prompt: Weather in Boston?
    tags: [tools]
    assert: [{type: icontains, value: boston}]
"""


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for k in list(os.environ):
        if k.endswith(("_API_KEY", "_BASE_URL")) or k in ("CI", "HARNESS_RECORD_MODE", "GITHUB_STEP_SUMMARY"):
            monkeypatch.delenv(k)
    (tmp_path / "pick.yaml").write_text(SUITE, encoding="utf-8")
    return tmp_path


@pytest.fixture
def live(workdir, monkeypatch):
    with ProviderEmulator() as emu:
        monkeypatch.setenv("OPENAI_BASE_URL", emu.base_url("openai"))
        monkeypatch.setenv("ANTHROPIC_BASE_URL", emu.base_url("anthropic"))
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
        yield emu


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def ran(run_dir) -> list[tuple[str, str]]:
    return sorted((r["case_id"], r["model_id"]) for r in iter_records(run_dir))


def one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


# --- item 4: selecting cells ----------------------------------------------------------------------


def test_case_globs_tags_and_patterns_choose_the_cells(live):
    base = ("run", "pick.yaml", "--no-cassettes", "--no-report")
    invoke(*base, "--case", "capital-f*", "--out", "r1")
    assert ran("r1") == [
        ("capital-fr[France]", "haiku"),
        ("capital-fr[France]", "openai:gpt-4.1-mini"),
        ("capital-fr[Spain]", "haiku"),
        ("capital-fr[Spain]", "openai:gpt-4.1-mini"),
    ]
    invoke(*base, "--case", "capital-fr[Spain]", "--case", "weather", "--models", "haiku", "--out", "r2")
    assert ran("r2") == [("capital-fr[Spain]", "haiku"), ("weather", "haiku")]
    invoke(*base, "--tag", "tools", "--tag", "smoke", "--models", "haiku", "--out", "r3")
    assert [c for c, _ in ran("r3")] == ["capital-fr[France]", "capital-fr[Spain]", "weather"]
    invoke(*base, "--filter-pattern", "RAIN|^capital-de$", "--models", "haiku", "--out", "r4")
    assert ran("r4") == [("capital-de", "haiku")]  # case-sensitive: "rain" in a description is not RAIN
    invoke(*base, "--filter-pattern", "rain", "--tag", "all", "--models", "haiku", "--out", "r5")
    assert ran("r5") == [("weather", "haiku")]


def test_models_take_the_suites_ids_with_their_params(live):
    result = invoke(
        "run", "pick.yaml", "--no-cassettes", "--no-report", "--case", "weather", "--models", "haiku"
    )
    assert result.exit_code == 0, result.output
    (body,) = [r.body for r in live.requests]
    assert body["max_tokens"] == 50  # the suite entry's params came with its id


def test_filter_failing_reruns_only_what_failed(live):
    first = invoke("run", "pick.yaml", "--no-cassettes", "--no-report", "--out", "first")
    assert first.exit_code == 1
    assert {(r["case_id"], r["model_id"]) for r in iter_records("first") if r["status"] != "passed"} == {
        ("capital-de", "haiku"),
        ("capital-de", "openai:gpt-4.1-mini"),
    }
    again = invoke(
        "run", "pick.yaml", "--no-cassettes", "--no-report", "--filter-failing", "first", "--out", "again"
    )
    assert again.exit_code == 1
    assert ran("again") == [("capital-de", "haiku"), ("capital-de", "openai:gpt-4.1-mini")]
    only = invoke("run", "pick.yaml", "--no-cassettes", "--no-report", "--filter-failing", "first",
                  "--models", "haiku", "--out", "only")  # fmt: skip
    assert only.exit_code == 1 and ran("only") == [("capital-de", "haiku")]


@pytest.mark.parametrize(
    "args, expected",
    [
        (("--models", ""), "--models '' names no model"),
        (("--models", " , "), "names no model"),
        (("--case", "nope*"), "pick.yaml: no case matches --case nope*; case ids: capital-fr, capital-de"),
        (("--tag", "slow"), "no case matches --tag slow"),
        (("--filter-pattern", "(unclosed"), "--filter-pattern '(unclosed' is not a regular expression"),
    ],
)
def test_selection_mistakes_are_one_line_and_exit_2(workdir, args, expected):
    for command in ("run", "validate"):
        line = one_error_line(invoke(command, "pick.yaml", *args))
        assert expected in line
    assert not (workdir / "runs").exists()


def test_a_catastrophic_filter_pattern_stops_at_its_time_limit(workdir):
    text = SUITE.replace("description: a capital question", "description: " + "a" * 60 + "!")
    (workdir / "pick.yaml").write_text(text, encoding="utf-8")
    line = one_error_line(invoke("validate", "pick.yaml", "--filter-pattern", "^(a|aa)+$"))
    assert "--filter-pattern '^(a|aa)+$' found no answer within 1 s on case 'capital-fr[France]'" in line


def test_filter_failing_needs_a_run_with_failures(workdir, live):
    invoke("run", "pick.yaml", "--no-cassettes", "--no-report", "--case", "weather", "--out", "green")
    assert "no cell failed or errored there" in one_error_line(
        invoke("run", "pick.yaml", "--filter-failing", "green")
    )
    (workdir / "empty").mkdir()
    assert "no results.jsonl there" in one_error_line(invoke("run", "pick.yaml", "--filter-failing", "empty"))


# --- item 6: checks before spending ---------------------------------------------------------------


def test_validate_lists_replay_record_and_miss_then_keys_and_cost(workdir, live):
    rec = invoke("run", "pick.yaml", "--record-mode", "once", "--no-report", "--case", "weather")
    assert rec.exit_code == 0, rec.output
    requests = len(live.requests)
    once = invoke("validate", "pick.yaml", "--record-mode", "once")
    assert once.exit_code == 0, once.output
    lines = once.stdout.splitlines()
    assert lines[0] == "pick.yaml: valid; 8 cells (4 case variants x 2 model(s) x repeats); record mode once"
    assert "  weather             haiku                record  " not in once.stdout
    assert any(line.split()[:3] == ["weather", "haiku", "replay"] for line in lines)
    assert any(line.split()[:3] == ["capital-de", "haiku", "record"] for line in lines)
    assert "cells: 2 replay, 6 record, 0 live, 0 miss" in once.stdout
    assert "estimated cost of the 6 cell(s) that record or go live: $0.0" in once.stdout
    none = invoke("validate", "pick.yaml", "--record-mode", "none")
    assert (
        "cells: 2 replay, 0 record, 0 live, 6 miss" in none.stdout
        and "$0 (nothing records or goes live)" in none.stdout
    )
    dry = invoke("run", "pick.yaml", "--dry-run", "--record-mode", "none", "--case", "weather")
    assert dry.exit_code == 0 and "cells: 2 replay, 0 record, 0 live, 0 miss" in dry.stdout
    assert len(live.requests) == requests  # nothing was sent
    assert not (workdir / "runs").exists() or len(list((workdir / "runs").iterdir())) == 1


def test_a_live_cell_without_its_key_is_listed_by_validate_and_refused_by_run(workdir, live, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    plan = invoke("validate", "pick.yaml", "--no-cassettes")
    assert plan.exit_code == 0 and "cells: 0 replay, 0 record, 8 live, 0 miss" in plan.stdout
    assert plan.stdout.splitlines()[-1] == (
        "missing key: model 'anthropic:claude-haiku-4-5': anthropic: no API key. Pass api_key=... or set "
        "ANTHROPIC_API_KEY. (4 cell(s) that record or go live; harness run refuses to start without it)"
    )
    line = one_error_line(invoke("run", "pick.yaml", "--no-cassettes"))
    assert (
        "ANTHROPIC_API_KEY" in line
        and "would call the provider live; replaying a cassette needs no key" in line
    )
    assert live.requests == [] and not (workdir / "runs").exists()
    # the keyless model left out: nothing to refuse
    ok = invoke("run", "pick.yaml", "--no-cassettes", "--no-report", "--models", "openai:gpt-4.1-mini")
    assert ok.exit_code == 1 and len(ran(next((workdir / "runs").iterdir()))) == 4


@pytest.mark.parametrize(
    "case, expected",
    [
        (
            "assert: [{type: llm-rubric, value: is polite}]",
            "x.yaml:6: cases[0].assert[0]: llm-rubric needs a judge model",
        ),
        (
            "structured_output: {schema: {type: object}, method: json_mode}",
            "x.yaml:6: cases[0].structured_output.method: model 'anthropic:claude-haiku-4-5': anthropic does "
            "not support structured output method 'json_mode'",
        ),
        (
            "assert: [{type: python, path: 'checks/missing.py:check'}]",
            "x.yaml:6: cases[0].assert[0]: python `path` 'checks/missing.py:check': cannot import",
        ),
        (
            "tools: [{name: f, function: 'tools/missing.py:fn'}]",
            "x.yaml:6: cases[0].tools[0]: tool 'f' `function` 'tools/missing.py:fn': cannot import",
        ),
    ],
)
def test_load_time_errors_are_one_line_before_anything_runs(workdir, case, expected):
    text = f"name: x\nmodels: [anthropic:claude-haiku-4-5]\ncases:\n  - id: a\n    prompt: hi\n    {case}\n"
    (workdir / "x.yaml").write_text(text, encoding="utf-8")
    for command in ("validate", "run"):
        assert expected in one_error_line(invoke(command, "x.yaml"))


def test_a_tool_function_in_a_file_beside_the_suite_is_accepted(workdir, live):
    (workdir / "tools").mkdir()
    (workdir / "tools" / "weather.py").write_text("def weather(**args):\n    return 'rain'\n")
    text = (
        "name: x\nmodels: [openai:gpt-4.1-mini]\ncases:\n  - id: a\n    prompt: Weather?\n"
        "    tools: [{name: weather, function: 'tools/weather.py:weather'}]\n"
        "    assert: [{type: tool_called, name: weather}]\n"
    )
    (workdir / "x.yaml").write_text(text, encoding="utf-8")
    result = invoke("run", "x.yaml", "--no-cassettes", "--no-report")
    assert result.exit_code == 0, result.output


# --- item 12: harness init ------------------------------------------------------------------------


def test_init_scaffolds_a_project_that_validates_and_refuses_to_overwrite(workdir, monkeypatch):
    result = invoke("init", "proj")
    assert result.exit_code == 0, result.output
    for name in ("suites/example.yaml", "tests/test_models.py", ".github/workflows/model-tests.yml"):
        assert (workdir / "proj" / name).is_file(), name
        assert f"created proj/{name}" in result.stdout
    monkeypatch.chdir(workdir / "proj")
    plan = invoke("validate", "suites/example.yaml", "--record-mode", "none")
    assert plan.exit_code == 0, plan.output
    assert "cells: 0 replay, 0 record, 0 live, 3 miss" in plan.stdout
    import yaml
    from jsonschema import Draft202012Validator

    from harness.suite.schema import suite_json_schema

    Draft202012Validator(suite_json_schema()).validate(
        yaml.safe_load(Path("suites/example.yaml").read_text())
    )
    monkeypatch.chdir(workdir)
    (workdir / "proj" / "tests" / "test_models.py").write_text("# mine\n")
    line = one_error_line(invoke("init", "proj"))
    assert "proj/suites/example.yaml already exists" in line and "nothing was written" in line
    assert (workdir / "proj" / "tests" / "test_models.py").read_text() == "# mine\n"


def test_the_scaffolded_project_records_then_replays_offline_in_pytest(workdir):
    """The files `harness init` writes work as they are: the suite and the pytest example record
    against the emulator, then replay with no key and the network blocked, as the CI workflow does."""
    import subprocess
    import sys

    from harness.testing import Reply, default_reply

    assert invoke("init", "proj").exit_code == 0
    proj = workdir / "proj"
    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    env["PYTHONPATH"] = str(root)
    with ProviderEmulator() as emu:
        emu.reply_fn = lambda req: (
            Reply(text="Paris.") if "capital" in req.last_user_text else default_reply(req)
        )
        live = {**env, "OPENAI_BASE_URL": emu.base_url("openai"), "OPENAI_API_KEY": "sk-test"}

        def run(*args, environ):
            return subprocess.run(
                [sys.executable, *args], cwd=proj, env=environ, capture_output=True, text=True, timeout=300
            )

        rec = run("-m", "harness", "run", "suites/example.yaml", "--record-mode", "once", environ=live)
        assert rec.returncode == 0, rec.stdout + rec.stderr
        pytest_args = ("-m", "pytest", "-q", "-p", "no:cacheprovider", "--models", "openai:gpt-4.1-mini")
        rec = run(*pytest_args, "--record-mode=once", environ=live)
        assert rec.returncode == 0, rec.stdout + rec.stderr
    # no key and the emulator stopped; the base URL stays what the cassettes were recorded against
    offline = {**env, "CI": "true", "OPENAI_BASE_URL": live["OPENAI_BASE_URL"]}
    replay = run("-m", "harness", "run", "suites/example.yaml", "--record-mode", "none", "--no-report",
                 environ=offline)  # fmt: skip
    assert replay.returncode == 0, replay.stdout + replay.stderr
    replay = run(*pytest_args, "--record-mode=none", "--block-network", environ=offline)
    assert replay.returncode == 0 and "2 passed" in replay.stdout, replay.stdout + replay.stderr
