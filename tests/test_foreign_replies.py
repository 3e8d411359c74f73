"""The pytest helpers read other libraries' replies: LangChain messages, openai ChatCompletion and
Response, anthropic Message — real objects of the real packages, two of them fetched by the SDKs
themselves over loopback from the emulator."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import openai
import pytest
from anthropic.types import Message
from langchain_core.messages import AIMessage as LangChainAIMessage
from langchain_core.messages import HumanMessage as LangChainHumanMessage
from langchain_core.messages import ToolMessage as LangChainToolMessage
from openai.types.chat import ChatCompletion
from openai.types.responses import Response
from pydantic import BaseModel

from harness.errors import HarnessError, UnsupportedReplyError
from harness.pytest_plugin import assert_contains, assert_matches_schema, assert_passes, assert_tool_called
from harness.testing import ProviderEmulator, Reply, ToolCallSpec

WEATHER_ARGS = {"location": "Boston"}


def chat_completion(text: str | None, *, tool_args: dict[str, Any] | None = None) -> ChatCompletion:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if tool_args is not None:
        message["tool_calls"] = [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": json.dumps(tool_args)},
            }
        ]
    return ChatCompletion.model_validate(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-4.1-mini",
            "choices": [{"index": 0, "finish_reason": "stop", "message": message}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }
    )


def responses_response(text: str, *, tool_args: dict[str, Any] | None = None) -> Response:
    output: list[dict[str, Any]] = [
        {
            "type": "message",
            "id": "msg_1",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }
    ]
    if tool_args is not None:
        output.append(
            {
                "type": "function_call",
                "id": "fc_1",
                "call_id": "call_1",
                "name": "get_weather",
                "arguments": json.dumps(tool_args),
                "status": "completed",
            }
        )
    return Response.model_validate(
        {
            "id": "resp_1",
            "object": "response",
            "created_at": 1,
            "model": "gpt-4.1-mini",
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "output": output,
            "usage": {
                "input_tokens": 8,
                "output_tokens": 6,
                "total_tokens": 14,
                "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "output_tokens_details": {"reasoning_tokens": 0},
            },
        }
    )


def anthropic_message(text: str, *, tool_args: dict[str, Any] | None = None) -> Message:
    content: list[dict[str, Any]] = [{"type": "text", "text": text}]
    if tool_args is not None:
        content.append({"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": tool_args})
    return Message.model_validate(
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-haiku-4-5",
            "stop_reason": "tool_use" if tool_args is not None else "end_turn",
            "stop_sequence": None,
            "content": content,
            "usage": {"input_tokens": 12, "output_tokens": 7},
        }
    )


def langchain_message(text: str, *, tool_args: dict[str, Any] | None = None) -> LangChainAIMessage:
    calls = [] if tool_args is None else [{"name": "get_weather", "args": tool_args, "id": "c1"}]
    return LangChainAIMessage(
        content=text,
        tool_calls=calls,
        usage_metadata={"input_tokens": 3, "output_tokens": 4, "total_tokens": 7},
    )


BUILDERS = {
    "openai ChatCompletion": chat_completion,
    "openai Response": responses_response,
    "anthropic Message": anthropic_message,
    "LangChain AIMessage": langchain_message,
}


@pytest.mark.parametrize("build", BUILDERS.values(), ids=BUILDERS.keys())
def test_assert_tool_called_reads_the_tool_calls_of_each_library(build: Any) -> None:
    reply = build("Checking the weather.", tool_args=WEATHER_ARGS)
    assert_tool_called(reply, "get_weather", {"location": "Boston"}, times=1)
    with pytest.raises(AssertionError, match="get_weather") as failed:
        assert_tool_called(reply, "get_weather", {"location": "Paris"})
    assert "tool call: get_weather" in str(failed.value)


@pytest.mark.parametrize("build", BUILDERS.values(), ids=BUILDERS.keys())
def test_a_reply_without_tool_calls_fails_assert_tool_called(build: Any) -> None:
    with pytest.raises(AssertionError, match="assert_tool_called failed"):
        assert_tool_called(build("It is sunny."), "get_weather")


def test_the_langchain_tool_call_of_the_issue_is_seen() -> None:
    """The issue: 'no tool calls were made' on a LangChain AIMessage that has them."""
    reply = LangChainAIMessage(
        content="", tool_calls=[{"name": "get_weather", "args": WEATHER_ARGS, "id": "c1"}]
    )
    assert_tool_called(reply, "get_weather", WEATHER_ARGS)


@pytest.mark.parametrize("build", BUILDERS.values(), ids=BUILDERS.keys())
def test_assert_contains_reads_the_text_of_each_library(build: Any) -> None:
    reply = build("The capital of France is Paris.")
    assert_contains(reply, "paris", ignore_case=True)
    with pytest.raises(AssertionError, match="expected output to contain 'Madrid'") as failed:
        assert_contains(reply, "Madrid")
    assert "text: The capital of France is Paris." in str(failed.value)


class City(BaseModel):
    name: str
    country: str


@pytest.mark.parametrize("build", BUILDERS.values(), ids=BUILDERS.keys())
def test_assert_matches_schema_parses_the_text_of_each_library(build: Any) -> None:
    reply = build('{"name": "Paris", "country": "France"}')
    assert assert_matches_schema(reply, City) == City(name="Paris", country="France")
    with pytest.raises(AssertionError, match="does not validate as City"):
        assert_matches_schema(build('{"name": "Paris"}'), City)


@pytest.mark.parametrize(
    ("build", "tokens"),
    [(chat_completion, 15), (responses_response, 14), (anthropic_message, 19), (langchain_message, 7)],
    ids=BUILDERS.keys(),
)
def test_assert_passes_judges_the_usage_each_library_reports(build: Any, tokens: int) -> None:
    reply = build("Paris.")
    assert_passes(reply, "tokens", max_total=tokens)
    with pytest.raises(AssertionError, match="assert_passes failed"):
        assert_passes(reply, "tokens", max_total=tokens - 1)


def test_a_langchain_transcript_is_a_transcript() -> None:
    transcript = [
        LangChainHumanMessage("Weather in Boston?"),
        langchain_message("", tool_args=WEATHER_ARGS),
        LangChainToolMessage("sunny", tool_call_id="c1"),
        langchain_message("It is sunny in Boston."),
    ]
    assert_passes(transcript, {"type": "tool_trajectory", "tools": ["get_weather"]})
    assert_contains(transcript, "sunny in Boston")


def test_an_unknown_object_names_the_accepted_replies() -> None:
    with pytest.raises(UnsupportedReplyError) as refused:
        assert_contains(object(), "x")
    message = str(refused.value)
    for kind in ("LangChain AIMessage", "openai ChatCompletion or Response", "anthropic Message"):
        assert kind in message
    assert message.endswith("got object")
    assert isinstance(refused.value, HarnessError) and isinstance(refused.value, TypeError)


def test_replies_the_sdks_fetched_from_the_emulator() -> None:
    with ProviderEmulator() as emulator:
        emulator.queue(Reply(tool_calls=[ToolCallSpec("get_weather", WEATHER_ARGS)]), Reply(text="Sunny."))
        with openai.OpenAI(base_url=emulator.base_url("openai"), api_key="sk-test") as client:
            completion = client.chat.completions.create(
                model="gpt-4.1-mini", messages=[{"role": "user", "content": "Weather in Boston?"}]
            )
        with anthropic.Anthropic(base_url=emulator.url, api_key="sk-ant-test") as claude:
            message = claude.messages.create(
                model="claude-haiku-4-5", max_tokens=100, messages=[{"role": "user", "content": "Weather?"}]
            )
    assert_tool_called(completion, "get_weather", WEATHER_ARGS)
    assert_contains(message, "Sunny.")
