"""OpenAI Chat Completions (`POST {base}/chat/completions`), also any OpenAI-compatible server.

Pure translation; see harness.providers.base for the contract and docs/providers/openai.md.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from harness.errors import ModelAPIError, ModelError, error_for_status
from harness.messages.core import AIMessage, AIMessageChunk, BaseMessage, ToolMessage
from harness.providers._common import json_tool_call, stream_json, text_of, usage_metadata
from harness.providers._sse import SSEParser
from harness.providers.base import (
    COMMON_PARAMS,
    Capabilities,
    ChatRequest,
    ProviderAdapter,
    StreamDecoder,
    WireRequest,
    error_message,
    image_detail,
    image_source,
    retry_after_seconds,
    should_retry_header,
    source_url,
)

# LangChain (langchain_openai `_use_responses_api`) sends a request to the Responses API when it has
# a built-in tool (any tool whose type is not "function"), one of these parameters, or a model that
# only the Responses API serves; `use_responses_api=True/False` decides outright
RESPONSES_ONLY_PARAMS = frozenset(
    {"context_management", "include", "previous_response_id", "reasoning", "text", "truncation"}
)
RESPONSES_ONLY_MODELS = ("gpt-5-pro", "gpt-5.2-pro", "gpt-5.4-pro", "gpt-5.5-pro", "gpt-5.6-sol")


def needs_responses_api(request: ChatRequest) -> bool:
    flag = request.params.get("use_responses_api")
    if isinstance(flag, bool):
        return flag
    if request.model.startswith(RESPONSES_ONLY_MODELS) or "codex" in request.model:
        return True
    if any(isinstance(t, dict) and t.get("type") != "function" for t in request.tools or []):
        return True
    return bool(RESPONSES_ONLY_PARAMS.intersection({*request.params, *request.extra_body}))


# standard parameter name -> Chat Completions body field
_PARAM_NAMES = {"max_tokens": "max_completion_tokens"}
_DROP_PARAMS = {"stream_usage", "use_responses_api"}
# ChatOpenAI's request fields and the Chat Completions / Responses body keys a user passes by name
OPENAI_PARAMS = COMMON_PARAMS | {
    "max_completion_tokens", "max_output_tokens", "n", "seed", "frequency_penalty", "presence_penalty",
    "logit_bias", "logprobs", "top_logprobs", "reasoning_effort", "reasoning", "verbosity",
    "service_tier", "store", "user", "prediction", "modalities", "audio", "web_search_options",
    "prompt_cache_key", "prompt_cache_retention", "safety_identifier", "include", "truncation",
    "previous_response_id", "use_previous_response_id", "text", "background", "prompt",
    "max_tool_calls", "instructions", "conversation", "output_version", "extra_body", "use_responses_api",
}  # fmt: skip


def usage_from_openai(u: dict[str, Any] | None) -> dict[str, Any] | None:
    if not u:
        return None
    pd, cd = u.get("prompt_tokens_details") or {}, u.get("completion_tokens_details") or {}
    return usage_metadata(
        u.get("prompt_tokens") or 0,
        u.get("completion_tokens") or 0,
        u.get("total_tokens"),
        {
            "audio": pd.get("audio_tokens"),
            "cache_read": pd.get("cached_tokens"),
            "cache_creation": pd.get("cache_write_tokens"),
        },
        {"audio": cd.get("audio_tokens"), "reasoning": cd.get("reasoning_tokens")},
    )


def _user_parts(content: Any) -> Any:
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for block in content:
        if isinstance(block, str):
            parts.append({"type": "text", "text": block})
        elif block.get("type") == "text":
            parts.append({"type": "text", "text": block["text"]})
        elif (src := image_source(block)) is not None:
            image_url = {"url": source_url(src)}
            if detail := image_detail(block):
                image_url["detail"] = detail
            parts.append({"type": "image_url", "image_url": image_url})
        elif block.get("type") in ("input_audio", "file"):
            parts.append(block)
    return parts


def split_content(content: Any) -> tuple[str, str]:
    """Reply content -> (text, reasoning). OpenAI sends a string; compatible servers (Mistral's
    magistral) may send a list of `text` and `thinking` parts, the latter holding text parts."""
    if not isinstance(content, list):
        return content or "", ""
    text, reasoning = "", ""
    for part in content:
        if isinstance(part, str):
            text += part
        elif part.get("type") == "text":
            text += part.get("text") or ""
        elif part.get("type") == "thinking":
            inner = part.get("thinking")
            reasoning += inner if isinstance(inner, str) else text_of(inner or [])
    return text, reasoning


def _reasoning_of(msg: dict[str, Any]) -> str:
    """Reasoning text: `reasoning_content` (DeepSeek, vLLM) or `reasoning` (Groq, OpenRouter, Ollama /v1)."""
    for key in ("reasoning_content", "reasoning"):
        if isinstance(msg.get(key), str) and msg[key]:
            return msg[key]
    return ""


def message_to_openai(m: BaseMessage) -> dict[str, Any]:
    if m.type == "system":
        role = "developer" if m.additional_kwargs.get("__openai_role__") == "developer" else "system"
        return {"role": role, "content": m.content if isinstance(m.content, str) else text_of(m.content)}
    if m.type == "human":
        out = {"role": "user", "content": _user_parts(m.content)}
    elif m.type == "ai":
        out = {"role": "assistant", "content": text_of(m.content) or None}
        calls = getattr(m, "tool_calls", None)
        if calls:
            out["tool_calls"] = [
                {
                    "id": c["id"],
                    "type": "function",
                    "function": {"name": c["name"], "arguments": json.dumps(c["args"], ensure_ascii=False)},
                }
                for c in calls
            ]
        elif out["content"] is None:
            out["content"] = ""
    elif isinstance(m, ToolMessage):
        out = {
            "role": "tool",
            "tool_call_id": m.tool_call_id,
            "content": m.content if isinstance(m.content, str) else text_of(m.content),
        }
    else:
        raise ValueError(
            f"cannot send a {type(m).__name__} to OpenAI; allowed: system, human, ai, tool messages"
        )
    if (
        m.name and out["role"] != "tool"
    ):  # a tool message takes no name (the API refuses it; LangChain drops it)
        out["name"] = m.name
    return out


def tool_choice_to_openai(choice: Any) -> Any:
    if choice in ("auto", "none"):
        return choice
    if choice == "any":
        return "required"
    if isinstance(choice, dict) and choice.get("type") == "tool":
        return {"type": "function", "function": {"name": choice["name"]}}
    return choice


class OpenAIChatAdapter(ProviderAdapter):
    name: ClassVar[str] = "openai"
    capabilities: ClassVar[Capabilities] = Capabilities(reasoning=True, logprobs=True)
    api_key_env: ClassVar[tuple[str, ...]] = ("OPENAI_API_KEY",)
    base_url_env: ClassVar[tuple[str, ...]] = ("OPENAI_BASE_URL", "OPENAI_API_BASE")
    default_base_url: ClassVar[str] = "https://api.openai.com/v1"
    default_structured_method: ClassVar[str] = "json_schema"
    settings_keys: ClassVar[tuple[str, ...]] = ("organization", "project", "default_headers")
    known_params: ClassVar[frozenset[str] | None] = OPENAI_PARAMS
    proxy_env: ClassVar[tuple[str, ...]] = ("OPENAI_PROXY",)
    path: ClassVar[str] = "/chat/completions"
    url_pattern: ClassVar[str] = r"/chat/completions(?:[?#]|$)"  # recorders may add "#stream" (Mistral SDK)

    @classmethod
    def select(cls, params: dict[str, Any]) -> type[ProviderAdapter]:
        """`use_responses_api=True` picks the Responses API adapter; `False` stays in the parameters,
        where `route` reads it (and the body leaves it out), so nothing switches to Responses."""
        if params.get("use_responses_api") is True:
            params.pop("use_responses_api")
            return cls.responses_adapter_class()
        return cls

    @classmethod
    def responses_adapter_class(cls) -> type[ProviderAdapter]:
        from harness.providers import get_adapter_class

        return get_adapter_class("openai_responses")

    def route(self, request: ChatRequest) -> ProviderAdapter:
        """Built-in tools and Responses-only parameters go to the Responses API (`needs_responses_api`),
        through a Responses adapter with this one's key, endpoint and settings."""
        if not needs_responses_api(request):
            return self
        responses: ProviderAdapter | None = getattr(self, "_responses", None)
        if responses is None:
            responses = self.responses_adapter_class()(
                model=self.model, api_key=self.api_key, base_url=self.base_url, **self.settings
            )
            self._responses = responses
        return responses

    def auth_headers(self) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.api_key or 'harness-missing-key'}"}
        if self.settings.get("organization"):
            h["OpenAI-Organization"] = self.settings["organization"]
        if self.settings.get("project"):
            h["OpenAI-Project"] = self.settings["project"]
        return h

    def url(self, request: ChatRequest) -> str:
        return self.base_url + self.path

    def build_body(self, request: ChatRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": request.model,
            "messages": [message_to_openai(m) for m in request.messages],
        }
        for k, v in request.params.items():
            if k not in _DROP_PARAMS:
                body[_PARAM_NAMES.get(k, k)] = v
        if request.stream:
            body["stream"] = True
            if request.params.get("stream_usage", True):
                body["stream_options"] = {"include_usage": True}
        if request.tools:
            body["tools"] = request.tools
            if request.tool_choice is not None:
                body["tool_choice"] = tool_choice_to_openai(request.tool_choice)
            if request.parallel_tool_calls is not None:
                body["parallel_tool_calls"] = request.parallel_tool_calls
        rf = request.response_format
        if rf is not None:
            if rf.type == "json_object":
                body["response_format"] = {"type": "json_object"}
            else:
                js: dict[str, Any] = {"name": rf.name or "output", "schema": rf.schema}
                if rf.description:
                    js["description"] = rf.description
                if rf.strict is not None:
                    js["strict"] = rf.strict
                body["response_format"] = {"type": "json_schema", "json_schema": js}
        body.update(request.extra_body)
        return body

    def build_request(self, request: ChatRequest) -> WireRequest:
        headers = {
            "Content-Type": "application/json",
            **self.auth_headers(),
            **(self.settings.get("default_headers") or {}),
        }
        return WireRequest("POST", self.url(request), headers, self.build_body(request))

    def parse_response(self, body: Any) -> AIMessage:
        if "error" in body and "choices" not in body:
            raise ModelAPIError(error_message(body), provider=self.name, body=body)
        choice = (body.get("choices") or [{}])[0]
        msg = choice.get("message") or {}
        tool_calls: list[dict[str, Any]] = []
        invalid: list[dict[str, Any]] = []
        for tc in msg.get("tool_calls") or []:
            call = json_tool_call(tc.get("function") or {}, tc.get("id"))
            (tool_calls if call["type"] == "tool_call" else invalid).append(call)
        text, thinking = split_content(msg.get("content"))
        extra = {k: msg[k] for k in ("refusal", "audio", "annotations") if msg.get(k)}
        if reasoning := _reasoning_of(msg) + thinking:
            extra["reasoning_content"] = reasoning
        meta = {
            "token_usage": body.get("usage"),
            "model_provider": self.name,
            "model_name": body.get("model"),
            "system_fingerprint": body.get("system_fingerprint"),
            "id": body.get("id"),
            "service_tier": body.get("service_tier"),
            "finish_reason": choice.get("finish_reason"),
        }
        if choice.get("logprobs") is not None:
            meta["logprobs"] = choice["logprobs"]
        return AIMessage(
            content=text,
            id=body.get("id"),
            tool_calls=tool_calls,
            invalid_tool_calls=invalid,
            additional_kwargs=extra,
            usage_metadata=usage_from_openai(body.get("usage")),
            response_metadata={k: v for k, v in meta.items() if v is not None},
        )

    def stream_decoder(self) -> StreamDecoder:
        return _ChatStreamDecoder(self.name)

    def classify_error(self, status: int, headers: Any, body: Any) -> ModelError:
        err = body.get("error") if isinstance(body, dict) else None
        code = (err or {}).get("code") if isinstance(err, dict) else None
        msg = error_message(body)
        retryable = should_retry_header(headers)
        if code == "insufficient_quota":
            retryable = False
        overflow = code == "context_length_exceeded" or "maximum context length" in msg
        return error_for_status(
            status,
            msg,
            provider=self.name,
            body=body,
            context_overflow=overflow,
            retryable=retryable,
            retry_after=retry_after_seconds(headers),
        )


