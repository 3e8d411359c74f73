"""The LangChain bridge (issue 13 item 3): harness models inside LangChain (`to_langchain`: chains,
streams, structured output, a `create_agent` tool loop) and LangChain messages inside harness, each
recorded against the emulator and replayed offline with every socket refused."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.callbacks import BaseCallbackHandler, get_usage_metadata_callback
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import tool
from pydantic import BaseModel

import harness.messages as hm
from harness import init_chat_model
from harness.cassettes import use_cassette
from harness.langchain import from_langchain, to_langchain
from harness.pricing import load_prices
from harness.testing import ProviderEmulator, Reply, ToolCallSpec

KEY = "sk-test-langchain-bridge"


@tool
def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"sunny in {city}"


class Movie(BaseModel):
    """A movie."""

    title: str
    year: int


@pytest.fixture
def emu():
    with ProviderEmulator() as e:
        yield e


@pytest.fixture
def offline(monkeypatch, emu):
    """Call it once recording is done: stops the emulator and refuses every outbound connection."""

    def go_offline() -> None:
        emu.stop()

        def refuse(*a: Any, **k: Any) -> None:
            raise AssertionError("replay opened a socket")

        monkeypatch.setattr(socket.socket, "connect", refuse)
        monkeypatch.setattr(socket.socket, "connect_ex", refuse)
        monkeypatch.setattr(socket, "create_connection", refuse)

    return go_offline


@pytest.fixture
def lc_model(emu):
    """`to_langchain(init_chat_model("openai:gpt-4.1-mini"))` on the emulator, closed after the test."""
    model = to_langchain(
        init_chat_model("openai:gpt-4.1-mini", base_url=emu.base_url("openai"), api_key=KEY, max_retries=0)
    )
    yield model
    model.close()


def _agent_trajectory(result: dict[str, Any]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for m in result["messages"]:
        if isinstance(m, AIMessage) and m.tool_calls:
            out.append(("ai", [(c["name"], c["args"]) for c in m.tool_calls]))
        else:
            out.append((m.type, m.content))
    return out


AGENT_REPLIES = (
    Reply(
        tool_calls=[ToolCallSpec("get_weather", {"city": "Boston"})],
        usage={"input_tokens": 40, "output_tokens": 12},
    ),
    Reply(text="It is sunny in Boston.", usage={"input_tokens": 60, "output_tokens": 7}),
)
AGENT_TRAJECTORY = [
    ("human", "Weather in Boston?"),
    ("ai", [("get_weather", {"city": "Boston"})]),
    ("tool", "sunny in Boston"),
    ("ai", "It is sunny in Boston."),
]


def test_a_create_agent_tool_loop_records_then_replays_offline(emu, lc_model, offline, tmp_path):
    assert isinstance(lc_model, BaseChatModel)
    path = tmp_path / "agent.yaml"
    emu.queue(*AGENT_REPLIES)
    agent = create_agent(lc_model, tools=[get_weather], system_prompt="You answer weather questions.")
    with use_cassette(path, record_mode="once") as cas:
        recorded = agent.invoke({"messages": [{"role": "user", "content": "Weather in Boston?"}]})
    assert cas.state == "recorded" and cas.recorded_count == 2
    assert _agent_trajectory(recorded) == AGENT_TRAJECTORY
    sent = emu.requests[0].body
    assert sent["messages"][0] == {"role": "system", "content": "You answer weather questions."}
    assert [t["function"]["name"] for t in sent["tools"]] == ["get_weather"]
    assert emu.requests[1].body["messages"][-1]["role"] == "tool"

    offline()
    with use_cassette(path, record_mode="none") as cas, get_usage_metadata_callback() as usage:
        replayed = agent.invoke({"messages": [{"role": "user", "content": "Weather in Boston?"}]})
    assert cas.state == "replayed" and cas.replayed_count == 2
    assert _agent_trajectory(replayed) == AGENT_TRAJECTORY
    total = usage.usage_metadata["gpt-4.1-mini"]
    assert (total["input_tokens"], total["output_tokens"], total["total_tokens"]) == (100, 19, 119)
    cost = load_prices().cost("openai", "gpt-4.1-mini", dict(total))
    assert cost == pytest.approx((100 * 0.40 + 19 * 1.60) / 1e6)
    ai = [m for m in replayed["messages"] if isinstance(m, AIMessage)]
    assert all(m.response_metadata["timing"]["replayed"] for m in ai)


async def test_the_agent_runs_async_too(emu, lc_model, offline, tmp_path):
    path = tmp_path / "agent_async.yaml"
    emu.queue(*AGENT_REPLIES)
    agent = create_agent(lc_model, tools=[get_weather])
    async with use_cassette(path, record_mode="once"):
        recorded = await agent.ainvoke({"messages": [("user", "Weather in Boston?")]})
    offline()
    async with use_cassette(path, record_mode="none") as cas:
        replayed = await agent.ainvoke({"messages": [("user", "Weather in Boston?")]})
    assert cas.replayed_count == 2
    assert _agent_trajectory(recorded) == _agent_trajectory(replayed) == AGENT_TRAJECTORY


class _Tokens(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.ends: list[Any] = []
        self.starts = 0

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        self.starts += 1

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)

    def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        self.ends.append(response)


def test_a_prompt_pipe_model_chain_streams_with_callbacks_and_replays(emu, lc_model, offline, tmp_path):
    path = tmp_path / "chain.yaml"
    chain = (
        ChatPromptTemplate.from_messages([("system", "Be brief."), ("user", "Capital of {country}?")])
        | lc_model
    )
    emu.queue(
        Reply(text="Paris.", usage={"input_tokens": 9, "output_tokens": 2}),
        Reply(text="Madrid is the capital.", usage={"input_tokens": 9, "output_tokens": 5}),
    )
    with use_cassette(path, record_mode="once"):
        first = chain.invoke({"country": "France"})
        streamed = list(chain.stream({"country": "Spain"}))
    assert first.content == "Paris." and first.usage_metadata["total_tokens"] == 11
    assert emu.requests[0].body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Capital of France?"},
    ]
    assert len([c for c in streamed if c.content]) > 1  # chunks, as the server sent them
    offline()
    handler = _Tokens()
    with use_cassette(path, record_mode="none"):
        again = chain.invoke({"country": "France"}, config={"callbacks": [handler]})
        chunks = list(chain.stream({"country": "Spain"}, config={"callbacks": [handler]}))
    assert again.content == "Paris." and again.usage_metadata == first.usage_metadata
    assert "".join(c.content for c in chunks) == "Madrid is the capital."
    assert "".join(handler.tokens) == "Madrid is the capital."  # on_llm_new_token per streamed chunk
    assert handler.starts == 2 and len(handler.ends) == 2
    assert handler.ends[0].generations[0][0].message.usage_metadata["output_tokens"] == 2


async def test_astream_abatch_and_batch(emu, lc_model):
    emu.queue(Reply(text="one two three"))
    chunks = [c async for c in lc_model.astream("count")]
    assert "".join(c.content for c in chunks) == "one two three"
    assert [m.content for m in await lc_model.abatch(["a", "b"])] == [
        "Emulated reply to: a",
        "Emulated reply to: b",
    ]
    assert [m.content for m in lc_model.batch(["c"])] == ["Emulated reply to: c"]


def test_with_structured_output_goes_through_langchains_tool_parser(emu, lc_model, offline, tmp_path):
    path = tmp_path / "structured.yaml"
    emu.queue(Reply(tool_calls=[ToolCallSpec("Movie", {"title": "Inception", "year": 2010})]))
    structured = lc_model.with_structured_output(Movie, include_raw=True)
    with use_cassette(path, record_mode="once"):
        recorded = structured.invoke("Details about Inception")
    body = emu.requests[0].body
    assert body["tools"][0]["function"]["name"] == "Movie" and body["tool_choice"] == "required"
    offline()
    with use_cassette(path, record_mode="none"):
        replayed = lc_model.with_structured_output(Movie).invoke("Details about Inception")
    assert recorded["parsed"] == replayed == Movie(title="Inception", year=2010)
    assert recorded["parsing_error"] is None and recorded["raw"].tool_calls[0]["name"] == "Movie"


def test_bind_tools_accepts_langchain_tools_and_a_tool_name_as_choice(emu, lc_model):
    emu.queue(Reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Oslo"})]))
    reply = lc_model.bind_tools([get_weather], tool_choice="get_weather").invoke("Oslo?")
    assert reply.tool_calls[0]["args"] == {"city": "Oslo"}
    assert emu.requests[0].body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    result = get_weather.invoke(reply.tool_calls[0])
    assert isinstance(result, ToolMessage) and result.content == "sunny in Oslo"


def test_a_harness_model_takes_langchain_messages_and_prompt_values(emu):
    with init_chat_model("openai:gpt-4.1-mini", base_url=emu.base_url("openai"), api_key=KEY) as model:
        history = [
            SystemMessage("Be brief."),
            HumanMessage("Weather?"),
            AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": "Rome"}, "id": "c1"}]),
            ToolMessage("sunny in Rome", tool_call_id="c1"),
        ]
        model.invoke(history)
        prompt = ChatPromptTemplate.from_messages([("user", "Capital of {country}?")])
        model.invoke(prompt.invoke({"country": "Peru"}))
    sent = [r.body["messages"] for r in emu.requests]
    assert [m["role"] for m in sent[0]] == ["system", "user", "assistant", "tool"]
    assert sent[0][2]["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": '{"city": "Rome"}'}
    assert sent[0][3] == {"role": "tool", "content": "sunny in Rome", "tool_call_id": "c1"}
    assert sent[1] == [{"role": "user", "content": "Capital of Peru?"}]


def test_from_langchain_converts_one_message_or_a_list():
    ai = AIMessage(
        "hi",
        tool_calls=[{"name": "f", "args": {"x": 1}, "id": "c"}],
        usage_metadata={"input_tokens": 3, "output_tokens": 1, "total_tokens": 4},
    )
    one = from_langchain(ai)
    assert isinstance(one, hm.AIMessage)
    assert (one.content, one.tool_calls[0]["args"], one.usage_metadata["total_tokens"]) == ("hi", {"x": 1}, 4)
    many = from_langchain([HumanMessage("q"), ai, ToolMessage("r", tool_call_id="c")])
    assert [type(m) for m in many] == [hm.HumanMessage, hm.AIMessage, hm.ToolMessage]
    assert many[2].tool_call_id == "c"


def test_harness_imports_and_runs_without_langchain_installed(tmp_path):
    """With langchain-core absent, harness (runner and bridge included) imports and works, and the
    bridge names the extra to install."""
    import subprocess
    import sys

    script = """
