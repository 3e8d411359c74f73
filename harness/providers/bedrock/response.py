"""Bedrock Converse responses and ConverseStream events -> harness messages.

Invoke and stream build `content` from the same pieces: text as plain strings, everything else as
one-element block lists carrying the Converse `contentBlockIndex` as `index`. Summing the stream's
chunks therefore gives exactly the content `parse_converse` returns for the same reply:

* text -> str;  citationsContent -> its text (citations in additional_kwargs["citations"])
* reasoningContent -> {"type": "reasoning", "reasoning": text, "extras": {"signature" | "redacted_content"}}
* server-side tool use (toolUse of type server_tool_use) and its toolResult -> server_tool_call /
  server_tool_result blocks (they are not client tool calls)
* toolUse -> tool_calls (stream: tool_call_chunks with the same index)
"""

from __future__ import annotations

import json
from typing import Any

from harness.errors import EventStreamError, ModelAPIError, ModelError, error_for_status
from harness.messages.core import AIMessage, AIMessageChunk, merge_content, tool_call_chunk
from harness.providers._common import usage_metadata
from harness.providers.base import StreamDecoder
from harness.providers.bedrock.eventstream import EventStreamDecoder, EventStreamMessage

FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}
# exception name (either case of the first letter) -> the HTTP status Bedrock uses for it
EXCEPTION_STATUS = {
    "validationexception": 400,
    "accessdeniedexception": 403,
    "unrecognizedclientexception": 403,
    "invalidsignatureexception": 403,
    "expiredtokenexception": 403,
    "resourcenotfoundexception": 404,
    "modeltimeoutexception": 408,
    "modelerrorexception": 424,
    "modelstreamerrorexception": 424,
    "throttlingexception": 429,
    "modelnotreadyexception": 429,
    "serviceunavailableexception": 503,
    "internalserverexception": 500,
    "serviceexception": 500,
}
RETRYABLE = {
    "modelnotreadyexception",
    "modeltimeoutexception",
    "throttlingexception",
    "serviceunavailableexception",
    "internalserverexception",
}
# the model itself failed (HTTP 424): an API error, not a bad request; botocore does not retry these
_MODEL_FAILED = {"modelerrorexception", "modelstreamerrorexception"}
_OVERFLOW = (
    "too long",
    "context length",
    "context window",
    "maximum context",
    "too many tokens",
    "exceeds the maximum",
    "input length",
)


def exception_error(
    code: str,
    message: str,
    status: int | None,
    *,
    provider: str,
    body: Any = None,
    retry_after: float | None = None,
) -> ModelError:
    """A Bedrock exception (HTTP error or in-stream frame) as the harness error tree."""
    key = code.lower()
    status = status or EXCEPTION_STATUS.get(key, 500)
    overflow = key == "validationexception" and any(s in message.lower() for s in _OVERFLOW)
    text = f"{code}: {message}" if code else message
    if key in _MODEL_FAILED:
        err: ModelError = ModelAPIError(
            text, provider=provider, status_code=status, body=body, retry_after=retry_after
        )
        err.is_retryable = False
        return err
    return error_for_status(
        status,
        text,
        provider=provider,
        body=body,
        context_overflow=overflow,
        retry_after=retry_after,
        retryable=(key in RETRYABLE) if key in EXCEPTION_STATUS else None,
    )


def usage_from_converse(u: dict[str, Any] | None) -> dict[str, Any] | None:
    """Converse `inputTokens` excludes cache reads and writes: add them (model-interface §2.4)."""
    if not u:
        return None
    read, write = u.get("cacheReadInputTokens"), u.get("cacheWriteInputTokens")
    inp = (u.get("inputTokens") or 0) + (read or 0) + (write or 0)
    details: dict[str, Any] = {}
    if read is not None or write is not None:
        details = {"cache_read": read or 0, "cache_creation": write or 0}
    for d in u.get("cacheDetails") or []:
        if isinstance(d, dict) and d.get("ttl"):
            key = f"ephemeral_{d['ttl']}_input_tokens"
            details[key] = details.get(key, 0) + (d.get("inputTokens") or 0)
    return usage_metadata(inp, u.get("outputTokens") or 0, u.get("totalTokens"), details)


def reasoning_block(rc: dict[str, Any], index: int) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "reasoning"}
    if "redactedContent" in rc:
        block["extras"] = {"redacted_content": rc["redactedContent"]}
    else:
        rt = rc.get("reasoningText") or {}
        if rt.get("text"):
            block["reasoning"] = rt["text"]
        if rt.get("signature"):
            block["extras"] = {"signature": rt["signature"]}
    block["index"] = index
    return block


