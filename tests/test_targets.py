"""Suite targets (docs/targets.md): the user's function runs under each cell's cassette; its model calls,
through a harness model or a plain httpx client, are read from the traffic into the one results record,
recorded against the emulator and replayed offline with every socket refused."""

from __future__ import annotations

import socket
import textwrap
from pathlib import Path

import pytest
from _helpers import TOOL_LOOP_TARGET

from harness.pricing import load_prices
from harness.results import read_records
from harness.runner import Runner, RunOptions
from harness.suite.spec import load_suite
from harness.testing import ProviderEmulator, Reply, ToolCallSpec

APP = (
    """
import datetime
import httpx
from harness.http import HarnessTransport
"""
    + TOOL_LOOP_TARGET
    + '''

async def async_agent(inp):
    ai = await inp.model.ainvoke(inp.messages)
    return ai.text


def plain(inp):
    """The app's own HTTP code: OpenAI's wire format over a plain httpx client, no harness model."""
    with httpx.Client(transport=HarnessTransport()) as client:
        reply = client.post(
            inp.vars["base_url"] + "/chat/completions",
            headers={"authorization": "Bearer sk-app-key-0123456789abcdef"},
            json={"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": inp.prompt}],
                  "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]},
        ).json()
        call = reply["choices"][0]["message"]["tool_calls"][0]
        follow = client.post(
            inp.vars["base_url"] + "/chat/completions",
            headers={"authorization": "Bearer sk-app-key-0123456789abcdef"},
            json={"model": "gpt-4.1-mini", "messages": [
                {"role": "user", "content": inp.prompt},
                reply["choices"][0]["message"],
                {"role": "tool", "tool_call_id": call["id"], "content": "42"},
            ]},
        ).json()
    return follow["choices"][0]["message"]["content"]


def sdk(inp):
    """An app written on the openai SDK, unchanged: a tool call, then the answer; returns the ChatCompletion."""
    import openai

    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}]
    with openai.OpenAI(base_url=inp.vars["base_url"], api_key="sk-sdk-key-0123456789abcdef") as client:
        messages = [{"role": "user", "content": inp.prompt}]
        first = client.chat.completions.create(model="gpt-4.1-mini", messages=messages, tools=tools)
        msg = first.choices[0].message
        messages.append(msg.model_dump(exclude_none=True))
        messages += [{"role": "tool", "tool_call_id": c.id, "content": "42"} for c in msg.tool_calls]
        return client.chat.completions.create(model="gpt-4.1-mini", messages=messages, tools=tools)


async def sdk_stream(inp):
    """The async openai SDK, streaming with usage."""
    import openai

    async with openai.AsyncOpenAI(base_url=inp.vars["base_url"], api_key="sk-sdk-key-0123456789abcdef") as client:
        stream = await client.chat.completions.create(
            model="gpt-4.1-mini", messages=[{"role": "user", "content": inp.prompt}], stream=True,
            stream_options={"include_usage": True},
        )
        return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])


def langchain(inp):
    """LangChain's ChatOpenAI, unchanged: the target returns its LangChain AIMessage."""
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(model="gpt-4.1-mini", base_url=inp.vars["base_url"], api_key="sk-lc-key-0123456789abcdef")
    return llm.invoke(inp.prompt)


def lc_agent(inp):
    """A LangChain agent (create_agent) over TargetInput.model, bridged with to_langchain."""
    from langchain.agents import create_agent
    from langchain_core.tools import tool as lc_tool

    from harness.langchain import to_langchain

    @lc_tool
    def lookup_weather(city: str) -> str:
        """The weather in a city."""
        return f"sunny in {city}"

    agent = create_agent(to_langchain(inp.model), tools=[lookup_weather])
    state = agent.invoke({"messages": [{"role": "user", "content": inp.prompt}]})
    return state["messages"][-1]


async def structured(inp):
    seen = {"case_id": inp.case_id, "model_string": inp.model_string, "prompt": inp.prompt,
            "messages": len(inp.messages), "repeat": inp.repeat, "model": type(inp.model).__name__}
    return {"output": {"city": inp.vars["city"]}, "metadata": {**seen, "when": datetime.date(2026, 1, 2)}}


def broken(inp):
    inp.model.invoke("hello")
    raise RuntimeError("the app fell over")


def not_a_function_either():
    pass


NOT_CALLABLE = 3
'''
)

