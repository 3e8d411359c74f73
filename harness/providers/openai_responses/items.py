"""OpenAI Responses output items -> harness content blocks (shared by parse and the stream decoder).

An AIMessage from the Responses adapter has list content of standard blocks, in output order, each
with a running integer `index` (so streamed chunks merge into exactly what `invoke` returns):

* message item -> one `text` block per `output_text` part (`id` = the `msg_...` item id,
  `annotations` = citations) and a `refusal` block per refusal part;
* reasoning item -> one `reasoning` block per summary part (or raw `reasoning_text` part), all with
  the `rs_...` id; the first block's `extras` keep `encrypted_content` so the item can be sent back;
  a reasoning item with no summary still gives one block (id + extras) so it can be replayed;
* server-side tool items (`web_search_call`, `file_search_call`, `code_interpreter_call`,
  `image_generation_call`, `mcp_call`) -> a `server_tool_call` block (`extras.item` = the raw item,
  replayed verbatim) and a `server_tool_result` block; an `image_generation_call` with a result is
  one `image` block instead (`base64`, `mime_type`, the `ig_...` id), as in LangChain v1;
* `function_call` items -> `tool_calls` (id = `call_id`), not content;
* any other item -> a `non_standard` block holding the raw item.
"""

from __future__ import annotations

import json
from typing import Any

from harness.providers._common import json_tool_call, usage_metadata

SERVER_TOOL_ITEMS = {
    "web_search_call": "web_search",
    "file_search_call": "file_search",
    "code_interpreter_call": "code_interpreter",
    "image_generation_call": "image_generation",
    "mcp_call": "mcp",
}
FUNCTION_CALL_IDS = "__openai_function_call_ids__"  # additional_kwargs key: call_id -> fc_... item id


def usage_from_responses(u: dict[str, Any] | None) -> dict[str, Any] | None:
    if not u:
        return None
    itd, otd = u.get("input_tokens_details") or {}, u.get("output_tokens_details") or {}
    return usage_metadata(
        u.get("input_tokens") or 0,
        u.get("output_tokens") or 0,
        u.get("total_tokens"),
        {"cache_read": itd.get("cached_tokens"), "cache_creation": itd.get("cache_write_tokens")},
        {"reasoning": otd.get("reasoning_tokens")},
    )


def citation(ann: dict[str, Any]) -> dict[str, Any]:
    """A Responses annotation as a standard citation (or a non-standard annotation)."""
    kind = ann.get("type")
    if kind == "url_citation":
        out = {
            "type": "citation",
            "url": ann.get("url"),
            "title": ann.get("title"),
            "start_index": ann.get("start_index"),
            "end_index": ann.get("end_index"),
        }
        return {k: v for k, v in out.items() if v is not None}
    if kind in ("file_citation", "container_file_citation"):
        out = {
            "type": "citation",
            "title": ann.get("filename"),
            "extras": {k: v for k, v in ann.items() if k not in ("filename",)},
        }
        if ann.get("start_index") is not None:
            out.update(start_index=ann["start_index"], end_index=ann.get("end_index"))
        return out
    return {"type": "non_standard_annotation", "value": ann}


def annotation_to_wire(c: dict[str, Any]) -> dict[str, Any] | None:
    """The inverse of `citation`, for assistant history sent back."""
    if c.get("type") == "non_standard_annotation":
        return c.get("value")
    if c.get("type") != "citation":
        return None
    extras = c.get("extras") or {}
    if extras.get("type") in ("file_citation", "container_file_citation"):
        return {**extras, "filename": c.get("title")}
    return {
        "type": "url_citation",
        "url": c.get("url", ""),
        "title": c.get("title", ""),
        "start_index": c.get("start_index", 0),
        "end_index": c.get("end_index", 0),
    }


def text_block(item_id: str | None, index: int, text: str, annotations: list | None = None) -> dict[str, Any]:
    b: dict[str, Any] = {"type": "text", "text": text, "index": index}
    if item_id:
        b["id"] = item_id
    if annotations:
        b["annotations"] = [citation(a) for a in annotations]
    return b


