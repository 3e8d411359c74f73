"""What the provider emulator answers: scripted replies, faults, and the default reply function.

Replies are provider-neutral; each wire format (harness.testing.wire.*) renders them in its own
JSON / SSE / NDJSON / event-stream shape.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ToolCallSpec:
    name: str
    args: dict[str, Any] = field(default_factory=dict)
    id: str | None = None


@dataclass
class Reply:
    """One model turn. `usage` keys: input_tokens, output_tokens, cache_read, cache_creation, reasoning."""

    text: str = ""
    tool_calls: list[ToolCallSpec] = field(default_factory=list)
    reasoning: str | None = None
    usage: dict[str, int] | None = None
    finish_reason: str | None = None  # normalised: stop | length | tool_calls | content_filter
    model: str | None = None
    refusal: str | None = None
    ttft: float | None = None  # seconds before the first streamed chunk (overrides the emulator's)
    chunk_delay: float | None = None  # seconds between streamed chunks
    chunk_chars: int = 8  # size of streamed text pieces
    # provider-executed tool calls and their results, provider-neutral; each wire format renders them
    # its own way (see its module): {"type": "web_search", "query": str, "results": [{"url", "title"}]}
    # (the results are also cited on the reply text), {"type": "code_interpreter", "code": str,
    # "output": str}, {"type": "image_generation", "result": base64, "output_format": "png"}; any entry
    # may set "status": "failed". Anthropic also takes its own raw blocks (a `type` of its own) as given.
    server_tools: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tool_calls = [t if isinstance(t, ToolCallSpec) else ToolCallSpec(**t) for t in self.tool_calls]
        for i, t in enumerate(self.tool_calls):
            if t.id is None:
                digest = hashlib.sha1(f"{t.name}{json.dumps(t.args, sort_keys=True)}{i}".encode()).hexdigest()
                t.id = f"call_{digest[:12]}"

    @property
    def finish(self) -> str:
        return self.finish_reason or ("tool_calls" if self.tool_calls else "stop")

    def text_pieces(self) -> list[str]:
        n = max(1, self.chunk_chars)
        return [self.text[i : i + n] for i in range(0, len(self.text), n)] if self.text else []


@dataclass
class Fault:
    """A failure on demand. kind: status | timeout | drop | malformed."""

    kind: str = "status"
    status: int = 500
    message: str = "emulated failure"
    retry_after: float | None = None
    delay: float = 0.0  # timeout: seconds to stall before answering
    after_chunks: int = 1  # drop: chunks sent before the connection is cut
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def rate_limit(cls, retry_after: float | None = 0.05, message: str = "Rate limit reached") -> Fault:
        return cls("status", 429, message, retry_after)

    @classmethod
    def server_error(cls, status: int = 500, message: str = "The server had an error") -> Fault:
        return cls("status", status, message)

    @classmethod
    def http(cls, status: int, message: str = "emulated error") -> Fault:
        return cls("status", status, message)

    @classmethod
    def timeout(cls, delay: float = 5.0) -> Fault:
        return cls("timeout", 200, "stalled", delay=delay)

    @classmethod
    def drop_mid_stream(cls, after_chunks: int = 2) -> Fault:
        return cls("drop", 200, "connection dropped", after_chunks=after_chunks)

    @classmethod
    def malformed(cls) -> Fault:
        return cls("malformed", 200, "malformed stream")


@dataclass
class EmulatedRequest:
    """A received request, normalised across wire formats so reply functions need not care."""

    provider: str
    path: str
    model: str
    messages: list[dict[str, Any]]  # {"role": system|user|assistant|tool, "content": str, ...}
    tools: list[dict[str, Any]] = field(default_factory=list)  # {"name", "description", "parameters"}
    tool_choice: Any = None  # None | "auto" | "any" | "none" | {"name": str}
    response_schema: dict[str, Any] | None = None
    json_mode: bool = False
    stream: bool = False
    reasoning: bool = False  # thinking / reasoning was requested
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)

    @property
    def last_message(self) -> dict[str, Any]:
        return self.messages[-1] if self.messages else {"role": "user", "content": ""}

    @property
    def last_user_text(self) -> str:
        for m in reversed(self.messages):
            if m.get("role") == "user":
                return str(m.get("content") or "")
        return ""


ReplyFn = Callable[[EmulatedRequest], "Reply | Fault | str"]


def example_from_schema(
    schema: dict[str, Any], *, name: str = "value", defs: dict[str, Any] | None = None
) -> Any:
    """A deterministic instance of a JSON schema (enough for structured-output round trips)."""
    defs = defs if defs is not None else schema.get("$defs", schema.get("definitions", {}))
    if "$ref" in schema:
        return example_from_schema(defs.get(schema["$ref"].split("/")[-1], {}), name=name, defs=defs)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"] or schema[key]
            return example_from_schema(options[0], name=name, defs=defs)
    if "default" in schema:
        return schema["default"]
    t = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "string")
    if t == "object":
        props = schema.get("properties", {})
        return {k: example_from_schema(v, name=k, defs=defs) for k, v in props.items()}
    if t == "array":
        return [example_from_schema(schema.get("items", {}), name=name, defs=defs)]
    if t == "integer":
        return 1
    if t == "number":
        return 1.5
    if t == "boolean":
        return True
    if t == "null":
        return None
    return f"example {name}"


def default_reply(req: EmulatedRequest) -> Reply:
    """Deterministic behaviour when nothing is queued: schema -> JSON, tools -> a call, else an echo."""
    if req.response_schema is not None:
        return Reply(text=json.dumps(example_from_schema(req.response_schema)))
    if req.json_mode:
        return Reply(text=json.dumps({"answer": req.last_user_text}))
    forced = req.tool_choice.get("name") if isinstance(req.tool_choice, dict) else None
    if req.tools and req.tool_choice != "none" and (forced or req.last_message.get("role") != "tool"):
        tool = next((t for t in req.tools if t["name"] == forced), req.tools[0])
        return Reply(
            tool_calls=[ToolCallSpec(tool["name"], example_from_schema(tool.get("parameters") or {}))]
        )
    if req.last_message.get("role") == "tool":
        results = [str(m.get("content")) for m in req.messages if m.get("role") == "tool"]
        return Reply(text="Based on the tools: " + "; ".join(results))
    return Reply(
        text=f"Emulated reply to: {req.last_user_text}",
        reasoning="Thinking about the question." if req.reasoning else None,
    )


def estimate_usage(req: EmulatedRequest, reply: Reply) -> dict[str, int]:
    """Token counts that are stable for the same request (about 4 characters a token)."""
    if reply.usage is not None:
        u = dict(reply.usage)
        u.setdefault("input_tokens", 10)
        u.setdefault("output_tokens", 5)
        return u
    chars = sum(len(str(m.get("content") or "")) for m in req.messages)
    out_chars = len(reply.text) + sum(len(json.dumps(t.args)) + len(t.name) for t in reply.tool_calls)
    usage = {"input_tokens": 8 + chars // 4, "output_tokens": 1 + out_chars // 4}
    if reply.reasoning:
        usage["reasoning"] = 1 + len(reply.reasoning) // 4
        usage["output_tokens"] += usage["reasoning"]
    return usage
