"""Generate harness/testing/wire/request_schema.json: what each provider's API accepts at the top level
of a request, for the strict provider emulator.

    python scripts/gen_request_schema.py          # rewrite the file from the installed SDKs
    python scripts/gen_request_schema.py --check  # exit 1 when the file is out of date

The source is each official SDK's typed request parameters, generated from the provider's published
API spec: openai `types/chat/completion_create_params.py` and `types/responses/response_create_params.py`,
anthropic `types/message_create_params.py` (and its tool union), google-genai `types.GenerationConfig`,
`types.Tool` and `types.ThinkingConfig`; for Bedrock Converse, botocore's service model of
`bedrock-runtime` (every shape reachable from `ConverseRequest`, walked by the emulator); for Ollama,
its documented API (docs/api.md of ollama/ollama: the `/api/chat` request, message and options
fields), which no SDK types. Where an SDK's types leave out a field the API documents
(the sampling parameters Anthropic still accepts, `stream`, Gemini's top-level request fields, which
the SDK spreads over one config object), `DOCUMENTED` adds it, each with its reason. The emulator reads
only the JSON file, so it needs no SDK at run time.
"""

from __future__ import annotations

import json
import re
import sys
import typing
from importlib.metadata import version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SDKS = ("openai", "anthropic", "google-genai", "botocore")  # the distributions read (recorded in the file)
OUT = ROOT / "harness" / "testing" / "wire" / "request_schema.json"

