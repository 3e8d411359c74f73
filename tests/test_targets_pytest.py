"""The pytest side of targets and traffic records: a test whose calls come from a plain httpx client gets
a results record built from its traffic, and `harness_target` runs a target under the test's cassette
for `assert_passes`. Each project is recorded against the emulator, then replayed with the emulator
stopped and the network blocked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import harness.cassettes  # noqa: F401  loaded before pytester runs (see test_pytest_plugin.py)
import harness.runner.runner  # noqa: F401
from harness.pricing import load_prices
from harness.testing import ProviderEmulator, Reply, ToolCallSpec

pytest_plugins = ["pytester"]

INI = "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"

CONFTEST = """
import json, os
import pytest
from harness.models.init import parse_model_string

@pytest.fixture
def harness_model_kwargs():
    urls = json.loads(os.environ["HARNESS_TEST_BASE_URLS"])
    return lambda model: {"base_url": urls[parse_model_string(model)[1]], "api_key": "sk-test-key"}
"""

APP = '''
import json, os
import httpx
from harness import tool
from harness.http import HarnessTransport


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def agent(inp):
    llm = inp.model.bind_tools([get_weather])
    messages = list(inp.messages)
    while True:
        ai = llm.invoke(messages)
        messages.append(ai)
        if not ai.tool_calls:
            return ai
        messages += [get_weather.invoke(call) for call in ai.tool_calls]


def ask(question):
    """The app's own client: OpenAI's wire format over plain httpx (no harness model)."""
    url = json.loads(os.environ["HARNESS_TEST_BASE_URLS"])["openai"]
    with httpx.Client(transport=HarnessTransport()) as client:
        reply = client.post(
            url + "/chat/completions",
            headers={"authorization": "Bearer sk-app-secret-0123456789"},
            json={"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": question}]},
        )
    return reply.json()["choices"][0]["message"]["content"]


def plain_target(inp):
    return ask(inp.prompt)
'''

TESTS = """
import pytest
from app import ask
from harness.pytest_plugin import assert_passes


@pytest.mark.harness(cassette="plain.yaml")
def test_plain_client():
    assert ask("Capital of France?") == "Paris."


@pytest.mark.harness(cassette="sdk.yaml")
def test_openai_sdk():
    import json, os, openai
    url = json.loads(os.environ["HARNESS_TEST_BASE_URLS"])["openai"]
    with openai.OpenAI(base_url=url, api_key="sk-sdk-secret-0123456789") as client:
        reply = client.chat.completions.create(model="gpt-4.1-mini", messages=[{"role": "user", "content": "Hi"}])
    assert reply.choices[0].message.content == "Hello."


@pytest.mark.harness(models=["openai:gpt-4.1-mini"])
def test_agent(harness_target, chat_model):
    run = harness_target("app.py:agent", "Weather in Paris and Tokyo?")
    assert run.text == "Sunny in both."
    assert [t["args"]["city"] for t in run.tool_trajectory] == ["Paris", "Tokyo"]
    assert len(run.calls) == 2 and run.usage["total_tokens"] == 78
    assert_passes(run, {"type": "tool_called", "name": "get_weather", "times": 2}, {"type": "tokens", "max_total": 100})
    assert_passes(run, "cost", max_usd=0.01)


@pytest.mark.harness(cassette="plain_target.yaml")
async def test_plain_target(harness_target):
    run = await harness_target.arun("app.py:plain_target", "Capital of Spain?", model="openai:gpt-4.1-mini")
    assert run.text == "Madrid." and [c["client"] for c in run.calls] == ["other"]
    assert_passes(run, "tokens", max_total=10)
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("HARNESS_RECORD_MODE", raising=False)
    emulator = ProviderEmulator().start()
    monkeypatch.setenv("HARNESS_TEST_BASE_URLS", json.dumps(emulator.base_urls))
    pytester.makeini(INI)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(app=APP, test_app=TESTS)
    pytester.syspathinsert()
    pytester.emulator = emulator  # type: ignore[attr-defined]
    yield pytester
    emulator.stop()