import sys
for name in [n for n in sys.modules if n.startswith(("langchain", "langgraph"))]:
    del sys.modules[name]
sys.modules["langchain_core"] = None  # as if not installed
import harness, harness.runner, harness.cli, harness.langchain
from harness.messages import convert_to_messages
from harness.errors import ConfigurationError
assert convert_to_messages([("user", "hi")])[0].content == "hi"
try:
    harness.langchain.to_langchain(None)
except ConfigurationError as e:
    print(e)
assert not [n for n in sys.modules if n.startswith("langchain_core") and sys.modules[n] is not None]
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "to_langchain needs langchain-core, which is not installed: pip install 'harness[langchain]'"
    )


@pytest.mark.parametrize("schema", [Movie, Movie.model_json_schema()])
def test_with_structured_output_json_schema_sends_a_response_format(emu, lc_model, schema):
    structured = lc_model.with_structured_output(schema, method="json_schema", include_raw=True)
    result = structured.invoke("Details about Inception")
    fmt = emu.requests[0].body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "Movie"
    assert set(fmt["json_schema"]["schema"]["properties"]) == {"title", "year"}
    parsed = result["parsed"]
    data = parsed.model_dump() if isinstance(parsed, Movie) else parsed
    assert set(data) == {"title", "year"} and result["parsing_error"] is None


