"""Model tests a team writes: ordinary pytest tests against `chat_model`, one run per model."""

import pytest
from pydantic import BaseModel

from harness import tool
from harness.pytest_plugin import assert_contains, assert_matches_schema, assert_passes, assert_tool_called


@tool
def get_weather(location: str) -> str:
    """Get the current weather for a location."""
    return f"It is sunny in {location}."


class Movie(BaseModel):
    title: str
    year: int


@pytest.mark.harness(tags=["smoke"])
def test_capital(chat_model):
    reply = chat_model.invoke("What is the capital of France?")
    assert_contains(reply, "paris", ignore_case=True)
    assert_passes(
        reply,
        {"type": "not-icontains", "value": "london"},
        {"type": "tokens", "max_total": 500},
        {"type": "cost", "max_usd": 0.01},
    )


def test_weather_tool_loop(chat_model):
    llm = chat_model.bind_tools([get_weather])
    messages = [("user", "What's the weather in Boston?")]
    ai = llm.invoke(messages)
    assert_tool_called(ai, "get_weather", {"location": "Boston"})
    messages += [ai, *[get_weather.invoke(call) for call in ai.tool_calls]]
    assert_contains(llm.invoke(messages), "sunny")


def test_structured_output(chat_model):
    movie = chat_model.with_structured_output(Movie).invoke("Details about Inception")
    assert_matches_schema(movie, Movie)


def test_streaming(chat_model):
    text = "".join(chunk.text for chunk in chat_model.stream("Tell me a short joke"))
    assert_passes(text, "regex", value=r"\w+")


@pytest.mark.harness(models=["openai:gpt-4.1-mini"])
def test_only_one_model(chat_model):
    assert_contains(chat_model.invoke("Say hello"), "hello", ignore_case=True)


def test_models_agree(make_chat_model):
    """A test that builds several models itself: one cassette, one record per model."""
    question = "What is the capital of France?"
    answers = [
        make_chat_model(m, temperature=0).invoke(question).text
        for m in ("openai:gpt-4.1-mini", "anthropic:claude-haiku-4-5")
    ]
    assert all("Paris" in a for a in answers), answers
