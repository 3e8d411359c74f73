"""Emulated OpenAI Chat Completions: POST /v1/chat/completions (JSON or SSE with [DONE])."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any, ClassVar

from harness.testing.scripting import EmulatedRequest, Fault, Reply, estimate_usage
from harness.testing.wire.base import Rendered, RenderedStream, WireFormat, json_response, sse
from harness.testing.wire.strict import Rejection, check_openai_chat


def _content_text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return "" if content is None else str(content)


def parse_chat_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for m in messages:
        role = {"developer": "system"}.get(m.get("role", "user"), m.get("role", "user"))
        item: dict[str, Any] = {"role": role, "content": _content_text(m.get("content"))}
        if m.get("tool_calls"):
            item["tool_calls"] = [
                {
                    "name": t["function"]["name"],
                    "args": json.loads(t["function"]["arguments"] or "{}"),
                    "id": t.get("id"),
                }
                for t in m["tool_calls"]
            ]
        if m.get("tool_call_id"):
            item["tool_call_id"] = m["tool_call_id"]
        if isinstance(m.get("content"), list):
            item["images"] = [p for p in m["content"] if isinstance(p, dict) and p.get("type") == "image_url"]
        out.append(item)
    return out


def openai_usage(u: dict[str, int]) -> dict[str, Any]:
    return {
        "prompt_tokens": u["input_tokens"],
        "completion_tokens": u["output_tokens"],
        "total_tokens": u["input_tokens"] + u["output_tokens"],
        "prompt_tokens_details": {"cached_tokens": u.get("cache_read", 0), "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": u.get("reasoning", 0), "audio_tokens": 0},
    }


_FINISH = {"stop": "stop", "length": "length", "tool_calls": "tool_calls", "content_filter": "content_filter"}


class OpenAIChatFormat(WireFormat):
    provider: ClassVar[str] = "openai"
    base_paths: ClassVar[dict[str, str]] = {"openai": "/v1"}

    def matches(self, method: str, path: str) -> bool:
        return method == "POST" and path.rstrip("/").endswith("/v1/chat/completions")

    def parse(self, path: str, headers: dict[str, str], body: Any, query: dict[str, str]) -> EmulatedRequest:
        tools = [
            {
                "name": t["function"]["name"],
                "description": t["function"].get("description", ""),
                "parameters": t["function"].get("parameters") or {},
            }
            for t in body.get("tools") or []
            if t.get("type") == "function"
        ]
        choice = body.get("tool_choice")
        if isinstance(choice, dict):
            choice = {"name": choice["function"]["name"]}
        elif choice == "required":
            choice = "any"
        rf = body.get("response_format") or {}
        return EmulatedRequest(
            provider=self.provider,
            path=path,
            model=body["model"],
            messages=parse_chat_messages(body["messages"]),
            tools=tools,
            tool_choice=choice,
            response_schema=(rf.get("json_schema") or {}).get("schema")
            if rf.get("type") == "json_schema"
            else None,
            json_mode=rf.get("type") == "json_object",
            stream=bool(body.get("stream")),
            reasoning=bool(body.get("reasoning_effort")),
            body=body,
            headers=headers,
        )

    def validate(self, path: str, headers: dict[str, str], body: Any) -> Rejection | None:
        return check_openai_chat(body)

    def reject(self, rejection: Rejection) -> Rendered:
        from harness.testing.wire.openai_responses import openai_error

        return openai_error(Fault.http(rejection.status, rejection.message), rejection.param, rejection.code)

    def _id(self, req: EmulatedRequest) -> str:
        return "chatcmpl-emu" + hashlib.sha1(json.dumps(req.body, sort_keys=True).encode()).hexdigest()[:12]

    def render(self, reply: Reply, req: EmulatedRequest) -> Rendered:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": reply.text or None,
            "refusal": reply.refusal,
            "annotations": [],
        }
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": t.id,
                    "type": "function",
                    "function": {"name": t.name, "arguments": json.dumps(t.args)},
                }
                for t in reply.tool_calls
            ]
        logprobs = None
        if req.body.get("logprobs"):
            logprobs = {
                "content": [
                    {"token": p, "logprob": -0.1, "bytes": list(p.encode()), "top_logprobs": []}
                    for p in reply.text_pieces()
                ],
                "refusal": None,
            }
        return json_response(
            {
                "id": self._id(req),
                "object": "chat.completion",
                "created": int(time.time()),
                "model": reply.model or req.model,
                "system_fingerprint": "fp_emulator",
                "service_tier": "default",
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "logprobs": logprobs,
                        "finish_reason": _FINISH.get(reply.finish, reply.finish),
                    }
                ],
                "usage": openai_usage(estimate_usage(req, reply)),
            }
        )

    def render_stream(self, reply: Reply, req: EmulatedRequest) -> RenderedStream:
        cid, model, created = self._id(req), reply.model or req.model, int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:  # noqa: D401
            choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": finish}
            choice.update(extra)
            return sse(
                {
                    "id": cid,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "system_fingerprint": "fp_emulator",
                    "choices": [choice],
                    "usage": None,
                }
            )

        pieces = [chunk({"role": "assistant", "content": ""})]
        for p in reply.text_pieces():
            extra: dict[str, Any] = {}
            if req.body.get("logprobs"):
                extra["logprobs"] = {
                    "content": [{"token": p, "logprob": -0.1, "bytes": list(p.encode()), "top_logprobs": []}]
                }
            pieces.append(chunk({"content": p}, **extra))
        for i, t in enumerate(reply.tool_calls):
            args = json.dumps(t.args)
            pieces.append(
                chunk(
                    {
                        "tool_calls": [
                            {
                                "index": i,
                                "id": t.id,
                                "type": "function",
                                "function": {"name": t.name, "arguments": ""},
                            }
                        ]
                    }
                )
            )
            half = len(args) // 2
            for part in (args[:half], args[half:]):
                pieces.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": part}}]}))
        pieces.append(chunk({}, _FINISH.get(reply.finish, reply.finish)))
        if (req.body.get("stream_options") or {}).get("include_usage"):
            pieces.append(
                sse(
                    {
                        "id": cid,
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": model,
                        "choices": [],
                        "usage": openai_usage(estimate_usage(req, reply)),
                    }
                )
            )
        pieces.append(b"data: [DONE]\n\n")
        return 200, {"content-type": "text/event-stream"}, pieces


FORMAT = OpenAIChatFormat()
