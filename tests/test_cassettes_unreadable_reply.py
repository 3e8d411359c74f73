"""A cassette whose recorded reply was truncated or edited: `harness cassettes verify` parses every reply
with its adapter and reports it; replaying it reports the parse problem, never a misleading miss."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from harness.cli import cli
from harness.results.io import iter_records
from harness.testing import ProviderEmulator

SUITE = """\
name: cut
models: [openai:gpt-4.1-mini, anthropic:claude-haiku-4-5]
cases:
  - id: plain
    prompt: What is the capital of France?
  - id: streamed
    prompt: Tell me a joke
    stream: true
"""


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for k in list(os.environ):
        if k.endswith(("_API_KEY", "_BASE_URL")) or k in ("CI", "HARNESS_RECORD_MODE", "GITHUB_STEP_SUMMARY"):
            monkeypatch.delenv(k)
    (tmp_path / "cut.yaml").write_text(SUITE, encoding="utf-8")
    with ProviderEmulator() as emu:
        env = {
            "OPENAI_BASE_URL": emu.base_url("openai"),
            "ANTHROPIC_BASE_URL": emu.base_url("anthropic"),
            "OPENAI_API_KEY": "sk-test",
            "ANTHROPIC_API_KEY": "sk-ant-test",
        }
        result = CliRunner().invoke(
            cli, ["run", "cut.yaml", "--record-mode", "once", "--no-report", "--out", "runs/rec"], env=env
        )
    assert result.exit_code == 0, result.output
    return tmp_path


def cut_reply(path: Path, keep: float = 0.5) -> None:
    """Truncate the recorded reply body, as a careless edit or a cut-off copy would."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    ix = data["interactions"][0]
    body = ix["response"]["body"]["string"]
    cut = body[: int(len(body) * keep)]
    events_end = cut.rfind("\n\n")  # a stream is cut after a whole event, as a lost connection leaves it
    ix["response"]["body"]["string"] = cut[: events_end + 2] if events_end > 0 else cut
    ix.get("timing", {}).pop("chunks", None)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def cli_run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_verify_parses_every_reply_and_reports_a_truncated_one(workdir):
    code, out = cli_run("cassettes", "verify", "cassettes")
    assert code == 0 and "4 cassettes checked, 0 problems" in out
    cut_reply(workdir / "cassettes/cut/plain/openai-gpt-4.1-mini.yaml")
    cut_reply(workdir / "cassettes/cut/streamed/anthropic-claude-haiku-4-5.yaml")
    code, out = cli_run("cassettes", "verify", "cassettes")
    assert code == 1
    assert (
        "cassettes/cut/plain/openai-gpt-4.1-mini.yaml: interaction #0 reply: the openai adapter cannot parse "
        "the recorded reply: ValueError: response body is not JSON"
    ) in out
    assert (
        "cassettes/cut/streamed/anthropic-claude-haiku-4-5.yaml: interaction #0 reply: the anthropic adapter "
        "cannot parse the recorded reply: ModelAPIError: anthropic: stream ended before message_stop"
    ) in out
    assert "4 cassettes checked, 2 problems" in out
    code, out = cli_run("cassettes", "verify", "cassettes", "--json")
    kinds = {(Path(f["cassette"]).name, f["kind"]) for f in json.loads(out)["findings"]}
    assert kinds == {("openai-gpt-4.1-mini.yaml", "reply"), ("anthropic-claude-haiku-4-5.yaml", "reply")}


def test_replaying_a_truncated_reply_reports_the_parse_problem_not_a_miss(workdir):
    cut_reply(workdir / "cassettes/cut/plain/openai-gpt-4.1-mini.yaml")
    cut_reply(workdir / "cassettes/cut/streamed/anthropic-claude-haiku-4-5.yaml")
    code, out = cli_run("run", "cut.yaml", "--record-mode", "none", "--no-report", "--out", "runs/replay")
    assert code == 1
    records = {(r["case_id"], r["model"]): r for r in iter_records(workdir / "runs/replay")}
    plain = records["plain", "openai:gpt-4.1-mini"]
    assert plain["status"] == "error" and plain["cassette"]["state"] == "replayed"
    assert plain["error"].startswith(
        "CassetteReplyError: cassettes/cut/plain/openai-gpt-4.1-mini.yaml: interaction #0: the recorded "
        "reply cannot be read by the openai adapter (ModelAPIError: openai: expected a JSON body"
    )
    assert 'record it again (record_mode="rewrite")' in plain["error"]
    streamed = records["streamed", "anthropic:claude-haiku-4-5"]
    assert streamed["error"].startswith("CassetteReplyError: ")
    assert "stream ended before message_stop" in streamed["error"]
    assert not any("Miss" in (r["error"] or "") for r in records.values())
    assert records["plain", "anthropic:claude-haiku-4-5"]["status"] == "passed"
