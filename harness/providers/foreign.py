"""Other libraries' replies as harness messages: LangChain messages, openai `ChatCompletion` and
`Response`, anthropic `Message`.

Recognised by shape, never by import (none of those packages is a dependency of harness): a
LangChain message by its `type` and `content`; the SDK objects by `model_dump()`, which is the
provider's wire body, so the adapter that parses that body on the wire parses it here too.
"""

from __future__ import annotations

from typing import Any

from harness.errors import UnsupportedReplyError
from harness.messages.convert import convert_to_messages
from harness.messages.core import AIMessage, BaseMessage, message_chunk_to_message
from harness.providers import get_adapter_class

__all__ = ["ACCEPTED_REPLIES", "foreign_message", "to_ai_message"]

ACCEPTED_REPLIES = (
    "a harness or LangChain AIMessage, an openai ChatCompletion or Response, or an anthropic Message"
)
_LANGCHAIN_TYPES = ("ai", "AIMessageChunk", "human", "system", "tool", "function")


def _wire_provider(body: dict[str, Any]) -> str | None:
    """The adapter whose response body `body` is, from the field each SDK object always carries."""
    if body.get("object") == "chat.completion":
        return "openai"
    if body.get("object") == "response" and isinstance(body.get("output"), list):
        return "openai_responses"
    if body.get("type") == "message" and body.get("role") == "assistant":
        return "anthropic"
    return None


def _dump(obj: Any) -> dict[str, Any] | None:
    dump = getattr(obj, "model_dump", None)
    if not callable(dump):
        return None
    body = dump(exclude_none=True)
    return body if isinstance(body, dict) else None


def foreign_message(obj: Any) -> BaseMessage | None:
    """`obj` as a harness message when it is a LangChain message or an SDK reply; None otherwise."""
    if isinstance(obj, (BaseMessage, dict)):
        return None
    if getattr(obj, "type", None) in _LANGCHAIN_TYPES and hasattr(obj, "additional_kwargs"):
        return message_chunk_to_message(convert_to_messages([obj])[0])  # the one coercion of them
    body = _dump(obj)
    if body is None:
        return None
    provider = _wire_provider(body)
    if provider is None:
        return None
    return get_adapter_class(provider).for_recorded().parse_response(body)


def to_ai_message(obj: Any) -> AIMessage:
    """A model reply from harness, LangChain, openai or anthropic as a harness AIMessage (text,
    tool calls, usage when the reply has it). Anything else raises UnsupportedReplyError."""
    message = obj if isinstance(obj, AIMessage) else foreign_message(obj)
    if not isinstance(message, AIMessage):
        raise UnsupportedReplyError(f"expected a model reply: {ACCEPTED_REPLIES}; got {type(obj).__name__}")
    return message