def server_tool_call(tu: dict[str, Any], args: Any, index: int) -> dict[str, Any]:
    return {
        "type": "server_tool_call",
        "id": tu.get("toolUseId"),
        "name": tu.get("name"),
        "args": args,
        "index": index,
    }


def server_tool_result(tr: dict[str, Any], output: list[Any], index: int) -> dict[str, Any]:
    block = {
        "type": "server_tool_result",
        "tool_call_id": tr.get("toolUseId"),
        "status": tr.get("status", "success"),
        "output": output,
        "index": index,
    }
    if tr.get("type"):
        block["extras"] = {"type": tr["type"]}
    return block


def finish_metadata(stop_reason: str | None, model: str, provider: str) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "stopReason": stop_reason,
        "finish_reason": FINISH.get(stop_reason or "", stop_reason),
        "model_name": model,
        "model_provider": provider,
    }
    return {k: v for k, v in meta.items() if v is not None}


def _metrics(metrics: Any) -> dict[str, Any]:
    # LangChain wraps latencyMs in a list so summed stream chunks concatenate instead of adding up
    if not isinstance(metrics, dict):
        return {}
    return {k: [v] if k == "latencyMs" else v for k, v in metrics.items()}


_EXTRA_META = ("additionalModelResponseFields", "performanceConfig", "serviceTier", "trace")


def parse_converse(body: dict[str, Any], model: str, provider: str) -> AIMessage:
    message = (body.get("output") or {}).get("message") or {}
    pieces: list[Any] = []
    tool_calls: list[dict[str, Any]] = []
    invalid: list[dict[str, Any]] = []
    citations: list[Any] = []
    for i, block in enumerate(message.get("content") or []):
        if "text" in block:
            pieces.append(block["text"])
        elif "reasoningContent" in block:
            pieces.append([reasoning_block(block["reasoningContent"], i)])
        elif "toolUse" in block:
            tu = block["toolUse"]
            if tu.get("type") == "server_tool_use":
                pieces.append([server_tool_call(tu, tu.get("input"), i)])
            elif isinstance(tu.get("input", {}), dict):
                tool_calls.append(
                    {
                        "name": tu.get("name", ""),
                        "args": tu.get("input") or {},
                        "id": tu.get("toolUseId"),
                        "type": "tool_call",
                    }
                )
            else:
                invalid.append(
                    {
                        "name": tu.get("name"),
                        "args": json.dumps(tu.get("input")),
                        "id": tu.get("toolUseId"),
                        "error": "toolUse input is not an object",
                        "type": "invalid_tool_call",
                    }
                )
        elif "toolResult" in block:
            pieces.append(
                [server_tool_result(block["toolResult"], block["toolResult"].get("content") or [], i)]
            )
        elif "citationsContent" in block:
            cc = block["citationsContent"]
            pieces.append("".join(c.get("text", "") for c in cc.get("content") or [] if isinstance(c, dict)))
            citations.extend(cc.get("citations") or [])
        else:
            pieces.append([{"type": "non_standard", "value": block, "index": i}])
    meta = finish_metadata(body.get("stopReason"), model, provider)
    if "metrics" in body:
        meta["metrics"] = _metrics(body["metrics"])
    meta.update({k: body[k] for k in _EXTRA_META if body.get(k)})
    return AIMessage(
        content=merge_content("", *pieces),
        tool_calls=tool_calls,
        invalid_tool_calls=invalid,
        additional_kwargs={"citations": citations} if citations else {},
        usage_metadata=usage_from_converse(body.get("usage")),
        response_metadata=meta,
    )


