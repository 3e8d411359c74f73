"""Emulated Bedrock Runtime Converse: POST /model/{modelId}/converse (JSON) and /converse-stream
(binary AWS event stream). Signatures are not verified; tests assert them on `emu.requests`."""

from __future__ import annotations

import json
import uuid
from typing import Any, ClassVar
from urllib.parse import unquote

from harness.providers.bedrock.eventstream import encode_event, encode_message
from harness.testing.scripting import EmulatedRequest, Fault, Reply, estimate_usage
from harness.testing.wire.base import Rendered, RenderedStream, WireFormat, json_response
from harness.testing.wire.strict import Rejection
from harness.testing.wire.strict_bedrock import check_bedrock_converse

_STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "content_filtered",
}
_CODES = {
    400: "ValidationException",
    401: "UnrecognizedClientException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    503: "ServiceUnavailableException",
}
STREAM_CONTENT_TYPE = "application/vnd.amazon.eventstream"


def _text(blocks: list[dict[str, Any]]) -> str:
    return "".join(b["text"] for b in blocks if isinstance(b, dict) and isinstance(b.get("text"), str))


def _result_text(content: list[dict[str, Any]]) -> str:
    return "".join(b["text"] if "text" in b else json.dumps(b.get("json", b)) for b in content)


def parse_converse_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    system = _text(body.get("system") or [])
    if system:
        out.append({"role": "system", "content": system})
    for m in body.get("messages") or []:
        blocks = m.get("content") or []
        if m.get("role") == "assistant":
            item: dict[str, Any] = {"role": "assistant", "content": _text(blocks)}
            calls = [
                b["toolUse"]
                for b in blocks
                if "toolUse" in b and b["toolUse"].get("type") != "server_tool_use"
            ]
            if calls:
                item["tool_calls"] = [
                    {"name": c["name"], "args": c.get("input") or {}, "id": c["toolUseId"]} for c in calls
                ]
            out.append(item)
            continue
        for b in blocks:
            if "toolResult" in b:
                tr = b["toolResult"]
                out.append(
                    {
                        "role": "tool",
                        "content": _result_text(tr.get("content") or []),
                        "tool_call_id": tr["toolUseId"],
                        "status": tr.get("status", "success"),
                    }
                )
        text, images = _text(blocks), [b for b in blocks if "image" in b]
        if text or images or not any("toolResult" in b for b in blocks):
            out.append({"role": "user", "content": text, "images": images})
    return out


def model_action(method: str, path: str) -> str | None:
    """The action of a Bedrock runtime request, `POST /model/{modelId}/{action}` (None for any other)."""
    parts = path.rstrip("/").split("/")
    if method == "POST" and len(parts) == 4 and parts[1] == "model":
        return parts[3]
    return None


