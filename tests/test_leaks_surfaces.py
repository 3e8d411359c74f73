"""Nothing leaks through the surfaces added after the first leak audit: suite targets (the user's
traceback is stored and shown), `.env` files, `harness validate`, `--resume`'s cli.json, proxies,
clients of any SDK. Sentinel secrets go in; every byte written or printed is searched for them (raw,
url-encoded, base64, hex) with the helpers of tests/test_leaks.py."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_leaks import leaks_in

from harness.cli import cli
from harness.results.io import iter_records
from harness.testing import ProviderEmulator, Reply

ENV_KEY = "sk-ENVSENTINEL-0123456789abcdef0123456789"
DOTENV_TOKEN = "DOTENV-sentinel-7f3a9c2e5b8d1f4a"
LITERAL_KEY = "sk-LITERALSENTINEL-0123456789abcdef01234"


@pytest.fixture
def emu():
    with ProviderEmulator() as e:
        yield e


def every_byte(root: Path, *but: str) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and p.name not in but)


def run_cli(workdir: Path, args: list[str], env: dict[str, str] | None = None) -> tuple[int, bytes]:
    """`harness ARGS` in `workdir`; returns the exit code and every byte written there or printed."""
    summary = workdir / "step-summary.md"
    result = CliRunner().invoke(cli, args, env={**(env or {}), "GITHUB_STEP_SUMMARY": str(summary)})
    printed = (result.stdout + result.stderr).encode()
    return result.exit_code, every_byte(workdir, "s.yaml", "app.py", ".env") + printed


TARGET_APP = f'''
import os

def leaky(inp):
    api_key = os.environ["OPENAI_API_KEY"]
    token = os.environ["MY_SERVICE_TOKEN"]
    fallback = "{LITERAL_KEY[:10]}" + "{LITERAL_KEY[10:]}"
    inp.model.invoke(inp.messages)
    raise RuntimeError(f"auth failed: key={{api_key}} token={{token}} fallback={{fallback}}")
'''


def test_a_target_traceback_never_shows_a_key_from_the_environment_a_dotenv_or_its_code(
    emu, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY)
    monkeypatch.delenv("MY_SERVICE_TOKEN", raising=False)  # set by the .env below, removed after the test
    (tmp_path / ".env").write_text(f"MY_SERVICE_TOKEN={DOTENV_TOKEN}\n")
    (tmp_path / "app.py").write_text(TARGET_APP)
    (tmp_path / "s.yaml").write_text(
        textwrap.dedent(f"""
        name: leaky
        models:
          - {{model: "openai:gpt-4.1-mini", base_url: "{emu.base_url("openai")}"}}
        cases:
          - {{id: a, prompt: hi, target: "app.py:leaky"}}
        """)
    )
    emu.queue(Reply(text="ok"))
    args = ["run", "s.yaml", "--out", "run", "--report", "report.html", "--junit", "junit.xml"]
    code, data = run_cli(tmp_path, [*args, "--export", "results.csv", "--no-cassettes"])
    assert code == 1
    [record] = iter_records(tmp_path / "run")
    assert "RuntimeError: auth failed" in record["error"] and "sk-…89 (41 chars)" in record["error"]
    assert leaks_in(data, [ENV_KEY, DOTENV_TOKEN, LITERAL_KEY]) == []


CUSTOM_TOKEN = "c0ffee5e-9a1b-4c2d-8e3f-5a6b7c8d9e0f"


def test_a_token_in_a_header_of_any_name_is_scrubbed_so_harness_verifies_its_own_cassettes(emu, tmp_path):
    """An SDK's default header named like nothing secret (`X-Custom`, `X-Session`) that holds a generated
    token: what `cassettes verify` flags, the writer scrubs; the recording still replays."""
    from harness import init_chat_model
    from harness.cassettes import load_cassette, use_cassette

    headers = {"X-Custom": CUSTOM_TOKEN, "X-Session": "s3ss10n" + CUSTOM_TOKEN[:20], "X-Team": "blue"}
    model = init_chat_model(
        "openai:gpt-4.1-mini", base_url=emu.base_url("openai"), api_key="sk-x", default_headers=headers
    )
    emu.queue(Reply(text="recorded"))
    with use_cassette(tmp_path / "c.yaml", record_mode="all"):
        model.invoke("hi")
    [ix] = load_cassette(tmp_path / "c.yaml")
    assert ix.request.headers["x-custom"] == "<REDACTED>" and ix.request.headers["x-team"] == "blue"
    assert leaks_in(every_byte(tmp_path), [CUSTOM_TOKEN, CUSTOM_TOKEN[:20]]) == []
    result = CliRunner().invoke(cli, ["cassettes", "verify", str(tmp_path)])
    assert result.exit_code == 0, result.output
    with use_cassette(tmp_path / "c.yaml", record_mode="none"):
        assert model.invoke("hi").text == "recorded"


LC_FACTORY = '''
from langchain_core.language_models.chat_models import BaseChatModel


class Echoing(BaseChatModel):
    """A LangChain integration whose SDK quotes the key in its error, as some providers do."""

    token: str

    @property
    def _llm_type(self) -> str:
        return "echoing"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        raise PermissionError(f"401 Unauthorized: invalid token {self.token!r}")


def make(secret_token):
    return Echoing(token=secret_token)
'''

PARAM_TOKEN = "tok-PARAMSENTINEL-5e8c2a9f7b1d3e6a"


def test_an_error_of_a_langchain_model_never_shows_the_credential_its_entry_gave(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lc_models.py").write_text(LC_FACTORY)
    (tmp_path / "s.yaml").write_text(
        f'name: lc\nmodels: [{{model: "langchain:lc_models.py:make", id: lc, secret_token: "{PARAM_TOKEN}"}}]\n'
        "cases: [{id: a, prompt: hi}]\n"
    )
    args = ["run", "s.yaml", "--out", "run", "--report", "report.html", "--junit", "junit.xml"]
    code, data = run_cli(tmp_path, [*args, "--no-cassettes"])
    assert code == 1
    [record] = iter_records(tmp_path / "run")
    assert record["error"].startswith("PermissionError: 401 Unauthorized: invalid token 'tok…6a (34 chars)'")
    assert leaks_in(data, [PARAM_TOKEN]) == []


PYTEST_TARGET = """
import os