SUITE = """\
name: app
models:
  - {{model: "openai:gpt-4.1-mini", base_url: "{base}", api_key: sk-test-0123456789abcdef}}
vars: {{base_url: "{base}"}}
cases:
  - id: weather
    target: app.py:agent
    prompt: Weather in Paris and Tokyo?
    assert:
      - {{type: icontains, value: sunny}}
      - {{type: tool_called, name: get_weather, times: 2}}
      - {{type: tool_trajectory, tools: [get_weather, get_weather]}}
      - {{type: tokens, max_total: 100}}
      - {{type: cost, max_usd: 0.01}}
  - id: answer
    target: app.py:async_agent
    prompt: Capital of France?
  - id: plain
    target: app.py:plain
    prompt: What is six times seven?
    assert:
      - {{type: contains, value: "42"}}
      - {{type: tool_called, name: lookup}}
  - id: broken
    target: app.py:broken
  - id: sdk
    target: app.py:sdk
    prompt: What is six times seven, looked up?
    assert:
      - {{type: contains, value: "42"}}
      - {{type: tool_trajectory, tools: [lookup]}}
      - {{type: cost, max_usd: 0.01}}
  - id: sdk_stream
    target: app.py:sdk_stream
    prompt: Count to three.
  - id: lc_agent
    target: app.py:lc_agent
    prompt: Weather in Oslo?
    assert:
      - {{type: tool_trajectory, tools: [lookup_weather]}}
      - {{type: icontains, value: sunny}}
  - id: structured
    target: app.py:structured
    vars: {{city: Paris}}
    assert:
      - {{type: contains, value: Paris}}
  - id: langchain
    target: app.py:langchain
    prompt: Say hello.
    assert:
      - {{type: icontains, value: hello}}
      - {{type: tokens, max_total: 20}}
"""

WEATHER_CALLS = [
    Reply(
        tool_calls=[
            ToolCallSpec("get_weather", {"city": "Paris"}),
            ToolCallSpec("get_weather", {"city": "Tokyo"}),
        ],
        usage={"input_tokens": 20, "output_tokens": 10},
    ),
    Reply(text="It is sunny in both.", usage={"input_tokens": 40, "output_tokens": 8}),
]


def _queue(emu: ProviderEmulator) -> None:
    emu.queue(*WEATHER_CALLS)
    emu.queue(Reply(text="Paris.", usage={"input_tokens": 5, "output_tokens": 2}))
    emu.queue(
        Reply(tool_calls=[ToolCallSpec("lookup", {})], usage={"input_tokens": 12, "output_tokens": 3}),
        Reply(text="It is 42.", usage={"input_tokens": 30, "output_tokens": 4}),
    )
    emu.queue(Reply(text="hi", usage={"input_tokens": 1, "output_tokens": 1}))
    emu.queue(
        Reply(tool_calls=[ToolCallSpec("lookup", {})], usage={"input_tokens": 14, "output_tokens": 5}),
        Reply(text="The answer is 42.", usage={"input_tokens": 33, "output_tokens": 6}),
    )
    emu.queue(Reply(text="one two three", usage={"input_tokens": 7, "output_tokens": 3}))
    emu.queue(
        Reply(
            tool_calls=[ToolCallSpec("lookup_weather", {"city": "Oslo"})],
            usage={"input_tokens": 16, "output_tokens": 6},
        ),
        Reply(text="Sunny in Oslo.", usage={"input_tokens": 28, "output_tokens": 4}),
    )
    emu.queue(Reply(text="Hello there.", usage={"input_tokens": 4, "output_tokens": 3}))


def _refuse_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*a: object, **k: object) -> None:
        raise AssertionError("replay opened a socket")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _run(folder: Path, mode: str, out: str) -> dict[str, dict]:
    runner = Runner(
        load_suite(folder / "suite.yaml"),
        RunOptions(cassettes_dir=folder / "cassettes", record_mode=mode, out=folder / out, concurrency=1),
    )
    result = runner.run()
    return {r["case_id"]: r for r in read_records(result.run_dir)}


