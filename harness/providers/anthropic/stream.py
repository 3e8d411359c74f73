"""Anthropic Messages SSE stream -> message chunks (`harness.providers.anthropic.adapter` uses it).

Pure; the content rule (dict blocks with `index`, leading text as strings unless tools or thinking were
requested) is described in `harness.providers.anthropic.format`.
"""

from __future__ import annotations

import json
from typing import Any

from harness.errors import ModelAPIError, error_for_status
from harness.messages.core import AIMessageChunk, parse_partial_json
from harness.providers._common import stream_json
from harness.providers._sse import SSEParser
from harness.providers.anthropic.format import (
    ERROR_STATUS,
    FINISH_REASONS,
    META_KEYS,
    TOOL_USE_TYPES,
    clean_block,
    is_plain_text,
    refusal_text,
    usage_from_anthropic,
)
from harness.providers.base import StreamDecoder, error_message


class MessagesStreamDecoder(StreamDecoder):
    """SSE events -> chunks whose sum equals `parse_response` of the same reply (content, tool calls,
    usage, metadata). Blocks carry their `index` so summation merges them; usage and stop metadata
    are emitted once, on message_delta; model_name once, on message_start."""

    def __init__(self, provider: str, text_as_blocks: bool = False) -> None:
        self.provider = provider
        self.text_as_blocks = text_as_blocks
        self.sse = SSEParser()
        self.kinds: dict[int, str] = {}  # index -> block type, "str" for leading plain text
        self.json: dict[int, str] = {}  # index -> accumulated tool input JSON
        self.usage: dict[str, Any] = {}
        self.text = ""
        self.started = self.stopped = False

    def feed(self, data: bytes) -> list[AIMessageChunk]:
        return [c for ev in self.sse.feed(data) if (c := self._event(ev.data)) is not None]

    def close(self) -> list[AIMessageChunk]:
        out = [c for ev in self.sse.close() if (c := self._event(ev.data)) is not None]
        if not self.stopped:
            raise ModelAPIError(
                "stream ended before message_stop (connection cut or truncated body)", provider=self.provider
            )
        return out

    def _chunk(self, content: Any = "", **kw: Any) -> AIMessageChunk:
        meta = {"model_provider": self.provider, **kw.pop("response_metadata", {})}
        return AIMessageChunk(content=content, response_metadata=meta, **kw)

    def _event(self, data: str) -> AIMessageChunk | None:
        if not data.strip():
            return None
        ev = stream_json(data, self.provider)
        t = ev.get("type")
        if t == "message_start":
            msg = ev.get("message") or {}
            self.started = True
            self.usage = dict(msg.get("usage") or {})
            meta = {
                k: v
                for k, v in (
                    ("id", msg.get("id")),
                    ("model", msg.get("model")),
                    ("model_name", msg.get("model")),
                )
                if v is not None
            }
            return self._chunk(id=msg.get("id"), response_metadata=meta)
        if t == "content_block_start":
            return self._block_start(ev.get("index", 0), clean_block(ev.get("content_block") or {}))
        if t == "content_block_delta":
            return self._block_delta(ev.get("index", 0), ev.get("delta") or {})
        if t == "content_block_stop":
            i = ev.get("index", 0)
            kind = self.kinds.get(i)
            if kind not in TOOL_USE_TYPES:
                return None
            raw = self.json.pop(i, "")
            try:
                args = parse_partial_json(raw) if raw.strip() else {}
            except ValueError:
                args = None
            return self._chunk([{"type": kind, "input": args if isinstance(args, dict) else {}, "index": i}])
        if t == "message_delta":
            return self._message_delta(ev)
        if t == "message_stop":
            self.stopped = True
            return None
        if t == "error":
            err = ev.get("error") or {}
            status = ERROR_STATUS.get(err.get("type"), 500)
            raise error_for_status(
                status, f"error in stream: {error_message(ev)}", provider=self.provider, body=ev
            )
        return None  # ping and event types added later

    def _block_start(self, i: int, block: dict[str, Any]) -> AIMessageChunk | None:
        kind = block.get("type", "")
        leading = not self.text_as_blocks and all(k == "str" for k in self.kinds.values())
        if leading and is_plain_text(block):
            self.kinds[i] = "str"
            self.text += block.get("text", "")
            return self._chunk(block["text"]) if block.get("text") else None
        self.kinds[i] = kind
        if kind == "text":
            self.text += block.get("text", "")
        tool_chunks = []
        if kind in TOOL_USE_TYPES:
            start_input = block.pop("input", None)
            self.json[i] = json.dumps(start_input) if start_input else ""
            if kind == "tool_use":
                tool_chunks.append(
                    {
                        "name": block.get("name"),
                        "args": self.json[i],
                        "id": block.get("id"),
                        "index": i,
                        "type": "tool_call_chunk",
                    }
                )
        return self._chunk([{**block, "index": i}], tool_call_chunks=tool_chunks)

    def _block_delta(self, i: int, delta: dict[str, Any]) -> AIMessageChunk | None:
        dt, kind = delta.get("type"), self.kinds.get(i)
        if dt == "text_delta":
            text = delta.get("text") or ""
            self.text += text
            if kind == "str":
                return self._chunk(text) if text else None
            return self._chunk([{"type": "text", "text": text, "index": i}])
        if dt in ("thinking_delta", "signature_delta"):
            key = "thinking" if dt == "thinking_delta" else "signature"
            return self._chunk([{"type": "thinking", key: delta.get(key) or "", "index": i}])
        if dt == "input_json_delta":
            part = delta.get("partial_json") or ""
            if not part:
                return None
            self.json[i] = self.json.get(i, "") + part
            if kind != "tool_use":
                return None
            return self._chunk(
                tool_call_chunks=[
                    {"name": None, "args": part, "id": None, "index": i, "type": "tool_call_chunk"}
                ]
            )
        if dt == "citations_delta" and kind == "text":
            return self._chunk([{"type": "text", "citations": [delta.get("citation")], "index": i}])
        return None

    def _message_delta(self, ev: dict[str, Any]) -> AIMessageChunk:
        delta = ev.get("delta") or {}
        # usage values here are cumulative: replace the message_start values that are present
        self.usage.update({k: v for k, v in (ev.get("usage") or {}).items() if v is not None})
        stop = delta.get("stop_reason")
        meta: dict[str, Any] = {
            "stop_reason": stop,
            "stop_sequence": delta.get("stop_sequence"),
            "usage": dict(self.usage),
            "finish_reason": FINISH_REASONS.get(stop, stop),
            **{k: delta.get(k) for k in META_KEYS},
        }
        extra = {"refusal": refusal_text(delta.get("stop_details"), self.text)} if stop == "refusal" else {}
        return self._chunk(
            usage_metadata=usage_from_anthropic(self.usage),
            additional_kwargs=extra,
            response_metadata={k: v for k, v in meta.items() if v is not None},
            chunk_position="last",
        )
