"""Nothing leaks: sentinel keys go through every path the security issue measured, then every byte
harness wrote (cassettes, results.jsonl, run.json, report, JUnit, CSV, the GitHub step summary) and
everything it printed is searched for them raw, url-encoded, base64 and hex."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness import init_chat_model
from harness.cassettes import load_cassette, use_cassette
from harness.cli import cli
from harness.errors import SecretLeakError
from harness.redaction import encoded_forms
from harness.results.io import iter_records
from harness.testing import Fault, ProviderEmulator, Reply

KEY = "sk-SENTINEL-leaks-0123456789abcdef0123456789"
UUID_TOKEN = "5f0c3b9e-8d7a-4c21-9f3e-6b1a2d4e8c70"
HEX_TOKEN = "9c4e1f7a2b8d3e6f0a5c9b1d7e2f4a8c"
JWT_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJTRU5USU5FTCIsImlhdCI6MTcwMDAwMDAwMH0.c2lnbmF0dXJlU0VOVElORUw"


def leaks_in(data: bytes, secrets) -> list[str]:
    """Which secrets appear in `data`, in which form."""
    return [
        f"{s[:14]}… as {form[:14]}…" for s in secrets for form in encoded_forms(s) if form.encode() in data
    ]


def every_byte(root: Path, but: str = "") -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and p.name != but)


@pytest.fixture
def emu():
    with ProviderEmulator() as e:
        yield e


# --- 1. a refused write names the secret masked, and no frame it passes through holds it ----------


def frames_holding(err: BaseException, secrets) -> list[str]:
    """Harness frames in the traceback whose locals hold a secret (what pytest --showlocals prints)."""
    found, tb = [], err.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if "harness" in Path(frame.f_code.co_filename).parts:
            for name, value in list(frame.f_locals.items()):
                if leaks_in(repr(value).encode(), secrets):
                    found.append(f"{frame.f_code.co_name}: {name}")
        tb = tb.tb_next
    return found


@pytest.mark.parametrize("stream", [False, True])
def test_a_leak_refusal_holds_no_secret_in_its_message_or_frames(emu, tmp_path, stream):
    emu.queue(Reply(text=f"your key is {KEY}", chunk_chars=5))  # streamed: split over 9 chunks
    model = init_chat_model("openai:gpt-4.1-mini", base_url=emu.base_url("openai"), api_key=KEY)
    with pytest.raises(SecretLeakError) as info, use_cassette(tmp_path / "c.yaml", record_mode="all"):
        if stream:
            list(model.stream("what is my key?"))
        else:
            model.invoke("what is my key?")
    assert "sk-…89 (44 chars)" in str(info.value)
    assert not leaks_in(str(info.value).encode(), [KEY])
    assert frames_holding(info.value, [KEY]) == []
    assert not (tmp_path / "c.yaml").exists() or not leaks_in(every_byte(tmp_path), [KEY])


INNER_TEST = f"""
import pytest
from harness import init_chat_model
from harness.cassettes import use_cassette
from harness.testing import ProviderEmulator, Reply

def test_records_a_reply_that_quotes_the_key(tmp_path):
    with ProviderEmulator() as emu:
        emu.queue(Reply(text="your key is " + "{KEY[:10]}" + "{KEY[10:]}"))
        model = init_chat_model("openai:gpt-4.1-mini", base_url=emu.base_url("openai"),
                                api_key="{KEY[:10]}" + "{KEY[10:]}")
        with use_cassette(tmp_path / "c.yaml", record_mode="all"):
            model.invoke("what is my key?")
