"""What a newcomer met using the CLI for the first time (init, run, show, filters), each through the
CLI against the provider emulator: the terminal output they read, the lines their mistakes get."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.testing import ProviderEmulator

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent

FIVE_MODELS = """\
name: five
models:
  - {model: "openai:gpt-4.1-mini", id: gpt-mini}
  - {model: "openai:gpt-4.1", id: gpt-big}
  - {model: "openai:gpt-4o", id: gpt-4o}
  - {model: "anthropic:claude-haiku-4-5", id: claude-haiku}
  - {model: "anthropic:claude-sonnet-4-5", id: claude-sonnet}
cases:
  - id: capital-of-france
    prompt: "What is the capital of France? Please answer at length, as the report has to cut this."
    assert: [{type: not-icontains, value: capital}]
"""


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def emulated(tmp_path, monkeypatch):
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


def body_rows(text: str) -> list[list[str]]:
    return [
        [c.strip() for c in line.strip("│ ").split("│")] for line in text.splitlines() if line.startswith("│")
    ]


def test_show_with_five_models_keeps_the_case_column_and_fits_the_terminal(emulated):
    (emulated / "five.yaml").write_text(FIVE_MODELS, encoding="utf-8")
    run = invoke("run", "five.yaml", "--no-cassettes", "--no-report", "--out", "run")
    assert run.exit_code == 1, run.output
    shown = invoke("show", "run")  # not a terminal: 200 columns
    assert shown.exit_code == 0, shown.output
    table = [line for line in shown.output.splitlines() if line[:1] in "┏┃┡│└"]
    header = next(line for line in table if line.startswith("┃"))
    assert [c.strip() for c in header.strip("┃").split("┃")] == [
        "case", "gpt-mini", "gpt-big", "gpt-4o", "claude-haiku", "claude-sonnet"
    ]  # fmt: skip
    rows = body_rows(shown.output)
    assert [r[0] for r in rows] == ["capital-of-france"]
    assert all(cell.startswith("✗ Emulated reply to: What") and cell.endswith("…") for cell in rows[0][1:])
    assert max(len(line) for line in table) <= 200


def test_a_long_failure_reason_cut_in_the_terminal_ends_with_an_ellipsis(emulated):
    (emulated / "five.yaml").write_text(FIVE_MODELS.replace("this.", "this. " + "x" * 300), encoding="utf-8")
    run = invoke("run", "five.yaml", "--no-cassettes", "--no-report", "--out", "run", "--models", "gpt-mini")
    assert run.exit_code == 1, run.output
    assert failure_line(run.output, "  ✗ capital-of-france × gpt-mini: ").endswith("xxx…"), run.output
    shown = invoke("show", "run")
    assert failure_line(shown.output, "  ✗ capital-of-france × gpt-mini: ").endswith("'… (406 chars)")


def failure_line(output: str, start: str) -> str:
    """The failure line starting with `start`, with rich's wrapping undone."""
    text = output[output.index(start) :]
    return text.split("\nResults:")[0].replace("\n", "").strip()


TAGGED = """\
name: tagged
tags: [nightly]
models: [openai:gpt-4.1-mini]
cases:
  - {id: capital, prompt: Capital of France?, tags: [geo, smoke]}
  - {id: weather, prompt: Weather?}
"""


def test_a_tag_that_matches_nothing_names_the_tags_there_are(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tagged.yaml").write_text(TAGGED, encoding="utf-8")
    result = invoke("validate", "tagged.yaml", "--tag", "fast")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: tagged.yaml: no case matches --tag fast; case ids: capital, weather; tags: geo, nightly, smoke"
    ]


def documented(doc: str, section: str, prefix: str) -> list[str]:
    """The command lines starting with `prefix` in the first ```bash block after `section`."""
    text = (ROOT / doc).read_text(encoding="utf-8").split(section, 1)[1]
    block = text.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.startswith(prefix)]


