"""Emulated OpenAI Responses API: POST /v1/responses (JSON, or SSE with `event:` names).

A `Reply` becomes output items in this order: a reasoning item (when `reasoning` is set; its
`encrypted_content` is included when the request asks for `reasoning.encrypted_content`), one item
per `Reply.server_tools` entry, the assistant message (text and/or refusal) and a `function_call`
per tool call. `finish_reason="length"` / `"content_filter"` give `status: "incomplete"`.

`Reply.server_tools` entries (provider-executed tools), by `type`:

* `{"type": "web_search", "query": str, "results": [{"url": str, "title": str}, ...]}` ->
  a `web_search_call` item (action `search`, `sources` = the result URLs); each result is also cited
  on the reply text as a `url_citation` annotation spanning the whole text;
* `{"type": "code_interpreter", "code": str, "output": str}` -> a `code_interpreter_call` item with
  a `logs` output;
* `{"type": "file_search", "queries": [str], "results": [{"file_id", "filename", "text", "score"}]}`
  -> a `file_search_call` item;
* `{"type": "image_generation", "result": base64, "output_format": "png"}` -> an
  `image_generation_call` item (id `ig_...`) carrying the image;
* any other `{"type": T, ...}` -> a `T_call` item whose other keys are copied verbatim.
Every entry may set `"status"` (default `"completed"`; `"failed"` marks the tool's result an error).
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any, ClassVar

from harness.testing.scripting import EmulatedRequest, Fault, Reply, estimate_usage
from harness.testing.wire.base import Rendered, RenderedStream, WireFormat, json_response, sse
from harness.testing.wire.strict import Rejection, check_openai_responses

_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


def openai_error(fault: Fault, param: str | None = None, code: str | None = None) -> Rendered:
    """OpenAI's error body: {"error": {"message", "type", "param", "code"}}."""
    etype, default_code = _ERROR_TYPES.get(fault.status, ("server_error", None))
    body = {"error": {"message": fault.message, "type": etype, "param": param, "code": code or default_code}}
    return fault.status, {"content-type": "application/json"}, json.dumps(body).encode()


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(
            p.get("text", "")
            for p in content
            if isinstance(p, dict) and p.get("type") in ("input_text", "output_text", "text")
        )
    return "" if content is None else str(content)


