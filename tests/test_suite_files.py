"""Suite inputs from files: file:// prompts and datasets, {% include %} from the suite's folder, .env
files — through the CLI, against the provider emulator on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.results.io import iter_records
from harness.testing import ProviderEmulator

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for k in list(os.environ):
        if k.endswith(("_API_KEY", "_BASE_URL")) or k in ("CI", "HARNESS_RECORD_MODE", "GITHUB_STEP_SUMMARY"):
            monkeypatch.delenv(k)
    suite_dir = tmp_path / "evals"
    (suite_dir / "prompts").mkdir(parents=True)
    return suite_dir


@pytest.fixture
def emu(monkeypatch):
    with ProviderEmulator() as emu:
        monkeypatch.setenv("OPENAI_BASE_URL", emu.base_url("openai"))
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        yield emu


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_prompts_systems_and_includes_come_from_the_suites_folder(project, emu):
    (project / "prompts" / "cap.txt").write_text(
        "{% include 'prompts/preamble.txt' %}Capital of {{ country }}?"
    )
    (project / "prompts" / "preamble.txt").write_text("Be brief. ")
    (project / "system.txt").write_text("You are a geographer.")
    (project / "s.yaml").write_text(
        "name: files\nmodels: [openai:gpt-4.1-mini]\nsystem: file://system.txt\ncases:\n"
        "  - id: cap\n    prompt: file://prompts/cap.txt\n    vars: {country: France}\n"
        "  - id: chat\n    messages:\n      - {role: user, content: file://prompts/preamble.txt}\n"
    )
    result = invoke("run", "evals/s.yaml", "--no-cassettes", "--no-report", "--out", "run")
    assert result.exit_code == 0, result.output
    bodies = sorted((r.body["messages"] for r in emu.requests), key=lambda m: m[-1]["content"])
    system = {"role": "system", "content": "You are a geographer."}
    assert bodies == [
        [system, {"role": "user", "content": "Be brief. "}],
        [system, {"role": "user", "content": "Be brief. Capital of France?"}],
    ]


def test_cases_and_vars_datasets(project, emu):
    (project / "cases.csv").write_text(
        "id,description,prompt,tags,assert,country\n"
        'fr,French capital,Capital of {{ country }}?,"geo,smoke","[{type: icontains, value: France}]",France\n'
        "es,,Capital of {{ country }}?,geo,,007\n"
    )
    (project / "cities.jsonl").write_text('{"city": "Paris", "n": 1}\n{"city": "Rome", "n": 2}\n')
    (project / "more.yaml").write_text("- id: extra\n  prompt: Hi from yaml\n  vars: file://cities.jsonl\n")
    (project / "s.yaml").write_text("name: data\nmodels: [openai:gpt-4.1-mini]\ncases: file://cases.csv\n")
    (project / "t.yaml").write_text("name: data2\nmodels: [openai:gpt-4.1-mini]\ncases: file://more.yaml\n")
    result = invoke("run", "evals/s.yaml", "--no-cassettes", "--no-report", "--out", "r1", "--tag", "smoke")
    assert result.exit_code == 0, result.output
    (rec,) = list(iter_records("r1"))
    assert rec["case_id"] == "fr" and [a["type"] for a in rec["assertions"]] == ["icontains"]
    plan = invoke("validate", "evals/s.yaml", "--no-cassettes")
    assert [line.split()[0] for line in plan.stdout.splitlines()[1:3]] == ["fr", "es"]
    invoke("run", "evals/s.yaml", "--no-cassettes", "--no-report", "--out", "r2", "--case", "es")
    assert emu.requests[-1].body["messages"][-1]["content"] == "Capital of 007?"  # CSV cells stay text
    result = invoke("run", "evals/t.yaml", "--no-cassettes", "--no-report", "--out", "r3")
    assert result.exit_code == 0 and sorted(r["case_id"] for r in iter_records("r3")) == [
        "extra[Paris-1]",
        "extra[Rome-2]",
    ]


@pytest.mark.parametrize(
    "suite, expected",
    [
        ("cases:\n  - {id: a, prompt: file://prompts/nope.txt}\n", "s.yaml:3: cases[0].prompt: file://prompts/nope.txt: no such file"),
        ("cases:\n  - {id: a, prompt: file://../outside.txt}\n", "s.yaml:3: cases[0].prompt: a file:// path must lie inside"),
        ("cases: file://cases.xlsx\n", "s.yaml:2: cases: file://cases.xlsx: unknown file type '.xlsx'; allowed: .csv"),
        ("cases:\n  - {id: a, prompt: \"{% include 'nope.txt' %}\"}\n", "s.yaml:3: cases[0].prompt (case 'a'): template error: include 'nope.txt': no such file in the suite's folder"),
        ("cases:\n  - {id: a, prompt: \"{% include '../outside.txt' %}\"}\n", "template error: include '../outside.txt'"),
        ("cases:\n  - {id: a, prompt: '{{ 1/0 }}'}\n", "s.yaml:3: cases[0].prompt (case 'a'): template error: ZeroDivisionError: division by zero"),
        ("cases:\n  - {id: a, prompt: hi, vars: file://rows.jsonl}\n", "s.yaml:3: cases[0].vars: file://rows.jsonl: cannot read it"),
        ("cases: file://bad.csv\n", "s.yaml:2: cases[1]: missing required field 'id' (in file://bad.csv, line 3)"),
        ("cases: file://bad.jsonl\n", "tags, assert (in file://bad.jsonl, row 2)"),
    ],
)  # fmt: skip
def test_file_and_template_mistakes_are_one_located_line(project, suite, expected):
    (project.parent / "outside.txt").write_text("secret")
    (project / "cases.xlsx").write_text("x")
    (project / "rows.jsonl").write_text('{"a": 1}\nnot json\n')
    (project / "bad.csv").write_text("id,prompt\na,hi\n,no id\n")
    (project / "bad.jsonl").write_text('{"id": "a", "prompt": "hi"}\n\n{"id": "b", "promt": "x"}\n')
    (project / "s.yaml").write_text("name: bad\n" + suite)
    for command in ("validate", "run"):
        line = one_error_line(invoke(command, "evals/s.yaml", "--models", "openai:gpt-4.1-mini"))
        assert line.startswith("error: evals/") and expected in line, line


@pytest.mark.parametrize(
    "prompt, expected",
    [
        ("file://.env", "cases[0].prompt: a file:// path may not name a hidden file or folder ('.env')"),
        ("file://prompts/../.aws/credentials", "may not name a hidden file or folder ('.aws')"),
        ("file://innocent.txt", "may not name a hidden file or folder ('.env')"),  # a symlink to .env
        ("\"{% include '.env' %}\"", "template error: include '.env': may not name a hidden file or folder ('.env')"),
        ("\"{% include 'innocent.txt' %}\"", "template error: include 'innocent.txt': may not name a hidden"),
    ],
    ids=["file-env", "file-aws", "file-symlink", "include-env", "include-symlink"],
)  # fmt: skip
def test_a_suite_cannot_read_credentials_files_beside_it(project, prompt, expected):
    """A suite from a repository you cloned can read its own prompts, never `.env`, `.aws/`, `.git/`:
    their contents would go to the model and into cassettes, results and reports."""
    (project / ".env").write_text("OTHER_SERVICE_TOKEN=sk-DOTENV-0123456789abcdef0123456789abcdef\n")
    (project / ".aws").mkdir()
    (project / ".aws" / "credentials").write_text("[default]\naws_secret_access_key = x\n")
    (project / "innocent.txt").symlink_to(project / ".env")
    (project / "s.yaml").write_text(f"name: creds\ncases:\n  - {{id: a, prompt: {prompt}}}\n")
    for command in ("validate", "run"):
        line = one_error_line(invoke(command, "evals/s.yaml", "--models", "openai:gpt-4.1-mini"))
        assert line.startswith("error: evals/s.yaml:3: ") and expected in line, line
    assert not Path("runs").exists() and not Path("cassettes").exists()


LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True)
)  # "billion laughs": 10**9 values from 90 lines


@pytest.mark.parametrize(
    "suite, name, content, expected",
    [
        ("vars: file://laughs.yaml\ncases: [{id: a, prompt: hi}]\n", "laughs.yaml", LAUGHS, "s.yaml:2: vars: file://laughs.yaml: cannot read it: aliases repeat more than 1,000,000 values"),
        ("cases:\n  - {id: a, prompt: hi, vars: file://rows.json}\n", "rows.json", f"[{{\"l\": {LAUGHS.replace(chr(10), ', ').rstrip(', ').join('{}')}}}]", "cases[0].vars: file://rows.json: cannot read it: aliases repeat"),
        ("cases:\n  - {id: a, prompt: hi, vars: file://deep.jsonl}\n", "deep.jsonl", "[" * 100_000 + "]" * 100_000, "s.yaml:3: cases[0].vars: file://deep.jsonl: cannot read it: nested deeper than"),
        ("cases: file://deep.yaml\n", "deep.yaml", "[" * 200 + "]" * 200, "s.yaml:2: cases: file://deep.yaml: cannot read it: lists and mappings are nested more than 100 deep"),
        ("cases: file://c.csv\n", "c.csv", "id,prompt,assert\na,hi,\"" + LAUGHS.replace('"', '""') + "\"\n", "cases: file://c.csv: case 'a': its assert column is not YAML"),
        ("cases: file://big.csv\n", "big.csv", "id,prompt\n" + "".join(f"{i},hi\n" for i in range(100_001)), "s.yaml:2: cases: file://big.csv: more than 100,000 rows; split the dataset"),
        ("cases:\n  - {id: a, prompt: hi, vars: file://big.jsonl}\n", "big.jsonl", '{"x": 1}\n' * 100_001, "cases[0].vars: file://big.jsonl: more than 100,000 rows"),
        ("cases: file://big.yaml\n", "big.yaml", "- {id: a, prompt: hi}\n" * 500_000, "cases: file://big.yaml: larger than the limit of 10,000,000 bytes for YAML and JSON"),
    ],
    ids=["yaml-laughs", "json-laughs", "deep-jsonl", "deep-yaml", "csv-assert-laughs", "csv-rows", "jsonl-rows", "yaml-bytes"],
)  # fmt: skip
def test_a_hostile_dataset_file_is_one_located_line(project, suite, name, content, expected):
    """Dataset files are read with the suite's own bounded YAML loader (aliases, depth) and bounded JSON."""
    (project / name).write_text(content)
    (project / "s.yaml").write_text("name: hostile\n" + suite)
    for command in ("validate", "run"):
        line = one_error_line(invoke(command, "evals/s.yaml", "--models", "openai:gpt-4.1-mini"))
        assert line.startswith("error: evals/") and expected in line, line


def test_dotenv_beside_the_suite_and_in_the_cwd_never_overrides(project):
    with ProviderEmulator() as emu:
        (project / ".env").write_text(
            f"OPENAI_API_KEY=sk-from-suite-env\nOPENAI_BASE_URL={emu.base_url('openai')}\n"
        )
        (project.parent / ".env").write_text("OPENAI_API_KEY=sk-from-cwd-env\nOPENAI_ORG_ID=ignored\n")
        (project / "s.yaml").write_text(
            "name: env\nmodels: [openai:gpt-4.1-mini]\ncases: [{id: a, prompt: hi}]\n"
        )
        env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
        env.update(PYTHONPATH=str(ROOT))
        cmd = [sys.executable, "-m", "harness", "run", "evals/s.yaml", "--no-cassettes", "--no-report"]
        proc = subprocess.run(
            [*cmd, "--out", "r1"], cwd=project.parent, env=env, capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert emu.requests[-1].headers["authorization"] == "Bearer sk-from-suite-env"
        env["OPENAI_API_KEY"] = "sk-from-environment"
        proc = subprocess.run(
            [*cmd, "--out", "r2"], cwd=project.parent, env=env, capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert emu.requests[-1].headers["authorization"] == "Bearer sk-from-environment"