def leaky(inp):
    api_key = os.environ["LEAKY_API_KEY"]
    raise RuntimeError("auth failed: key=" + api_key)

def test_the_app(harness_target):
    harness_target(leaky, "hi", model="openai:gpt-4.1-mini")
"""

pytest_plugins = ["pytester"]


def test_harness_target_with_showlocals_and_junit_never_prints_the_key(pytester, monkeypatch):
    """The target's exception is gone from every frame pytest prints, not only from the message."""
    monkeypatch.setenv("LEAKY_API_KEY", ENV_KEY)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    pytester.makepyfile(test_app=PYTEST_TARGET)
    result = pytester.runpytest_subprocess("--showlocals", "--junitxml=junit.xml", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    printed = "\n".join(result.outlines + result.errlines)
    assert "TargetError: RuntimeError: auth failed: key=sk-…89 (41 chars)" in printed
    assert leaks_in(printed.encode() + (pytester.path / "junit.xml").read_bytes(), [ENV_KEY]) == []


NESTED_TOKEN = "Bearer nested-SENTINEL-8d2f6a1c9e4b7053"
HEADER_TOKEN = "c0ffee5e-9a1b-4c2d-8e3f-5a6b7c8d9e0f"


def test_run_json_and_errors_hold_no_credential_nested_in_a_model_entry(tmp_path, monkeypatch):
    """Credentials a level deeper (`client_kwargs: {headers: {Authorization: ...}}`) and a token in a
    header of any name are redacted in run.json and masked in the cell's error like top-level ones."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lc_models.py").write_text(
        LC_FACTORY + "\n\ndef nested(client_kwargs, default_headers):\n"
        '    return Echoing(token=client_kwargs["headers"]["Authorization"] + default_headers["X-Custom"])\n'
    )
    (tmp_path / "s.yaml").write_text(
        'name: lc\nmodels:\n  - {model: "langchain:lc_models.py:nested", id: lc,\n'
        f'     client_kwargs: {{headers: {{Authorization: "{NESTED_TOKEN}"}}, timeout: 3}},\n'
        f'     default_headers: {{X-Custom: "{HEADER_TOKEN}", X-Team: blue}}}}\n'
        "cases: [{id: a, prompt: hi}]\n"
    )
    code, data = run_cli(tmp_path, ["run", "s.yaml", "--out", "run", "--no-cassettes", "--models", "lc"])
    assert code == 1
    run_json = (tmp_path / "run" / "run.json").read_text()
    assert '"X-Team": "blue"' in run_json and '"timeout": 3' in run_json
    assert leaks_in(data, [NESTED_TOKEN, NESTED_TOKEN.split()[1], HEADER_TOKEN]) == []


PYTEST_FAILING = """
import os

def test_the_app(chat_model, cassette):
    raise RuntimeError("the app refused key " + os.environ["LEAKY_API_KEY"])
"""


def test_a_failing_tests_error_in_the_plugins_results_and_report_holds_no_key(pytester, monkeypatch):
    """The pytest plugin stores each test's exception as its record's error (results.jsonl, report)."""
    monkeypatch.setenv("LEAKY_API_KEY", ENV_KEY)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    pytester.makepyfile(test_app=PYTEST_FAILING)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--models", "openai:gpt-4.1-mini", "--record-mode", "none",
        "--harness-results", "out/results.jsonl", "--harness-report", "out/report.html",
    )  # fmt: skip
    result.assert_outcomes(failed=1)
    [line] = (pytester.path / "out" / "results.jsonl").read_text().splitlines()
    record = json.loads(line)
    assert record["error"] == "RuntimeError: the app refused key sk-…89 (41 chars)"
    assert leaks_in(every_byte(pytester.path / "out"), [ENV_KEY]) == []


def test_a_miss_report_of_any_httpx_client_masks_the_query_key_once(emu, tmp_path):
    """A plain httpx client (as an SDK's) with `?key=`: recorded scrubbed, its miss report names the
    recorded URL as written (`?key=<REDACTED>`, not `<REDACTED><REDACTED>`) and never the key."""
    import httpx

    from harness.cassettes import use_cassette
    from harness.errors import CassetteMissError

    url = emu.base_url("google_genai") + f"/models/gemini-2.5-flash:generateContent?key={CUSTOM_TOKEN}"
    emu.queue(Reply(text="ok"))
    with use_cassette(tmp_path / "c.yaml", record_mode="all"), httpx.Client() as client:
        client.post(url, json={"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
    with (
        pytest.raises(CassetteMissError) as info,
        use_cassette(tmp_path / "c.yaml", record_mode="none"),
        httpx.Client() as client,
    ):
        client.post(url, json={"contents": [{"role": "user", "parts": [{"text": "bye"}]}]})
    message = str(info.value)
    assert message.count("generateContent?key=<REDACTED>  model=") == 2, message  # this request, the nearest
    assert leaks_in(message.encode() + every_byte(tmp_path), [CUSTOM_TOKEN]) == []


METADATA_APP = """
import os

def debug(inp):
    key = os.environ["OPENAI_API_KEY"]
    return {"output": "done", "metadata": {
        "request": {"headers": {"Authorization": "Bearer " + key, "X-Team": "blue"}, "api_key": key},
        "note": "called with " + key, "turns": 2,
    }}
"""


def test_a_targets_metadata_is_stored_with_its_credentials_redacted(emu, tmp_path, monkeypatch):
    """Metadata a target returns (debug info with the request's headers) is kept in the record and
    shown by the report: credentials in it are redacted as in run.json, known keys masked."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY)
    (tmp_path / "app.py").write_text(METADATA_APP)
    (tmp_path / "s.yaml").write_text(
        f'name: meta\nmodels: [{{model: "openai:gpt-4.1-mini", base_url: "{emu.base_url("openai")}"}}]\n'
        'cases: [{id: a, prompt: hi, target: "app.py:debug"}]\n'
    )
    code, data = run_cli(
        tmp_path, ["run", "s.yaml", "--out", "run", "--report", "report.html", "--no-cassettes"]
    )
    assert code == 0
    [record] = iter_records(tmp_path / "run")
    meta = record["output"]["metadata"]
    assert meta["request"]["headers"] == {"Authorization": "<REDACTED>", "X-Team": "blue"}
    assert meta["turns"] == 2 and meta["note"] == "called with sk-…89 (41 chars)"
    assert leaks_in(data, [ENV_KEY]) == []


PYTEST_PARAMS = """
import os
import pytest

@pytest.mark.parametrize("api_key, region", [(os.environ["LEAKY_API_KEY"], "eu")], ids=["eu"])
def test_the_app(chat_model, api_key, region):
    assert region == "eu"
"""


def test_a_tests_credential_parameters_are_redacted_in_the_plugins_records(pytester, monkeypatch):
    """A test's parameters become its record's `vars`: a credential-named one is <REDACTED>. (Without
    `ids=`, pytest puts the value in the test id itself, hence in the cassette's name.)"""
    monkeypatch.setenv("LEAKY_API_KEY", ENV_KEY)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    pytester.makepyfile(test_app=PYTEST_PARAMS)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--models", "openai:gpt-4.1-mini",
        "--harness-results", "out/results.jsonl", "--harness-report", "out/report.html",
    )  # fmt: skip
    result.assert_outcomes(passed=1)
    [line] = (pytester.path / "out" / "results.jsonl").read_text().splitlines()
    assert json.loads(line)["vars"] == {"api_key": "<REDACTED>", "region": "eu"}
    assert leaks_in(every_byte(pytester.path / "out"), [ENV_KEY]) == []