"""

pytest_plugins = ["pytester"]


def test_pytest_showlocals_and_junit_never_print_the_key(pytester):
    pytester.makepyfile(test_inner=INNER_TEST)
    result = pytester.runpytest_subprocess("--showlocals", "--junitxml=junit.xml", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    printed = "\n".join(result.outlines + result.errlines)
    assert "SecretLeakError" in printed and "sk-…89 (44 chars)" in printed
    assert leaks_in(printed.encode() + (pytester.path / "junit.xml").read_bytes(), [KEY]) == []


# --- 2. custom auth headers --------------------------------------------------------------------------


@pytest.mark.parametrize("token", [UUID_TOKEN, HEX_TOKEN, JWT_TOKEN], ids=["uuid", "hex", "jwt"])
@pytest.mark.parametrize(
    "provider, header",
    [("openai", "X-Api-Token"), ("ollama", "X-Ollama-Key")],
    ids=["openai-compatible", "ollama"],
)
def test_custom_auth_headers_are_scrubbed_by_default(emu, tmp_path, provider, header, token):
    model = init_chat_model(
        f"{provider}:some-model",
        base_url=emu.base_url(provider),
        api_key="sk-x",
        default_headers={header: token},
    )
    with use_cassette(tmp_path / "c.yaml", record_mode="all"):
        model.invoke("hi")
        list(model.stream("hi again"))
    assert emu.requests[0].headers[header.lower()] == token  # it went over the wire
    assert leaks_in(every_byte(tmp_path), [token]) == []
    assert {ix.request.headers[header] for ix in load_cassette(tmp_path / "c.yaml")} == {"<REDACTED>"}


def test_secret_headers_and_credential_values_are_scrubbed_whatever_their_name(emu, tmp_path):
    model = init_chat_model(
        "openai:gpt-4.1-mini",
        base_url=emu.base_url("openai"),
        api_key=KEY,
        default_headers={"X-Tenant": HEX_TOKEN, "X-Forwarded-Credential-Copy": UUID_TOKEN, "X-Echo": KEY},
    )
    with use_cassette(tmp_path / "c.yaml", record_mode="all", secret_headers=["x-tenant"]):
        model.invoke("hi")
    [ix] = load_cassette(tmp_path / "c.yaml")
    assert ix.request.headers["x-tenant"] == ix.request.headers["x-echo"] == "<REDACTED>"
    assert leaks_in(every_byte(tmp_path), [KEY, HEX_TOKEN, UUID_TOKEN]) == []


CASSETTE = """\
interactions:
- request:
    method: POST
    uri: {uri}
    body: '{{"model": "m", "messages": []}}'
    headers: {headers}
  response:
    status: {{code: 200, message: OK}}
    headers: {{Content-Type: [application/json]}}
    body: {{string: '{{}}'}}
