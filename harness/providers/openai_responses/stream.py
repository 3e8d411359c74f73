"""Stream decoder for the OpenAI Responses API (SSE with `event:` names, docs/providers/openai.md).

Every chunk's content blocks carry the same running `index` that `parse_response` gives the finished
blocks (harness.providers.openai_responses.items), so the sum of the chunks equals `invoke`. Each
`response.output_item.done` is reconciled against what the deltas already delivered (text, arguments,
summaries), and `response.completed` against its `output`, so servers that skip delta events still
yield the whole message. Usage and the full response metadata arrive once, on the terminal event.
"""

from __future__ import annotations

from typing import Any

from harness.errors import ModelAPIError
from harness.messages.core import AIMessageChunk, merge_lists
from harness.providers._common import stream_json
from harness.providers._sse import SSEParser
from harness.providers.base import StreamDecoder, error_message
from harness.providers.openai_responses.items import (
    FUNCTION_CALL_IDS,
    SERVER_TOOL_ITEMS,
    reasoning_block,
    reasoning_extras,
    response_metadata,
    server_item_blocks,
    text_block,
    usage_from_responses,
)

_TERMINAL = ("response.completed", "response.incomplete")


class ResponsesStreamDecoder(StreamDecoder):
    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.sse = SSEParser()
        self.resp_id: str | None = None
        self.next_index = 0
        self.slots: dict[
            tuple[int, str, int], int
        ] = {}  # (output_index, part kind, sub-index) -> block index
        self.sent: dict[tuple[int, str, int], str] = {}  # text delivered so far per slot
        self.annotations: dict[tuple[int, str, int], int] = {}
        self.items: dict[int, dict[str, Any]] = {}  # output_index -> item as first announced
        self.by_item_id: dict[str, int] = {}
        self.reasoning_base: dict[int, int] = {}
        self.base_taken: set[int] = set()
        self.args_sent: dict[int, str] = {}
        self.done_items: set[int] = set()
        self.has_calls = False
        self.finished = False

    # --- SSE plumbing ---------------------------------------------------------------------------

    def feed(self, data: bytes) -> list[AIMessageChunk]:
        return [c for ev in self.sse.feed(data) for c in self._event(ev.data)]

    def close(self) -> list[AIMessageChunk]:
        tail = [c for ev in self.sse.close() for c in self._event(ev.data)]
        if not self.finished:
            raise ModelAPIError(
                "stream ended before response.completed (truncated response)", provider=self.provider
            )
        return tail

    def _event(self, data: str) -> list[AIMessageChunk]:
        if not data or data.strip() == "[DONE]" or self.finished:
            return []
        ev = stream_json(data, self.provider)
        kind = ev.get("type") or ("error" if "error" in ev else "")
        if kind == "error":
            raise ModelAPIError(f"error in stream: {error_message(ev)}", provider=self.provider, body=ev)
        if kind == "response.failed":
            resp = ev.get("response") or {}
            raise ModelAPIError(
                f"response failed: {error_message(resp) if resp.get('error') else 'no error detail'}",
                provider=self.provider,
                body=ev,
            )
        if kind in ("response.created", "response.in_progress", "response.queued"):
            self.resp_id = self.resp_id or (ev.get("response") or {}).get("id")
            return []
        if kind in _TERMINAL:
            return self._terminal(ev.get("response") or {})
        handler = getattr(self, "_on_" + kind.removeprefix("response.").replace(".", "_"), None)
        if handler is None:
            return []  # progress events (web_search_call.searching, ...): the item's `done` carries the result
        out = _Out()
        handler(ev, out)
        return out.chunks(self)

    # --- slots ----------------------------------------------------------------------------------

    def _oi(self, ev: dict[str, Any]) -> int:
        if isinstance(ev.get("output_index"), int):
            return ev["output_index"]
        return self.by_item_id.get(ev.get("item_id") or "", 0)

    def _alloc(self, n: int = 1) -> int:
        k = self.next_index
        self.next_index += n
        return k

    def _slot(self, oi: int, part: str, sub: int) -> tuple[int, bool]:
        key = (oi, part, sub)
        if key in self.slots:
            return self.slots[key], False
        if part in ("summary", "raw") and oi in self.reasoning_base and oi not in self.base_taken:
            self.base_taken.add(oi)  # a reasoning item's first part shares the item's block
            k = self.reasoning_base[oi]
        else:
            k = self._alloc()
        self.slots[key] = k
        self.sent[key] = ""
        return k, True

    # --- item lifecycle -------------------------------------------------------------------------

    def _on_output_item_added(self, ev: dict[str, Any], out: _Out) -> None:
        self._start_item(self._oi(ev), ev.get("item") or {}, out)

    def _start_item(self, oi: int, item: dict[str, Any], out: _Out) -> None:
        if oi in self.items:
            return
        self.items[oi] = item
        if item.get("id"):
            self.by_item_id[item["id"]] = oi
        kind = item.get("type")
        if kind == "reasoning":
            k = self.reasoning_base[oi] = self._alloc()
            out.blocks.append(reasoning_block(item.get("id"), k))
        elif kind == "function_call":
            self.has_calls = True
            call_id = item.get("call_id") or item.get("id")
            args = item.get("arguments") or ""
            self.args_sent[oi] = args
            out.tool_chunks.append(
                {
                    "name": item.get("name"),
                    "args": args,
                    "id": call_id,
                    "index": oi,
                    "type": "tool_call_chunk",
                }
            )
            if item.get("id") and call_id:
                out.extra.setdefault(FUNCTION_CALL_IDS, {})[call_id] = item["id"]

    def _on_output_item_done(self, ev: dict[str, Any], out: _Out) -> None:
        self._finish_item(self._oi(ev), ev.get("item") or {}, out)

    def _finish_item(self, oi: int, item: dict[str, Any], out: _Out) -> None:
        if oi in self.done_items:
            return
        self._start_item(oi, item, out)
        self.done_items.add(oi)
        kind = item.get("type")
        if kind == "message":
            for ci, part in enumerate(item.get("content") or []):
                ptype = part.get("type")
                if ptype == "output_text":
                    self._text(
                        oi,
                        ci,
                        item.get("id"),
                        part.get("text") or "",
                        out,
                        full=True,
                        annotations=part.get("annotations") or [],
                    )
                elif ptype == "refusal":
                    self._refusal(oi, ci, item.get("id"), part.get("refusal") or "", out, full=True)
                elif (oi, "part", ci) not in self.slots:
                    k, _ = self._slot(oi, "part", ci)
                    out.blocks.append({"type": "non_standard", "value": part, "index": k})
        elif kind == "reasoning":
            for i, p in enumerate(item.get("summary") or []):
                self._reasoning(oi, "summary", i, item.get("id"), p.get("text") or "", out, full=True)
            raw = [p for p in item.get("content") or [] if p.get("type") == "reasoning_text"]
            for i, p in enumerate(raw):
                self._reasoning(oi, "raw", i, item.get("id"), p.get("text") or "", out, full=True)
            if extras := reasoning_extras(item):
                out.blocks.append(reasoning_block(item.get("id"), self.reasoning_base[oi], extras=extras))
        elif kind == "function_call":
            final, sent = item.get("arguments") or "", self.args_sent.get(oi, "")
            if final != sent and final.startswith(sent):
                out.tool_chunks.append(
                    {
                        "name": None,
                        "args": final[len(sent) :],
                        "id": None,
                        "index": oi,
                        "type": "tool_call_chunk",
                    }
                )
                self.args_sent[oi] = final
        elif kind in SERVER_TOOL_ITEMS:
            out.blocks.extend(server_item_blocks(item, self._alloc(2)))
        else:
            out.blocks.append({"type": "non_standard", "value": item, "index": self._alloc()})

    # --- message parts --------------------------------------------------------------------------

    def _text(
        self,
        oi: int,
        ci: int,
        item_id: str | None,
        text: str,
        out: _Out,
        *,
        full: bool = False,
        annotations: list[dict[str, Any]] | None = None,
        logprobs: Any = None,
    ) -> None:
        key = (oi, "part", ci)
        k, new = self._slot(oi, "part", ci)
        delta = _remainder(self.sent[key], text) if full else text
        seen = self.annotations.get(key, 0)
        fresh = (annotations or [])[seen:]
        if not (new or delta or fresh):
            return
        self.sent[key] += delta
        self.annotations[key] = seen + len(fresh)
        out.blocks.append(text_block(item_id, k, delta, fresh))
        if logprobs:
            out.meta.setdefault("logprobs", {"content": []})["content"].extend(logprobs)

    def _refusal(
        self, oi: int, ci: int, item_id: str | None, text: str, out: _Out, *, full: bool = False
    ) -> None:
        key = (oi, "part", ci)
        k, new = self._slot(oi, "part", ci)
        delta = _remainder(self.sent[key], text) if full else text
        if not (new or delta):
            return
        self.sent[key] += delta
        block = {"type": "refusal", "refusal": delta, "index": k}
        if item_id:
            block["id"] = item_id
        out.blocks.append(block)
        if delta:
            out.extra["refusal"] = out.extra.get("refusal", "") + delta

    def _reasoning(
        self, oi: int, part: str, sub: int, item_id: str | None, text: str, out: _Out, *, full: bool = False
    ) -> None:
        key = (oi, part, sub)
        if oi not in self.reasoning_base:
            self._start_item(oi, {"type": "reasoning", "id": item_id}, out)
        k, new = self._slot(oi, part, sub)
        delta = _remainder(self.sent[key], text) if full else text
        if not (new or delta):
            return
        self.sent[key] += delta
        out.blocks.append(reasoning_block(item_id, k, delta, raw=new and part == "raw"))

    def _item_id(self, ev: dict[str, Any]) -> str | None:
        return ev.get("item_id") or self.items.get(self._oi(ev), {}).get("id")

    def _on_content_part_added(self, ev: dict[str, Any], out: _Out) -> None:
        part = ev.get("part") or {}
        if part.get("type") == "output_text":
            self._text(
                self._oi(ev),
                ev.get("content_index", 0),
                self._item_id(ev),
                part.get("text") or "",
                out,
                annotations=part.get("annotations") or [],
            )
        elif part.get("type") == "refusal":
            self._refusal(
                self._oi(ev), ev.get("content_index", 0), self._item_id(ev), part.get("refusal") or "", out
            )

    def _on_output_text_delta(self, ev: dict[str, Any], out: _Out) -> None:
        self._text(
            self._oi(ev),
            ev.get("content_index", 0),
            self._item_id(ev),
            ev.get("delta") or "",
            out,
            logprobs=ev.get("logprobs"),
        )

    def _on_output_text_annotation_added(self, ev: dict[str, Any], out: _Out) -> None:
        oi, ci = self._oi(ev), ev.get("content_index", 0)
        k, _ = self._slot(oi, "part", ci)
        key = (oi, "part", ci)
        self.annotations[key] = self.annotations.get(key, 0) + 1
        out.blocks.append(text_block(self._item_id(ev), k, "", [ev.get("annotation") or {}]))

    def _on_refusal_delta(self, ev: dict[str, Any], out: _Out) -> None:
        self._refusal(self._oi(ev), ev.get("content_index", 0), self._item_id(ev), ev.get("delta") or "", out)

    def _on_function_call_arguments_delta(self, ev: dict[str, Any], out: _Out) -> None:
        oi, delta = self._oi(ev), ev.get("delta") or ""
        if delta:
            self.args_sent[oi] = self.args_sent.get(oi, "") + delta
            out.tool_chunks.append(
                {"name": None, "args": delta, "id": None, "index": oi, "type": "tool_call_chunk"}
            )

    def _on_reasoning_summary_part_added(self, ev: dict[str, Any], out: _Out) -> None:
        text = (ev.get("part") or {}).get("text") or ""
        self._reasoning(self._oi(ev), "summary", ev.get("summary_index", 0), self._item_id(ev), text, out)

    def _on_reasoning_summary_text_delta(self, ev: dict[str, Any], out: _Out) -> None:
        self._reasoning(
            self._oi(ev), "summary", ev.get("summary_index", 0), self._item_id(ev), ev.get("delta") or "", out
        )

    def _on_reasoning_text_delta(self, ev: dict[str, Any], out: _Out) -> None:
        self._reasoning(
            self._oi(ev), "raw", ev.get("content_index", 0), self._item_id(ev), ev.get("delta") or "", out
        )

    # --- end ------------------------------------------------------------------------------------

    def _terminal(self, resp: dict[str, Any]) -> list[AIMessageChunk]:
        self.finished = True
        self.resp_id = self.resp_id or resp.get("id")
        out = _Out()
        for oi, item in enumerate(resp.get("output") or []):
            self._finish_item(oi, item, out)  # items whose events never came (or only partly)
        has_calls = self.has_calls or any(i.get("type") == "function_call" for i in resp.get("output") or [])
        out.meta.update(response_metadata(resp, self.provider, has_calls))
        out.usage = usage_from_responses(resp.get("usage"))
        return out.chunks(self, force=True)


class _Out:
    """What one event contributes to the message."""

    def __init__(self) -> None:
        self.blocks: list[dict[str, Any]] = []
        self.tool_chunks: list[dict[str, Any]] = []
        self.extra: dict[str, Any] = {}
        self.meta: dict[str, Any] = {}
        self.usage: dict[str, Any] | None = None

    def chunks(self, dec: ResponsesStreamDecoder, force: bool = False) -> list[AIMessageChunk]:
        if not (force or self.blocks or self.tool_chunks or self.extra or self.meta):
            return []
        return [
            AIMessageChunk(
                content=merge_lists([], self.blocks)
                or [],  # one event may touch a block twice (added + done)
                id=dec.resp_id,
                tool_call_chunks=self.tool_chunks,
                additional_kwargs=self.extra,
                usage_metadata=self.usage,
                response_metadata={"model_provider": dec.provider, **self.meta},
            )
        ]


def _remainder(sent: str, full: str) -> str:
    """The part of the final text the deltas have not delivered yet."""
    return full[len(sent) :] if full.startswith(sent) else ""
