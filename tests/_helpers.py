"""Helpers the provider test modules share: `from _helpers import ...` (pytest puts tests/ on the path)."""

from __future__ import annotations

import base64

from pydantic import BaseModel

from harness import tool
from harness.messages.core import message_chunk_to_message

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()  # base64 of bytes that start like a PNG


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"sunny in {city}"


class Answer(BaseModel):
    """An answer with a justification."""

    answer: str
    justification: str


def sum_chunks(chunks):
    """A stream's chunks added up in one go (`first + rest`), as an AIMessageChunk."""
    return chunks[0] + chunks[1:]


def stream_message(chunks):
    """A stream's chunks added up one by one, as the AIMessage the stream amounts to."""
    total = None
    for c in chunks:
        total = c if total is None else total + c
    return message_chunk_to_message(total)


def comparable(msg, *ignore):
    """Everything a user reads from a message, minus per-call `timing` and the metadata keys `ignore`
    (ids and timestamps that differ between an invoke and a stream of the same reply)."""
    meta = {k: v for k, v in msg.response_metadata.items() if k != "timing" and k not in ignore}
    return (
        msg.content,
        msg.tool_calls,
        msg.invalid_tool_calls,
        msg.usage_metadata,
        msg.additional_kwargs,
        meta,
    )


# a suite target's source (written to app.py by the tests): a tool loop over TargetInput.model
TOOL_LOOP_TARGET = '''
from harness import tool


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def agent(inp):
    """A tool loop over TargetInput.model."""
    llm = inp.model.bind_tools([get_weather])
    messages = list(inp.messages)
    while True:
        ai = llm.invoke(messages)
        messages.append(ai)
        if not ai.tool_calls:
            return {"output": ai, "metadata": {"turns": len(messages)}}
        messages += [get_weather.invoke(call) for call in ai.tool_calls]
'''
