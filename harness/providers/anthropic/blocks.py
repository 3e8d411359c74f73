"""`.content_blocks` for Anthropic replies: the provider's blocks as LangChain v1 standard blocks.

Registered by `harness.providers.anthropic.adapter`; pure.
"""

from __future__ import annotations

from typing import Any

from harness.providers.anthropic.format import strip_index

# --- .content_blocks -----------------------------------------------------------------------------------


def _standard_block(b: dict[str, Any], calls: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    t = b.get("type")
    if t == "text":
        out: dict[str, Any] = {"type": "text", "text": b.get("text", "")}
        if b.get("citations"):
            out["annotations"] = [
                {
                    "type": "citation",
                    **{k: c[k] for k in ("cited_text", "url", "title") if k in c},
                    "extras": c,
                }
                for c in b["citations"]
                if isinstance(c, dict)
            ]
        return out
    if t == "thinking":
        out = {"type": "reasoning", "reasoning": b.get("thinking", "")}
        if b.get("signature"):
            out["extras"] = {"signature": b["signature"]}
        return out
    if t == "tool_use":
        call = calls.get(b.get("id")) or {}
        return {
            "type": "tool_call",
            "id": b.get("id"),
            "name": b.get("name") or call.get("name", ""),
            "args": call["args"] if "args" in call else b.get("input") or {},
        }
    if t in ("server_tool_use", "mcp_tool_use"):
        return {
            "type": "server_tool_call",
            "id": b.get("id"),
            "name": b.get("name"),
            "args": b.get("input") or {},
        }
    if isinstance(t, str) and t.endswith("_tool_result"):
        result = b.get("content")
        failed = b.get("is_error") or (
            isinstance(result, dict) and str(result.get("type", "")).endswith("_error")
        )
        return {
            "type": "server_tool_result",
            "tool_call_id": b.get("tool_use_id"),
            "status": "error" if failed else "success",
            "output": result,
        }
    return {"type": "non_standard", "value": strip_index(b)}


def content_blocks(message: Any) -> list[dict[str, Any]]:
    """`.content_blocks` for Anthropic replies: thinking -> reasoning (extras.signature), tool_use ->
    tool_call, server tools -> server_tool_call/result, stop_reason refusal -> refusal."""
    calls = {c.get("id"): c for c in message.tool_calls}
    out: list[dict[str, Any]] = []
    for b in [message.content] if isinstance(message.content, str) else message.content:
        if isinstance(b, str):
            if b:
                out.append({"type": "text", "text": b})
        else:
            out.append(_standard_block(b, calls))
    seen = {b.get("id") for b in out if b["type"] == "tool_call"}
    out.extend(
        {"type": "tool_call", "id": c.get("id"), "name": c["name"], "args": c["args"]}
        for c in message.tool_calls
        if c.get("id") not in seen
    )
    refusal = message.additional_kwargs.get("refusal")
    if refusal:
        out.append({"type": "refusal", "refusal": refusal})
    return out