def reasoning_block(
    item_id: str | None,
    index: int,
    text: str | None = None,
    *,
    raw: bool = False,
    extras: dict[str, Any] | None = None,
) -> dict[str, Any]:
    b: dict[str, Any] = {"type": "reasoning", "index": index}
    if item_id:
        b["id"] = item_id
    if text is not None:
        b["reasoning"] = text
    ex = dict(extras or {})
    if raw:
        ex["source"] = "reasoning_text"  # raw chain of thought (open-weight models), not a summary
    if ex:
        b["extras"] = ex
    return b


def reasoning_extras(item: dict[str, Any]) -> dict[str, Any]:
    return {"encrypted_content": item["encrypted_content"]} if item.get("encrypted_content") else {}


def server_tool_blocks(item: dict[str, Any], index: int) -> list[dict[str, Any]]:
    """`server_tool_call` + `server_tool_result` for a provider-executed tool item."""
    kind = item.get("type", "")
    name = SERVER_TOOL_ITEMS.get(kind, kind.removesuffix("_call"))
    item_id = item.get("id") or ""
    output: Any
    if kind == "web_search_call":
        action = dict(item.get("action") or {})
        sources = action.pop("sources", None)
        args, output = action, ({"sources": sources} if sources is not None else None)
    elif kind == "file_search_call":
        args, output = {"queries": item.get("queries") or []}, {"results": item.get("results")}
    elif kind == "code_interpreter_call":
        args = {"code": item.get("code"), "container_id": item.get("container_id")}
        output = {"outputs": item.get("outputs")}
    elif kind == "image_generation_call":
        args, output = {}, {"result": item.get("result")}
    elif kind == "mcp_call":
        try:
            fn_args = json.loads(item.get("arguments") or "{}")
        except ValueError:
            fn_args = item.get("arguments")
        args = {"server_label": item.get("server_label"), "name": item.get("name"), "arguments": fn_args}
        output = item.get("output") if item.get("error") is None else {"error": item.get("error")}
    else:
        args = {k: v for k, v in item.items() if k not in ("type", "id", "status")}
        output = None
    failed = item.get("status") in ("failed", "incomplete") or bool(item.get("error"))
    result: dict[str, Any] = {
        "type": "server_tool_result",
        "tool_call_id": item_id,
        "status": "error" if failed else "success",
        "index": index + 1,
    }
    if output is not None:
        result["output"] = output
    return [
        {
            "type": "server_tool_call",
            "id": item_id,
            "name": name,
            "args": args,
            "index": index,
            "extras": {"item": item},
        },
        result,
    ]


IMAGE_EXTRAS = ("status", "background", "output_format", "quality", "revised_prompt", "size")


def image_block(item: dict[str, Any], index: int) -> dict[str, Any]:
    """A finished `image_generation_call` as a standard `image` block, as LangChain v1 gives it:
    `base64` = the result, `mime_type` from `output_format` (the API's default, png, when absent)."""
    block: dict[str, Any] = {
        "type": "image",
        "base64": item["result"],
        "mime_type": f"image/{item.get('output_format') or 'png'}",
        "index": index,
    }
    if item.get("id"):
        block["id"] = item["id"]
    extras = {k: item[k] for k in IMAGE_EXTRAS if item.get(k) is not None}
    if extras:
        block["extras"] = extras
    return block


def server_item_blocks(item: dict[str, Any], index: int) -> list[dict[str, Any]]:
    """The blocks of a provider-executed tool item: an `image` block for a generated image, else a
    `server_tool_call` + `server_tool_result` pair."""
    if item.get("type") == "image_generation_call" and item.get("result"):
        return [image_block(item, index)]
    return server_tool_blocks(item, index)


