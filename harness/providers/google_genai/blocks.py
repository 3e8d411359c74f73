"""`.content_blocks` for Gemini replies: signatures into `extras`, server tools (code execution,
toolCall / toolResponse parts) into their standard blocks, grounding metadata into citations.

Registered by `harness.providers.google_genai.adapter`; pure.
"""

from __future__ import annotations

from typing import Any

from harness.messages.core import AIMessage, AIMessageChunk
from harness.providers.google_genai.builtin import grounding_citations
from harness.providers.google_genai.request import FC_SIGNATURES, TEXT_SIGNATURES

# --- .content_blocks ----------------------------------------------------------------------------------


def _server_block(value: dict[str, Any]) -> dict[str, Any] | None:
    if isinstance(tc := value.get("toolCall"), dict):
        return {
            "type": "server_tool_call",
            "id": tc.get("id") or "",
            "name": str(tc.get("toolType") or "").lower(),
            "args": tc.get("args") or {},
        }
    if isinstance(tr := value.get("toolResponse"), dict):
        return {
            "type": "server_tool_result",
            "tool_call_id": tr.get("id") or "",
            "status": "success",
            "output": tr.get("response"),
        }
    if isinstance(code := value.get("executableCode"), dict):
        return {
            "type": "server_tool_call",
            "id": code.get("id") or "",
            "name": "code_execution",
            "args": {"code": code.get("code"), "language": code.get("language")},
        }
    if isinstance(res := value.get("codeExecutionResult"), dict):
        ok = res.get("outcome") in (None, "OUTCOME_OK")
        return {
            "type": "server_tool_result",
            "tool_call_id": res.get("id") or "",
            "status": "success" if ok else "error",
            "output": res.get("output"),
        }
    return None


def content_blocks(message: AIMessage) -> list[dict[str, Any]]:
    """Gemini AIMessage -> standard v1 blocks: signatures into `extras`, server tools into their blocks."""
    if (
        isinstance(message, AIMessageChunk)
        and message.chunk_position != "last"
        and message.tool_call_chunks
        and not message.content
    ):
        raise NotImplementedError  # mid-stream: the generic view shows raw tool-call fragments
    text_sigs = list(message.additional_kwargs.get(TEXT_SIGNATURES) or [])
    blocks: list[dict[str, Any]] = []
    for item in [message.content] if isinstance(message.content, str) else message.content:
        if isinstance(item, str):
            if item or text_sigs:
                block: dict[str, Any] = {"type": "text", "text": item}
                if text_sigs:
                    block["extras"] = {"signature": text_sigs.pop(0)}
                blocks.append(block)
        elif item.get("type") == "non_standard" and isinstance(item.get("value"), dict):
            server = _server_block(item["value"])
            if server is not None and "index" in item:
                server["index"] = item["index"]
            blocks.append(server or item)
        else:
            blocks.append(dict(item))
    citations = grounding_citations(message.response_metadata.get("grounding_metadata"))
    first_text = next((i for i, b in enumerate(blocks) if b.get("type") == "text"), None)
    if citations and first_text is not None:  # LangChain puts them on the first text block
        blocks[first_text] = {**blocks[first_text], "annotations": citations}
    sigs = message.additional_kwargs.get(FC_SIGNATURES) or {}
    for tc in message.tool_calls:
        block = {"type": "tool_call", "id": tc.get("id"), "name": tc["name"], "args": tc["args"]}
        if sigs.get(tc.get("id")):
            block["extras"] = {"signature": sigs[tc["id"]]}
        blocks.append(block)
    for itc in message.invalid_tool_calls:
        blocks.append(
            {"type": "invalid_tool_call", **{k: itc.get(k) for k in ("id", "name", "args", "error")}}
        )
    return blocks
