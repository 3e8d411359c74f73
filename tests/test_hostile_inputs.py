"""Hostile suites and cassettes: nothing executes, nothing hangs, every problem is one located line.

The fuzz tests mutate real files with a seeded mutator (the same inputs on every run) and drive the
CLI in-process: each input must end in exit 0 or exit 2 with one `error: FILE...` line, never a
traceback, and write nothing.
"""

from __future__ import annotations

import json
import random
import re
import sys
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness import init_chat_model
from harness.cassettes import use_cassette
from harness.cli import main
from harness.errors import CassetteFormatError, HarnessError
from harness.testing import Reply

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "suites" / "quickstart.yaml"
CASSETTES = ROOT / "cassettes" / "quickstart"
SEED = 20261204

TEMPLATED_SUITE = b"""\
name: templated
models: ["openai:gpt-4.1-mini", {model: "anthropic:claude-haiku-4-5", id: haiku}]
system: "Answer as {{ persona }}."
vars: {persona: a pirate}
cases:
  - id: rows
    prompt: "{% for x in items %}{{ x|upper }} {% endfor %}{{ n * 2 }}"
    vars: [{items: [a, b], n: 1}, {items: [c], n: 2}]
    matrix: {lang: [en, fr]}
    repeat: 2
    assert:
      - {type: regex, value: "{{ lang }}", flags: i}
      - {type: contains, value: "{{ items[0] }}"}
  - id: chat
    messages:
      - {role: user, content: [{type: text, text: "{{ persona }} says hi"}]}
    tools:
      - {name: lookup, returns: "found {{ q }}", parameters: {type: object, properties: {q: {type: string}}}}
"""

# fragments that have broken suites and cassettes before: tags, anchors, nesting, huge numbers,
# template syntax, invalid UTF-8, control characters
TOKENS = [
    b"{{",
    b"}}",
    b"{%",
    b"{{ cycler.__init__.__globals__.os }}",
    b"{{ 'a' * 999999999 }}",
    b"!!python/object/apply:os.system ['true']",
    b"!!python/name:os.system",
    b"!!binary",
    b"&x ",
    b"*x",
    b"<<: *x\n",
    b"\xff\xfe\xc3",
    b"\x00",
    b"[" * 600,
    b"[" * 300 + b"]" * 300,
    b"&a [x, x, x, x, x, x, x, x, x, x]",
    b"[*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]",
    b'""',
    b"!!set",
    b"{a: " * 300,
    b"- " * 300,
    b"repeat: 1000000000\n",
    b'models: [""]\n',
    b"matrix: {a: [1,2,3,4,5,6,7,8,9,10], b: [1,2,3,4,5,6,7,8,9,10], c: [1,2,3,4,5,6,7,8,9,10]}\n",
    b"1e308",
    b"-1",
    b"null",
    b"[1, 2]",
    b"? ",
    b": ",
    b"\t",
    b"'",
    b'"',
    b"~",
    b"\n---\n",
    b"%TAG ! tag:x,2000:\n",
    b"x" * 3000,
]


def mutate(rng: random.Random, data: bytes) -> bytes:
    """One to three edits: a flipped byte, a token inserted, a line dropped, duplicated or moved."""
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(5)
        at = rng.randrange(len(data) + 1)
        if op == 0 and data:
            at = min(at, len(data) - 1)
            data = data[:at] + bytes([rng.randrange(256)]) + data[at + 1 :]
        elif op == 1:
            data = data[:at] + rng.choice(TOKENS) + data[at:]
        else:
            lines = data.split(b"\n")
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            if op == 2:
                del lines[i]
            elif op == 3:
                lines.insert(j, lines[i])  # a duplicate line: often a duplicate key
            else:
                lines[i], lines[j] = lines[j], lines[i]
            data = b"\n".join(lines)
    return data


@dataclass
class Exit:
    code: int | str | None
    output: str
    exception: BaseException | None


def harness(*args: str) -> Exit:
    """`harness ARGS` in-process, through the same entry point as the installed command."""
    with CliRunner().isolation() as streams:
        try:
            main(list(args))
        except SystemExit as e:
            return Exit(e.code, streams[2].getvalue().decode(), None)
        except Exception as e:  # what a user would see as a traceback
            return Exit(None, streams[2].getvalue().decode(), e)
    return Exit(0, streams[2].getvalue().decode(), None)


def _assert_clean_exit(result: Exit, path: Path, data: bytes) -> None:
    why = f"input {path.name}:\n{data[:400]!r}\noutput:\n{result.output[-2000:]}"
    assert result.exception is None, why + f"\n{type(result.exception).__name__}: {result.exception}"
    assert "Traceback" not in result.output, why
    assert result.code in (0, 2), why
    if result.code == 2:
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {path}"), why


