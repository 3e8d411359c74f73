"""Reasoning scripted on the emulator (`Reply(reasoning=...)`) for every provider that has it, read back
through the chat model as LangChain's `reasoning` content blocks, invoked and streamed: Anthropic
thinking blocks, Gemini thought parts (with thoughtSignature), Responses reasoning items with
summaries, Bedrock Converse reasoningContent, Bedrock InvokeModel (Anthropic payload) and Ollama
`thinking`."""

from __future__ import annotations

import json

import pytest
from _helpers import sum_chunks

from harness import init_chat_model
from harness.testing import Reply

AWS = {"aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG", "region_name": "us-west-2"}  # fmt: skip
THINKING = {"type": "enabled", "budget_tokens": 1024}

# provider -> (model string, constructor keywords asking for reasoning)
CASES = {
    "anthropic": ("anthropic:claude-sonnet-4-5", {"api_key": "sk-ant", "thinking": THINKING, "max_tokens": 2048}),
    "google_genai": ("google_genai:gemini-2.5-flash", {"api_key": "AIza", "include_thoughts": True, "thinking_budget": 512}),
    "openai": ("openai:gpt-5", {"api_key": "sk", "reasoning": {"effort": "low", "summary": "auto"}}),
    "bedrock_converse": (
        "bedrock_converse:anthropic.claude-sonnet-4-5-20250929-v1:0",
        {**AWS, "additional_model_request_fields": {"thinking": THINKING}},
    ),
    "bedrock": ("bedrock:anthropic.claude-sonnet-4-5-20250929-v1:0", {**AWS, "thinking": THINKING, "max_tokens": 2048}),
    "ollama": ("ollama:qwen3", {"reasoning": True}),
}  # fmt: skip


def _model(emulator, provider):
    spec, kwargs = CASES[provider]
    return init_chat_model(spec, base_url=emulator.base_url(provider), max_retries=0, **kwargs)


def _reasoning(message):
    return "".join(b["reasoning"] for b in message.content_blocks if b["type"] == "reasoning")


@pytest.mark.parametrize("provider", list(CASES))
def test_scripted_reasoning_reaches_content_blocks_invoked_and_streamed(emulator, provider):
    model = _model(emulator, provider)
    reply = Reply(text="42", reasoning="Six times seven is forty-two.", chunk_chars=4)
    emulator.queue(reply, reply)
    invoked = model.invoke("6*7?")
    assert _reasoning(invoked) == "Six times seven is forty-two."
    assert [b["type"] for b in invoked.content_blocks] == ["reasoning", "text"]
    assert invoked.text == "42"
    streamed = sum_chunks(list(model.stream("6*7?")))
    assert _reasoning(streamed) == "Six times seven is forty-two."
    assert streamed.text == "42"


@pytest.mark.parametrize("provider", list(CASES))
def test_reasoning_is_sent_back_on_the_next_turn(emulator, provider):
    """What the provider needs to continue a reasoning turn (signature, encrypted content, thinking
    text) is carried in the message and accepted by the strict emulator on the next call."""
    model = _model(emulator, provider)
    emulator.queue(Reply(text="42", reasoning="Six times seven."), Reply(text="You are welcome."))
    first = model.invoke("6*7?")
    assert model.invoke(["6*7?", first, "thanks"]).text == "You are welcome."
    assert "Six times seven." in json.dumps(emulator.requests[-1].body)


def test_no_reasoning_is_invented_when_none_was_asked(emulator):
    model = init_chat_model(
        "anthropic:claude-sonnet-4-5", api_key="k", base_url=emulator.base_url("anthropic")
    )
    emulator.queue(Reply(text="plain"))
    assert [b["type"] for b in model.invoke("hi").content_blocks] == ["text"]
