"""Emulated Gemini Developer API: POST /v1beta/models/{model}:generateContent (JSON) and
:streamGenerateContent?alt=sse (SSE `data:` events, no [DONE]; usageMetadata cumulative on every event).

Behaves like the real service where the harness can tell: models named gemini-1.x / gemini-2.x get no
functionCall ids and no thought signatures unless thinking was asked for; newer ones get both. Thought
parts are only sent when `thinkingConfig.includeThoughts` is true; thought tokens are counted anyway.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any, ClassVar

from harness.testing.scripting import EmulatedRequest, Fault, Reply, estimate_usage
from harness.testing.wire.base import Rendered, RenderedStream, WireFormat, json_response, sse
from harness.testing.wire.strict import Rejection, check_gemini

_PATH = re.compile(r"/models/([^/:]+):(generateContent|streamGenerateContent)$")
_OLD_MODEL = re.compile(r"^gemini-[12][.-]")
_FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP", "content_filter": "SAFETY"}
_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def _lower_types(schema: Any) -> Any:
    """responseSchema (OpenAPI subset, upper-case types) -> lower-case JSON-Schema-ish for example_from_schema."""
    if isinstance(schema, dict):
        return {
            k: (v.lower() if k == "type" and isinstance(v, str) else _lower_types(v))
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_lower_types(v) for v in schema]
    return schema


def _tool_content(response: Any) -> str:
    if isinstance(response, dict) and set(response) == {"output"} and isinstance(response["output"], str):
        return response["output"]
    return json.dumps(response)


def parse_contents(body: dict[str, Any]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    system = (body.get("systemInstruction") or {}).get("parts") or []
    if system:
        messages.append({"role": "system", "content": "".join(p.get("text", "") for p in system)})
    for content in body.get("contents") or []:
        parts = content.get("parts") or []
        if content.get("role") == "model":
            item: dict[str, Any] = {
                "role": "assistant",
                "content": "".join(p.get("text", "") for p in parts if "text" in p and not p.get("thought")),
                "reasoning": "".join(p.get("text", "") for p in parts if p.get("thought")) or None,
                "signatures": [p["thoughtSignature"] for p in parts if p.get("thoughtSignature")],
            }
            calls = [p["functionCall"] for p in parts if "functionCall" in p]
            if calls:
                item["tool_calls"] = [
                    {"name": c["name"], "args": c.get("args") or {}, "id": c.get("id")} for c in calls
                ]
            messages.append(item)
            continue
        for p in parts:
            if "functionResponse" in p:
                fr = p["functionResponse"]
                messages.append(
                    {
                        "role": "tool",
                        "content": _tool_content(fr.get("response")),
                        "tool_call_id": fr.get("id"),
                        "name": fr.get("name"),
                    }
                )
        text = "".join(p.get("text", "") for p in parts if "text" in p)
        images = [p for p in parts if "inlineData" in p or "fileData" in p]
        if text or images or not any("functionResponse" in p for p in parts):
            messages.append({"role": "user", "content": text, "images": images})
    return messages


def _choice(config: dict[str, Any] | None) -> Any:
    fcc = (config or {}).get("functionCallingConfig") or {}
    mode = str(fcc.get("mode") or "").upper()
    if mode in ("ANY", "VALIDATED") and len(fcc.get("allowedFunctionNames") or []) == 1:
        return {"name": fcc["allowedFunctionNames"][0]}
    return {"AUTO": "auto", "ANY": "any", "NONE": "none", "VALIDATED": "auto"}.get(mode)


def server_parts(reply: Reply, *, images: bool) -> list[dict[str, Any]]:
    """`Reply.server_tools` entries that are parts: code execution (executableCode and its
    codeExecutionResult, before the text) or, with `images`, generated images (inlineData, after it)."""
    parts: list[dict[str, Any]] = []
    for spec in reply.server_tools:
        if (spec.get("type") == "image_generation") != images:
            continue
        failed = spec.get("status", "completed") != "completed"
        if spec.get("type") == "code_interpreter":
            parts.append({"executableCode": {"language": "PYTHON", "code": spec.get("code", "")}})
            outcome = "OUTCOME_FAILED" if failed else "OUTCOME_OK"
            parts.append({"codeExecutionResult": {"outcome": outcome, "output": spec.get("output", "")}})
        elif spec.get("type") == "image_generation":
            mime = f"image/{spec.get('output_format') or 'png'}"
            parts.append({"inlineData": {"mimeType": mime, "data": spec.get("result", "")}})
    return parts


def grounding(reply: Reply) -> dict[str, Any] | None:
    """groundingMetadata for the `web_search` entries: each result a chunk, the whole text their support."""
    searches = [s for s in reply.server_tools if s.get("type") == "web_search"]
    if not searches:
        return None
    results = [r for s in searches for r in s.get("results") or []]
    meta: dict[str, Any] = {
        "webSearchQueries": [s.get("query", "") for s in searches],
        "searchEntryPoint": {"renderedContent": "<div>emulated search</div>"},
        "groundingChunks": [{"web": {"uri": r["url"], "title": r.get("title", "")}} for r in results],
    }
    if reply.text and results:
        segment = {"startIndex": 0, "endIndex": len(reply.text.encode()), "text": reply.text}
        meta["groundingSupports"] = [{"segment": segment, "groundingChunkIndices": list(range(len(results)))}]
    return meta


def _signature(*parts: Any) -> str:
    return base64.b64encode(hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).digest()).decode()


class GeminiFormat(WireFormat):
    provider: ClassVar[str] = "google_genai"
    base_paths: ClassVar[dict[str, str]] = {"google_genai": ""}

    def matches(self, method: str, path: str) -> bool:
        return method == "POST" and _PATH.search(path) is not None

    def parse(self, path: str, headers: dict[str, str], body: Any, query: dict[str, str]) -> EmulatedRequest:
        m = _PATH.search(path)
        assert m is not None
        tools = [
            {
                "name": d["name"],
                "description": d.get("description", ""),
                "parameters": d.get("parametersJsonSchema") or _lower_types(d.get("parameters")) or {},
            }
            for t in body.get("tools") or []
            for d in t.get("functionDeclarations") or []
        ]
        gen = body.get("generationConfig") or {}
        schema = gen.get("responseJsonSchema") or _lower_types(gen.get("responseSchema"))
        thinking = gen.get("thinkingConfig") or {}
        return EmulatedRequest(
            provider=self.provider,
            path=path,
            model=m.group(1),
            messages=parse_contents(body),
            tools=tools,
            tool_choice=_choice(body.get("toolConfig")),
            response_schema=schema,
            json_mode=gen.get("responseMimeType") == "application/json" and schema is None,
            stream=m.group(2) == "streamGenerateContent",
            reasoning=bool(
                thinking.get("includeThoughts")
                or thinking.get("thinkingBudget")
                or thinking.get("thinkingLevel")
            ),
            body=body,
            headers=headers,
            query=query,
        )

    # --- rendering ----------------------------------------------------------------------------------

    def _traits(self, reply: Reply, req: EmulatedRequest) -> tuple[bool, bool, bool]:
        """(send functionCall ids, sign parts, send thought parts)"""
        modern = not _OLD_MODEL.match(req.model)
        include = bool(
            ((req.body.get("generationConfig") or {}).get("thinkingConfig") or {}).get("includeThoughts")
        )
        return modern, modern or req.reasoning, include and bool(reply.reasoning)

    def _call_parts(self, reply: Reply, req: EmulatedRequest) -> list[dict[str, Any]]:
        ids, sign, _ = self._traits(reply, req)
        parts = []
        for i, t in enumerate(reply.tool_calls):
            fc: dict[str, Any] = {"name": t.name, "args": t.args}
            if ids:
                fc["id"] = t.id
            part: dict[str, Any] = {"functionCall": fc}
            if sign and i == 0:
                part["thoughtSignature"] = _signature(req.body, t.name, t.args)
            parts.append(part)
        return parts

    def _usage(self, req: EmulatedRequest, reply: Reply, fraction: float = 1.0) -> dict[str, Any]:
        u = estimate_usage(req, reply)
        reasoning = u.get("reasoning", 0)
        candidates = round((u["output_tokens"] - u.get("reasoning", 0)) * fraction)
        out: dict[str, Any] = {
            "promptTokenCount": u["input_tokens"],
            "candidatesTokenCount": candidates,
            "totalTokenCount": u["input_tokens"] + candidates + reasoning,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": u["input_tokens"]}],
        }
        if reasoning:
            out["thoughtsTokenCount"] = reasoning
        if u.get("cache_read"):
            out["cachedContentTokenCount"] = u["cache_read"]
        return out

    def _envelope(
        self,
        req: EmulatedRequest,
        reply: Reply,
        parts: list[dict[str, Any]],
        usage: dict[str, Any],
        finish: bool,
    ) -> dict[str, Any]:
        cand: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        tokens = [p["text"] for p in parts if p.get("text") and not p.get("thought")]
        if (req.body.get("generationConfig") or {}).get("responseLogprobs") and tokens:
            chosen = [{"token": t, "logProbability": -0.1} for t in tokens]
            cand["logprobsResult"] = {"chosenCandidates": chosen, "topCandidates": []}
            cand["avgLogprobs"] = -0.1
        if finish:
            cand["finishReason"] = _FINISH.get(reply.finish, reply.finish.upper())
            if (meta := grounding(reply)) is not None:
                cand["groundingMetadata"] = meta
            if reply.tool_calls:
                cand["finishMessage"] = "Model generated function call(s)."
        rid = hashlib.sha1(json.dumps(req.body, sort_keys=True).encode()).hexdigest()[:22]
        return {
            "candidates": [cand],
            "usageMetadata": usage,
            "modelVersion": reply.model or req.model,
            "responseId": rid,
        }

    def render(self, reply: Reply, req: EmulatedRequest) -> Rendered:
        _, sign, thoughts = self._traits(reply, req)
        parts: list[dict[str, Any]] = []
        if thoughts:
            parts.append({"text": reply.reasoning, "thought": True})
        parts += server_parts(reply, images=False)
        text = reply.text or reply.refusal or ""
        if text or (sign and not reply.tool_calls):
            part: dict[str, Any] = {"text": text}
            if sign and not reply.tool_calls:
                part["thoughtSignature"] = _signature(req.body, text)
            parts.append(part)
        parts += server_parts(reply, images=True) + self._call_parts(reply, req)
        return json_response(self._envelope(req, reply, parts, self._usage(req, reply), finish=True))

    def render_stream(self, reply: Reply, req: EmulatedRequest) -> RenderedStream:
        _, sign, thoughts = self._traits(reply, req)
        events: list[tuple[list[dict[str, Any]], float]] = []  # (parts, share of the output tokens so far)
        if thoughts:
            events.append(([{"text": reply.reasoning, "thought": True}], 0.0))
        if code := server_parts(reply, images=False):
            events.append((code, 0.0))
        pieces = reply.text_pieces() or ([reply.refusal] if reply.refusal else [])
        for i, piece in enumerate(pieces):
            events.append(([{"text": piece}], (i + 1) / (len(pieces) + 1)))
        if images := server_parts(reply, images=True):
            events.append((images, 1.0))
        if reply.tool_calls:
            events.append((self._call_parts(reply, req), 1.0))
        # the last event: finishReason, final usage and (like the real service) an empty text part that
        # carries the text's signature
        last: list[dict[str, Any]] = [{"text": ""}]
        if sign and not reply.tool_calls:
            last[0]["thoughtSignature"] = _signature(req.body, reply.text or reply.refusal or "")
        events.append((last, 1.0))
        objs = [
            self._envelope(req, reply, parts, self._usage(req, reply, frac), i == len(events) - 1)
            for i, (parts, frac) in enumerate(events)
        ]
        if req.query.get("alt") != "sse":  # as the real API: one JSON array, its elements streamed
            pieces = [("[" if i == 0 else "\r\n,") + json.dumps(o) for i, o in enumerate(objs)]
            return (
                200,
                {"content-type": "application/json; charset=UTF-8"},
                [p.encode() for p in [*pieces, "]"]],
            )
        return 200, {"content-type": "text/event-stream"}, [sse(o) for o in objs]

    def validate(self, path: str, headers: dict[str, str], body: Any) -> Rejection | None:
        return check_gemini(body)

    def reject(self, rejection: Rejection) -> Rendered:
        status, headers, body = self.render_error(Fault.http(rejection.status, rejection.message), None)
        error = json.loads(body)
        error["error"]["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"description": rejection.message}],
            }
        ]
        return status, headers, json.dumps(error).encode()

    def render_error(self, fault: Fault, req: EmulatedRequest | None) -> Rendered:
        err: dict[str, Any] = {
            "code": fault.status,
            "message": fault.message,
            "status": _STATUS.get(fault.status, "UNKNOWN"),
        }
        if fault.status == 429 and fault.retry_after is not None:
            err["details"] = [
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{fault.retry_after:g}s"}
            ]
        return (
            fault.status,
            {"content-type": "application/json; charset=UTF-8"},
            json.dumps({"error": err}).encode(),
        )


FORMAT = GeminiFormat()