def test_fuzzed_suites_end_in_a_located_error_or_a_valid_suite(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HARNESS_CACHE_DIR", "off")
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # the target's file leaves no __pycache__
    app = QUICKSTART.parent / "quickstart_app.py"  # the quickstart's target, beside the suite
    (tmp_path / app.name).write_bytes(app.read_bytes())
    rng = random.Random(SEED)
    seeds = [QUICKSTART.read_bytes(), TEMPLATED_SUITE]
    started, exits = time.perf_counter(), {0: 0, 2: 0}
    for n in range(300):
        data = mutate(rng, seeds[n % len(seeds)])
        path = tmp_path / f"suite{n}.yaml"
        path.write_bytes(data)
        result = harness("run", str(path), "--dry-run", "--max-cells", "5000")
        _assert_clean_exit(result, path, data)
        exits[int(result.code or 0)] += 1
        path.unlink()
        assert [p.name for p in tmp_path.iterdir()] == [app.name], (
            f"input {n} wrote {list(tmp_path.iterdir())}"
        )
    assert exits[0] > 20 and exits[2] > 100  # the mutator makes both valid and broken suites
    assert time.perf_counter() - started < 60


def _replay(path: Path, seed_name: str) -> None:
    model = init_chat_model("openai:gpt-4.1-mini", api_key="sk-test", temperature=0, max_tokens=300)
    if seed_name.startswith("haiku"):
        model = init_chat_model(
            "anthropic:claude-haiku-4-5", api_key="sk-test", temperature=0, max_tokens=300
        )
    with use_cassette(str(path), record_mode="none"):
        if seed_name.startswith("haiku"):
            list(model.stream("Write a haiku about the sea. Three lines, nothing else."))
        else:
            model.invoke(
                [("system", "Answer in one short sentence."), ("user", "What is the capital of France?")]
            )


CASSETTE_SEEDS = {
    "capital": CASSETTES / "capital" / "gpt-4.1-mini.yaml",
    "haiku": CASSETTES / "haiku" / "claude-haiku.yaml",
}


@pytest.mark.parametrize("name", sorted(CASSETTE_SEEDS))
def test_seed_cassettes_replay(name, tmp_path):
    """The fuzz below replays mutations of these: unmutated, they replay cleanly."""
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(CASSETTE_SEEDS[name].read_bytes())
    _replay(path, name)


def test_fuzzed_cassettes_show_and_replay_without_internal_errors(tmp_path):
    rng = random.Random(SEED + 1)
    names = sorted(CASSETTE_SEEDS)
    seeds = {name: CASSETTE_SEEDS[name].read_bytes() for name in names}
    before = None
    for n in range(200):
        name = names[n % len(names)]
        data = mutate(rng, seeds[name])
        path = tmp_path / f"{name}{n}.yaml"
        path.write_bytes(data)
        before = sorted(p.name for p in tmp_path.iterdir())
        _assert_clean_exit(harness("cassettes", "show", str(path)), path, data)
        _assert_clean_exit(harness("cassettes", "show", "--json", str(path)), path, data)
        try:
            _replay(path, name)
        except HarnessError:
            pass  # a located format error, a miss, or the recorded error reply: all say what happened
        except Exception as e:  # anything else is an internal error
            pytest.fail(f"replay of {path.name} raised {type(e).__name__}: {e}\n{data[:400]!r}")
        assert sorted(p.name for p in tmp_path.iterdir()) == before, "replay wrote to the cassette dir"
        path.unlink()


# --- one regression test per measured attack ----------------------------------------------------


def test_a_template_cannot_run_code_and_is_one_located_line(tmp_path):
    marker = tmp_path / "pwned"
    suite = tmp_path / "attack.yaml"
    suite.write_text(
        "name: attack\nmodels: [openai:gpt-4.1-mini]\ncases:\n  - id: a\n"
        f"    prompt: \"{{{{ cycler.__init__.__globals__.os.system('touch {marker}') }}}}\"\n"
    )
    result = harness("run", str(suite), "--no-cassettes", "--out", str(tmp_path / "run"))
    assert not marker.exists()
    assert result.code == 2 and result.exception is None
    assert result.output.strip() == (
        f"error: {suite}:5: cases[0].prompt (case 'a'): template error: not allowed in a template: "
        "access to attribute '__init__' of 'type' object is unsafe.; variables: none"
    )
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ 'a' * 999999999 }}", "a repeated string or list (*) would be 999,999,999 long"),
        (
            "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
            "range() made more",
        ),
        ("{{ 'x'|center(1000000000) }}", "the number 1,000,000,000 is above the template limit"),
        ("{{ '%999999999d' % 1 }}", "a format width above 1,000,000"),
        ("{{ 10 ** 10000000 }}", "a power (**), in bits, would be"),
        ("{{ x.__class__ }}", "access to attribute '__class__'"),
    ],
)
def test_templates_are_bounded_in_memory_and_time(tmp_path, template, message):
    suite = tmp_path / "t.yaml"
    suite.write_text(
        f'name: t\nmodels: [openai:gpt-4.1-mini]\ncases:\n  - id: a\n    vars: {{x: 1}}\n    prompt: "{template}"\n'
    )
    result = harness("run", str(suite), "--dry-run")
    assert result.code == 2 and message in result.output
    assert result.output.startswith(f"error: {suite}:6: cases[0].prompt (case 'a'): template error:")