def test_json_mode_output_that_is_not_json_is_a_parsing_error_with_include_raw(emu, lc_model):
    emu.queue(Reply(text="not json at all"))
    result = lc_model.with_structured_output(Movie, method="json_mode", include_raw=True).invoke("Inception")
    assert emu.requests[0].body["response_format"] == {"type": "json_object"}
    assert result["parsed"] is None and result["raw"].content == "not json at all"
    assert result["parsing_error"] is not None


def test_a_langgraph_state_graph_with_a_tool_node_records_then_replays(emu, lc_model, offline, tmp_path):
    from langgraph.graph import START, MessagesState, StateGraph
    from langgraph.prebuilt import ToolNode, tools_condition

    llm = lc_model.bind_tools([get_weather])
    graph = StateGraph(MessagesState)
    graph.add_node("model", lambda state: {"messages": [llm.invoke(state["messages"])]})
    graph.add_node("tools", ToolNode([get_weather]))
    graph.add_edge(START, "model")
    graph.add_conditional_edges("model", tools_condition)
    graph.add_edge("tools", "model")
    app = graph.compile()

    path = tmp_path / "graph.yaml"
    emu.queue(*AGENT_REPLIES)
    with use_cassette(path, record_mode="once"):
        recorded = app.invoke({"messages": [HumanMessage("Weather in Boston?")]})
    offline()
    with use_cassette(path, record_mode="none") as cas:
        replayed = app.invoke({"messages": [HumanMessage("Weather in Boston?")]})
    assert cas.replayed_count == 2
    assert _agent_trajectory(recorded) == _agent_trajectory(replayed) == AGENT_TRAJECTORY
    usage = [m.usage_metadata["total_tokens"] for m in replayed["messages"] if isinstance(m, AIMessage)]
    assert usage == [52, 67]


