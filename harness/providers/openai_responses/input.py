"""Harness messages -> OpenAI Responses `input` items (docs/providers/openai.md).

* system / developer messages stay in place as `{"role": "system"|"developer"}` items (so a system
  message in the middle of a conversation keeps its position); pass `instructions=...` as a model
  parameter to use the top-level field instead;
* human messages -> `{"role": "user", "content": str | [input_text / input_image / input_file]}`;
* AI messages -> their reasoning items, assistant message items, server-tool items (replayed
  verbatim) and `function_call` items (`call_id` = the tool call id), in content order, function calls last;
* tool messages -> `function_call_output` items with `call_id`.

With `store=False` the server keeps nothing, so ids of earlier items cannot be resolved: message ids
are dropped and reasoning items are only replayed when they carry `encrypted_content`.
"""

from __future__ import annotations

import json
from typing import Any

from harness.messages.core import AIMessage, BaseMessage, ToolMessage
from harness.providers._common import text_of
from harness.providers.base import image_detail, image_source, source_url
from harness.providers.openai_responses.items import FUNCTION_CALL_IDS, annotation_to_wire

_NATIVE_INPUT_PARTS = ("input_text", "input_image", "input_file")
_TEXT_PARTS = ("text", "input_text", "output_text")


def _file_part(block: dict[str, Any]) -> dict[str, Any] | None:
    if block.get("type") == "file" and isinstance(block.get("file"), dict):  # Chat Completions form
        f = block["file"]
        part = {"type": "input_file", **{k: f[k] for k in ("file_data", "file_id", "filename") if f.get(k)}}
        return part if len(part) > 1 else None
    if block.get("type") != "file":
        return None
    extras = block.get("extras") or {}
    filename = block.get("filename") or extras.get("filename")
    if block.get("file_id") or (block.get("id") and block.get("source_type") == "id"):
        part = {"type": "input_file", "file_id": block.get("file_id") or block.get("id")}
    elif block.get("base64") or block.get("data"):
        mime = block.get("mime_type", "application/pdf")
        part = {
            "type": "input_file",
            "file_data": f"data:{mime};base64,{block.get('base64') or block.get('data')}",
            "filename": filename or "file",
        }
    elif block.get("url"):
        part = {"type": "input_file", "file_url": block["url"]}
    else:
        return None
    if filename:
        part["filename"] = filename
    return part


def user_parts(content: Any) -> Any:
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for block in content:
        if isinstance(block, str):
            parts.append({"type": "input_text", "text": block})
        elif block.get("type") == "text":
            parts.append({"type": "input_text", "text": block.get("text", "")})
        elif block.get("type") in _NATIVE_INPUT_PARTS:
            parts.append(block)
        elif (src := image_source(block)) is not None:
            if block.get("file_id"):
                part = {"type": "input_image", "file_id": block["file_id"]}
            else:
                part = {"type": "input_image", "image_url": source_url(src)}
            part["detail"] = image_detail(block) or "auto"
            parts.append(part)
        elif (fp := _file_part(block)) is not None:
            parts.append(fp)
        else:
            raise ValueError(
                f"cannot send a {block.get('type')!r} content block to the OpenAI Responses API; "
                "allowed: text, image, file (and input_text / input_image / input_file)"
            )
    return parts


def _assistant_items(m: AIMessage, stateless: bool) -> list[dict[str, Any]]:
    if isinstance(m.content, str):
        items = [{"role": "assistant", "content": m.content}] if m.content else []
    else:
        items = _content_items(m.content, stateless)
    fc_ids = m.additional_kwargs.get(FUNCTION_CALL_IDS) or {}
    for tc in [*m.tool_calls, *m.invalid_tool_calls]:
        args = tc.get("args")
        item = {
            "type": "function_call",
            "call_id": tc.get("id") or "",
            "name": tc.get("name") or "",
            "arguments": args if isinstance(args, str) else json.dumps(args or {}, ensure_ascii=False),
        }
        if not stateless and fc_ids.get(tc.get("id")):
            item["id"] = fc_ids[tc["id"]]
        items.append(item)
    return items


