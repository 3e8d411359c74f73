"""A small support-desk app written on the openai SDK. Nothing here knows about harness: its tests
(tests/) record and replay these calls with harness's pytest plugin, unchanged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Literal

from openai import OpenAI
from pydantic import BaseModel

MODEL = "gpt-4.1-mini"
_client: OpenAI | None = None


def client() -> OpenAI:
    """One client for the app, configured from OPENAI_API_KEY / OPENAI_BASE_URL as the SDK does."""
    global _client
    if _client is None:
        _client = OpenAI()
    return _client


def answer(question: str) -> str:
    reply = client().chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "system", "content": "You answer customers' questions in one sentence."},
            {"role": "user", "content": question},
        ],
    )
    return reply.choices[0].message.content or ""


def stream_answer(question: str) -> Iterator[str]:
    stream = client().chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": question}], stream=True
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            yield chunk.choices[0].delta.content


class Ticket(BaseModel):
    category: Literal["billing", "shipping", "other"]
    urgent: bool


def triage(message: str) -> Ticket:
    reply = client().chat.completions.parse(
        model=MODEL,
        messages=[{"role": "user", "content": f"Triage this support message: {message}"}],
        response_format=Ticket,
    )
    parsed = reply.choices[0].message.parsed
    assert parsed is not None
    return parsed


ORDER_STATUS = {
    "type": "function",
    "function": {
        "name": "order_status",
        "description": "Look up the shipping status of an order.",
        "parameters": {
            "type": "object",
            "properties": {"order_id": {"type": "string"}},
            "required": ["order_id"],
        },
    },
}


def order_status(order_id: str) -> str:
    return f"Order {order_id} left the warehouse yesterday."


def where_is_my_order(message: str) -> str:
    """One tool loop: the model asks for the order's status, the app looks it up, the model answers."""
    messages: list = [{"role": "user", "content": message}]
    reply = client().chat.completions.create(model=MODEL, messages=messages, tools=[ORDER_STATUS])
    call = reply.choices[0].message.tool_calls[0]
    messages.append(reply.choices[0].message)
    result = order_status(**json.loads(call.function.arguments))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    final = client().chat.completions.create(model=MODEL, messages=messages, tools=[ORDER_STATUS])
    return final.choices[0].message.content or ""
