"""Anthropic Messages API (`POST {base}/v1/messages`).

Pure translation; see harness.providers.base for the contract and docs/providers/anthropic.md.
Message/tool conversion and usage live in `format`, the stream decoder in `stream`, `.content_blocks` in
`blocks`.
"""

from __future__ import annotations

import copy
import json
import re
import warnings
from typing import Any, ClassVar

from harness.errors import ModelAPIError, ModelError, error_for_status
from harness.messages.core import AIMessage, register_block_translator
from harness.providers.anthropic.blocks import content_blocks
from harness.providers.anthropic.format import (
    FINISH_REASONS,
    META_KEYS,
    anthropic_schema,
    messages_to_anthropic,
    refusal_text,
    reply_content,
    tool_choice_to_anthropic,
    tool_to_anthropic,
    usage_from_anthropic,
)
from harness.providers.anthropic.stream import MessagesStreamDecoder
from harness.providers.base import (
    COMMON_PARAMS,
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


# LangChain's ChatAnthropic passes these tool types through bind_tools untouched (server tools and
# Anthropic-defined client tools, e.g. {"type": "web_search_20250305", "name": "web_search"})
SERVER_TOOL_PREFIXES = (
    "text_editor_",
    "computer_",
    "bash_",
    "web_search_",
    "web_fetch_",
    "code_execution_",
    "mcp_toolset",
    "memory_",
    "tool_search_",
    "advisor_",
)


def is_anthropic_server_tool(tool: Any) -> bool:
    kind = tool.get("type") if isinstance(tool, dict) else None
    return isinstance(kind, str) and kind.startswith(SERVER_TOOL_PREFIXES)


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
    known_params: ClassVar[frozenset[str] | None] = COMMON_PARAMS | {
        "top_k", "thinking", "effort", "service_tier", "mcp_servers", "context_management",
        "container", "output_config", "inference_geo", "output_version",
    }  # fmt: skip
    proxy_env: ClassVar[tuple[str, ...]] = ("ANTHROPIC_PROXY",)
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
        return is_anthropic_server_tool(tool)

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
            **{k: body.get(k) for k in META_KEYS},
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
        return MessagesStreamDecoder(self.name, self.stream_text_as_blocks)

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


register_block_translator(AnthropicAdapter.name, content_blocks)