def test_to_langchain_refuses_what_is_not_a_harness_model(lc_model):
    from harness.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="expects a harness chat model .*got str"):
        to_langchain("openai:gpt-4.1-mini")
    with pytest.raises(ConfigurationError, match="got a LangChain chat model already"):
        to_langchain(lc_model)


def test_a_bound_harness_model_keeps_its_params_through_the_bridge(emu):
    model = init_chat_model(
        "openai:gpt-4.1-mini", base_url=emu.base_url("openai"), api_key=KEY, temperature=0
    )
    lc = to_langchain(model.bind(max_tokens=20))
    lc.invoke("hi", stop=["END"])
    body = emu.requests[0].body
    assert (body["temperature"], body["max_completion_tokens"], body["stop"]) == (0, 20, ["END"])
    assert lc._identifying_params["bound"] == {"max_tokens": 20}
    lc.close()


async def test_a_langchain_model_as_a_harness_model_answers_with_harness_messages():
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from harness.langchain import LangChainChatModel

    model = LangChainChatModel(FakeListChatModel(responses=["Hello Ann", "Bye Bob"]))
    reply = model.invoke([hm.SystemMessage("Be brief."), ("user", "hi")])
    assert isinstance(reply, hm.AIMessage) and reply.content == "Hello Ann"
    assert reply.response_metadata["timing"]["source"] == "measured"
    chunks = [c async for c in model.astream("bye")]
    assert all(isinstance(c, hm.AIMessageChunk) for c in chunks)
    assert "".join(c.content for c in chunks) == "Bye Bob"
    assert chunks[-1].response_metadata["timing"]["replayed"] is False
    with pytest.raises(ValueError, match="not supported; use method='function_calling'"):
        model.invoke("x", response_format={"type": "json_object"})