version: 1
"""


@pytest.mark.parametrize(
    "uri, headers",
    [
        ("http://h/v1/chat/completions", f"{{X-Api-Token: [{UUID_TOKEN}]}}"),
        ("http://h/v1/chat/completions", f"{{X-Ollama-Key: [{HEX_TOKEN}]}}"),
        ("http://h/v1/chat/completions", f"{{X-Custom: [{JWT_TOKEN}]}}"),
        (f"http://user:{HEX_TOKEN}@h/v1/chat/completions", "{}"),
        (f"http://h/v1/chat/completions?token={UUID_TOKEN}", "{}"),
        (f"http://h/o?X-Goog-Signature={HEX_TOKEN}&X-Goog-Date=20250101", "{}"),
        (f"http://h/o?session={JWT_TOKEN}", "{}"),
    ],
    ids=["uuid-header", "hex-header", "jwt-any-header", "userinfo", "token-query", "signed-url", "jwt-query"],
)
def test_verify_flags_tokens_in_headers_and_urls(tmp_path, uri, headers):
    (tmp_path / "c.yaml").write_text(CASSETTE.format(uri=uri, headers=headers))
    result = CliRunner().invoke(cli, ["cassettes", "verify", str(tmp_path), "--json"])
    assert result.exit_code == 1, result.output
    kinds = [f["kind"] for f in json.loads(result.output)["findings"]]
    assert kinds and set(kinds) == {"secret"}


# --- 3 and 5: the CLI's artifacts after a replay miss and after a live error ---------------------------


def run_everything(workdir: Path, suite: str, *args: str, env=None) -> tuple[bytes, list[dict]]:
    """`harness run` writing every artifact; returns every byte written or printed, and the records."""
    (workdir / "s.yaml").write_text(suite)
    summary = workdir / "step-summary.md"
    result = CliRunner().invoke(
        cli,
        ["run", "s.yaml", "--out", "run", "--report", "report.html", "--junit", "junit.xml"]
        + ["--export", "results.csv", *args],
        env={**(env or {}), "GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert result.exit_code == 1, result.output
    for name in ("run/results.jsonl", "run/run.json", "report.html", "junit.xml", "results.csv"):
        assert (workdir / name).is_file(), name
    assert summary.is_file()
    printed = (result.stdout + result.stderr).encode()
    return every_byte(workdir, but="s.yaml") + printed, list(iter_records(workdir / "run"))


URL_SCHEMES = {
    "userinfo": "http://user:{key}@{host}/openai/v1",
    "key-query": "http://{host}/openai/v1?key={key}",
    "api_key-query": "http://{host}/openai/v1?api_key={key}",
    "token-query": "http://{host}/openai/v1?token={key}",
    "signed-url": "http://{host}/openai/v1?X-Amz-Credential=AKIA/x&X-Amz-Signature={key}",
}


def test_a_replay_miss_masks_credentials_in_urls_everywhere(emu, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    host = emu.url.split("://", 1)[1]
    models = "".join(
        f'  - {{model: "openai:gpt-4.1-mini", id: {name}, api_key: "{KEY}", '
        f'base_url: "{tpl.format(key=f"{KEY}-{name}", host=host)}"}}\n'
        for name, tpl in URL_SCHEMES.items()
    )
    suite = f"name: urls\nmodels:\n{models}cases:\n  - id: hi\n    prompt: hello\n"
    data, records = run_everything(tmp_path, suite, "--record-mode", "none")
    assert {r["cassette"]["state"] for r in records} == {"miss"} and len(records) == len(URL_SCHEMES)
    assert all("<REDACTED>" in r["error"] for r in records)
    secrets = [KEY, *(f"{KEY}-{name}" for name in URL_SCHEMES)]
    assert leaks_in(data, secrets) == []
    assert emu.requests == []  # replay never opens a socket


def test_no_cassettes_masks_a_key_the_provider_echoes_in_its_error(emu, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    emu.queue(Fault("status", 401, f"Incorrect API key provided: {KEY}. Find yours at https://x"))
    emu.queue(Fault("status", 400, f"bad header X-Api-Token: {UUID_TOKEN}"))
    suite = (
        f'name: echo\nmodels:\n  - {{model: "openai:gpt-4.1-mini", api_key: "{KEY}", '
        f'base_url: "{emu.base_url("openai")}", default_headers: {{X-Api-Token: "{UUID_TOKEN}"}}, '
        "max_retries: 0}\ncases:\n  - id: a\n    prompt: hello\n  - id: b\n    prompt: again\n"
    )
    data, records = run_everything(tmp_path, suite, "--no-cassettes", "--concurrency", "1")
    assert [r["status"] for r in records] == ["error", "error"]
    assert any("sk-…89 (44 chars)" in r["error"] for r in records)
    assert leaks_in(data, [KEY, UUID_TOKEN]) == []


# --- 4. a key streamed back over several chunks ---------------------------------------------------------


@pytest.mark.parametrize("provider", ["openai", "anthropic", "google_genai", "ollama"])
def test_a_key_streamed_back_in_pieces_is_refused(emu, tmp_path, provider):
    emu.queue(Reply(text=f"the key: {KEY}", chunk_chars=4))
    model = init_chat_model(f"{provider}:some-model", base_url=emu.base_url(provider), api_key=KEY)
    with pytest.raises(SecretLeakError), use_cassette(tmp_path / "c.yaml", record_mode="all"):
        list(model.stream("what is my key?"))
    assert not (tmp_path / "c.yaml").exists() or leaks_in(every_byte(tmp_path), [KEY]) == []


def test_verify_flags_a_key_split_over_recorded_chunks(tmp_path):
    """A cassette recorded by an older harness: verify reads the reply as `show` would and flags it."""
    with ProviderEmulator() as emu:
        emu.queue(Reply(text=f"the key: {KEY}", chunk_chars=4))
        model = init_chat_model("openai:gpt-4.1-mini", base_url=emu.base_url("openai"), api_key="sk-other-1")
        with use_cassette(tmp_path / "c.yaml", record_mode="all"):
            list(model.stream("what is my key?"))  # not this session's key: nothing to refuse
    result = CliRunner().invoke(cli, ["cassettes", "verify", str(tmp_path)])
    assert result.exit_code == 1 and "streamed reply, reassembled" in result.output


PLUGIN_TEST = """
import pytest
from harness import init_chat_model
from harness.testing import ProviderEmulator

@pytest.mark.harness(scrub_patterns=[r"acct_[0-9]{6}"])
def test_scrubbed(cassette):
    with ProviderEmulator() as emu:
        model = init_chat_model("openai:gpt-4.1-mini", base_url=emu.base_url("openai"), api_key="sk-x",
                                default_headers={"X-Tenant": "%s"})
        model.invoke("my account is acct_123456")
"""


def test_the_pytest_plugin_takes_secret_headers_from_ini_and_patterns_from_the_marker(pytester):
    pytester.makeini("[pytest]\nharness_secret_headers = X-Tenant\n")
    pytester.makepyfile(test_plugin=PLUGIN_TEST % HEX_TOKEN)
    result = pytester.runpytest_subprocess("--record-mode=all", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    [path] = (pytester.path / "cassettes").rglob("*.yaml")
    [ix] = load_cassette(path)
    assert ix.request.headers["x-tenant"] == "<REDACTED>" and "acct_123456" not in path.read_text()
    assert leaks_in(every_byte(pytester.path / "cassettes"), [HEX_TOKEN]) == []
