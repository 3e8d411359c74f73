"""Anthropic Messages API (`POST {base}/v1/messages`).

Pure translation; see harness.providers.base for the contract and docs/providers/anthropic.md.
Message/tool conversion, usage and `.content_blocks` live in `_anthropic_format`.
"""

from __future__ import annotations

import copy
import json
import re
import warnings
from typing import Any, ClassVar

from harness.errors import ModelAPIError, ModelError, error_for_status
from harness.messages.core import AIMessage, AIMessageChunk, parse_partial_json, register_block_translator
from harness.providers._sse import SSEParser
from harness.providers.anthropic.format import (
    ERROR_STATUS,
    FINISH_REASONS,
    TOOL_USE_TYPES,
    anthropic_schema,
    clean_block,
    content_blocks,
    is_plain_text,
    is_server_tool,
    messages_to_anthropic,
    refusal_text,
    reply_content,
    tool_choice_to_anthropic,
    tool_to_anthropic,
    usage_from_anthropic,
)
from harness.providers.base import (
    Capabilities,
    ChatRequest,
    ProviderAdapter,
    StreamDecoder,
    WireRequest,
    error_message,
    retry_after_seconds,
    should_retry_header,
)

DEFAULT_MAX_TOKENS = 4096
API_VERSION = "2023-06-01"
_OVERFLOW = re.compile(r"prompt is too long|exceed context limit|context window|maximum context length", re.I)
_META_KEYS = ("container", "stop_details")


def _thinking_on(thinking: Any) -> bool:
    return isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")


def _merge_extra(body: dict[str, Any], extra: dict[str, Any]) -> None:
    """model_kwargs win, but merge one level into dicts we also set (e.g. output_config)."""
    for k, v in extra.items():
        body[k] = {**body[k], **v} if isinstance(body.get(k), dict) and isinstance(v, dict) else v


def _json_body(body: Any) -> Any:
    if isinstance(body, (bytes, str)):
        try:
            return json.loads(body)
        except ValueError:
            return None
    return body


