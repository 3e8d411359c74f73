"""Structured output, configurable models, callbacks and init_chat_model, over loopback HTTP."""

from __future__ import annotations

import json
import threading
from typing import TypedDict

import pytest
from pydantic import BaseModel, ValidationError

from harness import init_chat_model
from harness.callbacks import BaseCallbackHandler, UsageMetadataCallbackHandler, get_usage_metadata_callback
from harness.errors import ModelNotFoundError, ModelRefusalError, OutputParserException, UnknownProviderError
from harness.messages.core import AIMessage
from harness.testing import Fault, Reply, ToolCallSpec


class Movie(BaseModel):
    """A film."""

    title: str
    year: int


class MovieDict(TypedDict):
    """A film."""

    title: str
    year: int


MOVIE_SCHEMA = {
    "title": "Movie",
    "description": "A film.",
    "type": "object",
    "properties": {"title": {"type": "string"}, "year": {"type": "integer"}},
    "required": ["title", "year"],
}
INCEPTION = {"title": "Inception", "year": 2010}


def _reply_for(method: str) -> Reply:
    if method == "function_calling":
        return Reply(tool_calls=[ToolCallSpec("Movie", INCEPTION)])
    return Reply(text=json.dumps(INCEPTION))


@pytest.mark.parametrize("method", ["json_schema", "function_calling", "json_mode"])
@pytest.mark.parametrize(
    "schema", [Movie, MovieDict, MOVIE_SCHEMA], ids=["pydantic", "typeddict", "jsonschema"]
)
def test_structured_output_every_schema_kind_and_method(emulator, openai_model, schema, method):
    emulator.queue(_reply_for(method))
    result = openai_model.with_structured_output(schema, method=method).invoke("Inception?")
    if schema is Movie:
        assert result == Movie(**INCEPTION)
    else:
        assert result == INCEPTION
    body = emulator.requests[-1].body
    if method == "json_schema":
        assert body["response_format"]["type"] == "json_schema"
        assert body["response_format"]["json_schema"]["name"] == getattr(schema, "__name__", "Movie")
        assert body["response_format"]["json_schema"]["schema"]["properties"]["year"] == {"type": "integer"}
    elif method == "function_calling":
        name = getattr(schema, "__name__", "Movie")
        assert body["tool_choice"] == {"type": "function", "function": {"name": name}}
        assert body["parallel_tool_calls"] is False
    else:
        assert body["response_format"] == {"type": "json_object"}


@pytest.mark.parametrize("method", ["json_schema", "function_calling", "json_mode"])
def test_include_raw_returns_raw_parsed_and_error(emulator, openai_model, method):
    emulator.queue(_reply_for(method))
    out = openai_model.with_structured_output(Movie, method=method, include_raw=True).invoke("x")
    assert isinstance(out["raw"], AIMessage)
    assert out["parsed"] == Movie(**INCEPTION) and out["parsing_error"] is None


def test_unparseable_output_raises_unless_include_raw(emulator, openai_model):
    emulator.queue(Reply(text="not json at all"), Reply(text="not json at all"))
    with pytest.raises(OutputParserException, match="not json at all"):
        openai_model.with_structured_output(Movie, method="json_schema").invoke("x")
    out = openai_model.with_structured_output(Movie, method="json_schema", include_raw=True).invoke("x")
    assert out["parsed"] is None and isinstance(out["parsing_error"], OutputParserException)


def test_function_calling_without_a_call_returns_none_and_bad_args_raise(emulator, openai_model):
    emulator.queue(Reply(text="I won't call it"), Reply(tool_calls=[ToolCallSpec("Movie", {"title": "X"})]))
    assert openai_model.with_structured_output(Movie, method="function_calling").invoke("x") is None
    with pytest.raises(ValidationError):
        openai_model.with_structured_output(Movie, method="function_calling").invoke("x")


def test_refusal_raises_model_refusal_error(emulator, openai_model):
    emulator.queue(Reply(refusal="I can't help with that."))
    with pytest.raises(ModelRefusalError, match="can't help"):
        openai_model.with_structured_output(Movie).invoke("x")


def test_structured_output_streams_and_strict_flag(emulator, openai_model):
    emulator.queue(Reply(text=json.dumps(INCEPTION), chunk_chars=3))
    runnable = openai_model.with_structured_output(Movie, strict=True)
    assert list(runnable.stream("x")) == [Movie(**INCEPTION)]
    assert emulator.requests[-1].body["response_format"]["json_schema"]["strict"] is True


async def test_structured_output_async_batch(emulator, openai_model):
    emulator.queue(_reply_for("json_schema"), _reply_for("json_schema"))
    out = await openai_model.with_structured_output(Movie).abatch(["a", "b"])
    assert out == [Movie(**INCEPTION)] * 2


# --- init_chat_model ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "provider", "name"),
    [
        ("openai:gpt-4.1-mini", "openai", "gpt-4.1-mini"),
        ("gpt-4o", "openai", "gpt-4o"),
        ("o3-mini", "openai", "o3-mini"),
        ("claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5"),
        ("gemini-2.5-flash", "google_genai", "gemini-2.5-flash"),
        ("ollama:llama3:8b", "ollama", "llama3:8b"),
    ],
)
def test_init_chat_model_parses_and_infers_provider(model, provider, name):
    from harness.models.init import parse_model_string

    assert parse_model_string(model) == (name, provider)