class _ChatStreamDecoder(StreamDecoder):
    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.sse = SSEParser()
        self.done = False
        self.finished = False  # some servers (OpenRouter) repeat finish_reason; strings would concatenate

    def feed(self, data: bytes) -> list[AIMessageChunk]:
        return [c for ev in self.sse.feed(data) if (c := self._event(ev.data)) is not None]

    def close(self) -> list[AIMessageChunk]:
        return [c for ev in self.sse.close() if (c := self._event(ev.data)) is not None]

    def _event(self, data: str) -> AIMessageChunk | None:
        if not data or self.done:
            return None
        if data.strip() == "[DONE]":
            self.done = True
            return None
        obj = stream_json(data, self.provider)
        if "error" in obj:
            raise ModelAPIError(f"error in stream: {error_message(obj)}", provider=self.provider, body=obj)
        meta: dict[str, Any] = {"model_provider": self.provider}
        content, tool_chunks, extra = "", [], {}
        for choice in obj.get("choices") or []:
            delta = choice.get("delta") or {}
            text, thinking = split_content(delta.get("content"))
            content += text
            if reasoning := _reasoning_of(delta) + thinking:
                extra["reasoning_content"] = reasoning
            if delta.get("refusal"):
                extra["refusal"] = delta["refusal"]
            for tc in delta.get("tool_calls") or []:
                fn = tc.get("function") or {}
                tool_chunks.append(
                    {
                        "name": fn.get("name"),
                        "args": fn.get("arguments"),
                        "id": tc.get("id"),
                        "index": tc.get("index"),
                        "type": "tool_call_chunk",
                    }
                )
            if choice.get("logprobs"):
                meta["logprobs"] = choice["logprobs"]
            if choice.get("finish_reason") and not self.finished:
                self.finished = True
                meta.update(finish_reason=choice["finish_reason"], model_name=obj.get("model"))
                for k in ("system_fingerprint", "service_tier"):
                    if obj.get(k):
                        meta[k] = obj[k]
        return AIMessageChunk(
            content=content,
            id=obj.get("id"),
            tool_call_chunks=tool_chunks,
            additional_kwargs=extra,
            # Groq reports usage under `x_groq.usage` on the final chunk when stream_options is absent
            usage_metadata=usage_from_openai(obj.get("usage") or (obj.get("x_groq") or {}).get("usage")),
            response_metadata=meta,
        )
