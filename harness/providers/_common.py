"""Translation steps that several adapters share word for word. Nothing here knows a provider: an
adapter passes in whatever differs (its text part kinds, its field values)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from harness.errors import ModelAPIError


def text_of(content: Any, kinds: tuple[str, ...] = ("text",)) -> str:
    """Message content as plain text: a string as is, else the joined strings and `kinds` parts."""
    if isinstance(content, str):
        return content
    return "".join(
        p if isinstance(p, str) else p.get("text", "")
        for p in content
        if isinstance(p, str) or p.get("type") in kinds
    )


def append_turn(turns: list[dict[str, Any]], role: str, blocks: list[dict[str, Any]]) -> None:
    """Add a `{"role", "content": blocks}` turn, merged into the last one when the role repeats (for
    APIs that want user and assistant turns to alternate). Empty blocks add nothing."""
    if not blocks:
        return
    if turns and turns[-1]["role"] == role:
        turns[-1]["content"].extend(blocks)
    else:
        turns.append({"role": role, "content": blocks})


def json_tool_call(fn: Mapping[str, Any], call_id: Any) -> dict[str, Any]:
    """`{"name", "arguments": <JSON string>}` -> a tool call, or an invalid tool call (raw arguments and
    the reason) when the arguments are not a JSON object. Empty arguments are `{}`."""
    raw = fn.get("arguments") or ""
    try:
        args = json.loads(raw) if raw else {}
        if not isinstance(args, dict):
            raise ValueError(f"arguments are a {type(args).__name__}, not an object")
    except ValueError as e:
        return {
            "name": fn.get("name"),
            "args": raw,
            "id": call_id,
            "error": str(e),
            "type": "invalid_tool_call",
        }
    return {"name": fn.get("name", ""), "args": args, "id": call_id, "type": "tool_call"}


def usage_metadata(
    input_tokens: int,
    output_tokens: int,
    total_tokens: int | None = None,
    input_details: Mapping[str, Any] | None = None,
    output_details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A UsageMetadata dict. The total defaults to input + output; details with a None value are left
    out, and so is a details dict left empty."""
    usage: dict[str, Any] = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": total_tokens or input_tokens + output_tokens,
    }
    for key, details in (("input_token_details", input_details), ("output_token_details", output_details)):
        kept = {k: v for k, v in (details or {}).items() if v is not None}
        if kept:
            usage[key] = kept
    return usage


def stream_json(data: str | bytes, provider: str, what: str = "stream event") -> Any:
    """One event (or line) of a stream parsed as JSON; a malformed one is a ModelAPIError naming it."""
    try:
        return json.loads(data)
    except ValueError as e:
        raise ModelAPIError(f"malformed {what} (not JSON): {data[:200]!r}", provider=provider) from e
