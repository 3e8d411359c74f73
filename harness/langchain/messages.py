"""Messages across the bridge: LangChain's to harness's (the one coercion in
`harness.messages.convert`) and harness's to LangChain's (same classes, same fields)."""

from __future__ import annotations

import importlib.util
from typing import Any

from harness.errors import ConfigurationError
from harness.messages.convert import convert_to_messages
from harness.messages.core import BaseMessage

__all__ = ["from_langchain", "require_langchain", "to_langchain_message", "to_langchain_messages"]


def require_langchain(what: str) -> None:
    """One line naming the extra when langchain-core is not installed."""
    if importlib.util.find_spec("langchain_core") is None:
        raise ConfigurationError(
            f"{what} needs langchain-core, which is not installed: pip install 'harness[langchain]'"
        )


def from_langchain(messages: Any) -> Any:
    """LangChain messages as harness messages: one message gives one message; a list (of LangChain
    or harness messages, tuples, dicts, strings) or a prompt value gives a list."""
    if isinstance(messages, (list, tuple)) or callable(getattr(messages, "to_messages", None)):
        return convert_to_messages(messages)
    return convert_to_messages([messages])[0]


def to_langchain_message(message: BaseMessage) -> Any:
    """A harness message as the `langchain_core.messages` message of the same class."""
    require_langchain("to_langchain_message")
    import langchain_core.messages as lc

    body = message.model_dump()
    kind = body.pop("type")
    if kind == "AIMessageChunk":
        # LangChain derives tool_calls from the chunks; passing both would parse them twice
        body.pop("tool_calls", None)
        body.pop("invalid_tool_calls", None)
        return lc.AIMessageChunk(**body)
    cls = _LC_CLASSES.get(kind)
    if cls is None:
        raise ValueError(f"a {type(message).__name__} has no LangChain counterpart")
    return getattr(lc, cls)(**body)


def to_langchain_messages(messages: Any) -> list[Any]:
    """Any harness model input (str, tuples, dicts, messages) as a list of LangChain messages."""
    return [to_langchain_message(m) for m in convert_to_messages(messages)]


_LC_CLASSES = {
    "human": "HumanMessage",
    "ai": "AIMessage",
    "system": "SystemMessage",
    "tool": "ToolMessage",
    "function": "FunctionMessage",
    "remove": "RemoveMessage",
}