def finish_reason(
    status: str | None, incomplete: dict[str, Any] | None, has_function_calls: bool
) -> str | None:
    if status == "incomplete":
        reason = (incomplete or {}).get("reason")
        return {"max_output_tokens": "length", "content_filter": "content_filter"}.get(
            reason or "", reason or "length"
        )
    if status == "completed":
        return "tool_calls" if has_function_calls else "stop"
    return status


def response_metadata(resp: dict[str, Any], provider: str, has_function_calls: bool) -> dict[str, Any]:
    meta = {
        "id": resp.get("id"),
        "object": resp.get("object"),
        "created_at": resp.get("created_at"),
        "model": resp.get("model"),
        "model_name": resp.get("model"),
        "status": resp.get("status"),
        "incomplete_details": resp.get("incomplete_details"),
        "service_tier": resp.get("service_tier"),
        "finish_reason": finish_reason(
            resp.get("status"), resp.get("incomplete_details"), has_function_calls
        ),
        "content_filters": resp.get("content_filters"),  # Azure
        "model_provider": provider,
    }
    return {k: v for k, v in meta.items() if v is not None}


def _message_blocks(item: dict[str, Any], k: int) -> tuple[list[dict[str, Any]], str]:
    """A `message` output item's parts as blocks indexed from `k`, and its refusal text."""
    blocks: list[dict[str, Any]] = []
    refusal = ""
    for part in item.get("content") or []:
        if part.get("type") == "output_text":
            blocks.append(text_block(item.get("id"), k, part.get("text") or "", part.get("annotations")))
        elif part.get("type") == "refusal":
            blocks.append(
                {
                    "type": "refusal",
                    "refusal": part.get("refusal") or "",
                    "index": k,
                    **({"id": item["id"]} if item.get("id") else {}),
                }
            )
            refusal += part.get("refusal") or ""
        else:
            blocks.append({"type": "non_standard", "value": part, "index": k})
        k += 1
    return blocks, refusal


def _reasoning_blocks(item: dict[str, Any], k: int) -> list[dict[str, Any]]:
    """A `reasoning` output item as blocks indexed from `k`: one per summary or raw text part (the
    first carries the item's extras), or one empty block."""
    parts = [(p.get("text") or "", False) for p in item.get("summary") or []]
    parts += [
        (p.get("text") or "", True) for p in item.get("content") or [] if p.get("type") == "reasoning_text"
    ]
    extras = reasoning_extras(item)
    if not parts:
        return [reasoning_block(item.get("id"), k, extras=extras)]
    return [
        reasoning_block(item.get("id"), k + i, text, raw=raw, extras=extras if i == 0 else None)
        for i, (text, raw) in enumerate(parts)
    ]


def output_to_message_parts(output: list[dict[str, Any]]) -> dict[str, Any]:
    """The whole `output` list -> content blocks, tool calls, refusal text and function-call ids."""
    blocks: list[dict[str, Any]] = []
    tool_calls: list[dict[str, Any]] = []
    invalid: list[dict[str, Any]] = []
    fc_ids: dict[str, str] = {}
    refusal = ""
    k = 0
    for item in output:
        kind = item.get("type")
        if kind == "message":
            parts, text = _message_blocks(item, k)
            blocks += parts
            refusal += text
            k += len(parts)
        elif kind == "reasoning":
            parts = _reasoning_blocks(item, k)
            blocks += parts
            k += len(parts)
        elif kind == "function_call":
            call_id = item.get("call_id") or item.get("id")
            if item.get("id") and call_id:
                fc_ids[call_id] = item["id"]
            call = json_tool_call(item, call_id)
            (tool_calls if call["type"] == "tool_call" else invalid).append(call)
        elif kind in SERVER_TOOL_ITEMS:
            blocks.extend(server_item_blocks(item, k))
            k += 2
        else:
            blocks.append({"type": "non_standard", "value": item, "index": k})
            k += 1
    return {
        "blocks": blocks,
        "tool_calls": tool_calls,
        "invalid": invalid,
        "fc_ids": fc_ids,
        "refusal": refusal,
    }