def test_the_documented_ways_of_choosing_cells_run_on_the_shipped_quickstart(monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("HARNESS_RECORD_MODE", raising=False)
    lines = documented("docs/cli.md", "### Choosing cells", "harness run suites/quickstart.yaml")
    assert len(lines) >= 5
    for line in lines:
        if "--filter-failing" in line:  # needs a run directory of the reader's own
            continue
        args = shlex.split(line)[1:] + ["--dry-run", "--record-mode", "none"]
        result = invoke(*args)
        assert result.exit_code == 0, f"{line}: {result.output}"
        assert "cells: " in result.output and " 0 miss" in result.output, line


def test_every_documented_python_dash_m_names_a_module():
    texts = [
        ROOT / "README.md",
        *sorted((ROOT / "docs").rglob("*.md")),
        *sorted((ROOT / "examples").rglob("*.md")),
    ]
    named = {
        m for p in texts for m in re.findall(r"python3? -m ([A-Za-z_][\w.]*)", p.read_text(encoding="utf-8"))
    }
    assert "harness.suite.schema" in named
    assert [m for m in sorted(named) if importlib.util.find_spec(m) is None] == []


def fenced(doc: str, lang: str) -> list[str]:
    """The ```lang blocks of a doc, in order."""
    text = (ROOT / doc).read_text(encoding="utf-8")
    return [part.split("```", 1)[0] for part in text.split(f"```{lang}\n")[1:]]


def test_the_targets_doc_example_runs_as_written_against_the_strict_emulator(emulated):
    suite, agent = fenced("docs/targets.md", "yaml")[0], fenced("docs/targets.md", "python")[0]
    assert agent.startswith("# app/agent.py\n") and "target: app/agent.py:answer" in suite
    (emulated / "app").mkdir()
    (emulated / "app" / "agent.py").write_text(agent, encoding="utf-8")
    (emulated / "app.yaml").write_text(suite, encoding="utf-8")
    result = invoke("run", "app.yaml", "--no-cassettes", "--no-report", "--out", "run")
    records = [json.loads(line) for line in (emulated / "run" / "results.jsonl").read_text().splitlines()]
    assert len(records) == 4, result.output
    assert [(r["case_id"], r["error"]) for r in records if r["status"] == "error"] == []
    no_input = [r for r in records if r["case_id"] == "no-input"]
    assert all(r["status"] == "passed" and len(r["calls"]) == 2 for r in no_input), no_input


def test_the_strict_emulator_refuses_an_empty_conversation_as_the_apis_do(emulated):
    from harness import init_chat_model
    from harness.errors import ModelError

    for model, message in [
        ("openai:gpt-4.1-mini", "Invalid 'messages': empty array."),
        ("anthropic:claude-haiku-4-5", "messages: at least one message is required"),
    ]:
        with (
            init_chat_model(model, max_retries=0) as chat,
            pytest.raises(ModelError, match=re.escape(message)),
        ):
            chat.invoke([])


def test_the_openai_app_example_replays_in_a_project_of_its_own_with_a_placeholder_key(pytester, monkeypatch):
    """As its README says for a user's project: conftest.py (the emulator) deleted, no base URL, and in CI
    a placeholder key, which the openai SDK needs to exist; replay sends nothing anywhere."""
    example = ROOT / "examples" / "openai_app"
    for path in example.rglob("*"):
        rel = path.relative_to(example)
        if (
            path.is_file()
            and rel.name != "conftest.py"
            or rel.parts[:1] == ("tests",)
            and rel.name == "conftest.py"
        ):
            (pytester.path / rel).parent.mkdir(parents=True, exist_ok=True)
            (pytester.path / rel).write_bytes(path.read_bytes())
    assert not (pytester.path / "conftest.py").exists() and (pytester.path / "tests" / "conftest.py").exists()
    for k in list(os.environ):
        if k.endswith(("_API_KEY", "_BASE_URL")) or k in ("CI", "HARNESS_RECORD_MODE"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("OPENAI_API_KEY", "replay-only")
    readme = (example / "README.md").read_text(encoding="utf-8")
    assert "OPENAI_API_KEY=replay-only" in readme
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--block-network", "--record-mode=none")
    result.assert_outcomes(passed=4)


@pytest.mark.parametrize("option", ["--junit", "--export", "--report"])
def test_an_output_path_under_a_file_is_one_line_before_any_cell_runs(tmp_path, monkeypatch, option):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tagged.yaml").write_text(TAGGED, encoding="utf-8")
    result = invoke("run", "tagged.yaml", "--no-cassettes", "--out", "run", option, "tagged.yaml/out.csv")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"Error: Invalid value for {option}: 'tagged.yaml/out.csv': cannot write it: "
        "'tagged.yaml' is a file, not a folder"
    )
    assert not (tmp_path / "run").exists()  # nothing ran (no key either: it was refused first)


def test_a_target_that_forgets_to_return_is_a_cell_error_not_a_pass(emulated):
    (emulated / "app.py").write_text(
        "def answer(inp):\n    inp.model.invoke(inp.messages)\n", encoding="utf-8"
    )
    (emulated / "t.yaml").write_text(
        "name: t\nmodels: [openai:gpt-4.1-mini]\ncases:\n  - {id: c, target: app.py:answer, prompt: hi}\n",
        encoding="utf-8",
    )
    result = invoke("run", "t.yaml", "--no-cassettes", "--no-report", "--out", "run")
    assert result.exit_code == 1, result.output
    (record,) = [json.loads(line) for line in (emulated / "run" / "results.jsonl").read_text().splitlines()]
    assert record["status"] == "error" and "the target returned None (no `return`?)" in record["error"]
    assert len(record["calls"]) == 1  # the call it made is kept


MY_MODELS = """\
from langchain_openai import ChatOpenAI

def make(**params):
    return ChatOpenAI(model="gpt-4.1-mini", **params)
"""


def test_the_readme_suite_example_validates_as_written(tmp_path, monkeypatch):
    pytest.importorskip("langchain_openai")
    monkeypatch.chdir(tmp_path)
    block = next(b for b in fenced("README.md", "yaml") if "langchain:my_models.py:make" in b)
    (tmp_path / "suite.yaml").write_text(block, encoding="utf-8")
    (tmp_path / "my_models.py").write_text(MY_MODELS, encoding="utf-8")
    monkeypatch.setenv("OPENAI_API_KEY", "replay-only")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "replay-only")
    result = invoke("validate", "suite.yaml")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("suite.yaml: valid; 16 cells")