class AnthropicAdapter(ProviderAdapter):
    name: ClassVar[str] = "anthropic"
    capabilities: ClassVar[Capabilities] = Capabilities(
        structured_output=("function_calling", "json_schema"), reasoning=True
    )
    api_key_env: ClassVar[tuple[str, ...]] = ("ANTHROPIC_API_KEY",)
    base_url_env: ClassVar[tuple[str, ...]] = ("ANTHROPIC_BASE_URL",)
    default_base_url: ClassVar[str] = "https://api.anthropic.com"
    default_structured_method: ClassVar[str] = "function_calling"
    settings_keys: ClassVar[tuple[str, ...]] = ("default_headers", "betas", "anthropic_version")
    url_pattern: ClassVar[str] = r"/v1/messages/?(\?|$)"

    def url(self) -> str:
        # base is the API root (like the SDK's base_url); tolerate one that already ends in /v1
        return self.base_url + ("/messages" if self.base_url.endswith("/v1") else "/v1/messages")

    def headers(self) -> dict[str, str]:
        h = {
            "content-type": "application/json",
            "x-api-key": self.api_key or "harness-missing-key",
            "anthropic-version": self.settings.get("anthropic_version") or API_VERSION,
        }
        betas = self.settings.get("betas")
        if betas:
            h["anthropic-beta"] = betas if isinstance(betas, str) else ",".join(betas)
        h.update(self.settings.get("default_headers") or {})
        return h

    def build_body(self, request: ChatRequest) -> dict[str, Any]:
        system, messages = messages_to_anthropic(request.messages)
        params = dict(request.params)
        max_tokens, stop = params.pop("max_tokens", None), params.pop("stop", None)
        effort = params.pop("effort", None)
        params.pop("stream_usage", None)
        thinking = params.get("thinking", request.extra_body.get("thinking"))
        if max_tokens is None:  # required by the API; leave room above a thinking budget
            budget = thinking.get("budget_tokens") if isinstance(thinking, dict) else None
            max_tokens = (
                budget + DEFAULT_MAX_TOKENS
                if isinstance(budget, int) and budget >= DEFAULT_MAX_TOKENS
                else DEFAULT_MAX_TOKENS
            )
        body: dict[str, Any] = {"model": request.model, "max_tokens": max_tokens}
        if system is not None:
            body["system"] = system
        body["messages"] = messages
        if stop:
            body["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
        body.update(params)
        if request.stream:
            body["stream"] = True
        if request.tools:
            body["tools"] = [tool_to_anthropic(t) for t in request.tools]
            choice = tool_choice_to_anthropic(request.tool_choice, request.parallel_tool_calls)
            if choice and _thinking_on(thinking) and choice.get("type") in ("any", "tool"):
                warnings.warn(
                    "anthropic: a forced tool_choice is rejected while thinking is enabled; "
                    "sending tool_choice 'auto' instead",
                    stacklevel=2,
                )
                choice = {**{k: v for k, v in choice.items() if k != "name"}, "type": "auto"}
            if choice:
                body["tool_choice"] = choice
        output_config: dict[str, Any] = {}
        if effort:
            output_config["effort"] = effort
        rf = request.response_format
        if rf is not None:
            if rf.type != "json_schema":
                raise ValueError(
                    "anthropic supports response_format type 'json_schema' only "
                    f"(output_config.format); received {rf.type!r}"
                )
            output_config["format"] = {"type": "json_schema", "schema": anthropic_schema(rf.schema or {})}
        if output_config:
            body["output_config"] = output_config
        _merge_extra(body, request.extra_body)
        return body

    def build_request(self, request: ChatRequest) -> WireRequest:
        return WireRequest("POST", self.url(), self.headers(), self.build_body(request))

    @classmethod
    def is_server_tool(cls, tool: Any) -> bool:
        return is_server_tool(tool)

    def route(self, request: ChatRequest) -> ProviderAdapter:
        """With tools or thinking in the request, streamed text comes as dict blocks (module docstring
        of `format`): the same adapter, its decoder told so."""
        thinking = request.params.get("thinking", request.extra_body.get("thinking"))
        if not (request.tools or _thinking_on(thinking)):
            return self
        blocks: AnthropicAdapter | None = getattr(self, "_text_blocks", None)
        if blocks is None:
            blocks = copy.copy(self)
            blocks.stream_text_as_blocks = True
            self._text_blocks = blocks
        return blocks

    def parse_response(self, body: Any) -> AIMessage:
        if (
            not isinstance(body, dict)
            or body.get("type") == "error"
            or ("error" in body and "content" not in body)
        ):
            raise ModelAPIError(error_message(body), provider=self.name, body=body)
        blocks = [b for b in body.get("content") or [] if isinstance(b, dict)]
        tool_calls, invalid = [], []
        for b in blocks:
            if b.get("type") != "tool_use":
                continue
            if isinstance(b.get("input"), dict):
                tool_calls.append(
                    {"name": b.get("name", ""), "args": b["input"], "id": b.get("id"), "type": "tool_call"}
                )
            else:
                invalid.append(
                    {
                        "name": b.get("name"),
                        "args": json.dumps(b.get("input")),
                        "id": b.get("id"),
                        "error": "input is not an object",
                        "type": "invalid_tool_call",
                    }
                )
        stop = body.get("stop_reason")
        meta = {
            "id": body.get("id"),
            "model": body.get("model"),
            "model_name": body.get("model"),
            "stop_reason": stop,
            "stop_sequence": body.get("stop_sequence"),
            "usage": body.get("usage"),
            "finish_reason": FINISH_REASONS.get(stop, stop),
            **{k: body.get(k) for k in _META_KEYS},
        }
        extra = {}
        if stop == "refusal":
            text = "".join(b.get("text") or "" for b in blocks if b.get("type") == "text")
            extra["refusal"] = refusal_text(body.get("stop_details"), text)
        return AIMessage(
            content=reply_content(blocks),
            id=body.get("id"),
            tool_calls=tool_calls,
            invalid_tool_calls=invalid,
            additional_kwargs=extra,
            usage_metadata=usage_from_anthropic(body.get("usage")),
            response_metadata={
                "model_provider": self.name,
                **{k: v for k, v in meta.items() if v is not None},
            },
        )

    stream_text_as_blocks = False

    def stream_decoder(self) -> StreamDecoder:
        return _MessagesStreamDecoder(self.name, self.stream_text_as_blocks)

    def classify_error(self, status: int, headers: Any, body: Any) -> ModelError:
        err = body.get("error") if isinstance(body, dict) else None
        etype = err.get("type") if isinstance(err, dict) else None
        msg = error_message(body)
        retryable = should_retry_header(headers)
        if retryable is None and etype == "overloaded_error":
            retryable = True
        overflow = status in (400, 413) and bool(_OVERFLOW.search(msg))
        e = error_for_status(
            status,
            msg,
            provider=self.name,
            body=body,
            context_overflow=overflow,
            retryable=retryable,
            retry_after=retry_after_seconds(headers),
        )
        if isinstance(body, dict) and isinstance(body.get("request_id"), str):
            e.request_id = body["request_id"]
        return e

    # --- recognising recorded traffic ------------------------------------------------------------

    def model_from_request(self, url: str, body: Any) -> str | None:
        body = _json_body(body)
        return body.get("model") if isinstance(body, dict) else None

    def is_stream_request(self, url: str, body: Any) -> bool:
        body = _json_body(body)
        return bool(body.get("stream")) if isinstance(body, dict) else False


class _MessagesStreamDecoder(StreamDecoder):
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
        try:
            ev = json.loads(data)
        except ValueError as e:
            raise ModelAPIError(
                f"malformed stream event (not JSON): {data[:200]!r}", provider=self.provider
            ) from e
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
            **{k: delta.get(k) for k in _META_KEYS},
        }
        extra = {"refusal": refusal_text(delta.get("stop_details"), self.text)} if stop == "refusal" else {}
        return self._chunk(
            usage_metadata=usage_from_anthropic(self.usage),
            additional_kwargs=extra,
            response_metadata={k: v for k, v in meta.items() if v is not None},
            chunk_position="last",
        )


register_block_translator(AnthropicAdapter.name, content_blocks)