@pytest.mark.parametrize(
    ("case", "cells"),
    [
        ("matrix: {" + ", ".join(f"{k}: [0,1,2,3,4,5,6,7,8,9]" for k in "abcdefgh") + "}", "100,000,000"),
        ("repeat: 1000000000", "1,000,000,000"),
    ],
)
def test_a_cell_explosion_is_refused_before_any_cell_is_built(tmp_path, case, cells):
    suite = tmp_path / "big.yaml"
    suite.write_text(
        f"name: big\nmodels: [openai:gpt-4.1-mini]\ncases:\n  - id: a\n    prompt: hi\n    {case}\n"
    )
    tracemalloc.start()
    try:
        result = harness("run", str(suite), "--no-cassettes", "--out", str(tmp_path / "run"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.code == 2
    assert result.output.strip().startswith(f"error: {suite}:4: cases[0]: the suite would run {cells} cells")
    assert "above the limit of 100,000" in result.output and "--max-cells N" in result.output
    assert peak < 50_000_000  # the 8x10 matrix once grew to 23.9 GB


def test_max_cells_is_the_users_to_raise(tmp_path):
    suite = tmp_path / "s.yaml"
    suite.write_text("name: s\nmodels: [openai:gpt-4.1-mini]\ncases:\n  - {id: a, prompt: hi, repeat: 200}\n")
    assert harness("run", str(suite), "--dry-run", "--max-cells", "199").code == 2
    result = harness("run", str(suite), "--dry-run", "--max-cells", "200")
    assert result.code == 0 and "200 cells" in result.output


def test_a_catastrophic_regex_fails_within_its_time_limit(emulator, monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_BASE_URL", emulator.base_url("openai"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.chdir(tmp_path)
    emulator.queue(Reply(text="a" * 40 + "!"))
    suite = tmp_path / "re.yaml"
    suite.write_text(
        "name: re\nmodels: [openai:gpt-4.1-mini]\ncases:\n  - id: a\n    prompt: hi\n    assert:\n"
        "      - {type: regex, value: '^(a|aa)+$', timeout_s: 0.2}\n"
    )
    started = time.perf_counter()
    result = harness("run", str(suite), "--no-cassettes", "--no-report", "--out", "run")
    assert result.code == 1 and time.perf_counter() - started < 30
    record = json.loads((tmp_path / "run" / "results.jsonl").read_text().splitlines()[0])
    reason = record["assertions"][0]["reason"]
    assert record["status"] == "failed"
    assert reason.startswith("error: /^(a|aa)+$/ found no answer within its time limit of 0.2 s (timeout_s)")


@pytest.mark.parametrize(
    ("yaml_text", "line", "message"),
    [
        ("name: a\nname: b\n", 2, "duplicate key 'name' (first on line 1)"),
        (
            "name: a\nvars: !!python/object:os.system {a: 1}\n",
            2,
            "the tag '!!python/object:os.system' is not allowed",
        ),
        ("name: a\nvars: !!python/name:os.system\n", 2, "the tag '!!python/name:os.system' is not allowed"),
        ("name: a\nvars: {a: " + "[" * 500 + "]" * 500 + "}\n", 2, "nested more than 100 deep"),
        ("name: a\nmodels: ['']\n", 2, "models: a model string is empty"),
        ('name: a\nvars: {a: "\x07"}\n', 2, "character '\\x07' is not allowed"),
    ],
)
def test_hostile_yaml_is_one_located_line(tmp_path, yaml_text, line, message):
    suite = tmp_path / "s.yaml"
    suite.write_text(yaml_text + "cases: [{id: a, prompt: hi}]\n")
    result = harness("run", str(suite), "--dry-run")
    assert result.code == 2 and result.output.startswith(f"error: {suite}:{line}: ")
    assert message in result.output and len(result.output.strip().splitlines()) == 1


def test_invalid_utf8_suite_names_line_and_byte(tmp_path):
    suite = tmp_path / "s.yaml"
    suite.write_bytes(b'name: a\ncases: [{id: a, prompt: "\xff"}]\n')
    result = harness("run", str(suite), "--dry-run")
    assert result.code == 2
    assert (
        result.output.strip()
        == f"error: {suite}:2: not UTF-8 text: byte 0xff at column 26 cannot start or continue a character; save the file as UTF-8"
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            "    chunks: [1, 2]\n",
            "`timing.chunks.0`: input should be a valid tuple; allowed: [offset_ms, length] pairs",
        ),
        ("    ttfb_ms: 1.0e+308\n", "`timing.ttfb_ms`: input should be less than or equal to 86400000"),
    ],
)
def test_corrupt_cassette_timing_is_a_located_error_in_show_and_replay(tmp_path, edit, message):
    text = re.sub(r"    ttfb_ms: [0-9.]+\n", lambda _: edit, CASSETTE_SEEDS["capital"].read_text(), count=1)
    path = tmp_path / "capital.yaml"
    path.write_text(text)
    result = harness("cassettes", "show", str(path))
    assert result.code == 2 and result.output.startswith(f"error: {path}:4: {message}")
    with pytest.raises(CassetteFormatError, match=re.escape(message)):
        _replay(path, "capital")