def test_a_method_a_langchain_entry_cannot_do_names_the_entry_not_its_provider(tmp_path, monkeypatch):
    pytest.importorskip("langchain_openai")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my_models.py").write_text(MY_MODELS, encoding="utf-8")
    monkeypatch.setenv("OPENAI_API_KEY", "replay-only")
    (tmp_path / "s.yaml").write_text(
        'name: s\nmodels: [{model: "langchain:my_models.py:make", id: mine}]\ncases:\n'
        "  - id: movie\n    prompt: Inception?\n"
        "    structured_output: {schema: {type: object}, method: json_schema}\n",
        encoding="utf-8",
    )
    result = invoke("validate", "s.yaml")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: s.yaml:6: cases[0].structured_output.method: model 'mine': a LangChain model entry (ChatOpenAI) "
        "does not support structured output method 'json_schema'. Supported: function_calling."
    ]


def test_a_langchain_factory_that_is_not_there_is_named_once(tmp_path, monkeypatch):
    pytest.importorskip("langchain_core")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my_models.py").write_text(MY_MODELS, encoding="utf-8")
    (tmp_path / "s.yaml").write_text(
        'name: s\nmodels: [{model: "langchain:my_models.py:mak", id: mine}]\ncases: [{id: c, prompt: hi}]\n',
        encoding="utf-8",
    )
    result = invoke("validate", "s.yaml")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: s.yaml:2: models[0]: LangChain factory 'my_models.py:mak': module 'my_models.py' has no "
        "attribute 'mak'; expected 'package.module:name' or 'path/to/file.py:name'"
    ]