def test_unknown_provider_suggests_the_closest():
    with pytest.raises(UnknownProviderError, match=r"unknown provider 'opnai'. Did you mean 'openai'\?"):
        init_chat_model("opnai:gpt-4o", api_key="k")


def test_uninferable_model_lists_providers():
    with pytest.raises(ValueError, match="Unable to infer model provider for model='llama3'"):
        init_chat_model("llama3")


def test_empty_model_name_is_refused():
    with pytest.raises(ValueError, match=r"names no model after 'openai:'"):
        init_chat_model("openai:", api_key="k")


def test_non_string_model_is_a_type_error():
    with pytest.raises(TypeError):
        init_chat_model(42)  # type: ignore[arg-type]


def test_configurable_model_with_prefix_and_queued_bind_tools(emulator):
    from harness.tools.tool import tool

    @tool
    def lookup(q: str) -> str:
        """Look something up."""
        return q

    model = init_chat_model(
        "openai:gpt-4.1-mini",
        configurable_fields="any",
        config_prefix="foo",
        base_url=emulator.base_url(),
        api_key="k",
        temperature=0,
    )
    bound = model.bind_tools([lookup])
    bound.invoke("x", config={"configurable": {"foo_model": "openai:gpt-4o", "foo_temperature": 0.7}})
    body = emulator.requests[-1].body
    assert body["model"] == "gpt-4o" and body["temperature"] == 0.7
    assert body["tools"][0]["function"]["name"] == "lookup"
    bound.invoke("x")
    assert emulator.requests[-1].body["model"] == "gpt-4.1-mini"


def test_configurable_model_without_default_model(emulator):
    model = init_chat_model(base_url=emulator.base_url(), api_key="k")
    model.invoke("x", config={"configurable": {"model": "gpt-4.1-nano"}})
    assert emulator.requests[-1].body["model"] == "gpt-4.1-nano"
    only_model = init_chat_model(
        "gpt-4o", configurable_fields=["model"], base_url=emulator.base_url(), api_key="k"
    )
    only_model.invoke("x", config={"configurable": {"model": "gpt-4.1", "temperature": 1}})
    assert "temperature" not in emulator.requests[-1].body  # not a configurable field: ignored


# --- callbacks ---------------------------------------------------------------------------------------


class Recorder(BaseCallbackHandler):
    def __init__(self):
        self.events = []
        self.lock = threading.Lock()

    def on_chat_model_start(self, serialized, messages, *, run_id, **kw):
        self.events.append(("start", messages[0][-1].text, kw["tags"], kw["metadata"].get("team")))

    def on_llm_new_token(self, token, *, chunk=None, run_id, **kw):
        self.events.append(("token", token))

    def on_llm_end(self, response, *, run_id, **kw):
        self.events.append(("end", response.generations[0][0].message.text))

    def on_llm_error(self, error, *, run_id, **kw):
        self.events.append(("error", type(error).__name__))


def test_callbacks_start_tokens_end_and_error(emulator, openai_model):
    rec = Recorder()
    emulator.queue(Reply(text="abcdefgh", chunk_chars=4), Fault.http(404, "no such model"))
    config = {"callbacks": [rec], "tags": ["t1"], "metadata": {"team": "evals"}, "run_name": "probe"}
    list(openai_model.stream("hi", config=config))
    assert rec.events[0] == ("start", "hi", ["t1"], "evals")
    assert ("token", "abcd") in rec.events and ("token", "efgh") in rec.events
    assert rec.events[-1] == ("end", "abcdefgh")
    with pytest.raises(ModelNotFoundError):
        openai_model.invoke("x", config=config)
    assert rec.events[-1] == ("error", "ModelNotFoundError")


def test_usage_callback_totals_across_two_models(emulator):
    a = init_chat_model("openai:gpt-4.1-mini", base_url=emulator.base_url(), api_key="k")
    b = init_chat_model("openai:gpt-4o", base_url=emulator.base_url(), api_key="k")
    emulator.queue(
        Reply(text="x", usage={"input_tokens": 10, "output_tokens": 2}),
        Reply(text="y", usage={"input_tokens": 5, "output_tokens": 1}),
        Reply(text="z", usage={"input_tokens": 7, "output_tokens": 3}),
    )
    with get_usage_metadata_callback() as usage:
        a.invoke("1")
        a.batch(["2"])
        list(b.stream("3"))
    assert usage.usage_metadata["gpt-4.1-mini"]["input_tokens"] == 15
    assert usage.usage_metadata["gpt-4.1-mini"]["total_tokens"] == 18
    assert usage.usage_metadata["gpt-4o"]["output_tokens"] == 3
    handler = UsageMetadataCallbackHandler()
    a.invoke("4", config={"callbacks": [handler]})
    assert list(handler.usage_metadata) == ["gpt-4.1-mini"]
