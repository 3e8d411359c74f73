"""Google Gemini Developer API (v1beta `models/{model}:generateContent` / `:streamGenerateContent?alt=sse`).

Pure translation; see harness.providers.base for the contract and docs/providers/google_genai.md.
The request side lives in `_gemini_request.py`. The response side has one decoder for both paths: a
whole response is decoded as a stream of one event and summed, so invoke and stream agree by
construction (content, tool calls, usage, metadata).

Content is a str while the reply is plain text; from the first thought / media / other part on it is
a list of blocks with an `index` (reasoning and text runs, images, `non_standard` for parts kept
verbatim). Thought signatures ride on their block's `extras.signature`; signatures of function calls
and of text while content is still a str live in `additional_kwargs` (keys in `_gemini_request`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from harness.errors import ModelAPIError, ModelError, error_for_status
from harness.messages.core import (
    AIMessage,
    AIMessageChunk,
    merge_content,
    message_chunk_to_message,
    register_block_translator,
    tool_call_chunk,
)
from harness.providers._common import usage_metadata
from harness.providers._json_array import JSONArrayParser
from harness.providers._sse import SSEParser
from harness.providers.base import (
    COMMON_PARAMS,
    Capabilities,
    ChatRequest,
    ProviderAdapter,
    StreamDecoder,
    WireRequest,
    error_message,
    retry_after_seconds,
)
from harness.providers.google_genai.blocks import content_blocks
from harness.providers.google_genai.builtin import is_builtin_tool
from harness.providers.google_genai.request import (
    FC_SIGNATURES,
    KNOWN_PARAMS,
    PROVIDER,
    TEXT_SIGNATURES,
    build_body,
)

_FILTERED = (
    "SAFETY",
    "RECITATION",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
    "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT",
    "IMAGE_RECITATION",
)
_FINISH = {"STOP": "stop", "MAX_TOKENS": "length", **{k: "content_filter" for k in _FILTERED}}
# candidate fields kept in response_metadata (last value wins; emitted once per message)
_CANDIDATE_META = {
    "safetyRatings": "safety_ratings",
    "groundingMetadata": "grounding_metadata",
    "citationMetadata": "citation_metadata",
    "urlContextMetadata": "url_context_metadata",
    "finishMessage": "finish_message",
    "logprobsResult": "logprobs_result",  # LangChain does not map it; the last event's, when streamed
    "avgLogprobs": "avg_logprobs",
}
_TEXT_KEYS = {"text", "thought", "thoughtSignature"}
_MODEL_IN_URL = re.compile(r"/models/([^/:?]+):(?:generateContent|streamGenerateContent)(?:\?|$)")
_OLD_MODEL = re.compile(r"^(models/)?gemini-[12][.-]")  # before Gemini 3 function calls needed no signature


def finish_reason(raw: str, called_tools: bool) -> str:
    """The normalised reason (`normalized_finish_reason`): stop / length / tool_calls / content_filter."""
    if raw == "STOP" and called_tools:  # Gemini has no "tool calls" reason
        return "tool_calls"
    return _FINISH.get(raw, raw.lower())


def usage_from_gemini(u: dict[str, Any] | None) -> dict[str, Any] | None:
    """usageMetadata -> UsageMetadata (model-interface §2.4): tool-use prompt counts as input, thoughts as output."""
    if not u:
        return None
    inp = (u.get("promptTokenCount") or 0) + (u.get("toolUsePromptTokenCount") or 0)
    thoughts = u.get("thoughtsTokenCount") or 0
    out = (u.get("candidatesTokenCount") or 0) + thoughts
    itd: dict[str, int] = {"cache_read": u.get("cachedContentTokenCount") or 0}
    otd: dict[str, int] = {"reasoning": thoughts}
    for key, details in (("promptTokensDetails", itd), ("candidatesTokensDetails", otd)):
        audio = sum(d.get("tokenCount") or 0 for d in u.get(key) or () if d.get("modality") == "AUDIO")
        if audio:
            details["audio"] = audio
    return usage_metadata(inp, out, u.get("totalTokenCount"), itd, otd)


def _signed_diff(cur: dict[str, Any], prev: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in (*cur, *(k for k in prev if k not in cur)):
        a, b = cur.get(k), prev.get(k)
        out[k] = _signed_diff(a or {}, b or {}) if isinstance(a or b, dict) else (a or 0) - (b or 0)
    return out


def _nonzero(d: dict[str, Any]) -> bool:
    return any(_nonzero(v) if isinstance(v, dict) else v for v in d.values())


def _call_id(response_id: str, index: int, name: str, args: Any) -> str:
    """Deterministic id for a functionCall the API sent without one (same reply -> same id)."""
    key = f"{response_id}:{index}:{name}:{json.dumps(args, sort_keys=True)}"
    return "call_" + hashlib.sha1(key.encode()).hexdigest()[:20]


def _media_type(mime: str) -> str:
    head = mime.split("/", 1)[0]
    return head if head in ("image", "audio", "video") else "file"


class _Decoder(StreamDecoder):
    """GenerateContentResponse events -> chunks. Usage is cumulative on the wire: chunks carry the
    difference to what was already emitted, so the running sum always equals the latest report (a
    field the API revises downwards gives a negative difference). Per-message metadata (model name,
    finish reason, safety ratings ...) is held back and emitted once, by `close()`."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.sse = SSEParser()
        self.array: JSONArrayParser | None = None
        self.sse_mode: bool | None = None
        self.list_mode = False
        self.kind: str | None = None  # kind of the current content run: text | thought | call | other
        self.block = -1
        self.block_signed = False
        self.next_index = 0
        self.calls = 0
        self.usage: dict[str, Any] | None = None
        self.meta: dict[str, Any] = {}
        self.raw_finish: str | None = None
        self.response_id: str | None = None
        self.seen = False

    def feed(self, data: bytes) -> list[AIMessageChunk]:
        if self.array is None and self.sse_mode is None:
            head = data.lstrip()
            if not head:
                return []
            # without `?alt=sse` the API streams one JSON array instead of SSE events
            if head[:1] == b"[":
                self.array = JSONArrayParser()
            else:
                self.sse_mode = True
        if self.array is not None:
            array = self.array
            return self._array(lambda: array.feed(data))
        return [c for ev in self.sse.feed(data) for c in self._data(ev.data)]

    def close(self) -> list[AIMessageChunk]:
        if self.array is not None:
            out = self._array(self.array.close)
        else:
            out = [c for ev in self.sse.close() for c in self._data(ev.data)]
        return out + self.finish()

    def _array(self, step: Callable[[], list[Any]]) -> list[AIMessageChunk]:
        try:
            events = step()
        except ValueError as e:
            raise ModelAPIError(f"malformed stream (JSON array): {e}", provider=self.provider) from e
        return [c for ev in events for c in self.event(ev)]

    def _data(self, data: str) -> list[AIMessageChunk]:
        if not data.strip():
            return []
        try:
            obj = json.loads(data)
        except ValueError as e:
            raise ModelAPIError(
                f"malformed stream event (not JSON): {data[:200]!r}", provider=self.provider
            ) from e
        events = obj if isinstance(obj, list) else [obj]
        return [c for ev in events for c in self.event(ev)]

    def event(self, obj: dict[str, Any]) -> list[AIMessageChunk]:
        if "error" in obj and "candidates" not in obj:
            raise ModelAPIError(f"error in response: {error_message(obj)}", provider=self.provider, body=obj)
        self.seen = True
        self.response_id = obj.get("responseId") or self.response_id
        cand = (obj.get("candidates") or [{}])[0]
        pieces: list[Any] = []
        calls: list[dict[str, Any]] = []
        extra: dict[str, Any] = {}
        for part in (cand.get("content") or {}).get("parts") or []:
            self._part(part, pieces, calls, extra)
        self.raw_finish = cand.get("finishReason") or self.raw_finish
        self.meta.update(
            {dst: cand[src] for src, dst in _CANDIDATE_META.items() if cand.get(src) is not None}
        )
        for src, dst in (
            ("modelVersion", "model_name"),
            ("promptFeedback", "prompt_feedback"),
            ("usageMetadata", "token_usage"),
        ):
            if obj.get(src):
                self.meta[dst] = obj[src]
        usage = None
        if (cur := usage_from_gemini(obj.get("usageMetadata"))) is not None:
            usage = cur if self.usage is None else _signed_diff(cur, self.usage)
            self.usage = cur
            usage = usage if _nonzero(usage) else None
        return self._chunks(pieces, calls, extra, usage)

    def _run(self, kind: str, sig: str | None, new: bool = False) -> int:
        """Block index for a part: a run continues while the kind stays and no second signature comes."""
        if new or kind != self.kind or (sig and self.block_signed):
            self.block, self.next_index, self.block_signed = self.next_index, self.next_index + 1, False
        self.kind = kind
        self.block_signed = self.block_signed or bool(sig)
        return self.block

    def _part(self, part: dict[str, Any], pieces: list[Any], calls: list[Any], extra: dict[str, Any]) -> None:
        sig = part.get("thoughtSignature")
        if "functionCall" in part:
            fc = part["functionCall"]
            name, args = fc.get("name") or "", fc.get("args") or {}
            cid = fc.get("id") or _call_id(self.response_id or "", self.calls, name, args)
            calls.append(tool_call_chunk(name, json.dumps(args, ensure_ascii=False), cid, self.calls))
            self.calls += 1
            self.kind = "call"
            if sig:
                extra.setdefault(FC_SIGNATURES, {})[cid] = sig
            return
        if "text" in part or set(part) <= _TEXT_KEYS:  # a part holds one data field: text means a text part
            text, kind = part.get("text") or "", "thought" if part.get("thought") else "text"
            self.list_mode = self.list_mode or kind == "thought"
            if not text and not sig:
                return
            if not self.list_mode:
                if text:
                    pieces.append(text)
                if sig:
                    extra.setdefault(TEXT_SIGNATURES, []).append(sig)
                self.kind = "text"
                return
            block: dict[str, Any] = (
                {"type": "reasoning", "reasoning": text}
                if kind == "thought"
                else {"type": "text", "text": text}
            )
        else:
            self.list_mode = True
            kind = "other"
            inline = part.get("inlineData")
            if isinstance(inline, dict) and set(part) <= {"inlineData", "thoughtSignature"}:
                mime = inline.get("mimeType") or "application/octet-stream"
                block = {"type": _media_type(mime), "base64": inline.get("data", ""), "mime_type": mime}
            else:  # kept verbatim (signature included) so it can be sent back as it came
                block, sig = {"type": "non_standard", "value": part}, None
        if sig:
            block["extras"] = {"signature": sig}
        block["index"] = self._run(kind, sig, new=kind == "other")
        pieces.append([block])

    def _chunks(
        self, pieces: list[Any], calls: list[dict], extra: dict[str, Any], usage: dict[str, Any] | None
    ) -> list[AIMessageChunk]:
        # one chunk per run of same-typed pieces: str + list never meet inside a chunk, so summing
        # chunks gives the same content however the API split the parts across events
        groups: list[Any] = []
        for p in pieces:
            if groups and isinstance(groups[-1], str) == isinstance(p, str):
                groups[-1] = merge_content(groups[-1], p)
            else:
                groups.append(p)
        if not (groups or calls or extra or usage):
            return []
        groups = groups or [""]
        meta = {"model_provider": self.provider}
        out = [
            AIMessageChunk(content=g, id=self.response_id, response_metadata=dict(meta)) for g in groups[:-1]
        ]
        out.append(
            AIMessageChunk(
                content=groups[-1],
                id=self.response_id,
                response_metadata=dict(meta),
                tool_call_chunks=calls,
                additional_kwargs=extra,
                usage_metadata=usage,
            )
        )
        return out

    def finish(self) -> list[AIMessageChunk]:
        """The once-per-message metadata, as a last chunk."""
        if not self.seen:
            return []
        meta: dict[str, Any] = {"model_provider": self.provider}
        raw = self.raw_finish
        block = (self.meta.get("prompt_feedback") or {}).get("blockReason")
        if raw:
            # LangChain keeps Gemini's own enum name ("STOP", "MAX_TOKENS"); harness adds its normalised one
            meta.update(
                finish_reason=raw,
                native_finish_reason=raw,
                normalized_finish_reason=finish_reason(raw, self.calls > 0),
            )
        elif block:  # the prompt itself was blocked: no candidates at all
            meta.update(
                finish_reason=block, native_finish_reason=block, normalized_finish_reason="content_filter"
            )
        meta.update(self.meta)
        self.seen = False
        return [AIMessageChunk(content="", id=self.response_id, response_metadata=meta)]