def test_harness_init_next_steps_then_its_ci_workflow_work_as_printed(tmp_path, monkeypatch):
    """Follow what `harness init` prints (record with a key, against the emulator here), then run every
    harness / pytest step of the CI workflow it wrote, offline with no key: all of them pass."""
    import subprocess
    import sys

    from harness.testing import Reply, default_reply

    monkeypatch.chdir(tmp_path)
    result = invoke("init", "proj")
    assert result.exit_code == 0, result.output
    proj = tmp_path / "proj"
    steps = result.stdout.split("record once with a key: ", 1)[1].split("; then", 1)[0].split(" && ")
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    env = {k: v for k, v in env.items() if k not in ("CI", "HARNESS_RECORD_MODE", "GITHUB_STEP_SUMMARY")}
    env["PYTHONPATH"] = str(ROOT)

    def run(line: str, environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
        program, *args = shlex.split(line)
        extra = ["-p", "no:cacheprovider"] if program == "pytest" else []
        return subprocess.run([sys.executable, "-m", program, *extra, *args], cwd=proj, env=environ,
                              capture_output=True, text=True, timeout=300)  # fmt: skip

    with ProviderEmulator() as emu:
        emu.reply_fn = lambda req: (
            Reply(text="Paris.") if "capital" in req.last_user_text else default_reply(req)
        )
        live = {**env, "OPENAI_BASE_URL": emu.base_url("openai"), "OPENAI_API_KEY": "sk-test"}
        assert [s.split()[0] for s in steps] == ["harness", "pytest"]
        for step in steps:
            done = run(step, live)
            assert done.returncode == 0, step + "\n" + done.stdout + done.stderr
    workflow = (proj / ".github" / "workflows" / "model-tests.yml").read_text(encoding="utf-8")
    ci = [line.split("- run: ", 1)[1] for line in workflow.splitlines() if "- run: " in line]
    ci = [line for line in ci if line.split()[0] in ("harness", "pytest")]
    assert len(ci) == 3
    for step in ci:  # as on GitHub: no key, no base URL, CI set
        done = run(step, {**env, "CI": "true"})
        assert done.returncode == 0, step + "\n" + done.stdout + done.stderr


def test_cells_skipped_by_max_cost_are_not_counted_as_run(emulated):
    (emulated / "tagged.yaml").write_text(TAGGED, encoding="utf-8")
    result = invoke("run", "tagged.yaml", "--no-cassettes", "--no-report", "--concurrency", "1",
                    "--max-cost", "0.000001", "--repeat", "2")  # fmt: skip
    assert result.exit_code == 3, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("1 cells run in ") and line.endswith("s (1 live)") for line in lines), lines
    assert any(line.startswith("3 cell(s) skipped: --max-cost $1e-06 was spent") for line in lines), lines


def test_a_misspelt_model_parameter_in_a_suite_is_one_line_not_a_python_warning(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    (tmp_path / "w.yaml").write_text(
        "name: w\nmodels: [openai:gpt-4.1-mini]\ndefaults: {temprature: 0}\ncases: [{id: c, prompt: hi}]\n",
        encoding="utf-8",
    )
    result = invoke("validate", "w.yaml")
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        "error: w.yaml:2: models[0]: model 'openai:gpt-4.1-mini': 'temprature' (in the model entry or the "
        "suite's defaults) is not a parameter openai knows. Did you mean 'temperature'? To send it in the "
        "request body as is, put it under model_kwargs: {temprature: ...}"
    ]
    (tmp_path / "w.yaml").write_text(
        "name: w\nmodels: [{model: openai:gpt-4.1-mini, model_kwargs: {temprature: 0}}]\n"
        "cases: [{id: c, prompt: hi}]\n",
        encoding="utf-8",
    )
    assert invoke("validate", "w.yaml").exit_code == 0


