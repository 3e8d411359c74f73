"""Emulated Ollama native chat API: POST /api/chat (JSON, or NDJSON when `stream` is not false)."""

from __future__ import annotations

import json
import time
from typing import Any, ClassVar

from harness.testing.scripting import EmulatedRequest, Fault, Reply, estimate_usage
from harness.testing.wire.base import Rendered, RenderedStream, WireFormat, json_response
from harness.testing.wire.strict import Rejection, check_ollama

NDJSON = "application/x-ndjson"
_DONE_REASON = {"stop": "stop", "tool_calls": "stop", "length": "length"}


def _created_at() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime())


def parse_ollama_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for m in messages:
        item: dict[str, Any] = {"role": m.get("role", "user"), "content": m.get("content") or ""}
        if m.get("images"):
            item["images"] = m["images"]
        if m.get("tool_calls"):
            item["tool_calls"] = []
            for tc in m["tool_calls"]:
                args = tc["function"].get("arguments") or {}
                item["tool_calls"].append(
                    {
                        "name": tc["function"]["name"],
                        "args": json.loads(args) if isinstance(args, str) else args,
                        "id": tc.get("id"),
                    }
                )
        if m.get("tool_call_id"):
            item["tool_call_id"] = m["tool_call_id"]
        if m.get("tool_name"):
            item["tool_name"] = m["tool_name"]
        out.append(item)
    return out


class OllamaFormat(WireFormat):
    provider: ClassVar[str] = "ollama"
    base_paths: ClassVar[dict[str, str]] = {"ollama": ""}
    stream_content_type: ClassVar[str] = NDJSON

    def matches(self, method: str, path: str) -> bool:
        return method == "POST" and path.rstrip("/") == "/api/chat"

    def validate(self, path: str, headers: dict[str, str], body: Any) -> Rejection | None:
        return check_ollama(body)

    def parse(self, path: str, headers: dict[str, str], body: Any, query: dict[str, str]) -> EmulatedRequest:
        if not isinstance(body, dict) or not body.get("model") or not isinstance(body.get("messages"), list):
            raise ValueError("the body must be a JSON object with 'model' and a 'messages' list")
        tools = [
            {
                "name": t["function"]["name"],
                "description": t["function"].get("description", ""),
                "parameters": t["function"].get("parameters") or {},
            }
            for t in body.get("tools") or []
            if t.get("type", "function") == "function"
        ]
        fmt = body.get("format")
        return EmulatedRequest(
            provider=self.provider,
            path=path,
            model=body["model"],
            messages=parse_ollama_messages(body["messages"]),
            tools=tools,
            response_schema=fmt if isinstance(fmt, dict) else None,
            json_mode=fmt == "json",
            stream=body.get("stream", True) is not False,
            reasoning=bool(body.get("think")),
            body=body,
            headers=headers,
        )

    def _final(self, reply: Reply, req: EmulatedRequest) -> dict[str, Any]:
        u = estimate_usage(req, reply)
        return {
            "done": True,
            "done_reason": _DONE_REASON.get(reply.finish, reply.finish),
            "total_duration": 5_000_000,
            "load_duration": 1_000_000,
            "prompt_eval_count": u["input_tokens"],
            "prompt_eval_duration": 2_000_000,
            "eval_count": u["output_tokens"],
            "eval_duration": 2_000_000,
        }

    def _logprobs(self, pieces: list[str], req: EmulatedRequest) -> dict[str, Any]:
        if not req.body.get("logprobs"):
            return {}
        return {"logprobs": [{"token": p, "logprob": -0.1, "bytes": list(p.encode())} for p in pieces]}

    @staticmethod
    def _calls(reply: Reply, start: int = 0) -> list[dict[str, Any]]:
        return [
            {"id": t.id, "function": {"index": start + i, "name": t.name, "arguments": t.args}}
            for i, t in enumerate(reply.tool_calls)
        ]

    def render(self, reply: Reply, req: EmulatedRequest) -> Rendered:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text}
        if reply.reasoning:
            message["thinking"] = reply.reasoning
        if reply.tool_calls:
            message["tool_calls"] = self._calls(reply)
        return json_response(
            {
                "model": reply.model or req.model,
                "created_at": _created_at(),
                "message": message,
                **self._final(reply, req),
                **self._logprobs(reply.text_pieces(), req),
            }
        )

    def render_stream(self, reply: Reply, req: EmulatedRequest) -> RenderedStream:
        model, created = reply.model or req.model, _created_at()

        def line(message: dict[str, Any], **extra: Any) -> bytes:
            obj = {"model": model, "created_at": created, "message": {"role": "assistant", **message}}
            obj.update(extra)
            return json.dumps(obj, separators=(",", ":")).encode() + b"\n"

        lines = []
        if reply.reasoning:
            half = len(reply.reasoning) // 2
            lines += [
                line({"content": "", "thinking": p}, done=False)
                for p in (reply.reasoning[:half], reply.reasoning[half:])
            ]
        lines += [line({"content": p}, done=False, **self._logprobs([p], req)) for p in reply.text_pieces()]
        if reply.tool_calls:  # Ollama sends each call whole, never as argument fragments
            lines.append(line({"content": "", "tool_calls": self._calls(reply)}, done=False))
        lines.append(line({"content": ""}, **self._final(reply, req)))
        return 200, {"content-type": NDJSON}, _split_lines(lines)

    def render_error(self, fault: Fault, req: EmulatedRequest | None) -> Rendered:
        return json_response({"error": fault.message}, fault.status)

    def malformed_stream(self, req: EmulatedRequest) -> list[bytes]:
        return [b'{"model": "x", "message": {not json\n']


def _split_lines(lines: list[bytes], shift: int = 5) -> list[bytes]:
    """The same bytes with each piece ending a few bytes into the next line, so clients prove they
    join lines split across network chunks."""
    data = b"".join(lines)
    bounds, pos = [0], 0
    for ln in lines[:-1]:
        pos += len(ln)
        bounds.append(min(pos + shift, len(data)))
    bounds.append(len(data))
    return [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


FORMAT = OllamaFormat()
