"""Harness messages, tools and parameters -> a Bedrock Converse request body.

Pure translation for `harness.providers.bedrock.converse`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from harness.errors import UnsupportedFeatureError
from harness.messages.core import AIMessage, BaseMessage, ToolMessage
from harness.providers._common import append_turn
from harness.providers.base import ChatRequest, image_source

PROVIDER = "bedrock_converse"
# keys of a native Converse content block (passed through unchanged when given as is)
NATIVE_BLOCKS = frozenset(
    {
        "text",
        "image",
        "document",
        "video",
        "audio",
        "toolUse",
        "toolResult",
        "reasoningContent",
        "cachePoint",
        "guardContent",
        "citationsContent",
        "searchResult",
    }
)
_DOC_FORMATS = {
    "application/pdf": "pdf",
    "text/csv": "csv",
    "application/msword": "doc",
    "text/html": "html",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "text/plain": "txt",
    "text/markdown": "md",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}
_INFERENCE = {
    "max_tokens": "maxTokens",
    "temperature": "temperature",
    "top_p": "topP",
    "stop": "stopSequences",
    "maxTokens": "maxTokens",
    "topP": "topP",
    "stopSequences": "stopSequences",
}
_TOP_LEVEL = {
    "additional_model_response_field_paths": "additionalModelResponseFieldPaths",
    "guardrail_config": "guardrailConfig",
    "performance_config": "performanceConfig",
    "request_metadata": "requestMetadata",
    "prompt_variables": "promptVariables",
    "service_tier": "serviceTier",
}
_DROP = {"stream_usage"}


def _native(block: dict[str, Any]) -> bool:
    return "type" not in block and len(block) == 1 and next(iter(block)) in NATIVE_BLOCKS


def _cache_point(block: dict[str, Any]) -> list[dict[str, Any]]:
    """Anthropic-style `cache_control` on a block becomes a Converse cachePoint placed after it."""
    return [{"cachePoint": {"type": "default"}}] if block.get("cache_control") else []


def _image(block: dict[str, Any]) -> dict[str, Any]:
    src = image_source(block) or {}
    if "base64" in src:
        fmt = src["mime_type"].split("/")[-1].lower().replace("jpg", "jpeg")
        return {"image": {"format": fmt, "source": {"bytes": src["base64"]}}}
    url = src.get("url", "")
    if url.startswith("s3://"):
        mime = block.get("mime_type") or "image/" + url.rsplit(".", 1)[-1]
        fmt = mime.split("/")[-1].lower().replace("jpg", "jpeg")
        return {"image": {"format": fmt, "source": {"s3Location": {"uri": url}}}}
    raise ValueError(
        f"{PROVIDER}: Bedrock does not fetch image URLs; allowed: base64 data (a data: URL or "
        f"{{'type': 'image', 'base64': ..., 'mime_type': ...}}) or an s3:// URI; received {url[:80]!r}"
    )


def _document(block: dict[str, Any], n: int) -> dict[str, Any]:
    extras = block.get("extras") or {}
    mime = block.get("mime_type") or "application/pdf"
    fmt = _DOC_FORMATS.get(mime)
    if fmt is None:
        raise ValueError(
            f"{PROVIDER}: document mime_type must be one of {sorted(_DOC_FORMATS)}; received {mime!r}"
        )
    name = block.get("name") or extras.get("name") or extras.get("filename") or f"document-{n}"
    # Bedrock allows only letters, digits, whitespace, hyphens, parentheses and brackets in names
    name = re.sub(r"[^A-Za-z0-9\s\-()\[\]]", "-", str(name).rsplit(".", 1)[0]) or f"document-{n}"
    if block.get("type") == "text-plain" or "text" in block:
        source: dict[str, Any] = {"text": block.get("text", "")}
        fmt = "txt"
    elif block.get("base64"):
        source = {"bytes": block["base64"]}
    elif str(block.get("url", "")).startswith("s3://"):
        source = {"s3Location": {"uri": block["url"]}}
    else:
        raise ValueError(
            f"{PROVIDER}: a file block needs base64 data, text or an s3:// url; received keys {sorted(block)}"
        )
    doc: dict[str, Any] = {"format": fmt, "name": name, "source": source}
    if extras.get("citations"):
        doc["citations"] = {"enabled": True}
    return {"document": doc}


def user_blocks(m: BaseMessage) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for block in m.content_blocks:
        kind = block.get("type")
        if kind == "non_standard" and isinstance(block.get("value"), dict) and _native(block["value"]):
            out.append(block["value"])
            continue
        if kind == "text":
            out.append({"text": block["text"]})
        elif kind == "image":
            out.append(_image(block))
        elif kind in ("file", "text-plain"):
            out.append(_document(block, sum(1 for b in out if "document" in b)))
        else:
            raise ValueError(
                f"{PROVIDER}: cannot send a {kind!r} content block in a {m.type} message; allowed: text, image, "
                "file (pdf, txt, csv, html, md, doc(x), xls(x)) or a native Converse block"
            )
        out.extend(_cache_point(block))
    return out


def _reasoning(block: dict[str, Any]) -> dict[str, Any] | None:
    """A reasoning block in any of the shapes harness meets -> Converse reasoningContent, or None when
    it carries no signature (Bedrock's Claude models reject unsigned reasoning; other models drop it)."""
    kind = block.get("type")
    extras = block.get("extras") or {}
    if kind == "reasoning_content":  # langchain-aws v0 shape
        rc = block.get("reasoning_content") or {}
        text, sig, redacted = (
            rc.get("text"),
            rc.get("signature"),
            rc.get("redacted_content") or rc.get("redactedContent"),
        )
    elif kind in ("thinking", "redacted_thinking"):  # Anthropic shape
        text, sig, redacted = block.get("thinking"), block.get("signature"), block.get("data")
    else:
        text, sig, redacted = block.get("reasoning"), extras.get("signature"), extras.get("redacted_content")
    if redacted:
        return {"reasoningContent": {"redactedContent": redacted}}
    if not sig:
        return None
    return {"reasoningContent": {"reasoningText": {"text": text or "", "signature": sig}}}


def assistant_blocks(m: AIMessage) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    content = [m.content] if isinstance(m.content, str) else m.content
    for block in content:
        if isinstance(block, str):
            if block.strip():
                out.append({"text": block})
            continue
        kind = block.get("type")
        if _native(block):
            out.append(block)
        elif kind == "text":
            if block.get("text", "").strip():
                out.append({"text": block["text"]})
            out.extend(_cache_point(block))
        elif kind in ("reasoning", "reasoning_content", "thinking", "redacted_thinking"):
            rc = _reasoning(block)
            if rc is not None:
                out.append(rc)
        elif kind == "server_tool_call":
            out.append(
                {
                    "toolUse": {
                        "toolUseId": block.get("id"),
                        "name": block.get("name"),
                        "input": block.get("args") or {},
                        "type": "server_tool_use",
                    }
                }
            )
        elif kind == "server_tool_result":
            tr = {
                "toolUseId": block.get("tool_call_id"),
                "content": block.get("output") or [],
                "status": block.get("status", "success"),
            }
            tr.update(block.get("extras") or {})
            out.append({"toolResult": tr})
        elif kind == "non_standard" and isinstance(block.get("value"), dict) and _native(block["value"]):
            out.append(block["value"])
        # tool calls are sent from m.tool_calls below; images or unknown blocks in a reply are dropped
    for tc in m.tool_calls:
        out.append(
            {"toolUse": {"toolUseId": tc.get("id"), "name": tc["name"], "input": tc.get("args") or {}}}
        )
    return out


def _tool_result(m: ToolMessage) -> dict[str, Any]:
    if isinstance(m.content, str):
        content: list[dict[str, Any]] = [{"text": m.content}]
    else:
        content = []
        for block in m.content_blocks:
            if block.get("type") == "text":
                content.append({"text": block["text"]})
            elif block.get("type") == "image":
                content.append(_image(block))
            elif block.get("type") == "non_standard" and isinstance(block.get("value"), dict):
                value = block["value"]
                content.append(value if len(value) == 1 else {"json": value})
            else:
                content.append({"text": json.dumps(block)})
    return {
        "toolResult": {
            "toolUseId": m.tool_call_id,
            "content": content,
            "status": "error" if m.status == "error" else "success",
        }
    }


def to_converse(messages: list[BaseMessage]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(system blocks, messages). System messages anywhere go to the top-level `system`; tool results
    become user toolResult blocks; consecutive same-role turns are merged (Bedrock wants alternation)."""
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for m in messages:
        if m.type == "system":
            system.extend(user_blocks(m))
            continue
        if isinstance(m, ToolMessage):
            role, blocks = "user", [_tool_result(m)]
        elif isinstance(m, AIMessage):
            role, blocks = "assistant", assistant_blocks(m)
        elif m.type == "human":
            role, blocks = "user", user_blocks(m)
        else:
            raise ValueError(
                f"{PROVIDER}: cannot send a {type(m).__name__}; allowed: system, human, ai, tool messages"
            )
        append_turn(turns, role, blocks)
    return system, turns


def tool_spec(tool: dict[str, Any]) -> dict[str, Any]:
    if tool.get("type") != "function":
        return tool  # provider-native entry (toolSpec, systemTool, cachePoint) passed through
    fn = tool["function"]
    spec: dict[str, Any] = {
        "name": fn["name"],
        "description": fn.get("description") or fn["name"],
        "inputSchema": {"json": fn.get("parameters") or {"type": "object", "properties": {}}},
    }
    if fn.get("strict"):
        spec["strict"] = True
    return {"toolSpec": spec}


def _has_tool_blocks(turns: list[dict[str, Any]]) -> bool:
    return any("toolUse" in b or "toolResult" in b for t in turns for b in t["content"])


def tool_config(request: ChatRequest, turns: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not request.tools:
        return None
    choice = request.tool_choice
    config: dict[str, Any] = {"tools": [tool_spec(t) for t in request.tools]}
    if choice == "none":
        # Converse has no "none": leave the tools out, unless the history holds tool blocks, which
        # Bedrock refuses without a toolConfig (then the tools stay, with no forced choice)
        return config if _has_tool_blocks(turns) else None
    if choice == "auto":
        config["toolChoice"] = {"auto": {}}
    elif choice == "any":
        config["toolChoice"] = {"any": {}}
    elif isinstance(choice, dict) and choice.get("type") == "tool":
        config["toolChoice"] = {"tool": {"name": choice["name"]}}
    elif isinstance(choice, dict):
        config["toolChoice"] = choice
    return config


def build_body(request: ChatRequest) -> dict[str, Any]:
    system, turns = to_converse(request.messages)
    body: dict[str, Any] = {"messages": turns}
    if system:
        body["system"] = system
    inference: dict[str, Any] = {}
    extra_fields: dict[str, Any] = {}
    for key, value in request.params.items():
        if key in _DROP:
            continue
        if key in _INFERENCE:
            if _INFERENCE[key] == "stopSequences" and isinstance(value, str):
                value = [value]
            inference[_INFERENCE[key]] = value
        elif key in ("additional_model_request_fields", "additionalModelRequestFields"):
            extra_fields.update(value or {})
        elif key == "thinking":
            extra_fields["thinking"] = value
        elif key in _TOP_LEVEL:
            body[_TOP_LEVEL[key]] = (
                {"type": value} if key == "service_tier" and isinstance(value, str) else value
            )
        else:  # anything else is model-specific: Converse passes it to the model as is
            extra_fields[key] = value
    if inference:
        body["inferenceConfig"] = inference
    config = tool_config(request, turns)
    if config is not None:
        body["toolConfig"] = config
    rf = request.response_format
    if rf is not None:
        if rf.type != "json_schema":
            raise UnsupportedFeatureError(PROVIDER, f"response_format type {rf.type!r}", ["json_schema"])
        js: dict[str, Any] = {"schema": json.dumps(rf.schema or {}), "name": rf.name or "output"}
        if rf.description:
            js["description"] = rf.description
        body["outputConfig"] = {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": js}}}
    if extra_fields:
        body["additionalModelRequestFields"] = extra_fields
    body.update(request.extra_body)
    return body
