"""The compact encoding of the report payload: its codes and array positions, the string table,
numbers rounded for display, and messages as short dicts (``r`` role, ``c`` text, ``tc`` tool calls…).

``CELL_*`` and ``DIFF_*`` are the positions of the per-cell array and of its diff array;
``static/util.js`` reads the same positions.
"""

from __future__ import annotations

import json
from typing import Any

from harness.results.record import intval, num

FORMAT_VERSION = 1
STATUS_CODES = {"passed": 0, "failed": 1, "error": 2, "skipped": 3}
DIFF_CODES = {"new": 0, "fixed": 1, "regressed": 2, "unchanged": 3}
STATES = ["", "live", "recorded", "replayed", "miss", "mixed", "unused"]
ROLES = {"system": "s", "user": "u", "assistant": "a", "tool": "t"}

# positions in each cell array
(
    CELL_CASE,
    CELL_MODEL,
    CELL_REPEAT,
    CELL_STATUS,
    CELL_STATE,
    CELL_LATENCY,
    CELL_TTFT,
    CELL_IN,
    CELL_OUT,
    CELL_CACHED,
    CELL_REASONING,
    CELL_COST,
    CELL_AVOIDED,
    CELL_REASON,
    CELL_ASSERTIONS,
    CELL_DIFF,
    CELL_DETAIL,
) = range(17)
# positions in a cell's diff array
(
    DIFF_CODE,
    DIFF_CHANGED,
    DIFF_LATENCY,
    DIFF_COST,
    DIFF_BASE_STATUS,
    DIFF_BASE_TEXT,
    DIFF_TOKENS,
    DIFF_CUR_TEXT,
) = range(8)


class Strings:
    """A string table: each distinct string is stored once and referenced by index."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._index: dict[str, int] = {}

    def __call__(self, value: Any) -> int:
        s = value if isinstance(value, str) else str(value)
        idx = self._index.get(s)
        if idx is None:
            idx = self._index[s] = len(self.items)
            self.items.append(s)
        return idx


def text_of(content: Any) -> str:
    """Message content as display text (strings as-is, content blocks joined, anything else as JSON)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict) and isinstance(block.get("text"), str):
                parts.append(block["text"])
            else:
                parts.append(to_json(block))
        return "\n".join(parts)
    return to_json(content)


def to_json(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return str(value)


def round1(value: Any) -> float | None:
    f = num(value)
    return None if f is None else round(f, 1)


def money(value: Any) -> float | None:
    f = num(value)
    return None if f is None else float(f"{f:.6g}")


def tool_calls_of(calls: Any) -> list[list[Any]]:
    out = []
    for call in calls or []:
        if isinstance(call, dict):
            out.append([str(call.get("name") or ""), call.get("args"), call.get("id")])
    return out


# Content blocks that repeat what a message shows elsewhere (its tool calls, its reasoning).
_CALL_BLOCKS = frozenset({"tool_use", "server_tool_use", "function_call", "tool_call"})
_REASONING_BLOCKS = frozenset({"thinking", "redacted_thinking", "reasoning"})


def _content(m: dict[str, Any]) -> Any:
    """``m["content"]`` without the blocks shown on their own: a provider's raw tool-use block is not text."""
    content = m.get("content")
    if not isinstance(content, list):
        return content
    skip = (_CALL_BLOCKS if m.get("tool_calls") else frozenset()) | (
        _REASONING_BLOCKS if m.get("reasoning") else frozenset()
    )
    if not skip:
        return content
    return [b for b in content if not (isinstance(b, dict) and b.get("type") in skip)]


def compact_message(m: dict[str, Any]) -> dict[str, Any]:
    role = str(m.get("role") or "")
    d: dict[str, Any] = {"r": ROLES.get(role, role), "c": text_of(_content(m))}
    if m.get("reasoning"):
        d["rs"] = text_of(m["reasoning"])
    tc = tool_calls_of(m.get("tool_calls"))
    if tc:
        d["tc"] = tc
    if isinstance(m.get("usage"), dict):
        u = m["usage"]
        d["u"] = [
            intval(u.get("input_tokens")),
            intval(u.get("output_tokens")),
            intval(u.get("cache_read_tokens")),
            intval(u.get("reasoning_tokens")),
        ]
    if isinstance(m.get("timing"), dict):
        d["tm"] = [round1(m["timing"].get("ttft_ms")), round1(m["timing"].get("total_ms"))]
    if m.get("tool_call_id"):
        d["id"] = str(m["tool_call_id"])
    if m.get("name"):
        d["n"] = str(m["name"])
    if m.get("status"):
        d["s"] = str(m["status"])
    return d


def same_message(a: Any, b: Any) -> bool:
    return (
        isinstance(a, dict)
        and isinstance(b, dict)
        and a.get("role") == b.get("role")
        and text_of(a.get("content")) == text_of(b.get("content"))
    )


def messages_of(value: Any) -> list[dict[str, Any]]:
    return [m for m in value or [] if isinstance(m, dict)] if isinstance(value, list) else []
