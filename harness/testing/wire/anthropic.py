"""Emulated Anthropic Messages API: POST /v1/messages (JSON or the SSE event family).

Like the real API it answers 400 when `max_tokens`, `model`, `messages` or the `anthropic-version`
header is missing, or when a message has a role other than user/assistant. `Reply.usage` counts are
harness-style: `input_tokens` is the whole prompt, so the wire `input_tokens` is that minus
`cache_read` and `cache_creation` (Anthropic counts cached tokens separately).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, ClassVar

from harness.testing.scripting import EmulatedRequest, Fault, Reply, estimate_usage
from harness.testing.wire.base import Rendered, RenderedStream, WireFormat, json_response, sse
from harness.testing.wire.strict import Rejection, check_anthropic

_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal"}
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")
    return ""


def parse_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Anthropic turns -> normalised role/content dicts; tool_result blocks become role "tool"."""
    out: list[dict[str, Any]] = []
    if body.get("system"):
        out.append({"role": "system", "content": _text(body["system"])})
    for i, m in enumerate(body["messages"]):
        role, content = m.get("role"), m.get("content")
        if role not in ("user", "assistant"):
            raise ValueError(f"messages.{i}.role: Input should be 'user' or 'assistant', got {role!r}")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else list(content or [])
        if role == "assistant":
            item: dict[str, Any] = {"role": "assistant", "content": _text(blocks)}
            calls = [
                {"name": b["name"], "args": b.get("input") or {}, "id": b.get("id")}
                for b in blocks
                if b.get("type") == "tool_use"
            ]
            thinking = [
                {"thinking": b.get("thinking", ""), "signature": b.get("signature")}
                for b in blocks
                if b.get("type") == "thinking"
            ]
            if calls:
                item["tool_calls"] = calls
            if thinking:
                item["thinking"] = thinking
            out.append(item)
            continue
        results = [b for b in blocks if b.get("type") == "tool_result"]
        for r in results:
            out.append(
                {
                    "role": "tool",
                    "content": _text(r.get("content")),
                    "tool_call_id": r.get("tool_use_id"),
                    "is_error": bool(r.get("is_error")),
                }
            )
        rest = [b for b in blocks if b.get("type") != "tool_result"]
        if rest or not results:
            item = {"role": "user", "content": _text(rest)}
            images = [b for b in rest if b.get("type") == "image"]
            if images:
                item["images"] = images
            out.append(item)
    return out


def wire_usage(req: EmulatedRequest, reply: Reply) -> dict[str, Any]:
    u = estimate_usage(req, reply)
    read, write = u.get("cache_read", 0), u.get("cache_creation", 0)
    out: dict[str, Any] = {
        "input_tokens": max(u["input_tokens"] - read - write, 0),
        "cache_creation_input_tokens": write,
        "cache_read_input_tokens": read,
        "cache_creation": {"ephemeral_5m_input_tokens": write, "ephemeral_1h_input_tokens": 0},
        "output_tokens": u["output_tokens"],
        "service_tier": "standard",
    }
    if u.get("reasoning"):
        out["output_tokens_details"] = {"thinking_tokens": u["reasoning"]}
    return out


