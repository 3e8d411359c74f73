"""OpenAI Responses API (`POST {base}/responses`). Pure translation; see docs/providers/openai.md.

Same key, base URL and headers as the Chat Completions adapter (OPENAI_API_KEY, OPENAI_BASE_URL).
Reach it as `"openai_responses:gpt-4.1"` or `init_chat_model("openai:gpt-4.1", use_responses_api=True)`.

Request: messages become `input` items (harness.providers.openai_responses.input), function tools are
flattened, structured output goes to `text.format`, `max_tokens` -> `max_output_tokens`,
`reasoning_effort` -> `reasoning.effort`, `logprobs=True` -> `include` of the output logprobs,
`verbosity` -> `text.verbosity`; `stop` is dropped (the API has no stop sequences). Everything else
(`reasoning`, `include`, `store`, `instructions`, `previous_response_id`, `truncation`, ...) passes through.

Response: list content of standard blocks (see harness.providers.openai_responses.items), `tool_calls`
from `function_call` items (id = `call_id`), usage with cached and reasoning token details, and
`finish_reason` derived from `status` (completed -> stop / tool_calls, incomplete -> length or
content_filter).
"""

from __future__ import annotations

from typing import Any, ClassVar

from harness.errors import ModelAPIError
from harness.messages.core import AIMessage
from harness.providers.base import Capabilities, ChatRequest, ProviderAdapter, StreamDecoder, error_message
from harness.providers.openai import OpenAIChatAdapter
from harness.providers.openai_responses.input import messages_to_input
from harness.providers.openai_responses.items import (
    FUNCTION_CALL_IDS,
    output_to_message_parts,
    response_metadata,
    usage_from_responses,
)

_PARAM_NAMES = {"max_tokens": "max_output_tokens", "max_completion_tokens": "max_output_tokens"}
_DROP_PARAMS = {"stream_usage", "use_responses_api", "stop", "logprobs", "reasoning_effort", "verbosity"}


def flatten_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """Chat-style `{"type": "function", "function": {...}}` -> the flat Responses form; built-in
    tools (`{"type": "web_search"}` ...) and already-flat function tools pass through."""
    fn = tool.get("function")
    if tool.get("type") != "function" or not isinstance(fn, dict):
        return tool
    out: dict[str, Any] = {"type": "function", "name": fn["name"]}
    if fn.get("description"):
        out["description"] = fn["description"]
    out["parameters"] = fn.get("parameters") or {"type": "object", "properties": {}}
    if fn.get("strict") is not None:
        out["strict"] = fn["strict"]
    return out


def tool_choice_to_responses(choice: Any, tools: list[dict[str, Any]] | None = None) -> Any:
    if choice in ("auto", "none"):
        return choice
    builtin = {t.get("type") for t in tools or [] if t.get("type") != "function"}
    if isinstance(choice, dict) and choice.get("type") == "tool" and choice.get("name") in builtin:
        return {"type": choice["name"]}  # a built-in tool is forced by its type: {"type": "web_search"}
    if choice == "any":
        return "required"
    if isinstance(choice, dict) and choice.get("type") == "tool":
        return {"type": "function", "name": choice["name"]}
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):  # Chat Completions form
        return {"type": "function", "name": choice["function"]["name"]}
    return choice


class OpenAIResponsesAdapter(OpenAIChatAdapter):
    name: ClassVar[str] = "openai_responses"
    capabilities: ClassVar[Capabilities] = Capabilities(reasoning=True, logprobs=True)
    path: ClassVar[str] = "/responses"
    url_pattern: ClassVar[str] = r"/responses(?:[?#]|$)"

    # response_metadata["model_provider"]: LangChain's ChatOpenAI says "openai" on either API
    reported_provider: ClassVar[str] = "openai"

    @classmethod
    def select(cls, params: dict[str, Any]) -> type[ProviderAdapter]:
        params.pop("use_responses_api", None)
        return cls

    def route(self, request: ChatRequest) -> ProviderAdapter:
        return self

    def build_body(self, request: ChatRequest) -> dict[str, Any]:
        params = request.params
        stateless = params.get("store") is False
        body: dict[str, Any] = {
            "model": request.model,
            "input": messages_to_input(request.messages, stateless=stateless),
        }
        for k, v in params.items():
            if k not in _DROP_PARAMS:
                body[_PARAM_NAMES.get(k, k)] = v
        if params.get("reasoning_effort") is not None:
            body["reasoning"] = {**(body.get("reasoning") or {}), "effort": params["reasoning_effort"]}
        include = list(body.get("include") or [])
        if params.get("logprobs"):
            include.append("message.output_text.logprobs")
        if stateless and body.get("reasoning"):
            include.append("reasoning.encrypted_content")  # the only way to replay reasoning without storage
        if include:
            body["include"] = list(dict.fromkeys(include))
        text: dict[str, Any] = dict(body.get("text") or {})
        if params.get("verbosity") is not None:
            text["verbosity"] = params["verbosity"]
        rf = request.response_format
        if rf is not None:
            if rf.type == "json_object":
                text["format"] = {"type": "json_object"}
            else:
                fmt: dict[str, Any] = {
                    "type": "json_schema",
                    "name": rf.name or "output",
                    "schema": rf.schema,
                }
                if rf.description:
                    fmt["description"] = rf.description
                if rf.strict is not None:
                    fmt["strict"] = rf.strict
                text["format"] = fmt
        if text:
            body["text"] = text
        if request.stream:
            body["stream"] = True
        if request.tools:
            body["tools"] = [flatten_tool(t) for t in request.tools]
            if request.tool_choice is not None:
                body["tool_choice"] = tool_choice_to_responses(request.tool_choice, request.tools)
            if request.parallel_tool_calls is not None:
                body["parallel_tool_calls"] = request.parallel_tool_calls
        body.update(request.extra_body)
        return body

    def parse_response(self, body: Any) -> AIMessage:
        if (
            not isinstance(body, dict)
            or (body.get("error") and body.get("status") != "completed")
            or ("output" not in body and "error" in body)
        ):
            raise ModelAPIError(error_message(body), provider=self.name, body=body)
        output = body.get("output") or []
        parts = output_to_message_parts(output)
        has_calls = any(item.get("type") == "function_call" for item in output)
        extra: dict[str, Any] = {}
        if parts["refusal"]:
            extra["refusal"] = parts["refusal"]
        if parts["fc_ids"]:
            extra[FUNCTION_CALL_IDS] = parts["fc_ids"]
        meta = response_metadata(body, self.reported_provider, has_calls)
        logprobs = [
            lp
            for item in output
            if item.get("type") == "message"
            for part in item.get("content") or []
            for lp in part.get("logprobs") or []
        ]
        if logprobs:
            meta["logprobs"] = {"content": logprobs}
        return AIMessage(
            content=parts["blocks"],
            id=body.get("id"),
            tool_calls=parts["tool_calls"],
            invalid_tool_calls=parts["invalid"],
            additional_kwargs=extra,
            usage_metadata=usage_from_responses(body.get("usage")),
            response_metadata=meta,
        )

    def stream_decoder(self) -> StreamDecoder:
        from harness.providers.openai_responses.stream import ResponsesStreamDecoder

        return ResponsesStreamDecoder(self.reported_provider)