class BedrockConverseFormat(WireFormat):
    provider: ClassVar[str] = "bedrock_converse"
    base_paths: ClassVar[dict[str, str]] = {"bedrock_converse": ""}
    stream_content_type: ClassVar[str] = STREAM_CONTENT_TYPE

    def matches(self, method: str, path: str) -> bool:
        return model_action(method, path) in ("converse", "converse-stream")

    def validate(self, path: str, headers: dict[str, str], body: Any) -> Rejection | None:
        return check_bedrock_converse(body)

    def parse(self, path: str, headers: dict[str, str], body: Any, query: dict[str, str]) -> EmulatedRequest:
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            raise ValueError("the body must be a JSON object with a 'messages' list")
        parts = path.rstrip("/").split("/")
        config = body.get("toolConfig") or {}
        tools = [
            {
                "name": t["toolSpec"]["name"],
                "description": t["toolSpec"].get("description", ""),
                "parameters": (t["toolSpec"].get("inputSchema") or {}).get("json") or {},
            }
            for t in config.get("tools") or []
            if "toolSpec" in t
        ]
        choice: Any = config.get("toolChoice")
        if isinstance(choice, dict):
            choice = {"name": choice["tool"]["name"]} if "tool" in choice else next(iter(choice), None)
        fmt = (body.get("outputConfig") or {}).get("textFormat") or {}
        schema = ((fmt.get("structure") or {}).get("jsonSchema") or {}).get("schema")
        extra = body.get("additionalModelRequestFields") or {}
        return EmulatedRequest(
            provider=self.provider,
            path=path,
            model=unquote(parts[2]),
            messages=parse_converse_messages(body),
            tools=tools,
            tool_choice=choice,
            response_schema=json.loads(schema) if isinstance(schema, str) else schema,
            stream=parts[3] == "converse-stream",
            reasoning=bool(
                extra.get("thinking") or extra.get("reasoningConfig") or extra.get("reasoning_config")
            ),
            body=body,
            headers=headers,
        )

    @staticmethod
    def _usage(req: EmulatedRequest, reply: Reply) -> dict[str, Any]:
        u = estimate_usage(req, reply)
        read, write = u.get("cache_read"), u.get("cache_creation")
        usage: dict[str, Any] = {
            "inputTokens": max(0, u["input_tokens"] - (read or 0) - (write or 0)),
            "outputTokens": u["output_tokens"],
            "totalTokens": u["input_tokens"] + u["output_tokens"],
        }
        if read is not None or write is not None:
            usage.update(cacheReadInputTokens=read or 0, cacheWriteInputTokens=write or 0)
        return usage

    @staticmethod
    def _signature(reply: Reply) -> str:
        return "sig-" + uuid.uuid5(uuid.NAMESPACE_URL, reply.reasoning or "").hex

    def render(self, reply: Reply, req: EmulatedRequest) -> Rendered:
        content: list[dict[str, Any]] = []
        if reply.reasoning:
            content.append(
                {
                    "reasoningContent": {
                        "reasoningText": {"text": reply.reasoning, "signature": self._signature(reply)}
                    }
                }
            )
        if reply.text:
            content.append({"text": reply.text})
        for t in reply.tool_calls:
            content.append({"toolUse": {"toolUseId": t.id, "name": t.name, "input": t.args}})
        status, headers, body = json_response(
            {
                "output": {"message": {"role": "assistant", "content": content}},
                "stopReason": _STOP.get(reply.finish, reply.finish),
                "usage": self._usage(req, reply),
                "metrics": {"latencyMs": 42},
            }
        )
        headers["x-amzn-requestid"] = str(uuid.uuid4())
        return status, headers, body

    def render_stream(self, reply: Reply, req: EmulatedRequest) -> RenderedStream:
        def event(kind: str, payload: dict[str, Any]) -> bytes:
            return encode_event(kind, json.dumps(payload, separators=(",", ":")).encode())

        frames = [event("messageStart", {"role": "assistant"})]
        index = 0
        if reply.reasoning:
            half = len(reply.reasoning) // 2
            for part in (reply.reasoning[:half], reply.reasoning[half:]):
                frames.append(
                    event(
                        "contentBlockDelta",
                        {"contentBlockIndex": index, "delta": {"reasoningContent": {"text": part}}},
                    )
                )
            frames.append(
                event(
                    "contentBlockDelta",
                    {
                        "contentBlockIndex": index,
                        "delta": {"reasoningContent": {"signature": self._signature(reply)}},
                    },
                )
            )
            frames.append(event("contentBlockStop", {"contentBlockIndex": index}))
            index += 1
        if reply.text:
            for piece in reply.text_pieces():
                frames.append(
                    event("contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": piece}})
                )
            frames.append(event("contentBlockStop", {"contentBlockIndex": index}))
            index += 1
        for t in reply.tool_calls:
            frames.append(
                event(
                    "contentBlockStart",
                    {"contentBlockIndex": index, "start": {"toolUse": {"toolUseId": t.id, "name": t.name}}},
                )
            )
            args = json.dumps(t.args)
            half = len(args) // 2
            for part in (args[:half], args[half:]):
                frames.append(
                    event(
                        "contentBlockDelta",
                        {"contentBlockIndex": index, "delta": {"toolUse": {"input": part}}},
                    )
                )
            frames.append(event("contentBlockStop", {"contentBlockIndex": index}))
            index += 1
        frames.append(event("messageStop", {"stopReason": _STOP.get(reply.finish, reply.finish)}))
        frames.append(event("metadata", {"usage": self._usage(req, reply), "metrics": {"latencyMs": 42}}))
        return (
            200,
            {"content-type": STREAM_CONTENT_TYPE, "x-amzn-requestid": str(uuid.uuid4())},
            _misaligned(frames),
        )

    def render_error(self, fault: Fault, req: EmulatedRequest | None) -> Rendered:
        code = _CODES.get(fault.status, "InternalServerException")
        status, headers, body = json_response({"message": fault.message}, fault.status)
        headers["x-amzn-errortype"] = f"{code}:http://internal.amazon.com/coral/com.amazon.bedrock/"
        headers["x-amzn-requestid"] = str(uuid.uuid4())
        return status, headers, body

    def malformed_stream(self, req: EmulatedRequest) -> list[bytes]:
        frame = bytearray(
            encode_message({":message-type": "event", ":event-type": "contentBlockDelta"}, b"{}")
        )
        frame[-1] ^= 0xFF  # corrupt the message CRC
        return [bytes(frame)]


def _misaligned(frames: list[bytes], shift: int = 7) -> list[bytes]:
    """The same bytes with every piece boundary moved into the next frame's prelude, so clients
    prove their decoder resumes mid-message (real networks split frames anywhere)."""
    data = b"".join(frames)
    cuts, pos = [], 0
    for f in frames[:-1]:
        pos += len(f)
        cuts.append(min(pos + shift, len(data)))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


FORMAT = BedrockConverseFormat()