@pytest.fixture
def app(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(textwrap.dedent(APP))
    return tmp_path


def _cost(usages: list[tuple[int, int]]) -> float:
    table = load_prices()
    total = sum(
        table.cost("openai", "gpt-4.1-mini", {"input_tokens": i, "output_tokens": o}) or 0 for i, o in usages
    )
    return round(total, 10)


def test_targets_record_then_replay_offline_with_their_calls_trajectory_usage_and_cost(
    app: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ProviderEmulator() as emu:
        (app / "suite.yaml").write_text(SUITE.format(base=emu.base_url("openai")))
        _queue(emu)
        recorded = _run(app, "once", "run1")
        _refuse_sockets(monkeypatch)
    replayed = _run(app, "none", "run2")
    called = [k for k in recorded if k not in ("broken", "structured")]
    assert {recorded[k]["cassette"]["state"] for k in called} == {"recorded"}
    assert {replayed[k]["cassette"]["state"] for k in called} == {"replayed"}
    for records in (recorded, replayed):
        weather = records["weather"]
        assert weather["status"] == "passed", weather["assertions"]
        assert [c["tool_calls"] and [t["name"] for t in c["tool_calls"]] for c in weather["calls"]] == [
            ["get_weather", "get_weather"],
            [],
        ]
        assert [t["args"] for t in weather["tool_trajectory"]] == [{"city": "Paris"}, {"city": "Tokyo"}]
        assert [c["client"] for c in weather["calls"]] == ["harness", "harness"]
        assert weather["usage"]["input_tokens"] == 60 and weather["usage"]["output_tokens"] == 18
        assert weather["cost_usd"] == _cost([(20, 10), (40, 8)])
        assert weather["output"]["text"] == "It is sunny in both."
        assert weather["output"]["metadata"] == {"turns": 5}
        assert weather["timing"]["total_ms"] == pytest.approx(sum(c["latency_ms"] for c in weather["calls"]))

        assert records["answer"]["output"]["text"] == "Paris." and len(records["answer"]["calls"]) == 1

        plain = records["plain"]
        assert plain["status"] == "passed", plain["assertions"]
        assert [c["client"] for c in plain["calls"]] == ["other", "other"]
        assert [c["model"] for c in plain["calls"]] == ["gpt-4.1-mini", "gpt-4.1-mini"]
        assert [t["name"] for t in plain["tool_trajectory"]] == ["lookup"]
        assert plain["usage"]["total_tokens"] == 49
        assert plain["cost_usd"] == _cost([(12, 3), (30, 4)])
        sdk = records["sdk"]  # the openai SDK, unchanged: its calls are recorded, replayed and read
        assert sdk["status"] == "passed", sdk["assertions"]
        assert [c["client"] for c in sdk["calls"]] == ["other", "other"]
        assert [t["name"] for t in sdk["tool_trajectory"]] == ["lookup"]
        assert sdk["usage"]["input_tokens"] == 47 and sdk["usage"]["output_tokens"] == 11
        assert sdk["cost_usd"] == _cost([(14, 5), (33, 6)])
        assert sdk["output"]["text"] == "The answer is 42."
        stream = records["sdk_stream"]
        assert stream["output"]["text"] == "one two three" and stream["calls"][0]["streamed"] is True
        assert stream["usage"]["total_tokens"] == 10 and stream["timing"]["ttft_ms"] is not None
        data = records["structured"]  # JSON data returned: the structured output, no model call
        assert data["status"] == "passed" and data["output"]["structured"] == {"city": "Paris"}
        assert data["output"]["metadata"] == {
            "case_id": "structured",
            "model_string": "openai:gpt-4.1-mini",
            "prompt": None,
            "messages": 0,
            "repeat": 0,
            "model": "ChatModel",
            "when": "2026-01-02",  # what JSON cannot hold is kept as its text
        }
        assert data["calls"] == []
        assert data["cassette"]["state"] == "unused" and data["cost_usd"] is None
        agent = records["lc_agent"]  # create_agent over to_langchain(inp.model): the graph's whole run
        assert agent["status"] == "passed", agent["assertions"]
        assert [c["client"] for c in agent["calls"]] == ["harness", "harness"]
        assert agent["usage"]["total_tokens"] == 54 and agent["cost_usd"] == _cost([(16, 6), (28, 4)])
        lc = records["langchain"]  # a LangChain message returned, its call read from the traffic
        assert lc["status"] == "passed", lc["assertions"]
        assert lc["output"]["text"] == "Hello there." and lc["usage"]["total_tokens"] == 7
        assert lc["cost_usd"] == _cost([(4, 3)])
    assert replayed["weather"]["cost_avoided_usd"] == replayed["weather"]["cost_usd"]
    stored = "".join(p.read_text() for p in (app / "cassettes").rglob("*.yaml"))
    assert "sk-app-key" not in stored and "sk-sdk-key" not in stored and "sk-lc-key" not in stored


def test_a_target_that_raises_is_a_cell_error_with_its_traceback_and_the_calls_it_made(app: Path) -> None:
    with ProviderEmulator() as emu:
        (app / "suite.yaml").write_text(SUITE.format(base=emu.base_url("openai")))
        _queue(emu)
        records = _run(app, "once", "run")
    broken = records["broken"]
    assert broken["status"] == "error"
    first, *rest = broken["error"].splitlines()
    assert first == "RuntimeError: the app fell over"  # what the console's failure line shows
    assert "Traceback (most recent call last):" in rest and rest[-1] == first
    assert 'app.py", line' in broken["error"] and "in broken" in broken["error"]
    assert "harness/runner" not in broken["error"]  # the user's frames only
    assert len(broken["calls"]) == 1 and broken["usage"]["total_tokens"] == 2
    assert records["weather"]["status"] == "passed"  # one target's crash stops no other cell


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (
            "app.py:missing",
            "cases[0].target: `target` 'app.py:missing': module 'app.py' has no attribute 'missing'",
        ),
        ("nowhere.py:f", "cases[0].target: `target` 'nowhere.py:f': cannot import 'nowhere.py'"),
        (
            "app.py:NOT_CALLABLE",
            "cases[0].target: `target` 'app.py:NOT_CALLABLE' is not a function (it is int)",
        ),
    ],
)
def test_a_bad_target_is_one_located_line_and_exit_2(app: Path, target: str, expected: str) -> None:
    from click.testing import CliRunner

    from harness.cli import cli

    (app / "suite.yaml").write_text(
        f"name: app\nmodels: [openai:gpt-4.1-mini]\ncases:\n  - id: a\n    target: {target}\n"
    )
    result = CliRunner().invoke(cli, ["run", str(app / "suite.yaml"), "--no-cassettes"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and f"suite.yaml:5: {expected}" in lines[0], result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("suite", "expected"),
    [
        (
            "name: t\ntarget: app.py:agent\ncases:\n  - id: a\n    stream: true\n",
            "s.yaml:4: cases[0]: case 'a' has a target, which makes its own model calls: remove 'stream'",
        ),
        (
            "name: t\ncases:\n  - id: a\n    target: app.py:agent\n    tools: [{name: x, returns: y}]\n",
            "s.yaml:3: cases[0]: case 'a' has a target, which makes its own model calls: remove 'tools'",
        ),
        (
            "name: t\ncases:\n  - id: a\n",
            "s.yaml:3: cases[0]: a case needs exactly one of 'prompt' or 'messages' (or a 'target')",
        ),
        (
            "name: t\ntarget: app\ncases:\n  - id: a\n",
            "s.yaml:2: target: `target` must look like 'package.module:name'",
        ),
    ],
)
def test_suite_files_with_targets_are_checked_when_they_load(suite: str, expected: str) -> None:
    from harness.errors import SuiteError
    from harness.suite.spec import parse_suite

    with pytest.raises(SuiteError) as err:
        parse_suite(suite, "s.yaml")
    assert str(err.value).startswith(expected)


def test_a_suite_target_runs_cases_without_input_of_their_own() -> None:
    from harness.suite.spec import parse_suite

    suite = parse_suite(
        "name: t\ntarget: app.py:agent\ncases:\n  - id: a\n  - id: b\n    target: x.py:f\n", "s.yaml"
    )
    assert [(ec.target, ec.messages()) for ec in suite.expand()] == [("app.py:agent", []), ("x.py:f", [])]


LC_FACTORY = """
from langchain_openai import ChatOpenAI


def make(**params):
    return ChatOpenAI(model="gpt-4.1-mini", **params)


def answer(inp):
    return inp.model.invoke(inp.messages)
"""


def test_a_targets_model_for_a_langchain_entry_is_the_runs_langchain_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "lc_app.py").write_text(LC_FACTORY)
    with ProviderEmulator() as emu:
        (tmp_path / "suite.yaml").write_text(
            "name: lc\nmodels:\n  - {model: 'langchain:lc_app.py:make', id: lc, base_url: '"
            + emu.base_url("openai")
            + "', api_key: sk-lc-0123456789abcdef}\n"
            "target: lc_app.py:answer\ncases:\n  - id: hi\n    prompt: Say hi.\n"
        )
        emu.queue(Reply(text="Hi!", usage={"input_tokens": 3, "output_tokens": 2}))
        recorded = _run(tmp_path, "once", "run1")
        _refuse_sockets(monkeypatch)
    replayed = _run(tmp_path, "none", "run2")
    for records, state in ((recorded, "recorded"), (replayed, "replayed")):
        hi = records["hi"]
        assert (hi["status"], hi["output"]["text"], hi["cassette"]["state"]) == ("passed", "Hi!", state)
        assert hi["usage"]["total_tokens"] == 5 and hi["cost_usd"] == _cost([(3, 2)])
        assert [c["client"] for c in hi["calls"]] == ["other"]  # ChatOpenAI's own client, read from traffic
