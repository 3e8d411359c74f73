"""Tool-call and usage dicts, shaped as LangChain v1's (import them from `harness.messages`).

The typed dicts, their constructors, and the tool calls an AI message derives from OpenAI-format
`additional_kwargs["tool_calls"]` or from streamed tool-call chunks. Nothing here mutates its inputs
except `fill_chunk_tool_calls`, which fills the validator's own copy of a chunk's fields.
"""

from __future__ import annotations

import json
from typing import Any, Literal, TypedDict

from typing_extensions import NotRequired

from harness.messages.merge import parse_partial_json

# --- typed dicts ------------------------------------------------------------------------------


class ToolCall(TypedDict):
    name: str
    args: dict[str, Any]
    id: str | None
    type: NotRequired[Literal["tool_call"]]


class ToolCallChunk(TypedDict):
    name: str | None
    args: str | None  # a JSON fragment
    id: str | None
    index: int | None
    type: NotRequired[Literal["tool_call_chunk"]]


class InvalidToolCall(TypedDict):
    name: str | None
    args: str | None  # the raw text
    id: str | None
    error: str | None
    type: NotRequired[Literal["invalid_tool_call"]]


class InputTokenDetails(TypedDict, total=False):
    audio: int
    cache_read: int
    cache_creation: int


class OutputTokenDetails(TypedDict, total=False):
    audio: int
    reasoning: int


class UsageMetadata(TypedDict):
    input_tokens: int
    output_tokens: int
    total_tokens: int
    input_token_details: NotRequired[InputTokenDetails]
    output_token_details: NotRequired[OutputTokenDetails]


# --- tool-call dicts ---------------------------------------------------------------------------


def tool_call(name: str, args: dict[str, Any], id: str | None = None) -> ToolCall:
    return {"name": name, "args": args, "id": id, "type": "tool_call"}


def tool_call_chunk(
    name: str | None = None, args: str | None = None, id: str | None = None, index: int | None = None
) -> ToolCallChunk:
    return {"name": name, "args": args, "id": id, "index": index, "type": "tool_call_chunk"}


def invalid_tool_call(
    name: str | None = None, args: str | None = None, id: str | None = None, error: str | None = None
) -> InvalidToolCall:
    return {"name": name, "args": args, "id": id, "error": error, "type": "invalid_tool_call"}


def parse_raw_tool_calls(raw: list) -> tuple[list[dict], list[dict]]:
    """OpenAI-format `additional_kwargs["tool_calls"]` → (tool_calls, invalid_tool_calls)."""
    calls: list[Any] = []
    invalid: list[Any] = []
    for r in raw:
        fn = r.get("function") if isinstance(r, dict) else None
        if not isinstance(fn, dict):
            continue
        name, raw_args = fn.get("name"), fn.get("arguments")
        try:
            args = json.loads(raw_args) if raw_args else {}
        except (json.JSONDecodeError, TypeError):
            args = None
        if isinstance(args, dict):
            calls.append(tool_call(name or "", args, r.get("id")))
        else:
            invalid.append(invalid_tool_call(name, raw_args, r.get("id")))
    return calls, invalid


def calls_from_chunks(chunks: list[dict]) -> tuple[list[dict], list[dict]]:
    calls: list[Any] = []
    invalid: list[Any] = []
    for ch in chunks:
        raw = ch.get("args")
        try:
            args = parse_partial_json(raw) if raw else {}
        except Exception:
            args = None
        if isinstance(args, dict):
            calls.append(tool_call(ch.get("name") or "", args, ch.get("id")))
        else:
            invalid.append(invalid_tool_call(ch.get("name"), raw, ch.get("id")))
    return calls, invalid


def normalize_calls(calls: list, kind: str) -> list[dict[str, Any]]:
    out = []
    for c in calls:
        if not isinstance(c, dict):
            raise ValueError(f"{kind} entries must be dicts, got {type(c).__name__}")
        if c.get("type") != kind or "id" not in c:
            c = {**c, "id": c.get("id"), "type": kind}
        if kind == "tool_call" and (
            not isinstance(c.get("name"), str) or not isinstance(c.get("args"), dict)
        ):
            raise ValueError(f"a tool call needs a str 'name' and a dict 'args', got {c!r}")
        out.append(c)
    return out


def fill_chunk_tool_calls(values: dict[str, Any]) -> None:
    """AIMessageChunk: derive tool_calls from tool_call_chunks, or chunks from given tool_calls."""
    chunks = values.get("tool_call_chunks")
    if not chunks:
        made = [
            tool_call_chunk(tc["name"], json.dumps(tc["args"]), tc.get("id"))
            for tc in values.get("tool_calls") or ()
        ]
        made += [
            tool_call_chunk(tc.get("name"), tc.get("args"), tc.get("id"))
            for tc in values.get("invalid_tool_calls") or ()
        ]
        if made:
            values["tool_call_chunks"] = made
        return
    values["tool_calls"], values["invalid_tool_calls"] = calls_from_chunks(chunks)
    content, meta = values.get("content"), values.get("response_metadata") or {}
    if (
        values.get("chunk_position") == "last"
        and isinstance(content, list)
        and meta.get("output_version") == "v1"
    ):
        by_id = {tc["id"]: tc for tc in values["tool_calls"] if tc.get("id")}
        fixed = []
        for b in content:
            if isinstance(b, dict) and b.get("type") == "tool_call_chunk" and b.get("id") in by_id:
                tc = by_id[b["id"]]
                nb = {"type": "tool_call", "name": tc["name"], "args": tc["args"], "id": tc["id"]}
                if "extras" in b:
                    nb["extras"] = b["extras"]
                b = nb
            fixed.append(b)
        values["content"] = fixed