def _digest(*parts: Any) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class AnthropicMessagesFormat(WireFormat):
    provider: ClassVar[str] = "anthropic"
    base_paths: ClassVar[dict[str, str]] = {"anthropic": ""}

    def matches(self, method: str, path: str) -> bool:
        return method == "POST" and path.rstrip("/").endswith("/v1/messages")

    def parse(self, path: str, headers: dict[str, str], body: Any, query: dict[str, str]) -> EmulatedRequest:
        if not isinstance(body, dict):
            raise ValueError("the request body must be a JSON object")
        for key in ("model", "max_tokens", "messages"):
            if key not in body:
                raise ValueError(f"{key}: Field required")
        if "anthropic-version" not in headers:
            raise ValueError("anthropic-version: header is required")
        tools = [
            {"name": t["name"], "description": t.get("description", ""), "parameters": t["input_schema"]}
            for t in body.get("tools") or []
            if "input_schema" in t
        ]
        choice = body.get("tool_choice")
        if isinstance(choice, dict):
            choice = {"name": choice.get("name")} if choice.get("type") == "tool" else choice.get("type")
        fmt = (body.get("output_config") or {}).get("format") or {}
        thinking = body.get("thinking") or {}
        return EmulatedRequest(
            provider=self.provider,
            path=path,
            model=body["model"],
            messages=parse_messages(body),
            tools=tools,
            tool_choice=choice,
            response_schema=fmt.get("schema") if fmt.get("type") == "json_schema" else None,
            stream=bool(body.get("stream")),
            reasoning=thinking.get("type") in ("enabled", "adaptive"),
            body=body,
            headers=headers,
        )

    def validate(self, path: str, headers: dict[str, str], body: Any) -> Rejection | None:
        return check_anthropic(body)

    # --- the reply as content blocks --------------------------------------------------------------

    def _blocks(self, reply: Reply) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = []
        citations: list[dict[str, Any]] = []
        if reply.reasoning:
            blocks.append(
                {
                    "type": "thinking",
                    "thinking": reply.reasoning,
                    "signature": "EmuSig" + _digest(reply.reasoning)[:32],
                }
            )
        for i, spec in enumerate(reply.server_tools):
            blocks.extend(_server_blocks(spec, i, reply.text))
            if spec.get("type") == "web_search" and spec.get("status", "completed") == "completed":
                citations += [
                    {
                        "type": "web_search_result_location",
                        "url": r["url"],
                        "title": r.get("title", ""),
                        "cited_text": reply.text[:150],
                        "encrypted_index": "emu" + _digest(r["url"])[:12],
                    }
                    for r in spec.get("results") or []
                ]
        text = reply.text or (reply.refusal or "")
        if text:
            blocks.append({"type": "text", "text": text, **({"citations": citations} if citations else {})})
        blocks.extend(
            {"type": "tool_use", "id": t.id, "name": t.name, "input": t.args} for t in reply.tool_calls
        )
        return blocks

    def _stop(self, reply: Reply, req: EmulatedRequest) -> tuple[str, str | None]:
        if reply.refusal:
            return "refusal", None
        if reply.finish_reason == "stop_sequence":
            return "stop_sequence", (req.body.get("stop_sequences") or [None])[0]
        return _STOP.get(reply.finish, reply.finish), None

    def _message(
        self,
        reply: Reply,
        req: EmulatedRequest,
        content: list[Any],
        usage: dict[str, Any],
        stop: str | None = None,
        stop_sequence: str | None = None,
    ) -> dict[str, Any]:
        return {
            "id": "msg_emu" + _digest(req.body)[:20],
            "type": "message",
            "role": "assistant",
            "model": reply.model or req.model,
            "content": content,
            "stop_reason": stop,
            "stop_sequence": stop_sequence,
            "usage": usage,
        }

    def render(self, reply: Reply, req: EmulatedRequest) -> Rendered:
        stop, seq = self._stop(reply, req)
        status, headers, body = json_response(
            self._message(reply, req, self._blocks(reply), wire_usage(req, reply), stop, seq)
        )
        return status, {**headers, "request-id": "req_emu" + _digest(req.body)[:16]}, body

    def render_stream(self, reply: Reply, req: EmulatedRequest) -> RenderedStream:
        usage = wire_usage(req, reply)
        start_usage = {k: v for k, v in usage.items() if k != "output_tokens_details"}
        start_usage["output_tokens"] = 1
        pieces = [
            sse(
                {"type": "message_start", "message": self._message(reply, req, [], start_usage)},
                "message_start",
            ),
            sse({"type": "ping"}, "ping"),
        ]

        def ev(kind: str, **data: Any) -> None:
            pieces.append(sse({"type": kind, **data}, kind))

        for i, block in enumerate(self._blocks(reply)):
            t = block["type"]
            if t == "thinking":
                ev(
                    "content_block_start",
                    index=i,
                    content_block={"type": "thinking", "thinking": "", "signature": ""},
                )
                for p in _pieces(block["thinking"], reply.chunk_chars):
                    ev("content_block_delta", index=i, delta={"type": "thinking_delta", "thinking": p})
                ev(
                    "content_block_delta",
                    index=i,
                    delta={"type": "signature_delta", "signature": block["signature"]},
                )
            elif t == "text":
                start = {"type": "text", "text": "", **({"citations": []} if "citations" in block else {})}
                ev("content_block_start", index=i, content_block=start)
                for c in block.get("citations") or []:
                    ev("content_block_delta", index=i, delta={"type": "citations_delta", "citation": c})
                for p in _pieces(block["text"], reply.chunk_chars):
                    ev("content_block_delta", index=i, delta={"type": "text_delta", "text": p})
            elif t in ("tool_use", "server_tool_use"):
                ev("content_block_start", index=i, content_block={**block, "input": {}})
                args = json.dumps(block.get("input") or {})
                half = len(args) // 2
                for part in ("", args[:half], args[half:]):
                    ev(
                        "content_block_delta",
                        index=i,
                        delta={"type": "input_json_delta", "partial_json": part},
                    )
            else:
                ev("content_block_start", index=i, content_block=block)
            ev("content_block_stop", index=i)
        stop, seq = self._stop(reply, req)
        final_usage = {
            k: usage[k]
            for k in (
                "input_tokens",
                "cache_creation_input_tokens",
                "cache_read_input_tokens",
                "output_tokens",
            )
        }
        if "output_tokens_details" in usage:
            final_usage["output_tokens_details"] = usage["output_tokens_details"]
        ev("message_delta", delta={"stop_reason": stop, "stop_sequence": seq}, usage=final_usage)
        ev("message_stop")
        return 200, {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"}, pieces

    def render_error(self, fault: Fault, req: EmulatedRequest | None) -> Rendered:
        etype = _ERROR_TYPES.get(
            fault.status, "api_error" if fault.status >= 500 else "invalid_request_error"
        )
        request_id = "req_emu" + _digest(fault.status, fault.message)[:16]
        body = {"type": "error", "error": {"type": etype, "message": fault.message}, "request_id": request_id}
        return (
            fault.status,
            {"content-type": "application/json", "request-id": request_id},
            json.dumps(body).encode(),
        )

    def malformed_stream(self, req: EmulatedRequest) -> list[bytes]:
        return [b"event: content_block_delta\ndata: {not json\n\n"]


def _server_blocks(spec: dict[str, Any], i: int, text: str) -> list[dict[str, Any]]:
    """A provider-neutral `Reply.server_tools` entry as Anthropic's `server_tool_use` block and its
    result block; an entry already in Anthropic's shape (any other `type`) is sent as given."""
    kind, failed = spec.get("type"), spec.get("status", "completed") != "completed"
    tool_id = f"srvtoolu_emu{_digest(spec, i)[:16]}"
    if kind == "web_search":
        call = {
            "type": "server_tool_use",
            "id": tool_id,
            "name": "web_search",
            "input": {"query": spec.get("query", "")},
        }
        content: Any = (
            {"type": "web_search_tool_result_error", "error_code": "unavailable"}
            if failed
            else [
                {
                    "type": "web_search_result",
                    "url": r["url"],
                    "title": r.get("title", ""),
                    "encrypted_content": "emu" + _digest(r["url"])[:24],
                    "page_age": None,
                }
                for r in spec.get("results") or []
            ]
        )
        return [call, {"type": "web_search_tool_result", "tool_use_id": tool_id, "content": content}]
    if kind == "code_interpreter":
        call = {
            "type": "server_tool_use",
            "id": tool_id,
            "name": "code_execution",
            "input": {"code": spec.get("code", "")},
        }
        result = {
            "type": "code_execution_result",
            "stdout": "" if failed else spec.get("output", ""),
            "stderr": spec.get("output", "") if failed else "",
            "return_code": 1 if failed else 0,
        }
        return [call, {"type": "code_execution_tool_result", "tool_use_id": tool_id, "content": result}]
    return [spec]


def _pieces(text: str, n: int) -> list[str]:
    n = max(1, n)
    return [text[i : i + n] for i in range(0, len(text), n)] or [""]


FORMAT = AnthropicMessagesFormat()