class GeminiAdapter(ProviderAdapter):
    name: ClassVar[str] = PROVIDER
    # no parallel_tool_calls switch in the API (the model may call several tools in one turn)
    capabilities: ClassVar[Capabilities] = Capabilities(reasoning=True, parallel_tool_calls=False)
    api_key_env: ClassVar[tuple[str, ...]] = ("GOOGLE_API_KEY", "GEMINI_API_KEY")
    base_url_env: ClassVar[tuple[str, ...]] = ("GOOGLE_GEMINI_BASE_URL",)
    default_base_url: ClassVar[str] = "https://generativelanguage.googleapis.com"
    default_structured_method: ClassVar[str] = "json_schema"
    # api_version: "v1beta" (default) or "v1"; schema_dialect: "json_schema" (default: responseJsonSchema /
    # parametersJsonSchema) or "openapi" (responseSchema / parameters, converted)
    settings_keys: ClassVar[tuple[str, ...]] = ("api_version", "schema_dialect", "default_headers")
    known_params: ClassVar[frozenset[str] | None] = COMMON_PARAMS | KNOWN_PARAMS
    # generativelanguage `/v1beta/models/x:generateContent` and Vertex AI
    # `/projects/p/locations/l/publishers/google/models/x:generateContent` share the body format
    url_pattern: ClassVar[str] = _MODEL_IN_URL.pattern

    @classmethod
    def is_server_tool(cls, tool: Any) -> bool:
        return is_builtin_tool(tool)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        dialect = self.settings.get("schema_dialect", "json_schema")
        if dialect not in ("json_schema", "openapi"):
            raise ValueError(
                f"google_genai: schema_dialect must be 'json_schema' or 'openapi', got {dialect!r}"
            )
        self.schema_dialect = dialect

    def url(self, request: ChatRequest) -> str:
        model = request.model if "/" in request.model else f"models/{request.model}"
        base = self.base_url
        if not re.search(r"/v\d+(alpha|beta)?\d*$", base):
            base = f"{base}/{self.settings.get('api_version') or 'v1beta'}"
        method = "streamGenerateContent?alt=sse" if request.stream else "generateContent"
        return f"{base}/{model}:{method}"

    def build_request(self, request: ChatRequest) -> WireRequest:
        headers = {
            "Content-Type": "application/json",
            "x-goog-api-key": self.api_key or "harness-missing-key",
            **(self.settings.get("default_headers") or {}),
        }
        sign_calls = not _OLD_MODEL.match(request.model)
        body = build_body(request, dialect=self.schema_dialect, sign_calls=sign_calls)
        return WireRequest("POST", self.url(request), headers, body)

    def parse_response(self, body: Any) -> AIMessage:
        decoder = _Decoder(self.name)
        chunks = [c for ev in (body if isinstance(body, list) else [body]) for c in decoder.event(ev)]
        chunks += decoder.finish()
        if not chunks:
            raise ModelAPIError(
                "empty response: no GenerateContentResponse in the body", provider=self.name, body=body
            )
        return message_chunk_to_message(chunks[0] + chunks[1:])  # type: ignore[return-value]

    def stream_decoder(self) -> StreamDecoder:
        return _Decoder(self.name)

    def classify_error(self, status: int, headers: Any, body: Any) -> ModelError:
        err = (body[0] if isinstance(body, list) and body else body) if body else None
        err = err.get("error") if isinstance(err, dict) else None
        err = err if isinstance(err, dict) else {}
        msg = error_message(body)
        if err.get("status"):
            msg = f"{err['status']}: {msg}"
        retry_after = retry_after_seconds(headers) if hasattr(headers, "get") else None
        if retry_after is None:
            retry_after = _retry_delay(err.get("details"))
        overflow = status == 400 and bool(
            re.search(r"exceeds the maximum number of tokens|context (window|length)", msg, re.IGNORECASE)
        )
        return error_for_status(
            status, msg, provider=self.name, body=body, context_overflow=overflow, retry_after=retry_after
        )

    # --- recorded traffic ---------------------------------------------------------------------------

    def model_from_request(self, url: str, body: Any) -> str | None:
        m = _MODEL_IN_URL.search(url)
        return m.group(1) if m else None

    def is_stream_request(self, url: str, body: Any) -> bool:
        return ":streamGenerateContent" in url

    @classmethod
    def normalize_url_for_match(cls, url: str) -> str:
        """Drop a `key=` query parameter (some clients put the API key there) and `alt=` (a stream
        recorded without `alt=sse` is a JSON array, which the decoder reads as well)."""
        parts = urlsplit(url)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ("key", "alt")]
        return urlunsplit(parts._replace(query=urlencode(query)))


def _retry_delay(details: Any) -> float | None:
    """google.rpc.RetryInfo `retryDelay` ("19s", "0.5s", or {"seconds", "nanos"}) -> seconds."""
    for d in details or ():
        if not (isinstance(d, dict) and str(d.get("@type", "")).endswith("google.rpc.RetryInfo")):
            continue
        delay = d.get("retryDelay")
        try:
            if isinstance(delay, str) and delay.endswith("s"):
                return float(delay[:-1])
            if isinstance(delay, dict):
                return float(delay.get("seconds", 0)) + float(delay.get("nanos", 0)) / 1e9
        except ValueError:
            return None
    return None


register_block_translator(PROVIDER, content_blocks)
