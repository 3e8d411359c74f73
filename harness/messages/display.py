"""Messages as text, in LangChain's formats: `pretty_repr` / `pretty_print` (a titled block, tool
calls listed under it) and `get_buffer_string` ("Human: ...", the prompt strings a handler that
implements only `on_llm_start` receives)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

_ROLES = {"human": "Human", "ai": "AI", "AIMessageChunk": "AI", "system": "System", "tool": "Tool"}


def _title(title: str, *, bold: bool) -> str:
    padded = f" {title} "
    sep = "=" * ((80 - len(padded)) // 2)
    second = sep + "=" if len(padded) % 2 else sep
    if bold:
        padded = f"\033[1m{padded}\033[0m"
    return f"{sep}{padded}{second}"


def _calls(title: str, calls: Sequence[dict[str, Any]]) -> list[str]:
    lines = [title]
    for call in calls:
        lines += [f"  {call.get('name', 'Tool')} ({call.get('id')})", f" Call ID: {call.get('id')}"]
        if call.get("error"):
            lines.append(f"  Error: {call.get('error')}")
        lines.append("  Args:")
        args = call.get("args")
        if isinstance(args, str):
            lines.append(f"    {args}")
        elif isinstance(args, dict):
            lines += [f"    {name}: {value}" for name, value in args.items()]
    return lines


def pretty_repr(message: Any, *, html: bool = False) -> str:
    title = _title(message.type.title() + " Message", bold=html)
    if message.name is not None:
        title += f"\nName: {message.name}"
    text = f"{title}\n\n{message.content}"
    if not hasattr(message, "tool_calls"):  # AI messages only list their calls
        return text
    lines: list[str] = []
    if message.tool_calls:
        lines += _calls("Tool Calls:", message.tool_calls)
    if message.invalid_tool_calls:
        lines += _calls("Invalid Tool Calls:", message.invalid_tool_calls)
    return (text.strip() + "\n" + "\n".join(lines)).strip()


def is_interactive() -> bool:
    return hasattr(sys, "ps2")


def get_buffer_string(messages: Sequence[Any], human_prefix: str = "Human", ai_prefix: str = "AI") -> str:
    """One line per message, "Role: text" (LangChain's prompt strings for completion-style hooks)."""
    out = []
    for m in messages:
        role = {"human": human_prefix, "ai": ai_prefix, "AIMessageChunk": ai_prefix}.get(m.type)
        role = role or _ROLES.get(m.type) or getattr(m, "role", None) or m.type.title()
        line = f"{role}: {m.text}"
        call = m.additional_kwargs.get("function_call") if role == ai_prefix else None
        if call:
            line += f"{call}"
        out.append(line)
    return "\n".join(out)