def _records(path: Path) -> dict[str, dict]:
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {r["case_id"].split("::")[1]: r for r in lines}


def _cost(*usages: tuple[int, int]) -> float:
    table = load_prices()
    cost = sum(
        table.cost("openai", "gpt-4.1-mini", {"input_tokens": i, "output_tokens": o}) or 0 for i, o in usages
    )
    return round(cost, 10)


def test_plain_clients_and_targets_get_records_from_their_traffic_recorded_then_replayed(
    project: pytest.Pytester,
) -> None:
    project.emulator.queue(  # type: ignore[attr-defined]
        Reply(text="Paris.", usage={"input_tokens": 9, "output_tokens": 2}),
        Reply(text="Hello.", usage={"input_tokens": 3, "output_tokens": 2}),
        Reply(
            tool_calls=[
                ToolCallSpec("get_weather", {"city": "Paris"}),
                ToolCallSpec("get_weather", {"city": "Tokyo"}),
            ],
            usage={"input_tokens": 20, "output_tokens": 10},
        ),
        Reply(text="Sunny in both.", usage={"input_tokens": 40, "output_tokens": 8}),
        Reply(text="Madrid.", usage={"input_tokens": 6, "output_tokens": 2}),
    )
    args = ["-p", "no:cacheprovider", "-p", "no:randomly"]
    project.runpytest(*args, "--record-mode=once", "--harness-results", "rec/results.jsonl").assert_outcomes(
        passed=4
    )
    project.emulator.stop()  # type: ignore[attr-defined]
    replay = project.runpytest(
        *args,
        "--block-network",
        "--harness-results",
        "out/results.jsonl",
        "--harness-report",
        "out/report.html",
    )
    replay.assert_outcomes(passed=4)
    for folder, state in (("rec", "recorded"), ("out", "replayed")):
        records = _records(project.path / folder / "results.jsonl")
        plain = records["test_plain_client"]
        assert plain["model"] == "openai:gpt-4.1-mini" and plain["provider"] == "openai"
        assert plain["cassette"]["state"] == state
        assert plain["usage"]["input_tokens"] == 9 and plain["usage"]["output_tokens"] == 2
        assert plain["cost_usd"] == _cost((9, 2))
        assert plain["timing"]["total_ms"] is not None and plain["timing"]["ttft_ms"] is not None
        assert plain["output"]["text"] == "Paris."
        assert [c["client"] for c in plain["calls"]] == ["other"]

        sdk = records["test_openai_sdk"]  # the openai SDK, unchanged
        assert (sdk["model"], sdk["cassette"]["state"], sdk["output"]["text"]) == (
            "openai:gpt-4.1-mini",
            state,
            "Hello.",
        )
        assert sdk["usage"]["total_tokens"] == 5 and sdk["cost_usd"] == _cost((3, 2))
        assert sdk["timing"]["ttft_ms"] is not None

        agent = records["test_agent"]
        assert agent["status"] == "passed" and agent["usage"]["total_tokens"] == 78
        assert agent["cost_usd"] == _cost((20, 10), (40, 8))
        assert [a["type"] for a in agent["assertions"]] == ["tool_called", "tokens", "cost"]
        assert [(c["client"], c["source"], len(c["tool_calls"])) for c in agent["calls"]] == [
            ("harness", state, 2),
            ("harness", state, 0),
        ]

        target = records["test_plain_target"]
        assert target["output"]["text"] == "Madrid." and target["cost_usd"] == _cost((6, 2))
    assert "sk-sdk-secret" not in "".join(p.read_text() for p in (project.path / "cassettes").rglob("*.yaml"))
    assert "sk-app-secret" not in "".join(p.read_text() for p in (project.path / "cassettes").rglob("*.yaml"))
