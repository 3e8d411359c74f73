"""Ollama native chat API (`POST {base}/api/chat`): JSON, or NDJSON when streaming.

Pure translation; see harness.providers.base for the contract and docs/providers/ollama.md.
No key is needed locally; OLLAMA_API_KEY (ollama.com's cloud API) is sent as a bearer token when set.
Ollama's OpenAI-compatible endpoint is served by the `openai` adapter with base_url=http://host:11434/v1.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from typing import Any, ClassVar
from urllib.parse import urlsplit

from harness.errors import ModelAPIError
from harness.messages.core import AIMessage, AIMessageChunk, BaseMessage, ToolMessage, tool_call_chunk
from harness.providers._common import stream_json, usage_metadata
from harness.providers.base import (
    COMMON_PARAMS,
    Capabilities,
    ChatRequest,
    ProviderAdapter,
    StreamDecoder,
    WireRequest,
    error_message,
    image_source,
)

# model parameters that go into `options` (anything unknown goes there too: Ollama's options are open)
_TOP_LEVEL = {"keep_alive", "logprobs", "top_logprobs", "truncate", "shift", "format", "think"}
_DROP = {"stream_usage"}
# ChatOllama's fields: the body's top-level keys and the model options (`options`)
_OPTIONS = {
    "mirostat", "mirostat_eta", "mirostat_tau", "num_ctx", "num_gpu", "num_thread", "num_predict",
    "num_keep", "num_batch", "repeat_last_n", "repeat_penalty", "presence_penalty",
    "frequency_penalty", "seed", "tfs_z", "top_k", "min_p", "typical_p", "penalize_newline", "numa",
    "low_vram", "use_mmap", "use_mlock",
}  # fmt: skip
_META = (
    "model",
    "created_at",
    "done",
    "done_reason",
    "total_duration",
    "load_duration",
    "prompt_eval_count",
    "prompt_eval_duration",
    "eval_count",
    "eval_duration",
)
DEFAULT_PORT = 11434


def normalize_host(host: str) -> str:
    """OLLAMA_HOST may be `0.0.0.0`, `localhost:11434`, `http://host` ...: make it a base URL."""
    host = host.strip().rstrip("/")
    if "://" not in host:
        parts = urlsplit("http://" + host)
        netloc = parts.netloc if parts.port else f"{parts.netloc}:{DEFAULT_PORT}"
        host = f"http://{netloc}{parts.path}"
    host = host.replace("://0.0.0.0", "://127.0.0.1")  # a listen address, not a place to connect to
    return host[: -len("/api")] if host.endswith("/api") else host


def call_id(name: str, args: Any, position: int) -> str:
    """Ids for tool calls an older server sent without one: deterministic, so a replayed
    conversation sends the same follow-up request (and matches its cassette) every time."""
    digest = hashlib.sha1(f"{name}\0{json.dumps(args, sort_keys=True)}\0{position}".encode()).hexdigest()
    return f"call_{digest[:16]}"


def _text(m: BaseMessage) -> str:
    if isinstance(m.content, str):
        return m.content
    return "\n".join(b["text"] for b in m.content_blocks if b.get("type") == "text")


def _images(m: BaseMessage) -> list[str]:
    if isinstance(m.content, str):
        return []
    out = []
    for block in m.content_blocks:
        src = image_source(block)
        if src is None:
            continue
        if "base64" not in src:
            raise ValueError(
                f"ollama: Ollama does not fetch image URLs; pass base64 data (a data: URL or "
                f"{{'type': 'image', 'base64': ..., 'mime_type': ...}}); received {src.get('url', '')[:80]!r}"
            )
        out.append(src["base64"])
    return out


def _reasoning(m: AIMessage) -> str:
    rc = m.additional_kwargs.get("reasoning_content")
    if isinstance(rc, str):
        return rc
    if isinstance(m.content, list):
        return "".join(
            b.get("reasoning") or ""
            for b in m.content
            if isinstance(b, dict) and b.get("type") == "reasoning"
        )
    return ""


def to_ollama(messages: list[BaseMessage]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool call id -> tool name, for the tool results' tool_name
    for m in messages:
        if m.type == "system":
            out.append({"role": "system", "content": _text(m)})
        elif m.type == "human":
            item: dict[str, Any] = {"role": "user", "content": _text(m)}
            if images := _images(m):
                item["images"] = images
            out.append(item)
        elif isinstance(m, ToolMessage):
            item = {"role": "tool", "content": _text(m), "tool_call_id": m.tool_call_id}
            if m.tool_call_id in names:
                item["tool_name"] = names[m.tool_call_id]
            out.append(item)
        elif isinstance(m, AIMessage):
            item = {"role": "assistant", "content": _text(m)}
            if thinking := _reasoning(m):
                item["thinking"] = thinking
            if m.tool_calls:
                item["tool_calls"] = []
                for tc in m.tool_calls:
                    call: dict[str, Any] = {
                        "function": {"name": tc["name"], "arguments": tc.get("args") or {}}
                    }
                    if tc.get("id"):
                        call["id"] = tc["id"]
                        names[tc["id"]] = tc["name"]
                    item["tool_calls"].append(call)
            out.append(item)
        else:
            raise ValueError(
                f"ollama: cannot send a {type(m).__name__}; allowed: system, human, ai, tool messages"
            )
    return out


def _finish(done_reason: str | None, has_tool_calls: bool) -> str | None:
    if done_reason == "stop" and has_tool_calls:
        return "tool_calls"
    return done_reason


def _usage(body: dict[str, Any]) -> dict[str, Any] | None:
    if "prompt_eval_count" not in body and "eval_count" not in body:
        return None
    return usage_metadata(body.get("prompt_eval_count") or 0, body.get("eval_count") or 0)


def _final_metadata(body: dict[str, Any], provider: str, has_tool_calls: bool) -> dict[str, Any]:
    meta = {k: body[k] for k in _META if k in body}
    meta.update(
        model_name=body.get("model"),
        model_provider=provider,
        finish_reason=_finish(body.get("done_reason"), has_tool_calls),
    )
    return {k: v for k, v in meta.items() if v is not None}


def _tool_calls(raw: list[Any], start: int) -> list[tuple[str, Any, str]]:
    """(name, args object or raw string, id) per call; string arguments are JSON-parsed."""
    out = []
    for pos, tc in enumerate(raw or [], start):
        fn = tc.get("function") or {}
        name, args = fn.get("name") or "", fn.get("arguments")
        if isinstance(args, str):
            with contextlib.suppress(ValueError):  # unparseable arguments become an invalid tool call
                args = json.loads(args) if args.strip() else {}
        args = {} if args is None else args
        out.append((name, args, tc.get("id") or call_id(name, args, pos)))
    return out


class OllamaAdapter(ProviderAdapter):
    name: ClassVar[str] = "ollama"
    # no tool_choice / parallel_tool_calls on the wire: a forced tool is sent as the only tool
    capabilities: ClassVar[Capabilities] = Capabilities(
        parallel_tool_calls=False, reasoning=True, logprobs=True
    )
    api_key_env: ClassVar[tuple[str, ...]] = ("OLLAMA_API_KEY",)
    base_url_env: ClassVar[tuple[str, ...]] = ("OLLAMA_HOST",)
    default_base_url: ClassVar[str] = f"http://localhost:{DEFAULT_PORT}"
    requires_api_key: ClassVar[bool] = False
    default_structured_method: ClassVar[str] = "json_schema"
    settings_keys: ClassVar[tuple[str, ...]] = ("default_headers",)
    known_params: ClassVar[frozenset[str] | None] = (
        COMMON_PARAMS | _TOP_LEVEL | _OPTIONS | {"reasoning", "options"}
    )
    url_pattern: ClassVar[str] = r"/api/chat/?(\?|$)"

    def __init__(
        self, *, model: str, api_key: str | None = None, base_url: str | None = None, **settings: Any
    ) -> None:
        super().__init__(model=model, api_key=api_key, base_url=base_url, **settings)
        self.base_url = normalize_host(self.base_url)

    def build_body(self, request: ChatRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": request.model,
            "messages": to_ollama(request.messages),
            "stream": request.stream,
        }
        options: dict[str, Any] = {}
        for key, value in request.params.items():
            if key in _DROP:
                continue
            if key == "max_tokens":
                options["num_predict"] = value
            elif key == "stop":
                options["stop"] = [value] if isinstance(value, str) else value
            elif key == "reasoning":
                body["think"] = value
            elif key == "options":
                options.update(value or {})
            elif key in _TOP_LEVEL:
                body[key] = value
            else:
                options[key] = value
        if options:
            body["options"] = options
        tools, choice = request.tools or [], request.tool_choice
        if isinstance(choice, dict) and choice.get("type") == "tool":
            tools = [t for t in tools if (t.get("function") or {}).get("name") == choice["name"]] or tools
        if tools and choice != "none":
            body["tools"] = tools
        rf = request.response_format
        if rf is not None:
            body["format"] = "json" if rf.type == "json_object" else (rf.schema or {})
        body.update(request.extra_body)
        return body

    def build_request(self, request: ChatRequest) -> WireRequest:
        headers = {"Content-Type": "application/json", **(self.settings.get("default_headers") or {})}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return WireRequest("POST", self.base_url + "/api/chat", headers, self.build_body(request))

    def parse_response(self, body: Any) -> AIMessage:
        if not isinstance(body, dict) or ("error" in body and "message" not in body):
            raise ModelAPIError(error_message(body), provider=self.name, body=body)
        msg = body.get("message") or {}
        tool_calls, invalid = [], []
        for name, args, id_ in _tool_calls(msg.get("tool_calls") or [], 0):
            if isinstance(args, dict):
                tool_calls.append({"name": name, "args": args, "id": id_, "type": "tool_call"})
            else:
                invalid.append(
                    {
                        "name": name,
                        "args": args if isinstance(args, str) else json.dumps(args),
                        "id": id_,
                        "error": "arguments are not a JSON object",
                        "type": "invalid_tool_call",
                    }
                )
        meta = _final_metadata(body, self.name, bool(tool_calls or invalid))
        if body.get("logprobs"):
            meta["logprobs"] = body["logprobs"]
        return AIMessage(
            content=msg.get("content") or "",
            tool_calls=tool_calls,
            invalid_tool_calls=invalid,
            additional_kwargs={"reasoning_content": msg["thinking"]} if msg.get("thinking") else {},
            usage_metadata=_usage(body),
            response_metadata=meta,
        )

    def stream_decoder(self) -> StreamDecoder:
        return _NDJSONDecoder(self.name)

    def is_stream_request(self, url: str, body: Any) -> bool:
        return isinstance(body, dict) and body.get("stream", True) is not False  # Ollama streams by default


class _NDJSONDecoder(StreamDecoder):
    """One JSON object per line; a line may be split across network chunks."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.buf = b""
        self.calls = 0  # tool calls seen so far (their position gives ids and chunk indexes)
        self.done = False

    def feed(self, data: bytes) -> list[AIMessageChunk]:
        self.buf += data
        *lines, self.buf = self.buf.split(b"\n")
        return [c for line in lines if (c := self._line(line)) is not None]

    def close(self) -> list[AIMessageChunk]:
        line, self.buf = self.buf, b""
        out = [c for c in [self._line(line)] if c is not None]
        if not self.done:
            raise ModelAPIError("Ollama stream ended before its final done line", provider=self.provider)
        return out

    def _line(self, line: bytes) -> AIMessageChunk | None:
        line = line.strip()
        if not line:
            return None
        obj = stream_json(line, self.provider, "stream line")
        if not isinstance(obj, dict) or "error" in obj:
            raise ModelAPIError(f"error in stream: {error_message(obj)}", provider=self.provider, body=obj)
        msg = obj.get("message") or {}
        calls = _tool_calls(msg.get("tool_calls") or [], self.calls)
        chunks: list[Any] = [
            tool_call_chunk(name, args if isinstance(args, str) else json.dumps(args), id_, self.calls + i)
            for i, (name, args, id_) in enumerate(calls)
        ]
        self.calls += len(calls)
        meta: dict[str, Any] = {"model_provider": self.provider}
        usage = None
        if obj.get("done"):
            self.done = True
            meta = _final_metadata(obj, self.provider, self.calls > 0)
            usage = _usage(obj)
        if obj.get("logprobs"):
            meta["logprobs"] = obj["logprobs"]
        return AIMessageChunk(
            content=msg.get("content") or "",
            tool_call_chunks=chunks,
            additional_kwargs={"reasoning_content": msg["thinking"]} if msg.get("thinking") else {},
            usage_metadata=usage,
            response_metadata=meta,
        )