def test_a_warning_on_the_command_line_is_one_line(emulated):
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONWARNINGS", None)
    done = subprocess.run(
        [sys.executable, "-m", "harness", "invoke", "openai:gpt-4.1-mini", "Hello", "-p", "temprature=0"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.stderr.splitlines()[0] == (
        "warning: 'temprature' is not a parameter openai knows: moved into model_kwargs and sent in the "
        "request body as is. Did you mean 'temperature'? Pass it as model_kwargs={'temprature': ...} if you "
        "meant it."
    )
    assert "Traceback" not in done.stderr and ".py:" not in done.stderr


def test_compare_of_runs_of_two_different_suites_says_so(emulated):
    (emulated / "tagged.yaml").write_text(TAGGED, encoding="utf-8")
    (emulated / "other.yaml").write_text(TAGGED.replace("name: tagged", "name: other"), encoding="utf-8")
    for name in ("tagged", "other"):
        done = invoke("run", f"{name}.yaml", "--no-cassettes", "--no-report", "--out", f"runs/{name}")
        assert done.exit_code == 0, done.output
    diff = invoke("compare", "runs/tagged", "runs/other")
    assert diff.exit_code == 0, diff.output
    assert diff.output.splitlines()[1] == (
        "note: A is a run of suite 'tagged', B of suite 'other': cells are matched by case and model id only"
    )


def test_the_targets_doc_pytest_example_runs_as_written(emulated, pytester):
    agent = fenced("docs/targets.md", "python")[0]
    tests = next(b for b in fenced("docs/targets.md", "python") if "def test_agent(" in b)
    (pytester.path / "app").mkdir()
    (pytester.path / "app" / "agent.py").write_text(agent, encoding="utf-8")
    (pytester.path / "tests").mkdir()
    (pytester.path / "tests" / "test_agent.py").write_text(tests, encoding="utf-8")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--record-mode=once", "tests")
    result.assert_outcomes(passed=2)


def test_a_cassette_miss_in_the_terminal_shows_what_changed_and_how_to_record(emulated, monkeypatch):
    (emulated / "tagged.yaml").write_text(TAGGED, encoding="utf-8")
    assert invoke("run", "tagged.yaml", "--no-report", "--case", "capital").exit_code == 0
    (emulated / "tagged.yaml").write_text(TAGGED.replace("Capital of France?", "Capital of Spain?"), "utf-8")
    monkeypatch.delenv("OPENAI_API_KEY")
    run = invoke(
        "run", "tagged.yaml", "--no-report", "--case", "capital", "--record-mode", "none", "--out", "r"
    )
    assert run.exit_code == 1, run.output
    shown = invoke("show", "r")
    for output in (run.output, shown.output):
        lines = [line.strip() for line in output.splitlines()]
        start = next(
            i for i, line in enumerate(lines) if line.startswith("! capital × openai:gpt-4.1-mini: Cass")
        )
        detail = lines[start:][lines[start:].index('-      "content": "Capital of France?",') :][:3]
        assert detail == [
            '-      "content": "Capital of France?",',
            '+      "content": "Capital of Spain?",',
            'To record it, use record_mode="new_episodes" (or set HARNESS_RECORD_MODE=new_episodes).',
        ], output


def test_the_schema_harness_init_points_the_editor_at_exists_beside_the_suite(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert invoke("init").exit_code == 0
    first = (tmp_path / "suites" / "example.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=")
    schema = (tmp_path / "suites" / first.split("$schema=", 1)[1]).read_text(encoding="utf-8")
    assert schema == invoke("suite-schema").output


def test_the_readme_dry_run_example_runs_on_the_shipped_quickstart(monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("HARNESS_RECORD_MODE", raising=False)
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = [
        ln.split("  #")[0].strip()
        for ln in text.splitlines()
        if ln.startswith("harness run suites/quickstart")
    ]
    dry = [ln for ln in lines if "--dry-run" in ln]
    assert dry
    for line in dry:
        result = invoke(*shlex.split(line)[1:])
        assert result.exit_code == 0, f"{line}: {result.output}"


def test_a_models_item_that_is_neither_an_id_nor_a_model_string_names_the_ids(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = invoke("validate", "suites/quickstart.yaml", "--models", "haiku")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: --models haiku: not a model id of the suite (did you mean 'claude-haiku'? its ids: gpt-4.1-mini, "
        "claude-haiku, gemini-flash) nor a model string with its provider, e.g. anthropic:claude-haiku-4-5"
    ]


@pytest.mark.parametrize("command", ["run", "validate"])
def test_the_help_examples_that_choose_cells_work_on_the_quickstart(monkeypatch, command):
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("HARNESS_RECORD_MODE", raising=False)
    help_text = invoke(command, "--help").output
    lines = [ln.split("  #")[0].strip() for ln in help_text.splitlines()]
    chosen = [ln for ln in lines if ln.startswith(f"harness {command} suites/quickstart.yaml") and
              any(opt in ln for opt in ("--case", "--tag", "--models claude", "--models gpt-4.1-mini"))]  # fmt: skip
    assert chosen
    for line in chosen:
        args = shlex.split(line)[1:] + (["--dry-run"] if command == "run" else [])
        result = invoke(*args, "--record-mode", "none") if "--record-mode" not in line else invoke(*args)
        assert result.exit_code == 0, f"{line}: {result.output}"


def test_pytest_results_keep_the_order_of_harness_models(emulated, pytester):
    pytester.makeini("[pytest]\nharness_models =\n    openai:gpt-4.1-mini\n    anthropic:claude-haiku-4-5\n")
    pytester.makepyfile(test_m="def test_hi(chat_model):\n    assert chat_model.invoke('hi').text\n")
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--record-mode=once", "--harness-results", "out/results.jsonl"
    )
    result.assert_outcomes(passed=2)
    table = result.stdout.str().split("= harness =")[1].splitlines()
    assert [line.split()[0] for line in table if line.startswith(("openai:", "anthropic:"))] == [
        "openai:gpt-4.1-mini", "anthropic:claude-haiku-4-5"
    ]  # fmt: skip
    meta = json.loads((pytester.path / "out" / "run.json").read_text())
    assert [m["id"] for m in meta["models"]] == ["openai:gpt-4.1-mini", "anthropic:claude-haiku-4-5"]
    assert list(meta["summary"]) == ["openai:gpt-4.1-mini", "anthropic:claude-haiku-4-5"]


def test_a_missing_key_for_a_cassette_to_record_names_the_cassette_looked_for(tmp_path, monkeypatch):
    """Run from another folder than the project's, the cassettes are not found: the line says where
    harness looked, so the reader sees why it wants a key."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("HARNESS_RECORD_MODE", raising=False)
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "tagged.yaml").write_text(TAGGED, encoding="utf-8")
    result = invoke("run", "proj/tagged.yaml", "--no-report", "--case", "capital")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: model 'openai:gpt-4.1-mini': openai: no API key. Pass api_key=... or set OPENAI_API_KEY. "
        "(case 'capital' would record its cassette live: there is no "
        "cassettes/tagged/capital/openai-gpt-4.1-mini.yaml; replaying a cassette needs no key)"
    ]


def test_a_name_with_a_space_is_refused_in_words_not_with_a_regular_expression(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text(
        "name: my suite\nmodels: [openai:gpt-4.1-mini]\ncases:\n  - {id: a, prompt: hi, tools: "
        "[{name: get weather, returns: x}]}\n",
        encoding="utf-8",
    )
    first = invoke("validate", "s.yaml")
    assert first.exit_code == 2
    assert first.stderr.splitlines() == [
        "error: s.yaml:1: name: 'my suite' is not allowed: use letters, digits and _ . : - (starting with a "
        "letter or a digit) (and 1 more error)"
    ]
    (tmp_path / "s.yaml").write_text(
        (tmp_path / "s.yaml").read_text(encoding="utf-8").replace("my suite", "s"), encoding="utf-8"
    )
    tool = invoke("validate", "s.yaml")
    assert tool.exit_code == 2
    assert tool.stderr.splitlines() == [
        "error: s.yaml:4: cases[0].tools[0].name: 'get weather' is not allowed: use 1 to 64 letters, digits, _ and -"
    ]


def test_a_broken_jsonl_dataset_line_is_named_by_its_line_in_the_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cases.jsonl").write_text('{"id": "a", "prompt": "hi"}\n\n{"id": "b", "prompt": \n', "utf-8")
    (tmp_path / "s.yaml").write_text(
        "name: s\nmodels: [openai:gpt-4.1-mini]\ncases: file://cases.jsonl\n", "utf-8"
    )
    result = invoke("validate", "s.yaml")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: s.yaml:3: cases: file://cases.jsonl: cannot read it: line 3: Expecting value (column 23)"
    ]


def test_a_file_reference_to_a_folder_says_it_is_a_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "prompts").mkdir()
    (tmp_path / "s.yaml").write_text(
        "name: s\nmodels: [openai:gpt-4.1-mini]\ncases: [{id: a, prompt: 'file://prompts'}]\n", "utf-8"
    )
    result = invoke("validate", "s.yaml")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: s.yaml:3: cases[0].prompt: file://prompts: is a folder; name a file in it (file://prompts/...)"
    ]
