"""Gemini responses: GenerateContentResponse events (SSE, a streamed JSON array, or a whole response
read as a stream of one event) -> message chunks. One decoder serves invoke and stream, so they agree
by construction (content, tool calls, usage, metadata); the finish reason and usage mappings.

Content is a str while the reply is plain text; from the first thought / media / other part on it is
a list of blocks with an `index` (reasoning and text runs, images, `non_standard` for parts kept
verbatim). Thought signatures ride on their block's `extras.signature`; signatures of function calls
and of text while content is still a str live in `additional_kwargs` (keys in `request`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from harness.errors import ModelAPIError
from harness.messages.core import AIMessageChunk, merge_content, tool_call_chunk
from harness.providers._common import usage_metadata
from harness.providers._json_array import JSONArrayParser
from harness.providers._sse import SSEParser
from harness.providers.base import StreamDecoder, error_message
from harness.providers.google_genai.request import FC_SIGNATURES, TEXT_SIGNATURES

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


class GeminiDecoder(StreamDecoder):
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
