"""Where harness used to differ from LangChain's model interface (issue 14): each test shows the
LangChain behaviour a user now gets, over real HTTP to the emulator."""

from __future__ import annotations

import asyncio

import pytest
from _helpers import get_weather

from harness import init_chat_model
from harness.callbacks import BaseCallbackHandler
from harness.errors import ModelInvalidRequestError, UnsupportedFeatureError
from harness.messages.core import AIMessage, HumanMessage, SystemMessage, ToolMessage
from harness.testing import Reply, ToolCallSpec

KEY = "sk-test-key"


def _model(emu, name="openai:gpt-4.1-mini", base="openai", **kwargs):
    return init_chat_model(name, base_url=emu.base_url(base), api_key=KEY, max_retries=0, **kwargs)


# --- unknown keyword arguments ---------------------------------------------------------------------


def test_a_misspelt_keyword_warns_and_moves_into_model_kwargs(emulator):
    with pytest.warns(
        UserWarning, match=r"'temprature' is not a parameter openai knows.*Did you mean 'temperature'"
    ):
        model = _model(emulator, temprature=0.2, temperature=0.5)
    assert model.model_kwargs == {"temprature": 0.2}
    # sent as is, as LangChain does, and refused by the API as the real one refuses it
    with pytest.raises(ModelInvalidRequestError, match="temprature"):
        model.invoke("hi")
    body = emulator.requests[-1].body
    assert body["temprature"] == 0.2 and body["temperature"] == 0.5


def test_on_gemini_an_unknown_keyword_is_no_longer_slipped_into_generation_config(emulator):
    with pytest.warns(UserWarning, match="'temprature' is not a parameter google_genai knows"):
        model = _model(emulator, "google_genai:gemini-2.5-flash", "google_genai", temprature=0.2, top_k=3)
    with pytest.raises(ModelInvalidRequestError, match="temprature"):
        model.invoke("hi")
    body = emulator.requests[-1].body
    assert body["temprature"] == 0.2 and body["generationConfig"] == {"topK": 3}


def test_known_provider_keywords_do_not_warn(emulator):
    # warnings are errors in this suite: building these models must not warn
    _model(emulator, seed=1, logprobs=True, reasoning_effort="low", service_tier="flex")
    _model(emulator, "anthropic:claude-sonnet-4-5", "anthropic", top_k=5, thinking={"type": "disabled"})
    _model(emulator, "ollama:llama3.2", "ollama", num_ctx=4096, keep_alive="5m")


# --- astream_events filters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"include_types": ["chat_model"]}, True),
        ({"include_types": ["chain"]}, False),
        ({"exclude_names": ["ChatModel"]}, False),
        ({"include_names": ["ChatModel"], "exclude_tags": ["quiet"]}, False),
        ({"include_tags": ["quiet"]}, True),
        ({"include_names": ["other"], "include_tags": ["loud"]}, False),
    ],
)
def test_astream_events_applies_its_filters_and_sends_none(emulator, filters, expected):
    emulator.queue(Reply(text="a b"))
    model = _model(emulator)

    async def main():
        try:
            events = [e async for e in model.astream_events("hi", {"tags": ["quiet"]}, **filters)]
        finally:
            await model.aclose()
        return events

    events = asyncio.run(main())
    kinds = [e["event"] for e in events]
    if expected:
        assert kinds[0] == "on_chat_model_start" and kinds[-1] == "on_chat_model_end"
        assert "on_chat_model_stream" in kinds
    else:
        assert kinds == []
    body = emulator.requests[-1].body
    assert not set(filters) & set(body)


# --- configured models, callbacks, pretty_print ------------------------------------------------------


def test_with_config_configurable_then_bind_tools_keeps_the_configured_model(emulator):
    model = init_chat_model(
        "openai:gpt-4.1-mini",
        configurable_fields=("model",),
        base_url=emulator.base_url("openai"),
        api_key=KEY,
    )
    configured = model.with_config(configurable={"model": "openai:gpt-4.1"}).bind_tools([get_weather])
    configured.invoke("weather?")
    model.close()
    body = emulator.requests[-1].body
    assert body["model"] == "gpt-4.1" and body["tools"][0]["function"]["name"] == "get_weather"


def test_a_handler_with_only_on_llm_start_gets_the_prompts_as_strings(emulator):
    class Prompts(BaseCallbackHandler):
        def __init__(self):
            self.prompts = []

        def on_llm_start(self, serialized, prompts, **kwargs):
            self.prompts.append(prompts)

    handler = Prompts()
    model = _model(emulator, callbacks=[handler])
    model.invoke([SystemMessage("be brief"), HumanMessage("hi")])
    model.close()
    assert handler.prompts == [["System: be brief\nHuman: hi"]]


def test_pretty_print_matches_langchain(capsys):
    from langchain_core import messages as lc

    call = {"name": "get_weather", "args": {"city": "Oslo"}, "id": "call_1"}
    pairs = [
        (HumanMessage("hi", name="ann"), lc.HumanMessage("hi", name="ann")),
        (AIMessage("Let me check.", tool_calls=[call]), lc.AIMessage("Let me check.", tool_calls=[call])),
        (ToolMessage("sunny", tool_call_id="call_1"), lc.ToolMessage("sunny", tool_call_id="call_1")),
        (SystemMessage("rules"), lc.SystemMessage("rules")),
    ]
    for ours, theirs in pairs:
        assert ours.pretty_repr() == theirs.pretty_repr()
    pairs[1][0].pretty_print()
    out = capsys.readouterr().out
    assert out.startswith("=" * 34 + " Ai Message " + "=" * 34) and "    city: Oslo" in out


# --- parallel_tool_calls ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "base"), [("google_genai:gemini-2.5-flash", "google_genai"), ("ollama:llama3.2", "ollama")]
)
def test_parallel_tool_calls_is_refused_before_sending_where_the_api_has_no_switch(emulator, name, base):
    model = _model(emulator, name, base)
    with pytest.raises(
        UnsupportedFeatureError, match=r"parallel_tool_calls=False: its API has no such setting"
    ):
        model.bind_tools([get_weather], parallel_tool_calls=False)
    with pytest.raises(UnsupportedFeatureError, match="parallel_tool_calls"):
        model.invoke("hi", tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}],
                     parallel_tool_calls=False)  # fmt: skip
    assert emulator.requests == []


@pytest.mark.parametrize(
    ("name", "base", "where"),
    [
        ("openai:gpt-4.1-mini", "openai", lambda b: b["parallel_tool_calls"]),
        (
            "anthropic:claude-sonnet-4-5",
            "anthropic",
            lambda b: not b["tool_choice"]["disable_parallel_tool_use"],
        ),
    ],
)
def test_parallel_tool_calls_false_is_honoured_where_supported(emulator, name, base, where):
    emulator.queue(Reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Oslo"})]))
    model = _model(emulator, name, base)
    model.bind_tools([get_weather], parallel_tool_calls=False).invoke("weather?")
    model.close()
    assert where(emulator.requests[-1].body) is False
