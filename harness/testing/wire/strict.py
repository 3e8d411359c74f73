"""Request checks that make the emulator refuse what the real API refuses, with the real error.

What each API accepts comes from `request_schema.json`, generated from the official SDKs' typed
request parameters by `scripts/gen_request_schema.py` (top-level keys, required keys, tool types;
the keys of each Chat Completions message role, Responses input item type and Anthropic content
block type; Gemini's generationConfig, thinkingConfig and Tool fields; Ollama's documented /api/chat
fields). Bedrock's checks are in `strict_bedrock` (botocore's service model). Each `check_*` returns a `Rejection`
(the status, message, `param` and `code` the provider answers with) or None. The emulator runs them
before parsing when it is strict (the default; `ProviderEmulator(strict=False)` accepts anything, as
an OpenAI-compatible server with its own extensions would).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA: dict[str, dict[str, Any]] = json.loads(
    (Path(__file__).with_name("request_schema.json")).read_text(encoding="utf-8")
)


@dataclass(frozen=True)
class Rejection:
    message: str
    param: str | None = None
    code: str | None = None
    status: int = 400


def _quoted(values: list[str]) -> str:
    q = [f"'{v}'" for v in values if v]
    return q[0] if len(q) == 1 else ", ".join(q[:-1]) + " and " + q[-1]


def _not_object(body: Any) -> Rejection | None:
    if isinstance(body, dict):
        return None
    return Rejection(
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using "
        "your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not "
        "valid JSON.)"
    )


def check_openai_chat(body: Any, *, require_model: bool = True) -> Rejection | None:
    s = SCHEMA["openai_chat"]
    if (bad := _not_object(body)) is not None:
        return bad
    for key in s["required"]:
        if key not in body and (require_model or key != "model"):
            return Rejection(f"Missing required parameter: '{key}'.", key, "missing_required_parameter")
    for key in body:
        if key not in s["allowed"]:
            return Rejection(f"Unrecognized request argument supplied: {key}")
    if not isinstance(body["messages"], list):
        got = {str: "a string", dict: "an object"}.get(type(body["messages"]), "another type")  # type: ignore[call-overload]
        return Rejection(
            f"Invalid type for 'messages': expected an array of objects, but got {got} instead.",
            "messages",
            "invalid_type",
        )
    if not body["messages"]:
        return Rejection(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty "
            "array instead.",
            "messages",
            "empty_array",
        )
    for i, tool in enumerate(body.get("tools") or []):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind not in s["tool_types"]:
            return Rejection(
                f"Invalid value: '{kind}'. Supported values are: {_quoted(s['tool_types'])}.",
                f"tools[{i}].type",
                "invalid_value",
            )
    shapes = s["messages"]
    for i, m in enumerate(body["messages"]):
        role = m.get("role") if isinstance(m, dict) else None
        if role not in shapes:
            return Rejection(
                f"Invalid value: '{role}'. Supported values are: {_quoted(sorted(shapes))}.",
                f"messages[{i}].role",
                "invalid_value",
            )
        extra = [k for k in m if k not in shapes[role]]
        if extra:
            return Rejection(
                f"Additional properties are not allowed ('{extra[0]}' was unexpected) - 'messages.{i}'"
            )
    if body.get("stream_options") is not None and not body.get("stream"):
        return Rejection(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options"
        )
    if body.get("top_logprobs") is not None and not body.get("logprobs"):
        return Rejection("Using `top_logprobs` requires `logprobs` to be set to true.", "top_logprobs")
    return None


def check_openai_responses(body: Any) -> Rejection | None:
    s = SCHEMA["openai_responses"]
    if (bad := _not_object(body)) is not None:
        return bad
    if "model" not in body:
        return Rejection("Missing required parameter: 'model'.", "model", "missing_required_parameter")
    for key in body:
        if key not in s["allowed"]:
            return Rejection(f"Unknown parameter: '{key}'.", key, "unknown_parameter")
    for i, tool in enumerate(body.get("tools") or []):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind not in s["tool_types"]:
            return Rejection(
                f"Invalid value: '{kind}'. Supported values are: {_quoted(s['tool_types'])}.",
                f"tools[{i}].type",
                "invalid_value",
            )
    items = body.get("input")
    return _responses_items(items, s["input_items"]) if isinstance(items, list) else None


def _responses_items(items: list[Any], shapes: dict[str, list[str]]) -> Rejection | None:
    for i, item in enumerate(items):
        kind = item.get("type", "message") if isinstance(item, dict) else None
        if kind not in shapes:
            return Rejection(
                f"Invalid value: '{kind}'. Supported values are: {_quoted(sorted(shapes))}.",
                f"input[{i}].type",
                "invalid_value",
            )
        for key in item:
            if key not in shapes[kind]:
                return Rejection(
                    f"Unknown parameter: 'input[{i}].{key}'.", f"input[{i}].{key}", "unknown_parameter"
                )
    return None


def check_anthropic(body: Any) -> Rejection | None:
    """Anthropic answers validation errors as `<field path>: <pydantic message>`."""
    s = SCHEMA["anthropic"]
    if not isinstance(body, dict):
        return Rejection("Input should be a valid dictionary")
    for key in s["required"]:
        if key not in body:
            return Rejection(f"{key}: Field required")
    for key in body:
        if key not in s["allowed"]:
            return Rejection(f"{key}: Extra inputs are not permitted")
    if not isinstance(body["max_tokens"], int) or isinstance(body["max_tokens"], bool):
        return Rejection("max_tokens: Input should be a valid integer")
    if not isinstance(body["messages"], list):
        return Rejection("messages: Input should be a valid list")
    if not body["messages"]:
        return Rejection("messages: at least one message is required")
    for i, tool in enumerate(body.get("tools") or []):
        kind = tool.get("type", "") if isinstance(tool, dict) else None
        if kind not in s["tool_types"]:
            expected = ", ".join(f"'{t}'" for t in s["tool_types"] if t)
            return Rejection(
                f"tools.{i}: Input tag '{kind}' found using 'type' does not match any of the expected "
                f"tags: {expected}"
            )
        if kind in ("", "custom"):
            for field in ("name", "input_schema"):
                if field not in tool:
                    return Rejection(f"tools.{i}.custom.{field}: Field required")
    return _anthropic_thinking(body) or _anthropic_blocks(body["messages"], s["content_blocks"])


def _anthropic_thinking(body: dict[str, Any]) -> Rejection | None:
    """The extended-thinking rules the API enforces (docs: extended thinking, important considerations)."""
    thinking = body.get("thinking")
    if not (isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")):
        return None
    budget = thinking.get("budget_tokens")
    if thinking["type"] == "enabled" and isinstance(budget, int):
        if budget < 1024:
            return Rejection("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
        if budget >= body["max_tokens"]:
            return Rejection("`max_tokens` must be greater than `thinking.budget_tokens`.")
    if body.get("temperature") not in (None, 1):
        return Rejection("`temperature` may only be set to 1 when thinking is enabled.")
    if body.get("top_k") is not None:
        return Rejection("`top_k` is not supported when thinking is enabled.")
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
        return Rejection("Thinking may not be enabled when tool_choice forces tool use.")
    return None


def _anthropic_blocks(messages: list[Any], shapes: dict[str, list[str]]) -> Rejection | None:
    for i, m in enumerate(messages):
        content = m.get("content") if isinstance(m, dict) else None
        for j, block in enumerate(content if isinstance(content, list) else []):
            kind = block.get("type") if isinstance(block, dict) else None
            if kind not in shapes:
                expected = ", ".join(f"'{t}'" for t in shapes)
                return Rejection(
                    f"messages.{i}.content.{j}: Input tag '{kind}' found using 'type' does not match any "
                    f"of the expected tags: {expected}"
                )
            for key in block:
                if key not in shapes[kind]:
                    return Rejection(f"messages.{i}.content.{j}.{kind}.{key}: Extra inputs are not permitted")
    return None


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


def _gemini_unknown(obj: Any, allowed: list[str], where: str) -> Rejection | None:
    # proto JSON accepts a field under its lowerCamel name or its original snake_case name
    names = set(allowed) | {_snake(a) for a in allowed}
    for key in obj if isinstance(obj, dict) else ():
        if key not in names:
            at = f" at '{where}'" if where else ""
            return Rejection(f'Invalid JSON payload received. Unknown name "{key}"{at}: Cannot find field.')
    return None


def check_gemini(body: Any) -> Rejection | None:
    s = SCHEMA["gemini"]
    if not isinstance(body, dict):
        return Rejection("Invalid JSON payload received. Expected an object.")
    checks = [
        (body, s["allowed"], ""),
        (
            body.get("generationConfig", body.get("generation_config")),
            s["generation_config"],
            "generation_config",
        ),
    ]
    gen = checks[1][0] if isinstance(checks[1][0], dict) else {}
    checks.append(
        (
            gen.get("thinkingConfig", gen.get("thinking_config")),
            s["thinking_config"],
            "generation_config.thinking_config",
        )
    )
    checks += [(t, s["tool_keys"], f"tools[{i}]") for i, t in enumerate(body.get("tools") or [])]
    for i, content in enumerate(body.get("contents") or []):
        checks.append((content, s["content_keys"], f"contents[{i}]"))
        parts = content.get("parts") if isinstance(content, dict) else None
        checks += [(p, s["part_keys"], f"contents[{i}].parts[{j}]") for j, p in enumerate(parts or [])]
    for obj, allowed, where in checks:
        if (bad := _gemini_unknown(obj, allowed, where)) is not None:
            return bad
    if not body.get("contents"):
        return Rejection("* GenerateContentRequest.contents: contents is not specified\n")
    for content in body["contents"]:
        if isinstance(content, dict) and content.get("role") not in (None, "user", "model"):
            return Rejection("Please use a valid role: user, model.")
    return None


def _go_type(value: Any) -> str:
    return {str: "string", bool: "bool", int: "number", float: "number", list: "array", dict: "object"}.get(
        type(value), "null"
    )


def check_ollama(body: Any) -> Rejection | None:
    """Ollama's /api/chat. The server (Go) refuses a value of the wrong JSON type with encoding/json's
    message, a missing model with `model is required`, a bad `format` / `think`; it ignores unknown
    fields, an unknown role and an unknown option, which never do what the client meant (a top-level
    `temperature` belongs in `options`): the emulator refuses those too, in Ollama's `{"error"}`."""
    s = SCHEMA["ollama"]
    if not isinstance(body, dict):
        return Rejection(f"json: cannot unmarshal {_go_type(body)} into Go value of type api.ChatRequest")
    if not body.get("model"):
        return Rejection("model is required")
    for key in body:
        if key not in s["allowed"]:
            return Rejection(f"unknown field {key!r}: /api/chat takes {', '.join(s['allowed'])}")
    typed = {"messages": list, "tools": list, "options": dict, "stream": bool, "logprobs": bool}
    for key, kind in typed.items():
        if key in body and body[key] is not None and not isinstance(body[key], kind):
            return Rejection(
                f"json: cannot unmarshal {_go_type(body[key])} into Go struct field ChatRequest.{key} of "
                f"type {_go_type(kind())}"
            )
    fmt = body.get("format")
    if fmt not in (None, "", "json") and not isinstance(fmt, dict):
        return Rejection(f'invalid format: {json.dumps(fmt)}; expected "json" or a valid JSON schema')
    think = body.get("think")
    if think is not None and not isinstance(think, bool) and think not in s["think_levels"]:
        return Rejection(
            f'invalid think value: {json.dumps(think)} (must be "high", "medium", "low", true, or false)'
        )
    for key in body.get("options") or {}:
        if key not in s["options"]:
            return Rejection(f"invalid option provided: {key!r}")
    return _ollama_messages(body.get("messages") or [], s)


def _ollama_messages(messages: list[Any], s: dict[str, Any]) -> Rejection | None:
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            return Rejection(
                f"json: cannot unmarshal {_go_type(m)} into Go struct field ChatRequest.messages of type api.Message"
            )
        if m.get("role") not in s["roles"]:
            return Rejection(f"messages[{i}]: invalid role {m.get('role')!r}; one of {', '.join(s['roles'])}")
        for key in m:
            if key not in s["message_keys"]:
                return Rejection(f"messages[{i}]: unknown field {key!r}")
        if not isinstance(m.get("content", ""), str):
            return Rejection(
                f"json: cannot unmarshal {_go_type(m['content'])} into Go struct field "
                "Message.messages.content of type string"
            )
        for call in m.get("tool_calls") or []:
            args = (call.get("function") or {}).get("arguments") if isinstance(call, dict) else None
            if args is not None and not isinstance(args, dict):
                return Rejection(
                    f"json: cannot unmarshal {_go_type(args)} into Go struct field "
                    "ToolCallFunction.messages.tool_calls.function.arguments of type api.ToolCallFunctionArguments"
                )
    return None
