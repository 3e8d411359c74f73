"""Anthropic Messages translation helpers: messages/tools out, content/usage in.

Used by `harness.providers.anthropic.adapter`; pure functions only. See docs/providers/anthropic.md.

Reply content is LangChain's (ChatAnthropic). `invoke`: a reply that is one text block without
citations is a string; any other reply is the list of its blocks as dicts, e.g.
`[{"type": "text", "text": "Let me check."}, {"type": "tool_use", ...}]`, with no `index`.
Streamed chunks carry dict blocks with their Anthropic `index` (so summation merges them), except
that when the request bound no tools and no thinking, leading text arrives as plain strings (as
LangChain's `coerce_content_to_string`). A summed stream therefore has the invoke's
`.content_blocks`, `.text` and tool calls, with `index` on its dict blocks.
"""

from __future__ import annotations

import json
from typing import Any

from harness.messages.core import KNOWN_BLOCK_TYPES, BaseMessage, ToolMessage
from harness.providers._common import append_turn, usage_metadata
from harness.providers.base import image_source

# normalised finish_reason (docs/providers/anthropic.md); the raw value stays in response_metadata.stop_reason
FINISH_REASONS: dict[Any, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
# error.type in an error body / stream `error` event -> HTTP status it stands for
ERROR_STATUS: dict[Any, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
TOOL_USE_TYPES = ("tool_use", "server_tool_use", "mcp_tool_use")
META_KEYS = ("container", "stop_details")  # reply fields kept in response_metadata


# --- outgoing: messages ----------------------------------------------------------------------------


def strip_index(block: dict[str, Any]) -> dict[str, Any]:
    """A stored block as Anthropic accepts it back: without our stream `index`."""
    return {k: v for k, v in block.items() if k != "index"}


def _text_block(text: str, src: dict[str, Any] | None = None) -> dict[str, Any] | None:
    if not text or not text.strip():  # the API rejects empty text blocks
        return None
    out: dict[str, Any] = {"type": "text", "text": text}
    if src and src.get("cache_control"):
        out["cache_control"] = src["cache_control"]
    return out


def _input_block(b: str | dict[str, Any]) -> dict[str, Any] | None:
    """One user / tool-result content item (str, standard v1, v0, OpenAI or native Anthropic block)."""
    if isinstance(b, str):
        return _text_block(b)
    t = b.get("type")
    cache = {"cache_control": b["cache_control"]} if b.get("cache_control") else {}
    if t == "text":
        return _text_block(b.get("text") or "", b)
    if "source" in b or t not in KNOWN_BLOCK_TYPES | {"image_url"}:
        # native Anthropic block (image/document with source, tool_result, search_result ...)
        return strip_index(b)
    if t in ("image", "file") and b.get("file_id"):
        return {
            "type": "image" if t == "image" else "document",
            "source": {"type": "file", "file_id": b["file_id"]},
            **cache,
        }
    if (src := image_source(b)) is not None:
        source = (
            {"type": "url", "url": src["url"]}
            if "url" in src
            else {"type": "base64", "media_type": src["mime_type"], "data": src["base64"]}
        )
        return {"type": "image", "source": source, **cache}
    if t == "file":
        if b.get("url"):
            return {"type": "document", "source": {"type": "url", "url": b["url"]}, **cache}
        return {
            "type": "document",
            "source": {
                "type": "base64",
                "media_type": b.get("mime_type", "application/pdf"),
                "data": b.get("base64") or b.get("data", ""),
            },
            **cache,
        }
    if t == "text-plain":
        return {
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain", "data": b.get("text", "")},
            **cache,
        }
    raise ValueError(
        f"cannot send a {t!r} content block to Anthropic; allowed: text, image, file, text-plain "
        "or native Anthropic blocks"
    )


def _user_blocks(content: Any) -> list[dict[str, Any]]:
    items = [content] if isinstance(content, str) else content
    return [o for b in items if (o := _input_block(b)) is not None]


def _tool_use(call: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": call.get("id"), "name": call["name"], "input": call.get("args") or {}}


def _assistant_blocks(m: Any) -> list[dict[str, Any]]:
    """AI message -> blocks; thinking signatures go back unchanged, `tool_calls` are authoritative."""
    calls = {c.get("id"): c for c in m.tool_calls}
    used: set[Any] = set()
    out: list[dict[str, Any]] = []
    for b in [m.content] if isinstance(m.content, str) else m.content:
        if isinstance(b, str):
            blk = _text_block(b)
        elif (t := b.get("type")) == "text":
            blk = _text_block(b.get("text") or "", b)
        elif t == "thinking":
            blk = {"type": "thinking", "thinking": b.get("thinking", ""), "signature": b.get("signature", "")}
        elif t == "redacted_thinking":
            blk = {"type": "redacted_thinking", "data": b.get("data", "")}
        elif t == "reasoning":  # a standard block: only a signed one can go back
            sig = (b.get("extras") or {}).get("signature")
            blk = {"type": "thinking", "thinking": b.get("reasoning", ""), "signature": sig} if sig else None
        elif t in ("tool_use", "tool_call"):
            cid = b.get("id")
            if calls:
                blk = _tool_use(calls[cid]) if cid in calls and cid not in used else None
                used.add(cid)
            else:
                blk = {
                    "type": "tool_use",
                    "id": cid,
                    "name": b.get("name"),
                    "input": b.get("input", b.get("args")) or {},
                }
        elif t in ("tool_call_chunk", "invalid_tool_call", "refusal", "non_standard"):
            blk = None
        else:
            blk = strip_index(b)  # server_tool_use, *_tool_result ... replayed as received
        if blk is not None:
            out.append(blk)
    out.extend(_tool_use(c) for cid, c in calls.items() if cid not in used)
    return out


def _tool_result(m: ToolMessage) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "tool_result", "tool_use_id": m.tool_call_id}
    content = m.content if isinstance(m.content, str) else _user_blocks(m.content)
    if content:
        out["content"] = content
    if m.status == "error":
        out["is_error"] = True
    return out


def messages_to_anthropic(messages: list[BaseMessage]) -> tuple[Any, list[dict[str, Any]]]:
    """-> (top-level `system` or None, `messages`). System messages anywhere are hoisted (the API has
    no system role); consecutive same-role turns are merged, tool results first in a user turn."""
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for m in messages:
        if m.type == "system":
            system.extend(_user_blocks(m.content))
            continue
        if m.type == "human":
            role, blocks = "user", _user_blocks(m.content)
        elif m.type in ("ai", "AIMessageChunk"):
            role, blocks = "assistant", _assistant_blocks(m)
        elif isinstance(m, ToolMessage):
            role, blocks = "user", [_tool_result(m)]
        else:
            raise ValueError(
                f"cannot send a {type(m).__name__} to Anthropic; allowed: system, human, ai, tool messages"
            )
        append_turn(turns, role, blocks)
    for turn in turns:
        if turn["role"] == "user":  # the API wants tool_result blocks before anything else in the turn
            c = turn["content"]
            turn["content"] = [b for b in c if b.get("type") == "tool_result"] + [
                b for b in c if b.get("type") != "tool_result"
            ]
    if not system:
        return None, turns
    if all(set(b) == {"type", "text"} for b in system):
        return "\n\n".join(b["text"] for b in system), turns
    return system, turns


# --- outgoing: tools and schemas -------------------------------------------------------------------

_UNSUPPORTED_KEYS = frozenset(
    {
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "maxItems",
        "uniqueItems",
        "minProperties",
        "maxProperties",
    }
)
_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"}
)


def anthropic_schema(schema: Any) -> Any:
    """The JSON-schema subset structured outputs accept (as the official SDK's transform does): every
    object gets `additionalProperties: false`; unsupported constraints move into the description;
    `oneOf` becomes `anyOf`; `title` / `$schema` are dropped."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    notes: list[str] = []
    for k, v in schema.items():
        if k in ("properties", "$defs", "definitions") and isinstance(v, dict):
            out[k] = {name: anthropic_schema(sub) for name, sub in v.items()}
        elif k in ("anyOf", "oneOf", "allOf") and isinstance(v, list):
            out["anyOf" if k == "oneOf" else k] = [anthropic_schema(s) for s in v]
        elif k in ("items", "not") and isinstance(v, dict):
            out[k] = anthropic_schema(v)
        elif k in ("title", "$schema", "additionalProperties"):
            continue
        elif (
            k in _UNSUPPORTED_KEYS
            or (k == "minItems" and v not in (0, 1))
            or (k == "format" and v not in _FORMATS)
        ):
            notes.append(f"{k}: {json.dumps(v)}")
        else:
            out[k] = v
    if out.get("type") == "object" or "properties" in out:
        out["additionalProperties"] = False
    if notes:
        out["description"] = " ".join(filter(None, [out.get("description"), "{" + ", ".join(notes) + "}"]))
    return out


def tool_to_anthropic(tool: dict[str, Any]) -> dict[str, Any]:
    """OpenAI function-tool dict -> Anthropic custom tool; native Anthropic tool dicts pass through."""
    if tool.get("type") != "function" or "function" not in tool:
        return tool
    fn = tool["function"]
    out: dict[str, Any] = {"name": fn["name"]}
    if fn.get("description"):
        out["description"] = fn["description"]
    schema = fn.get("parameters") or {"type": "object", "properties": {}}
    if fn.get("strict"):
        out["strict"] = True
        schema = anthropic_schema(schema)
    out["input_schema"] = schema
    return out


def tool_choice_to_anthropic(choice: Any, parallel: bool | None) -> dict[str, Any] | None:
    if choice is None:
        out: dict[str, Any] | None = {"type": "auto"} if parallel is False else None
    elif choice in ("auto", "any", "none"):
        out = {"type": choice}
    elif isinstance(choice, dict) and choice.get("type") == "function":  # OpenAI-style dict
        out = {"type": "tool", "name": (choice.get("function") or {}).get("name") or choice.get("name")}
    elif isinstance(choice, dict):
        out = dict(choice)
    else:
        raise ValueError(f"tool_choice must be 'auto', 'any', 'none' or a dict; got {choice!r}")
    if out is not None and parallel is False and out.get("type") != "none":
        out["disable_parallel_tool_use"] = True
    return out


# --- incoming ----------------------------------------------------------------------------------------


def clean_block(block: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in block.items() if v is not None}


def is_plain_text(block: dict[str, Any]) -> bool:
    return block.get("type") == "text" and block.get("citations") is None


def reply_content(blocks: list[dict[str, Any]]) -> str | list[Any]:
    """Response `content` -> message content under the module docstring's rule (invoke)."""
    cleaned = [clean_block(b) for b in blocks]
    if len(cleaned) == 1 and is_plain_text(cleaned[0]):
        return str(cleaned[0].get("text", ""))
    for b in cleaned:
        if b.get("type") in TOOL_USE_TYPES and not isinstance(b.get("input"), dict):
            b["input"] = {}
    return cleaned


def usage_from_anthropic(u: dict[str, Any] | None) -> dict[str, Any] | None:
    """input_tokens = input + cache read + cache creation (Anthropic's own count excludes the cache);
    `cache_creation` is the whole cache write, `ephemeral_*` its per-TTL breakdown when non-zero."""
    if not u:
        return None
    read, write = u.get("cache_read_input_tokens"), u.get("cache_creation_input_tokens")
    inp = (u.get("input_tokens") or 0) + (read or 0) + (write or 0)
    ephemeral = {k: v for k, v in (u.get("cache_creation") or {}).items() if isinstance(v, int) and v}
    thinking = (u.get("output_tokens_details") or {}).get("thinking_tokens")
    return usage_metadata(
        inp,
        u.get("output_tokens") or 0,
        None,
        {"cache_read": read, "cache_creation": write, **ephemeral},
        {"reasoning": thinking},
    )


def refusal_text(stop_details: Any, text: str) -> str:
    explanation = stop_details.get("explanation") if isinstance(stop_details, dict) else None
    return explanation or text or "The model refused to answer."
