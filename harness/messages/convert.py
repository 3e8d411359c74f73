"""Converting to and from messages: the inputs users pass (strings, role tuples, OpenAI-style dicts,
message objects, LangChain message objects and prompt values) to messages, and messages to the
compact dicts results records keep.

LangChain messages are recognised by shape, never by import (langchain-core is optional): an object
with `model_dump()`, a string `type` and `additional_kwargs` is a LangChain message, and becomes the
harness message of the same class with the same fields (the field sets are the same).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from harness.messages.core import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    FunctionMessage,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
)
from harness.messages.tool_calls import tool_call

__all__ = ["convert_to_messages", "message_to_dict"]


# --- input coercion -----------------------------------------------------------------------------

_ROLE_ERROR = (
    "Unexpected message type: '{}'. Use one of 'human', 'user', 'ai', 'assistant', 'function', "
    "'tool', 'system', or 'developer'."
)
_CLASSES: dict[str, type[BaseMessage]] = {
    c.__name__: c
    for c in (
        SystemMessage,
        HumanMessage,
        AIMessage,
        AIMessageChunk,
        ToolMessage,
        FunctionMessage,
        RemoveMessage,
    )
}


def _openai_tool_calls(calls: list) -> list:
    out = []
    for tc in calls:
        if isinstance(tc, dict) and "function" in tc:
            args = tc["function"].get("arguments")
            if isinstance(args, str):
                args = json.loads(args, strict=False) if args.strip() else {}
            out.append(tool_call(tc["function"].get("name"), args, tc.get("id")))
        else:
            out.append(tc)
    return out


def _from_role(role: Any, content: Any, extra: dict[str, Any] | None = None) -> BaseMessage:
    kw: dict[str, Any] = {}
    ak: dict[str, Any] = {}
    if extra:
        for key in ("name", "id", "tool_call_id"):
            if extra.get(key) is not None:
                kw[key] = extra.pop(key)
            else:
                extra.pop(key, None)
        if (calls := extra.pop("tool_calls", None)) is not None:
            kw["tool_calls"] = _openai_tool_calls(calls)
        if rm := extra.pop("response_metadata", None):
            kw["response_metadata"] = rm
        ak = extra.pop("additional_kwargs", None) or {}
        ak = {**extra, **ak}
    if role in ("human", "user"):
        cls: type[BaseMessage] = HumanMessage
    elif role in ("ai", "assistant"):
        cls = AIMessage
        for key in ("invalid_tool_calls", "usage_metadata"):
            if ak.get(key) is not None:
                kw[key] = ak.pop(key)
    elif role in ("system", "developer"):
        cls = SystemMessage
        if role == "developer":
            ak["__openai_role__"] = "developer"
    elif role == "tool":
        cls = ToolMessage
        kw["artifact"] = ak.pop("artifact", None)
        if (status := ak.pop("status", None)) is not None:
            kw["status"] = status
    elif role == "function":
        cls = FunctionMessage
    elif role == "remove":
        return RemoveMessage(**kw)
    else:
        raise ValueError(_ROLE_ERROR.format(role))
    if ak:
        kw["additional_kwargs"] = ak
    return cls(content=content, **kw)


def _is_foreign_message(m: Any) -> bool:
    """A LangChain message (or chunk): pydantic, with a string `type` and `additional_kwargs`."""
    return (
        callable(getattr(m, "model_dump", None))
        and isinstance(getattr(m, "type", None), str)
        and hasattr(m, "additional_kwargs")
        and hasattr(m, "content")
    )


def _from_foreign(m: Any) -> BaseMessage:
    """A LangChain message as the harness message of the same class (chunks of AI messages stay
    chunks; other chunks become their message; a ChatMessage goes by its role)."""
    body = m.model_dump()
    kind = body.pop("type")
    if kind == "chat" or (kind == "ChatMessageChunk" and "role" in body):
        role = body.pop("role")
        return _from_role(role, body.pop("content"), {k: v for k, v in body.items() if v is not None})
    if kind == "AIMessageChunk":
        return AIMessageChunk(**body)
    cls = _FOREIGN_TYPES.get(kind.removesuffix("MessageChunk").lower() if kind.endswith("Chunk") else kind)
    if cls is None:
        raise ValueError(f"Unsupported LangChain message type {kind!r} ({type(m).__name__})")
    return cls(**body)


_FOREIGN_TYPES: dict[str, type[BaseMessage]] = {
    "human": HumanMessage,
    "ai": AIMessage,
    "system": SystemMessage,
    "tool": ToolMessage,
    "function": FunctionMessage,
    "remove": RemoveMessage,
}


def _to_message(m: Any) -> BaseMessage:
    if isinstance(m, BaseMessage):
        return m
    if _is_foreign_message(m):
        return _from_foreign(m)
    if isinstance(m, str):
        return HumanMessage(content=m)
    if isinstance(m, dict):
        if m.get("lc") == 1 and m.get("type") == "constructor" and isinstance(m.get("id"), list):
            cls = _CLASSES.get(m["id"][-1])
            if cls is None:
                raise ValueError(
                    f"Unknown serialized message class {m['id'][-1]!r}; known: {sorted(_CLASSES)}"
                )
            return cls(**m.get("kwargs", {}))
        extra = dict(m)
        role = extra.pop("role") if "role" in extra else extra.pop("type", None)
        if role is None or "content" not in extra:
            raise ValueError(f"Message dict must contain 'role' and 'content' keys, got {m}")
        if "role" in m:
            extra.pop("type", None)
        content = extra.pop("content") or ""
        return _from_role(role, content, extra)
    if isinstance(m, Sequence):
        if len(m) != 2:
            raise NotImplementedError("Message as a sequence must be (role string, template)")
        return _from_role(m[0], m[1])
    raise NotImplementedError(f"Unsupported message type: {type(m)}")


def convert_to_messages(messages: Any) -> list[BaseMessage]:
    """Model input (str, PromptValue-like, or a sequence of message-likes) → list of messages.
    LangChain messages and prompt values (`prompt.invoke(...)`) are accepted and converted."""
    if isinstance(messages, str):
        return [HumanMessage(content=messages)]
    if isinstance(messages, Sequence):
        return [m if isinstance(m, BaseMessage) else _to_message(m) for m in messages]
    if _is_foreign_message(messages):
        return [_from_foreign(messages)]
    if callable(getattr(messages, "to_messages", None)):
        return [m if isinstance(m, BaseMessage) else _to_message(m) for m in messages.to_messages()]
    raise ValueError(
        f"Invalid input type {type(messages)}. Must be a PromptValue, str, or list of BaseMessages."
    )


# --- compact records --------------------------------------------------------------------------

_ROLES = {
    "system": "system",
    "human": "user",
    "ai": "assistant",
    "AIMessageChunk": "assistant",
    "tool": "tool",
}


def message_to_dict(m: BaseMessage) -> dict[str, Any]:
    """Compact JSON-safe record of a message for results and reports."""
    out: dict[str, Any] = {
        "role": _ROLES.get(m.type, m.type),
        "content": m.content if isinstance(m.content, str) else _json_safe(m.content),
    }
    if isinstance(m, AIMessage):
        if m.tool_calls:
            out["tool_calls"] = [
                {"name": tc.get("name"), "args": _json_safe(tc.get("args")), "id": tc.get("id")}
                for tc in m.tool_calls
            ]
        if m.invalid_tool_calls:
            out["invalid_tool_calls"] = [
                {k: _json_safe(tc.get(k)) for k in ("name", "args", "id", "error")}
                for tc in m.invalid_tool_calls
            ]
        reasoning = [b for b in m.content_blocks if b.get("type") == "reasoning"]
        if reasoning:
            texts = [b["reasoning"] for b in reasoning if isinstance(b.get("reasoning"), str)]
            out["reasoning"] = "".join(texts) if texts else None
    elif isinstance(m, ToolMessage):
        out["tool_call_id"] = m.tool_call_id
        out["name"] = m.name
        out["status"] = m.status
    return out


_JSON_SCALARS = (str, int, float, bool, type(None))


def _json_safe(x: Any) -> Any:
    """`x` with every key a string and every leaf a JSON scalar (anything else as its str)."""
    if isinstance(x, _JSON_SCALARS):
        return x
    if isinstance(x, dict):
        return {str(k): _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    return str(x)
