"""Hostile suites and cassettes: nothing executes, nothing hangs, every problem is one located line.

The fuzz tests mutate real files with a seeded mutator (the same inputs on every run) and drive the
CLI in-process: each input must end in exit 0 or exit 2 with one `error: FILE...` line, never a
traceback, and write nothing.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness import init_chat_model
from harness.cassettes import use_cassette
from harness.cli import cli
from harness.errors import HarnessError

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


def _assert_clean_exit(result, path: Path, data: bytes) -> None:
    why = f"input {path.name}:\n{data[:400]!r}\noutput:\n{result.output[-2000:]}"
    assert result.exception is None or isinstance(result.exception, SystemExit), why + (
        f"\n{type(result.exception).__name__}: {result.exception}"
    )
    assert "Traceback" not in result.output, why
    assert result.exit_code in (0, 2), why
    if result.exit_code == 2:
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {path}"), why


def test_fuzzed_suites_end_in_a_located_error_or_a_valid_suite(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HARNESS_CACHE_DIR", "off")
    rng = random.Random(SEED)
    seeds = [QUICKSTART.read_bytes(), TEMPLATED_SUITE]
    runner = CliRunner()
    started, exits = time.perf_counter(), {0: 0, 2: 0}
    for n in range(300):
        data = mutate(rng, seeds[n % len(seeds)])
        path = tmp_path / f"suite{n}.yaml"
        path.write_bytes(data)
        result = runner.invoke(cli, ["run", str(path), "--dry-run", "--max-cells", "5000"])
        _assert_clean_exit(result, path, data)
        exits[result.exit_code] += 1
        path.unlink()
        assert list(tmp_path.iterdir()) == [], f"input {n} wrote {list(tmp_path.iterdir())}"
    assert exits[0] > 20 and exits[2] > 100  # the mutator makes both valid and broken suites
    assert time.perf_counter() - started < 60


def _replay(path: Path, seed_name: str) -> None:
    model = init_chat_model("openai:gpt-4.1-mini", api_key="sk-test", temperature=0, max_tokens=300)
    if seed_name.startswith("haiku"):
        model = init_chat_model("anthropic:claude-haiku-4-5", api_key="sk-test", temperature=0, max_tokens=300)
    with use_cassette(str(path), record_mode="none"):
        if seed_name.startswith("haiku"):
            list(model.stream("Write a haiku about the sea. Three lines, nothing else."))
        else:
            model.invoke([("system", "Answer in one short sentence."), ("user", "What is the capital of France?")])


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
    runner = CliRunner()
    names = sorted(CASSETTE_SEEDS)
    seeds = {name: CASSETTE_SEEDS[name].read_bytes() for name in names}
    before = None
    for n in range(200):
        name = names[n % len(names)]
        data = mutate(rng, seeds[name])
        path = tmp_path / f"{name}{n}.yaml"
        path.write_bytes(data)
        before = sorted(p.name for p in tmp_path.iterdir())
        _assert_clean_exit(runner.invoke(cli, ["cassettes", "show", str(path)]), path, data)
        _assert_clean_exit(runner.invoke(cli, ["cassettes", "show", "--json", str(path)]), path, data)
        try:
            _replay(path, name)
        except HarnessError:
            pass  # a located format error, a miss, or the recorded error reply: all say what happened
        except Exception as e:  # anything else is an internal error
            pytest.fail(f"replay of {path.name} raised {type(e).__name__}: {e}\n{data[:400]!r}")
        assert sorted(p.name for p in tmp_path.iterdir()) == before, "replay wrote to the cassette dir"
        path.unlink()
