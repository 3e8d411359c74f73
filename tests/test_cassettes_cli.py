"""`harness cassettes ls|show|verify|prune PATH [--json]`. Issue #3 item 8."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml
from click.testing import CliRunner

from harness import init_chat_model, tool
from harness.cassettes import load_cassette, use_cassette
from harness.cli.cassettes import cassettes_group
from harness.messages.core import HumanMessage, ToolMessage
from harness.testing import ProviderEmulator, Reply, ToolCallSpec

KEY = "sk-SENTINEL-cli-0123456789abcdef"


@tool
def get_weather(city: str) -> str:
    """Weather in a city."""
    return f"Sunny in {city}"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A directory with a tool-loop cassette (invoke + stream) and a plain one."""
    root = tmp_path_factory.mktemp("cassettes")
    with ProviderEmulator() as emu:
        model = init_chat_model("openai:gpt-4.1-mini", base_url=emu.base_url("openai"), api_key=KEY)
        emu.queue(
            Reply(
                tool_calls=[ToolCallSpec("get_weather", {"city": "Oslo"}, id="call_w1")],
                usage={"input_tokens": 30, "output_tokens": 7},
            ),
            Reply(text="It is sunny in Oslo.", usage={"input_tokens": 45, "output_tokens": 6}),
        )
        with use_cassette(root / "loop.yaml", record_mode="all"):
            bound = model.bind_tools([get_weather])
            msgs = [HumanMessage("Weather in Oslo?")]
            ai = bound.invoke(msgs)
            msgs += [ai, ToolMessage("Sunny in Oslo", tool_call_id=ai.tool_calls[0]["id"])]
            list(bound.stream(msgs))
        with use_cassette(root / "sub" / "plain.yaml", record_mode="all"):
            model.invoke("hello")
    return root


def run(*args):
    return CliRunner().invoke(cassettes_group, list(args), catch_exceptions=False)


def harness_cli(*args):
    """The installed entry point, for exit codes and the one-line errors."""
    return subprocess.run(
        [sys.executable, "-m", "harness", "cassettes", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )


def test_ls_lists_counts_and_dates(recorded):
    res = run("ls", str(recorded))
    assert res.exit_code == 0
    assert "loop.yaml" in res.output and "2 interactions" in res.output and "openai" in res.output
    rows = json.loads(run("ls", str(recorded), "--json").output)
    by_name = {os.path.basename(r["path"]): r for r in rows}
    assert by_name["loop.yaml"]["interactions"] == 2 and by_name["loop.yaml"]["streamed"] == 1
    assert by_name["plain.yaml"]["interactions"] == 1
    assert by_name["loop.yaml"]["recorded_first"].startswith("20")


def test_show_reads_as_a_conversation(recorded):
    res = run("show", str(recorded / "loop.yaml"))
    assert res.exit_code == 0, res.output
    out = res.output
    assert "user: Weather in Oslo?" in out
    assert 'tool call get_weather({"city": "Oslo"})  id=call_w1' in out
    assert "tool: Sunny in Oslo" in out and "→ ai: It is sunny in Oslo." in out
    assert "usage in 30 / out 7" in out and "finish tool_calls" in out
    assert "stream" in out and "ttft" in out


def test_show_json_gives_the_reply_parsed_by_the_adapter(recorded):
    data = json.loads(run("show", str(recorded / "loop.yaml"), "--json").output)
    first, second = data
    assert first["provider"] == "openai" and first["endpoint"] == "/v1/chat/completions"
    assert first["model"] == "gpt-4.1-mini" and first["streamed"] is False and second["streamed"] is True
    assert first["reply"]["tool_calls"] == [
        {"name": "get_weather", "args": {"city": "Oslo"}, "id": "call_w1"}
    ]
    assert first["reply"]["finish_reason"] == "tool_calls"
    assert first["reply"]["usage_metadata"]["input_tokens"] == 30
    assert second["reply"]["text"] == "It is sunny in Oslo." and second["reply"]["tool_calls"] == []
    assert second["reply"]["usage_metadata"]["output_tokens"] == 6
    assert second["reply"]["finish_reason"] == "stop"


def test_verify_passes_clean_cassettes_and_fails_on_findings(recorded, tmp_path):
    assert run("verify", str(recorded)).exit_code == 0
    leaky = {
        "version": 1,
        "interactions": [
            {
                "request": {
                    "method": "POST",
                    "uri": "https://api.openai.com/v1/chat/completions?key=AIzaSyLEAKEDLEAKEDLEAKED",
                    "headers": {"Authorization": ["Bearer sk-proj-" + "a" * 48]},
                    "body": "{}",
                },
                "response": {
                    "status": {"code": 200, "message": "OK"},
                    "headers": {},
                    "body": {"string": "data: x\n\n"},
                },
                "timing": {"ttfb_ms": 1, "total_ms": 2, "chunks": [[1, 5], [0.5, 99]]},
            }
        ],
    }
    (tmp_path / "leaky.yaml").write_text(yaml.safe_dump(leaky))
    (tmp_path / "broken.yaml").write_text("interactions: [\n")
    res = run("verify", str(tmp_path), "--json")
    assert res.exit_code == 1
    findings = json.loads(res.output)["findings"]
    kinds = sorted((os.path.basename(f["cassette"]), f["kind"]) for f in findings)
    assert ("broken.yaml", "schema") in kinds
    messages = " | ".join(f["message"] for f in findings)
    assert "'Authorization' holds an unredacted value" in messages
    assert "query parameter 'key'" in messages
    assert "lengths sum to 104" in messages and "non-decreasing" in messages
    assert "credential" in messages


def test_prune_removes_what_no_run_used(tmp_path):
    path = tmp_path / "p.yaml"
    log = tmp_path / "usage.jsonl"
    with ProviderEmulator() as emu:
        model = init_chat_model("openai:gpt-4.1-mini", base_url=emu.base_url("openai"), api_key=KEY)
        with use_cassette(path, record_mode="all"):
            for q in ("keep me", "stale 1", "stale 2"):
                model.invoke(q)
    with use_cassette(path, record_mode="none", usage_log=log):
        model.invoke("keep me")
    dry = run("prune", str(tmp_path), "--usage", str(log), "--dry-run")
    assert "kept 1, would remove 2" in dry.output and len(load_cassette(path)) == 3
    res = run("prune", str(path), "--usage", str(log), "--json")
    assert json.loads(res.output)[0]["removed"] == 2
    assert [ix.request.json()["messages"][0]["content"] for ix in load_cassette(path)] == ["keep me"]
    with use_cassette(path, record_mode="none", strict=True):  # still replays
        model.invoke("keep me")


def test_bad_input_exits_2_with_one_line(tmp_path):
    res = harness_cli("ls", str(tmp_path / "missing"))
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1 and "missing" in res.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("interactions:\n  - request: [\n")
    res = harness_cli("show", str(bad))
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1 and "bad.yaml:" in res.stderr
    res = harness_cli("prune", str(tmp_path), "--usage", str(tmp_path / "nope.jsonl"))
    assert res.returncode == 2 and "usage log" in res.stderr


def test_verify_exit_code_through_the_entry_point(recorded, tmp_path):
    assert harness_cli("verify", str(recorded)).returncode == 0
    (tmp_path / "x.yaml").write_text("nonsense: true\n")
    res = harness_cli("verify", str(tmp_path))
    assert res.returncode == 1 and "schema" in res.stdout
