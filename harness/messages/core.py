"""Message classes and chunk summation; the tool-call dicts, content blocks and merge helpers they
use are named here too (from `tool_calls`, `blocks`, `merge`).

Behaves like LangChain v1 (`langchain_core.messages`); see README.md "Using the model interface".
Provider modules teach `.content_blocks` their native block formats with `register_block_translator`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.messages import display
from harness.messages.blocks import (
    KNOWN_BLOCK_TYPES,
    generic_blocks,
    get_block_translator,
    register_block_translator,
)
from harness.messages.merge import (
    add_usage,
    merge_content,
    merge_dicts,
    merge_lists,
    parse_partial_json,
    subtract_usage,
)
from harness.messages.tool_calls import (
    InputTokenDetails,
    InvalidToolCall,
    OutputTokenDetails,
    ToolCall,
    ToolCallChunk,
    UsageMetadata,
    fill_chunk_tool_calls,
    invalid_tool_call,
    normalize_calls,
    parse_raw_tool_calls,
    tool_call,
    tool_call_chunk,
)

__all__ = [
    "AIMessage",
    "AIMessageChunk",
    "BaseMessage",
    "FunctionMessage",
    "HumanMessage",
    "InputTokenDetails",
    "InvalidToolCall",
    "KNOWN_BLOCK_TYPES",
    "OutputTokenDetails",
    "RemoveMessage",
    "SystemMessage",
    "ToolCall",
    "ToolCallChunk",
    "ToolMessage",
    "UsageMetadata",
    "add_usage",
    "get_block_translator",
    "invalid_tool_call",
    "merge_content",
    "merge_dicts",
    "merge_lists",
    "message_chunk_to_message",
    "parse_partial_json",
    "register_block_translator",
    "subtract_usage",
    "tool_call",
    "tool_call_chunk",
]

# --- messages -----------------------------------------------------------------------------------


_UNSET: Any = object()


class TextAccessor(str):
    """`message.text` is a str; calling it like the old method still works (deprecated)."""

    __slots__ = ()

    def __call__(self) -> str:
        warnings.warn(
            "Calling .text() is deprecated; use the .text property.", DeprecationWarning, stacklevel=2
        )
        return str(self)


class BaseMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    content: str | list[str | dict]
    additional_kwargs: dict = Field(default_factory=dict)
    response_metadata: dict = Field(default_factory=dict)
    type: str
    name: str | None = None
    id: str | None = Field(default=None, coerce_numbers_to_str=True)

    def __init__(
        self, content: Any = _UNSET, content_blocks: list[dict] | None = None, **kwargs: Any
    ) -> None:
        if content_blocks is not None:
            kwargs["content"] = content_blocks
            if "tool_calls" not in kwargs:
                calls = [b for b in content_blocks if isinstance(b, dict) and b.get("type") == "tool_call"]
                if calls:
                    kwargs["tool_calls"] = calls
        elif content is not _UNSET:
            kwargs["content"] = content
        super().__init__(**kwargs)

    @property
    def text(self) -> TextAccessor:
        c = self.content
        if isinstance(c, str):
            return TextAccessor(c)
        return TextAccessor(
            "".join(
                b if isinstance(b, str) else b["text"]
                for b in c
                if isinstance(b, str) or (b.get("type") == "text" and isinstance(b.get("text"), str))
            )
        )

    @property
    def content_blocks(self) -> list[dict[str, Any]]:
        return generic_blocks(self.content)

    def pretty_repr(self, html: bool = False) -> str:
        return display.pretty_repr(self, html=html)

    def pretty_print(self) -> None:
        print(self.pretty_repr(html=display.is_interactive()))  # noqa: T201  (LangChain's method)


class SystemMessage(BaseMessage):
    type: Literal["system"] = "system"


class HumanMessage(BaseMessage):
    type: Literal["human"] = "human"


class FunctionMessage(BaseMessage):
    """Legacy OpenAI function result (role "function")."""

    type: Literal["function"] = "function"
    name: str


class RemoveMessage(BaseMessage):
    """Marker asking a message store to delete the message with this id."""

    type: Literal["remove"] = "remove"

    def __init__(self, id: str, **kwargs: Any) -> None:
        kwargs.pop("content", None)
        super().__init__("", id=id, **kwargs)


class ToolMessage(BaseMessage):
    type: Literal["tool"] = "tool"
    tool_call_id: str
    artifact: Any = None
    status: Literal["success", "error"] = "success"

    @model_validator(mode="before")
    @classmethod
    def _coerce(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        values = dict(values)
        if "content" in values:
            c = values["content"]
            if isinstance(c, tuple):
                c = list(c)
            if isinstance(c, list):
                values["content"] = [x if isinstance(x, (str, dict)) else str(x) for x in c]
            elif not isinstance(c, str):
                values["content"] = str(c)
        tcid = values.get("tool_call_id")
        if isinstance(tcid, (UUID, int, float)):
            values["tool_call_id"] = str(tcid)
        return values


class AIMessage(BaseMessage):
    type: Literal["ai"] = "ai"
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)
    invalid_tool_calls: list[dict[str, Any]] = Field(default_factory=list)
    usage_metadata: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _tool_calls(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        values = dict(values)
        is_chunk = issubclass(cls, AIMessageChunk)
        if not (
            values.get("tool_calls") or values.get("invalid_tool_calls") or values.get("tool_call_chunks")
        ):
            ak = values.get("additional_kwargs")
            raw = ak.get("tool_calls") if isinstance(ak, dict) else None
            if raw and isinstance(raw, list):
                if is_chunk:
                    values["tool_call_chunks"] = [
                        tool_call_chunk(
                            (r.get("function") or {}).get("name"),
                            (r.get("function") or {}).get("arguments"),
                            r.get("id"),
                            r.get("index"),
                        )
                        for r in raw
                        if isinstance(r, dict)
                    ]
                else:
                    values["tool_calls"], values["invalid_tool_calls"] = parse_raw_tool_calls(raw)
        for key, kind in (
            ("tool_calls", "tool_call"),
            ("invalid_tool_calls", "invalid_tool_call"),
            ("tool_call_chunks", "tool_call_chunk"),
        ):
            if values.get(key):
                values[key] = normalize_calls(values[key], kind)
        if is_chunk:
            fill_chunk_tool_calls(values)
        return values

    @property
    def content_blocks(self) -> list[dict[str, Any]]:
        meta = self.response_metadata
        if meta.get("output_version") == "v1" and isinstance(self.content, list):
            return list(self.content)  # type: ignore[arg-type]
        provider = meta.get("model_provider")
        fn = get_block_translator(provider) if isinstance(provider, str) else None
        if fn is not None:
            try:
                return fn(self)
            except NotImplementedError:
                pass
        return self._add_tool_and_reasoning_blocks(generic_blocks(self.content))

    def _add_tool_and_reasoning_blocks(self, blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self.tool_calls:
            seen = {b.get("id") for b in blocks if b.get("type") == "tool_call"}
            for tc in self.tool_calls:
                if tc.get("id") is None or tc["id"] not in seen:
                    block = {"type": "tool_call", "id": tc.get("id"), "name": tc["name"], "args": tc["args"]}
                    block.update({k: tc[k] for k in ("index", "extras") if k in tc})
                    blocks.append(block)
        return _prepend_reasoning(self, blocks)


def _prepend_reasoning(m: AIMessage, blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rc = m.additional_kwargs.get("reasoning_content")
    if isinstance(rc, str) and not any(b.get("type") == "reasoning" for b in blocks):
        blocks.insert(0, {"type": "reasoning", "reasoning": rc})
    return blocks


class AIMessageChunk(AIMessage):
    type: Literal["AIMessageChunk"] = "AIMessageChunk"  # type: ignore[assignment]
    tool_call_chunks: list[dict[str, Any]] = Field(default_factory=list)
    chunk_position: Literal["last"] | None = None

    def _add_tool_and_reasoning_blocks(self, blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not (self.tool_call_chunks and not self.content and self.chunk_position != "last"):
            return super()._add_tool_and_reasoning_blocks(blocks)
        for tcc in self.tool_call_chunks:  # mid-stream: show the raw fragments
            b = {
                "type": "tool_call_chunk",
                "id": tcc.get("id"),
                "name": tcc.get("name"),
                "args": tcc.get("args"),
            }
            if tcc.get("index") is not None:
                b["index"] = tcc["index"]
            blocks.append(b)
        return _prepend_reasoning(self, blocks)

    def __add__(self, other: Any) -> AIMessageChunk:
        if isinstance(other, AIMessageChunk):
            return _add_chunks(self, (other,))
        if isinstance(other, (list, tuple)) and all(isinstance(o, AIMessageChunk) for o in other):
            return _add_chunks(self, other)
        return NotImplemented


def _id_rank(id_: str) -> int:
    if not id_.startswith("lc_"):
        return 2
    return 1 if id_.startswith("lc_run-") else 0


def _add_chunks(left: AIMessageChunk, others: Sequence[AIMessageChunk]) -> AIMessageChunk:
    if not others:
        return left
    content = merge_content(left.content, *(o.content for o in others))
    additional_kwargs = merge_dicts(left.additional_kwargs, *(o.additional_kwargs for o in others))
    response_metadata = merge_dicts(left.response_metadata, *(o.response_metadata for o in others))
    merged_tcc = merge_lists(left.tool_call_chunks, *(o.tool_call_chunks for o in others)) or []
    tool_call_chunks = [
        tool_call_chunk(c.get("name"), c.get("args"), c.get("id"), c.get("index")) for c in merged_tcc
    ]
    usage = left.usage_metadata
    if usage or any(o.usage_metadata is not None for o in others):
        for o in others:
            usage = add_usage(usage, o.usage_metadata)
    best, chunk_id = -1, None
    for m in (left, *others):
        if m.id:
            rank = _id_rank(m.id)
            if rank > best:
                best, chunk_id = rank, m.id
                if rank == 2:
                    break
    last = left.chunk_position == "last" or any(o.chunk_position == "last" for o in others)
    return left.__class__(
        content=content,
        additional_kwargs=additional_kwargs,
        response_metadata=response_metadata,
        tool_call_chunks=tool_call_chunks,  # type: ignore[arg-type]
        usage_metadata=usage,
        id=chunk_id,
        chunk_position="last" if last else None,
    )


def message_chunk_to_message(chunk: BaseMessage) -> BaseMessage:
    """Aggregated `AIMessageChunk` → `AIMessage` (drops type, tool_call_chunks, chunk_position)."""
    if not isinstance(chunk, AIMessageChunk):
        return chunk
    data = {
        k: v for k, v in chunk.__dict__.items() if k not in ("type", "tool_call_chunks", "chunk_position")
    }
    if chunk.__pydantic_extra__:
        data.update(chunk.__pydantic_extra__)
    return AIMessage(**data)
