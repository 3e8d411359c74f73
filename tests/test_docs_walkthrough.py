"""The docs' examples as a newcomer copies them: README, docs/cli.md, docs/targets.md, the examples'
READMEs, `harness init`'s printed steps and `--help` examples — each run as written (through the CLI,
a pytest subprocess or the provider emulator) and expected to work."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex

import pytest
from walkthrough_helpers import MY_MODELS, ROOT, emulated_dir, fenced, invoke

from harness.testing import ProviderEmulator

pytest_plugins = ["pytester"]


@pytest.fixture
def emulated(tmp_path, monkeypatch):
    yield from emulated_dir(tmp_path, monkeypatch)


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


def test_the_targets_doc_pytest_example_runs_as_written(emulated, pytester):
    agent = fenced("docs/targets.md", "python")[0]
    tests = next(b for b in fenced("docs/targets.md", "python") if "def test_agent(" in b)
    (pytester.path / "app").mkdir()
    (pytester.path / "app" / "agent.py").write_text(agent, encoding="utf-8")
    (pytester.path / "tests").mkdir()
    (pytester.path / "tests" / "test_agent.py").write_text(tests, encoding="utf-8")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--record-mode=once", "tests")
    result.assert_outcomes(passed=2)


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
