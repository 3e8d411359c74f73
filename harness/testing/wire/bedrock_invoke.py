"""Emulated Bedrock Runtime InvokeModel: POST /model/{modelId}/invoke (JSON) and
/invoke-with-response-stream (an AWS event stream of `chunk` events, each `{"bytes": base64 JSON}`).

The body is the model family's payload: Anthropic Messages (with `anthropic_version`
"bedrock-2023-05-31", no `model`) for `anthropic.…` ids, Amazon Nova `messages-v1` (Converse-shaped)
for `amazon.nova…` ids. Each family is rendered by that API's own emulated format and re-framed here.
"""

from __future__ import annotations

import base64
import json
from typing import Any, ClassVar
from urllib.parse import unquote

from harness.providers._sse import SSEParser
from harness.providers.bedrock.eventstream import EventStreamDecoder, encode_event
from harness.testing.scripting import EmulatedRequest, Fault, Reply
from harness.testing.wire.anthropic import FORMAT as ANTHROPIC
from harness.testing.wire.base import Rendered, RenderedStream, WireFormat, json_response
from harness.testing.wire.bedrock import FORMAT as CONVERSE
from harness.testing.wire.bedrock import STREAM_CONTENT_TYPE, model_action
from harness.testing.wire.strict import Rejection
from harness.testing.wire.strict_bedrock import check_bedrock_invoke


def _family(model: str) -> str:
    return "nova" if "amazon.nova" in model else "anthropic"


def _chunk(event: bytes) -> bytes:
    return encode_event("chunk", json.dumps({"bytes": base64.b64encode(event).decode()}).encode())


class BedrockInvokeFormat(WireFormat):
    provider: ClassVar[str] = "bedrock"
    base_paths: ClassVar[dict[str, str]] = {"bedrock": ""}
    stream_content_type: ClassVar[str] = STREAM_CONTENT_TYPE

    def matches(self, method: str, path: str) -> bool:
        return model_action(method, path) in ("invoke", "invoke-with-response-stream")

    def validate(self, path: str, headers: dict[str, str], body: Any) -> Rejection | None:
        return check_bedrock_invoke(unquote(path.rstrip("/").split("/")[2]), body)

    def parse(self, path: str, headers: dict[str, str], body: Any, query: dict[str, str]) -> EmulatedRequest:
        parts = path.rstrip("/").split("/")
        model, stream = unquote(parts[2]), parts[3] == "invoke-with-response-stream"
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        if _family(model) == "anthropic":
            if body.get("anthropic_version") != "bedrock-2023-05-31":
                raise ValueError("anthropic_version: must be 'bedrock-2023-05-31'")
            for key in ("model", "stream"):
                if key in body:
                    raise ValueError(f"{key}: extraneous key [{key}] is not permitted")
            req = ANTHROPIC.parse(path, {"anthropic-version": "bedrock"}, {**body, "model": model}, query)
        else:
            if body.get("schemaVersion") != "messages-v1":
                raise ValueError("schemaVersion: must be 'messages-v1'")
            req = CONVERSE.parse(f"/model/{parts[2]}/converse", headers, body, query)
        req.provider, req.path, req.model, req.stream, req.body = self.provider, path, model, stream, body
        req.headers = headers
        return req

    def render(self, reply: Reply, req: EmulatedRequest) -> Rendered:
        if _family(req.model) == "anthropic":
            return ANTHROPIC.render(reply, req)
        status, headers, body = CONVERSE.render(reply, req)
        data = json.loads(body)
        data.pop("metrics", None)
        return json_response(data, status)

    def render_stream(self, reply: Reply, req: EmulatedRequest) -> RenderedStream:
        if _family(req.model) == "anthropic":
            _, _, pieces = ANTHROPIC.render_stream(reply, req)
            sse = SSEParser()
            events = [ev.data.encode() for p in pieces for ev in sse.feed(p) if ev.data.strip()]
            last = json.loads(events[-1])
            if last.get("type") == "message_stop":  # Bedrock adds its invocation metrics here
                parsed = [json.loads(e) for e in events]
                usage = {**parsed[0]["message"]["usage"]}
                for ev in parsed:
                    if ev.get("type") == "message_delta":
                        usage.update(ev.get("usage") or {})
                last["amazon-bedrock-invocationMetrics"] = {
                    "inputTokenCount": usage.get("input_tokens", 0),
                    "outputTokenCount": usage.get("output_tokens", 0),
                    "invocationLatency": 42,
                    "firstByteLatency": 21,
                }
                events[-1] = json.dumps(last).encode()
        else:
            _, _, pieces = CONVERSE.render_stream(reply, req)
            frames = EventStreamDecoder().feed(b"".join(pieces))
            events = [json.dumps({f.event_type: json.loads(f.payload)}).encode() for f in frames]
        return 200, {"content-type": STREAM_CONTENT_TYPE}, [_chunk(e) for e in events]

    def render_error(self, fault: Fault, req: EmulatedRequest | None) -> Rendered:
        return CONVERSE.render_error(fault, req)


FORMAT = BedrockInvokeFormat()
