"""What a newcomer met using the CLI for the first time (init, run, show, filters), each through the
CLI against the provider emulator: the terminal output they read, the lines their mistakes get."""

from __future__ import annotations

import json
import os
import re

import pytest
from walkthrough_helpers import MY_MODELS, ROOT, TAGGED, emulated_dir, invoke

pytest_plugins = ["pytester"]


@pytest.fixture
def emulated(tmp_path, monkeypatch):
    yield from emulated_dir(tmp_path, monkeypatch)


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


def test_a_tag_that_matches_nothing_names_the_tags_there_are(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tagged.yaml").write_text(TAGGED, encoding="utf-8")
    result = invoke("validate", "tagged.yaml", "--tag", "fast")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: tagged.yaml: no case matches --tag fast; case ids: capital, weather; tags: geo, nightly, smoke"
    ]


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


def test_a_models_item_that_is_neither_an_id_nor_a_model_string_names_the_ids(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = invoke("validate", "suites/quickstart.yaml", "--models", "haiku")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: --models haiku: not a model id of the suite (did you mean 'claude-haiku'? its ids: gpt-4.1-mini, "
        "claude-haiku, gemini-flash) nor a model string with its provider, e.g. anthropic:claude-haiku-4-5"
    ]


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