class ConverseStreamDecoder(StreamDecoder):
    """Event-stream bytes -> AIMessageChunks, one per meaningful event."""

    def __init__(self, provider: str, model: str) -> None:
        self.provider = provider
        self.model = model
        self.frames = EventStreamDecoder()
        self.server_blocks: dict[int, dict[str, Any]] = {}  # index -> buffered server tool use / result
        self.stopped = False

    def feed(self, data: bytes) -> list[AIMessageChunk]:
        try:
            frames = self.frames.feed(data)
        except EventStreamError as e:
            raise ModelAPIError(f"malformed ConverseStream body: {e}", provider=self.provider) from e
        return [c for f in frames if (c := self._event(f)) is not None]

    def close(self) -> list[AIMessageChunk]:
        try:
            self.frames.close()
        except EventStreamError as e:
            raise ModelAPIError(f"ConverseStream was cut off: {e}", provider=self.provider) from e
        if not self.stopped:
            raise ModelAPIError("ConverseStream ended before its messageStop event", provider=self.provider)
        return []

    def _event(self, frame: EventStreamMessage) -> AIMessageChunk | None:
        try:
            payload = json.loads(frame.payload) if frame.payload else {}
        except ValueError as e:
            raise ModelAPIError(
                f"malformed ConverseStream event payload: {frame.payload[:200]!r}", provider=self.provider
            ) from e
        kind = frame.message_type
        if kind == "exception":
            code = str(frame.headers.get(":exception-type", "exception"))
            raise exception_error(
                code[:1].upper() + code[1:], _message(payload), None, provider=self.provider, body=payload
            )
        if kind == "error":
            code = str(frame.headers.get(":error-code", "InternalServerException"))
            raise exception_error(
                code, str(frame.headers.get(":error-message", "")), None, provider=self.provider
            )
        handler = getattr(self, "_on_" + (frame.event_type or ""), None)
        return handler(payload) if handler is not None else None

    def _on_contentBlockStart(self, p: dict[str, Any]) -> AIMessageChunk | None:
        i, start = p.get("contentBlockIndex", 0), p.get("start") or {}
        if "toolUse" in start:
            tu = start["toolUse"]
            if tu.get("type") == "server_tool_use":
                self.server_blocks[i] = {"toolUse": tu, "input": ""}
                return None
            start_chunk: list[Any] = [tool_call_chunk(tu.get("name"), "", tu.get("toolUseId"), i)]
            return AIMessageChunk(
                content="", tool_call_chunks=start_chunk, response_metadata={"model_provider": self.provider}
            )
        if "toolResult" in start:
            self.server_blocks[i] = {"toolResult": start["toolResult"], "output": []}
        return None

    def _on_contentBlockDelta(self, p: dict[str, Any]) -> AIMessageChunk | None:
        i, delta = p.get("contentBlockIndex", 0), p.get("delta") or {}
        buffered = self.server_blocks.get(i)
        content: Any = ""
        chunks: list[Any] = []
        extra: dict[str, Any] = {}
        if "text" in delta:
            content = delta["text"]
        elif "toolUse" in delta:
            fragment = (delta["toolUse"] or {}).get("input") or ""
            if buffered is not None and "input" in buffered:
                buffered["input"] += fragment
                return None
            chunks = [tool_call_chunk(None, fragment, None, i)]
        elif "toolResult" in delta:
            if buffered is not None and "output" in buffered:
                buffered["output"].extend(delta["toolResult"] or [])
            return None
        elif "reasoningContent" in delta:
            rc = delta["reasoningContent"] or {}
            if "redactedContent" in rc:
                content = [reasoning_block(rc, i)]
            elif rc.get("text") or rc.get("signature"):
                content = [reasoning_block({"reasoningText": rc}, i)]
        elif "citation" in delta:
            extra = {"citations": [delta["citation"]]}
        if not content and not chunks and not extra:
            return None
        return AIMessageChunk(
            content=content,
            tool_call_chunks=chunks,
            additional_kwargs=extra,
            response_metadata={"model_provider": self.provider},
        )

    def _on_contentBlockStop(self, p: dict[str, Any]) -> AIMessageChunk | None:
        i = p.get("contentBlockIndex", 0)
        buffered = self.server_blocks.pop(i, None)
        if buffered is None:
            return None
        if "toolUse" in buffered:
            raw = buffered["input"]
            try:
                args = json.loads(raw) if raw else {}
            except ValueError:
                args = raw
            block = server_tool_call(buffered["toolUse"], args, i)
        else:
            block = server_tool_result(buffered["toolResult"], buffered["output"], i)
        return AIMessageChunk(content=[block], response_metadata={"model_provider": self.provider})

    def _on_messageStop(self, p: dict[str, Any]) -> AIMessageChunk:
        self.stopped = True
        meta = finish_metadata(p.get("stopReason"), self.model, self.provider)
        if p.get("additionalModelResponseFields"):
            meta["additionalModelResponseFields"] = p["additionalModelResponseFields"]
        return AIMessageChunk(content="", response_metadata=meta)

    def _on_metadata(self, p: dict[str, Any]) -> AIMessageChunk:
        meta: dict[str, Any] = {"model_provider": self.provider}
        if "metrics" in p:
            meta["metrics"] = _metrics(p["metrics"])
        meta.update({k: p[k] for k in _EXTRA_META if p.get(k)})
        return AIMessageChunk(
            content="", usage_metadata=usage_from_converse(p.get("usage")), response_metadata=meta
        )


def _message(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("message", "Message", "originalMessage"):
            if body.get(key):
                return str(body[key])
        return json.dumps(body)[:500]
    return str(body)[:500] if body else "no error message"