def parse_input(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Responses `instructions` + `input` items -> the emulator's normalised message list."""
    out: list[dict[str, Any]] = []
    if body.get("instructions"):
        out.append({"role": "system", "content": body["instructions"]})
    items = body.get("input")
    if isinstance(items, str):
        return [*out, {"role": "user", "content": items}]
    for item in items or []:
        kind = item.get("type", "message")
        if kind == "message":
            role = {"developer": "system"}.get(item.get("role", "user"), item.get("role", "user"))
            m: dict[str, Any] = {"role": role, "content": _text(item.get("content"))}
            if isinstance(item.get("content"), list):
                m["images"] = [p for p in item["content"] if p.get("type") == "input_image"]
            out.append(m)
        elif kind == "function_call":
            if not out or out[-1]["role"] != "assistant":
                out.append({"role": "assistant", "content": ""})
            out[-1].setdefault("tool_calls", []).append(
                {
                    "name": item["name"],
                    "args": json.loads(item.get("arguments") or "{}"),
                    "id": item["call_id"],
                }
            )
        elif kind == "function_call_output":
            out.append(
                {"role": "tool", "content": _text(item.get("output")), "tool_call_id": item["call_id"]}
            )
    return out


def _logprobs(piece: str, req: EmulatedRequest) -> list[dict[str, Any]]:
    """One token per streamed text piece, when the request includes `message.output_text.logprobs`."""
    if "message.output_text.logprobs" not in (req.body.get("include") or []):
        return []
    return [{"token": piece, "logprob": -0.1, "bytes": list(piece.encode()), "top_logprobs": []}]


def responses_usage(u: dict[str, int]) -> dict[str, Any]:
    return {
        "input_tokens": u["input_tokens"],
        "input_tokens_details": {"cached_tokens": u.get("cache_read", 0)},
        "output_tokens": u["output_tokens"],
        "output_tokens_details": {"reasoning_tokens": u.get("reasoning", 0)},
        "total_tokens": u["input_tokens"] + u["output_tokens"],
    }


def _server_item(spec: dict[str, Any], i: int, tag: str) -> dict[str, Any]:
    spec = dict(spec)
    kind, status = spec.pop("type"), spec.pop("status", "completed")
    prefix = {
        "web_search": "ws",
        "code_interpreter": "ci",
        "file_search": "fs",
        "image_generation": "ig",
    }.get(kind, kind[:2])
    base = {"id": f"{prefix}_{tag}{i}", "status": status}
    if kind == "web_search":
        sources = [{"type": "url", "url": r["url"]} for r in spec.get("results") or []]
        return {
            "type": "web_search_call",
            **base,
            "action": {"type": "search", "query": spec.get("query", ""), "sources": sources},
        }
    if kind == "code_interpreter":
        return {
            "type": "code_interpreter_call",
            **base,
            "code": spec.get("code", ""),
            "container_id": "cntr_emu",
            "outputs": [{"type": "logs", "logs": spec.get("output", "")}],
        }
    if kind == "file_search":
        return {
            "type": "file_search_call",
            **base,
            "queries": spec.get("queries") or [],
            "results": spec.get("results") or [],
        }
    return {"type": f"{kind}_call", **base, **spec}


class OpenAIResponsesFormat(WireFormat):
    provider: ClassVar[str] = "openai_responses"
    base_paths: ClassVar[dict[str, str]] = {"openai_responses": "/v1"}

    def matches(self, method: str, path: str) -> bool:
        return method == "POST" and path.rstrip("/").endswith("/v1/responses")

    def parse(self, path: str, headers: dict[str, str], body: Any, query: dict[str, str]) -> EmulatedRequest:
        tools = [
            {
                "name": t["name"],
                "description": t.get("description", ""),
                "parameters": t.get("parameters") or {},
            }
            for t in body.get("tools") or []
            if t.get("type") == "function"
        ]
        choice = body.get("tool_choice")
        if isinstance(choice, dict) and choice.get("type") == "function":
            choice = {"name": choice["name"]}
        elif choice == "required":
            choice = "any"
        fmt = (body.get("text") or {}).get("format") or {}
        return EmulatedRequest(
            provider=self.provider,
            path=path,
            model=body["model"],
            messages=parse_input(body),
            tools=tools,
            tool_choice=choice,
            response_schema=fmt.get("schema") if fmt.get("type") == "json_schema" else None,
            json_mode=fmt.get("type") == "json_object",
            stream=bool(body.get("stream")),
            reasoning=bool(body.get("reasoning")),
            body=body,
            headers=headers,
        )

    def render_error(self, fault: Fault, req: EmulatedRequest | None) -> Rendered:
        return openai_error(fault)

    def validate(self, path: str, headers: dict[str, str], body: Any) -> Rejection | None:
        return check_openai_responses(body)

    def reject(self, rejection: Rejection) -> Rendered:
        return openai_error(Fault.http(rejection.status, rejection.message), rejection.param, rejection.code)

    # --- the response object ---------------------------------------------------------------------

    def _tag(self, req: EmulatedRequest) -> str:
        same = {k: v for k, v in req.body.items() if k != "stream"}  # a stream and an invoke get the same ids
        return "emu" + hashlib.sha1(json.dumps(same, sort_keys=True).encode()).hexdigest()[:12]

    def _items(self, reply: Reply, req: EmulatedRequest) -> list[dict[str, Any]]:
        tag = self._tag(req)
        items: list[dict[str, Any]] = []
        if reply.reasoning:
            rs: dict[str, Any] = {
                "type": "reasoning",
                "id": f"rs_{tag}",
                "summary": [{"type": "summary_text", "text": reply.reasoning}],
            }
            if "reasoning.encrypted_content" in (req.body.get("include") or []):
                rs["encrypted_content"] = "enc_" + hashlib.sha1(reply.reasoning.encode()).hexdigest()
            items.append(rs)
        annotations = []
        for i, spec in enumerate(reply.server_tools):
            items.append(_server_item(spec, i, tag))
            if spec.get("type") == "web_search" and reply.text:
                annotations += [
                    {
                        "type": "url_citation",
                        "url": r["url"],
                        "title": r.get("title", ""),
                        "start_index": 0,
                        "end_index": len(reply.text),
                    }
                    for r in spec.get("results") or []
                ]
        content: list[dict[str, Any]] = []
        if reply.text:
            content.append(
                {
                    "type": "output_text",
                    "text": reply.text,
                    "annotations": annotations,
                    "logprobs": [lp for p in reply.text_pieces() for lp in _logprobs(p, req)],
                }
            )
        if reply.refusal:
            content.append({"type": "refusal", "refusal": reply.refusal})
        if content:
            items.append(
                {
                    "type": "message",
                    "id": f"msg_{tag}",
                    "status": "completed",
                    "role": "assistant",
                    "content": content,
                }
            )
        for i, t in enumerate(reply.tool_calls):
            items.append(
                {
                    "type": "function_call",
                    "id": f"fc_{tag}{i}",
                    "call_id": t.id,
                    "name": t.name,
                    "arguments": json.dumps(t.args),
                    "status": "completed",
                }
            )
        return items

    def _response(
        self, reply: Reply, req: EmulatedRequest, output: list[dict[str, Any]], done: bool
    ) -> dict[str, Any]:
        status, incomplete = "completed", None
        if reply.finish in ("length", "content_filter"):
            status = "incomplete"
            incomplete = {"reason": "max_output_tokens" if reply.finish == "length" else "content_filter"}
        return {
            "id": f"resp_{self._tag(req)}",
            "object": "response",
            "created_at": int(time.time()),
            "status": status if done else "in_progress",
            "error": None,
            "incomplete_details": incomplete if done else None,
            "model": reply.model or req.model,
            "output": output,
            "parallel_tool_calls": req.body.get("parallel_tool_calls", True),
            "tool_choice": req.body.get("tool_choice", "auto"),
            "tools": req.body.get("tools") or [],
            "text": req.body.get("text") or {"format": {"type": "text"}},
            "service_tier": "default",
            "store": req.body.get("store", True),
            "metadata": {},
            "usage": responses_usage(estimate_usage(req, reply)) if done else None,
        }

    def render(self, reply: Reply, req: EmulatedRequest) -> Rendered:
        return json_response(self._response(reply, req, self._items(reply, req), done=True))

    # --- the event stream ------------------------------------------------------------------------

    def render_stream(self, reply: Reply, req: EmulatedRequest) -> RenderedStream:
        pieces: list[bytes] = []

        def emit(kind: str, **fields: Any) -> None:
            pieces.append(sse({"type": kind, "sequence_number": len(pieces), **fields}, event=kind))

        items = self._items(reply, req)
        emit("response.created", response=self._response(reply, req, [], done=False))
        emit("response.in_progress", response=self._response(reply, req, [], done=False))
        for oi, item in enumerate(items):
            kind, iid = item["type"], item["id"]
            ev = {"output_index": oi, "item_id": iid}
            if kind == "message":
                emit(
                    "response.output_item.added",
                    output_index=oi,
                    item={**item, "status": "in_progress", "content": []},
                )
                for ci, part in enumerate(item["content"]):
                    empty = (
                        {**part, "text": "", "annotations": []}
                        if part["type"] == "output_text"
                        else {**part, "refusal": ""}
                    )
                    emit("response.content_part.added", **ev, content_index=ci, part=empty)
                    if part["type"] == "output_text":
                        for piece in reply.text_pieces():
                            emit(
                                "response.output_text.delta",
                                **ev,
                                content_index=ci,
                                delta=piece,
                                logprobs=_logprobs(piece, req),
                            )
                        for ai, ann in enumerate(part["annotations"]):
                            emit(
                                "response.output_text.annotation.added",
                                **ev,
                                content_index=ci,
                                annotation_index=ai,
                                annotation=ann,
                            )
                        emit(
                            "response.output_text.done",
                            **ev,
                            content_index=ci,
                            text=part["text"],
                            logprobs=part["logprobs"],
                        )
                    else:
                        emit("response.refusal.delta", **ev, content_index=ci, delta=part["refusal"])
                        emit("response.refusal.done", **ev, content_index=ci, refusal=part["refusal"])
                    emit("response.content_part.done", **ev, content_index=ci, part=part)
            elif kind == "reasoning":
                emit(
                    "response.output_item.added",
                    output_index=oi,
                    item={"type": "reasoning", "id": iid, "summary": []},
                )
                for si, part in enumerate(item["summary"]):
                    emit(
                        "response.reasoning_summary_part.added",
                        **ev,
                        summary_index=si,
                        part={"type": "summary_text", "text": ""},
                    )
                    text = part["text"]
                    for i in range(0, len(text), max(1, reply.chunk_chars)):
                        emit(
                            "response.reasoning_summary_text.delta",
                            **ev,
                            summary_index=si,
                            delta=text[i : i + max(1, reply.chunk_chars)],
                        )
                    emit("response.reasoning_summary_text.done", **ev, summary_index=si, text=text)
                    emit("response.reasoning_summary_part.done", **ev, summary_index=si, part=part)
            elif kind == "function_call":
                emit(
                    "response.output_item.added",
                    output_index=oi,
                    item={**item, "arguments": "", "status": "in_progress"},
                )
                args = item["arguments"]
                for part in (args[: len(args) // 2], args[len(args) // 2 :]):
                    emit("response.function_call_arguments.delta", **ev, delta=part)
                emit("response.function_call_arguments.done", **ev, arguments=args)
            else:  # server-side tool: progress events, the result arrives with output_item.done
                emit(
                    "response.output_item.added",
                    output_index=oi,
                    item={"type": kind, "id": iid, "status": "in_progress"},
                )
                working = {"code_interpreter_call": "interpreting", "image_generation_call": "generating"}
                for phase in ("in_progress", working.get(kind, "searching"), "completed"):
                    emit(f"response.{kind}.{phase}", **ev)
            emit("response.output_item.done", output_index=oi, item=item)
        final = self._response(reply, req, items, done=True)
        emit(
            "response.completed" if final["status"] == "completed" else "response.incomplete", response=final
        )
        return 200, {"content-type": "text/event-stream"}, pieces

    def malformed_stream(self, req: EmulatedRequest) -> list[bytes]:
        return [b"event: response.output_text.delta\ndata: {not json\n\n"]


FORMAT = OpenAIResponsesFormat()