def _content_items(content: list[Any], stateless: bool) -> list[dict[str, Any]]:
    """An assistant message's content blocks as input items: text and refusals grouped into message
    items (by their stored id), reasoning items, and the provider's own items sent back as they were."""
    items: list[dict[str, Any]] = []
    message: dict[str, Any] | None = None  # the assistant message item being filled
    reasoning: dict[str, Any] | None = None
    for block in content:
        if isinstance(block, str):
            block = {"type": "text", "text": block}
        kind = block.get("type")
        if kind != "reasoning":
            reasoning = None
        if kind in ("text", "output_text", "refusal"):
            bid = block.get("id")
            if stateless or not (isinstance(bid, str) and bid.startswith("msg_")):
                bid = None  # only ids of OpenAI's own stored message items can be sent back
            if message is None or message.get("id") != bid:
                message = {"type": "message", "role": "assistant", "content": []}
                if bid:
                    message["id"] = bid
                items.append(message)
            if kind == "refusal":
                message["content"].append({"type": "refusal", "refusal": block.get("refusal", "")})
            else:
                anns = [a for a in map(annotation_to_wire, block.get("annotations") or []) if a]
                message["content"].append(
                    {"type": "output_text", "text": block.get("text", ""), "annotations": anns}
                )
            continue
        message = None
        if kind == "reasoning":
            reasoning = _reasoning_item(block, reasoning, items, stateless)
        elif kind == "server_tool_call" and isinstance((block.get("extras") or {}).get("item"), dict):
            items.append(block["extras"]["item"])
        elif kind == "image" and str(block.get("id") or "").startswith("ig_"):
            items.append({"type": "image_generation_call", "id": block["id"]})  # the stored image
        elif kind == "non_standard" and isinstance(block.get("value"), dict) and block["value"].get("type"):
            items.append(block["value"])
    return items


def _reasoning_item(
    block: dict[str, Any], current: dict[str, Any] | None, items: list[dict[str, Any]], stateless: bool
) -> dict[str, Any] | None:
    """Add a reasoning block to the reasoning item of its id (`current`, or a new one appended to
    `items`); returns the item later blocks of the same id add to. Another provider's thinking is left
    out: it cannot be replayed here."""
    rid = block.get("id")
    if not (isinstance(rid, str) and rid.startswith("rs_")):
        return current
    extras = block.get("extras") or {}
    if current is None or current["id"] != rid:
        current = {"type": "reasoning", "id": rid, "summary": []}
        if not (stateless and not extras.get("encrypted_content")):
            items.append(current)
    if extras.get("encrypted_content"):
        current["encrypted_content"] = extras["encrypted_content"]
    if "reasoning" in block:
        if extras.get("source") == "reasoning_text":
            current.setdefault("content", []).append({"type": "reasoning_text", "text": block["reasoning"]})
        else:
            current["summary"].append({"type": "summary_text", "text": block["reasoning"]})
    return current


def _tool_output(content: Any) -> Any:
    if isinstance(content, str):
        return content
    if all(isinstance(b, str) or b.get("type") == "text" for b in content):
        return text_of(content, _TEXT_PARTS)
    return user_parts(content)


def messages_to_input(messages: list[BaseMessage], *, stateless: bool = False) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for m in messages:
        if m.type == "system":
            role = "developer" if m.additional_kwargs.get("__openai_role__") == "developer" else "system"
            items.append({"role": role, "content": text_of(m.content, _TEXT_PARTS)})
        elif m.type == "human":
            items.append({"role": "user", "content": user_parts(m.content)})
        elif isinstance(m, AIMessage):
            items.extend(_assistant_items(m, stateless))
        elif isinstance(m, ToolMessage):
            items.append(
                {"type": "function_call_output", "call_id": m.tool_call_id, "output": _tool_output(m.content)}
            )
        else:
            raise ValueError(
                f"cannot send a {type(m).__name__} to the OpenAI Responses API; allowed: system, human, ai, tool messages"
            )
    return items