DOCUMENTED: dict[str, dict[str, list[str]]] = {
    # `stream` is in the SDK's Streaming/NonStreaming subclasses, not the base
    "openai_chat": {"allowed": ["stream"]},
    "openai_responses": {"allowed": ["stream"]},
    # the API reference lists temperature, top_p and top_k (0.0-1.0 sampling), which anthropic>=2's
    # types no longer carry; mcp_servers and context_management are beta fields the API takes
    "anthropic": {
        "allowed": ["stream", "temperature", "top_p", "top_k", "mcp_servers", "context_management"]
    },
    # GenerateContentRequest (REST reference); the SDK folds these into GenerateContentConfig
    "gemini": {
        "allowed": [
            "contents",
            "tools",
            "toolConfig",
            "safetySettings",
            "systemInstruction",
            "generationConfig",
            "cachedContent",
        ],
        "required": ["contents"],
    },
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _keys(td: Any) -> tuple[list[str], list[str]]:
    """(all keys, required keys) of a TypedDict whose annotations are strings (`from __future__`)."""
    ann = {}
    for klass in reversed(td.__mro__):
        ann.update(getattr(klass, "__annotations__", {}))
    required = [k for k, v in ann.items() if str(getattr(v, "__forward_arg__", v)).startswith("Required[")]
    return sorted(ann), sorted(required)


def _type_tags(union: Any) -> list[str]:
    """The `type` literals of each TypedDict in a Union of tool params ("" = `type` may be absent)."""
    tags: set[str] = set()
    for member in typing.get_args(union):
        ann = {}
        for klass in reversed(member.__mro__):
            ann.update(getattr(klass, "__annotations__", {}))
        text = str(getattr(ann.get("type"), "__forward_arg__", ann.get("type")))
        tags.update(re.findall(r"""["']([^"']+)["']""", text))
        if not text.startswith("Required["):
            tags.add("")
    return sorted(tags)


def _shapes(union: Any, tag: str, default: str = "") -> dict[str, list[str]]:
    """{tag value: the keys a member with that tag may have} for a Union of TypedDicts tagged by
    `tag` (`type` or `role`); a member whose tag may be absent is also filed under `default`."""
    out: dict[str, set[str]] = {}
    for member in typing.get_args(union):
        keys, _ = _keys(member)
        ann = {}
        for klass in reversed(member.__mro__):
            ann.update(getattr(klass, "__annotations__", {}))
        text = str(getattr(ann.get(tag), "__forward_arg__", ann.get(tag)))
        tags = re.findall(r"""["']([^"']+)["']""", text)
        if not text.startswith("Required["):
            tags.append(default)
        for t in tags:
            out.setdefault(t, set()).update(keys)
    return {t: sorted(k) for t, k in sorted(out.items())}


def build() -> dict[str, Any]:
    from anthropic.types import message_create_params, tool_union_param
    from google.genai import types as genai
    from openai.types.chat import chat_completion_tool_union_param, completion_create_params
    from openai.types.responses import response_create_params, tool_param

    out: dict[str, Any] = {}
    for name, td, tools in (
        (
            "openai_chat",
            completion_create_params.CompletionCreateParamsBase,
            chat_completion_tool_union_param.ChatCompletionToolUnionParam,
        ),
        ("openai_responses", response_create_params.ResponseCreateParamsBase, tool_param.ToolParam),
        ("anthropic", message_create_params.MessageCreateParamsBase, tool_union_param.ToolUnionParam),
    ):
        allowed, required = _keys(td)
        out[name] = {"allowed": allowed, "required": required, "tool_types": _type_tags(tools)}
    from anthropic.types import content_block_param
    from openai.types.chat import ChatCompletionMessage, chat_completion_message_param
    from openai.types.responses import response_input_item_param

    out["openai_chat"]["messages"] = _shapes(chat_completion_message_param.ChatCompletionMessageParam, "role")
    # a reply's message sent back as is (the SDK's documented `messages.append(completion.choices[0].message)`)
    # is accepted: the API takes the response message's fields (annotations, refusal ...) on an assistant turn
    assistant = out["openai_chat"]["messages"]["assistant"]
    out["openai_chat"]["messages"]["assistant"] = sorted({*assistant, *ChatCompletionMessage.model_fields})
    out["openai_responses"]["input_items"] = _shapes(
        response_input_item_param.ResponseInputItemParam, "type", default="message"
    )
    out["anthropic"]["content_blocks"] = _shapes(content_block_param.ContentBlockParam, "type")
    out["gemini"] = {
        "allowed": [],
        "required": [],
        "generation_config": sorted(_camel(k) for k in genai.GenerationConfig.model_fields),
        "thinking_config": sorted(_camel(k) for k in genai.ThinkingConfig.model_fields),
        "tool_keys": sorted(_camel(k) for k in genai.Tool.model_fields),
        "content_keys": sorted(_camel(k) for k in genai.Content.model_fields),
        "part_keys": sorted(_camel(k) for k in genai.Part.model_fields),
    }
    out["bedrock_converse"] = {
        "root": "ConverseRequest",
        "shapes": _botocore_shapes("bedrock-runtime", ("ConverseRequest",)),
    }
    out["ollama"] = OLLAMA
    for name, extra in DOCUMENTED.items():
        for key, values in extra.items():
            out[name][key] = sorted({*out[name].get(key, []), *values})
    out["sdk_versions"] = {p: version(p) for p in SDKS}
    return out


# Ollama's /api/chat (ollama/ollama docs/api.md, "Generate a chat completion"; options: the Modelfile
# parameters and the runner options the API documents under "Advanced parameters")
OLLAMA = {
    "allowed": [
        "model", "messages", "tools", "format", "options", "stream", "keep_alive", "think",
        "logprobs", "top_logprobs", "truncate", "shift",
    ],
    "required": ["model"],
    "roles": ["system", "user", "assistant", "tool"],
    "message_keys": ["role", "content", "images", "thinking", "tool_calls", "tool_name", "tool_call_id"],
    "options": [
        "num_keep", "seed", "num_predict", "top_k", "top_p", "min_p", "typical_p", "repeat_last_n",
        "temperature", "repeat_penalty", "presence_penalty", "frequency_penalty", "stop", "num_ctx",
        "num_batch", "num_gpu", "main_gpu", "use_mmap", "num_thread", "penalize_newline",
        "mirostat", "mirostat_tau", "mirostat_eta", "tfs_z", "low_vram", "f16_kv", "vocab_only",
        "use_mlock", "numa", "logits_all",
    ],
    "think_levels": ["low", "medium", "high", "max"],
}  # fmt: skip


def _botocore_shapes(service: str, roots: tuple[str, ...]) -> dict[str, Any]:
    """The shapes reachable from `roots` in botocore's service model, reduced to what a validator needs:
    structure members (name -> shape), required members and union flag, list / map members, string
    enums; `document` structures take any JSON. Members bound to the URI or headers are left out."""
    import botocore.loaders

    shapes = botocore.loaders.Loader().load_service_model(service, "service-2")["shapes"]
    out: dict[str, Any] = {}

    def walk(name: str) -> None:
        if name in out:
            return
        src = shapes[name]
        kind = "document" if src.get("document") else src["type"]
        shape: dict[str, Any] = {"type": kind}
        out[name] = shape
        if kind == "structure":
            members = {k: m["shape"] for k, m in src["members"].items() if "location" not in m}
            shape["members"] = members
            shape["required"] = [r for r in src.get("required", []) if r in members]
            if src.get("union"):
                shape["union"] = True
            for target in members.values():
                walk(target)
        elif kind == "list":
            shape["member"] = src["member"]["shape"]
            walk(shape["member"])
        elif kind == "map":
            shape["value"] = src["value"]["shape"]
            walk(shape["value"])
        elif "enum" in src:
            shape["enum"] = src["enum"]

    for root in roots:
        walk(root)
    return out


def main(argv: list[str]) -> int:
    text = json.dumps(build(), indent=1, sort_keys=True) + "\n"
    if "--check" in argv:
        current = OUT.read_text() if OUT.exists() else ""
        if current != text:
            print(f"{OUT.relative_to(ROOT)} is out of date: run python scripts/gen_request_schema.py")
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
