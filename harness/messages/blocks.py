"""Standard content blocks: the provider-neutral conversion behind `.content_blocks`, and the
registry through which provider modules teach it their native block formats."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# --- content-block translators ------------------------------------------------------------------

_TRANSLATORS: dict[str, Callable[[Any], list[dict[str, Any]]]] = {}


def register_block_translator(model_provider: str, fn: Callable[[Any], list[dict[str, Any]]]) -> None:
    """Register `fn(message) -> list of standard blocks` for AI messages whose
    `response_metadata["model_provider"] == model_provider`. `fn` may raise NotImplementedError
    to fall back to the generic conversion."""
    _TRANSLATORS[model_provider] = fn


def get_block_translator(model_provider: str) -> Callable[[Any], list[dict[str, Any]]] | None:
    return _TRANSLATORS.get(model_provider)


# --- standard content blocks (generic, provider-neutral) --------------------------------------

KNOWN_BLOCK_TYPES = frozenset(
    {
        "text",
        "reasoning",
        "refusal",
        "tool_call",
        "invalid_tool_call",
        "tool_call_chunk",
        "image",
        "audio",
        "file",
        "text-plain",
        "video",
        "server_tool_call",
        "server_tool_call_chunk",
        "server_tool_result",
        "non_standard",
    }
)


def _split_data_url(url: str) -> tuple[str, str] | None:
    """`data:image/png;base64,AAA` → ("image/png", "AAA")."""
    if not url.startswith("data:"):
        return None
    head, sep, data = url[5:].partition(",")
    if not sep or not head.endswith(";base64"):
        return None
    return head[:-7], data


def _from_v0_block(b: dict[str, Any]) -> dict[str, Any] | None:
    kind, src = b.get("type"), b.get("source_type")
    if src == "url":
        out = {"type": kind, "url": b.get("url")}
    elif src == "base64":
        out = {"type": kind, "base64": b.get("data"), "mime_type": b.get("mime_type")}
    elif src == "id":
        out = {"type": kind, "file_id": b.get("id")}
    elif src == "text" and kind == "file":
        out = {"type": "text-plain", "text": b.get("text"), "mime_type": "text/plain"}
    else:
        return None
    if "mime_type" in b and "mime_type" not in out:
        out["mime_type"] = b["mime_type"]
    extras = {
        k: v
        for k, v in b.items()
        if k not in {"type", "source_type", "url", "data", "id", "mime_type", "text"}
    }
    if extras:
        out["extras"] = extras
    return out


def _from_chat_completions_block(b: dict[str, Any]) -> dict[str, Any] | None:
    kind = b.get("type")
    if kind == "image_url":
        ref = b.get("image_url")
        url = ref.get("url") if isinstance(ref, dict) else ref
        if not isinstance(url, str):
            return None
        parsed = _split_data_url(url)
        if parsed:
            return {"type": "image", "base64": parsed[1], "mime_type": parsed[0]}
        return {"type": "image", "url": url}
    if kind == "input_audio" and isinstance(b.get("input_audio"), dict):
        audio = b["input_audio"]
        return {
            "type": "audio",
            "base64": audio.get("data"),
            "mime_type": f"audio/{audio.get('format', 'wav')}",
        }
    if kind == "file" and isinstance(b.get("file"), dict):
        f = b["file"]
        if isinstance(f.get("file_data"), str) and (parsed := _split_data_url(f["file_data"])):
            out: dict[str, Any] = {"type": "file", "base64": parsed[1], "mime_type": parsed[0]}
        elif f.get("file_id"):
            out = {"type": "file", "file_id": f["file_id"]}
        else:
            return None
        if f.get("filename"):
            out["extras"] = {"filename": f["filename"]}
        return out
    return None


def generic_blocks(content: str | list) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for item in content:
        if isinstance(item, str):
            blocks.append({"type": "text", "text": item})
        elif isinstance(item, dict):
            kind = item.get("type")
            # (an OpenAI chat `{"type": "file", "file": {...}}` part shares the standard type name)
            if (
                kind in KNOWN_BLOCK_TYPES
                and "source_type" not in item
                and not isinstance(item.get("file"), dict)
            ):
                blocks.append(item)
            else:
                conv = _from_v0_block(item) if "source_type" in item else _from_chat_completions_block(item)
                blocks.append(conv or {"type": "non_standard", "value": item})
    return blocks
