"""Schema conversion: Python objects → OpenAI function / tool definitions and JSON schema.

Public entry points are re-exported by `harness.tools.tool`:
`convert_to_openai_function`, `convert_to_openai_tool`, `convert_to_json_schema`. Functions and
TypedDicts become pydantic models first, in `harness.tools.signatures`.
"""

from __future__ import annotations

import copy
from typing import Any

import pydantic
from pydantic import BaseModel
from typing_extensions import is_typeddict  # also recognises typing_extensions.TypedDict

from harness.tools.signatures import create_schema_from_function, typeddict_to_model

# Well-known OpenAI tool types passed through unchanged by convert_to_openai_tool.
OPENAI_BUILTIN_TOOL_TYPES = frozenset(
    {
        "function",
        "file_search",
        "computer",
        "computer_use_preview",
        "code_interpreter",
        "mcp",
        "image_generation",
        "web_search_preview",
        "web_search",
        "tool_search",
        "apply_patch",
        "namespace",
    }
)
_VALUE_KEYWORDS = {"default", "enum", "const", "examples", "required"}  # data, not schemas


# --- JSON schema helpers ----------------------------------------------------------------------


def _rm_titles(node: Any, parent_key: str = "") -> Any:
    """Drop every `title` keyword, keeping properties that are *named* "title"."""
    if isinstance(node, dict):
        return {
            k: v if k in _VALUE_KEYWORDS else _rm_titles(v, k)
            for k, v in node.items()
            if not (k == "title" and parent_key != "properties")
        }
    if isinstance(node, list):
        return [_rm_titles(v, parent_key="") for v in node]
    return node


def _dereference_refs(schema: dict) -> dict:
    """Inline local `$ref`s ("#/$defs/X"); `$defs`/`definitions` are dropped unless a cycle needs them."""

    def lookup(ref: str) -> Any:
        node: Any = schema
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    cyclic = False

    def walk(node: Any, seen: frozenset[str]) -> Any:
        nonlocal cyclic
        if isinstance(node, list):
            return [walk(v, seen) for v in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            if ref in seen:
                cyclic = True
                return dict(node)
            target = walk(copy.deepcopy(lookup(ref)), seen | {ref})
            rest = {k: walk(v, seen) for k, v in node.items() if k != "$ref"}
            return {**target, **rest} if isinstance(target, dict) else target
        return {k: walk(v, seen) for k, v in node.items() if k not in ("$defs", "definitions")}

    out = walk(schema, frozenset())
    if cyclic:  # keep the definitions the remaining refs point to
        for key in ("$defs", "definitions"):
            if key in schema:
                out[key] = schema[key]
    return out


def _make_strict(node: Any) -> Any:
    """OpenAI strict mode: every object lists all properties as required, no additional properties."""
    if isinstance(node, list):
        return [_make_strict(v) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for k, v in node.items():
        if k in ("properties", "$defs", "definitions") and isinstance(v, dict):
            out[k] = {name: _make_strict(sub) for name, sub in v.items()}
        elif k in ("anyOf", "allOf", "oneOf", "items", "prefixItems", "not"):
            out[k] = _make_strict(v)
        else:
            out[k] = v
    if isinstance(out.get("properties"), dict):
        out["required"] = list(out["properties"])
        out["additionalProperties"] = False
    elif out.get("type") == "object" and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


# --- pydantic classes ------------------------------------------------------------------------


def _is_pydantic_class(obj: Any) -> bool:
    if not isinstance(obj, type):
        return False
    if issubclass(obj, BaseModel):
        return True
    v1 = getattr(pydantic, "v1", None)
    return bool(v1 and issubclass(obj, v1.BaseModel))


def _model_schema(model: type) -> dict:
    if hasattr(model, "model_json_schema"):
        return model.model_json_schema()
    return model.schema()  # type: ignore[attr-defined]  # pydantic.v1


# --- dispatch ---------------------------------------------------------------------------------


def _pydantic_to_function(model: type, name: str | None = None, description: str | None = None) -> dict:
    schema = _dereference_refs(_model_schema(model))
    title = schema.pop("title", model.__name__)
    doc_description = schema.pop("description", None)
    out: dict[str, Any] = {"name": name or title}
    if description or doc_description:
        out["description"] = description or doc_description
    out["parameters"] = _rm_titles(schema)
    return out


def _tool_to_function(tool: Any) -> dict:
    schema = dict(tool.tool_call_schema)
    schema.pop("title", None)
    schema.pop("description", None)
    out = {"name": tool.name}
    if tool.description:
        out["description"] = tool.description
    out["parameters"] = schema
    return out


def _function_from_dict(obj: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI function from a tool dict of any provider's shape, or a JSON schema with a `title`."""
    fn: dict[str, Any]
    if obj.get("type") == "function" and isinstance(obj.get("function"), dict):
        fn = {
            k: v for k, v in obj["function"].items() if k in ("name", "description", "parameters", "strict")
        }
    elif "name" in obj and "input_schema" in obj:
        fn = {"name": obj["name"], "parameters": obj["input_schema"]}
        if "description" in obj:
            fn["description"] = obj["description"]
    elif isinstance(obj.get("toolSpec"), dict):
        spec = obj["toolSpec"]
        fn = {"name": spec["name"], "parameters": spec.get("inputSchema", {}).get("json", {})}
        if "description" in spec:
            fn["description"] = spec["description"]
    elif "name" in obj:
        fn = {k: v for k, v in obj.items() if k in ("name", "description", "parameters", "strict")}
    elif "title" in obj:
        rest = dict(obj)
        fn = {"name": rest.pop("title")}
        if "description" in rest:
            fn["description"] = rest.pop("description")
        if "properties" in rest:
            fn["parameters"] = rest
    else:
        raise ValueError(
            "Cannot convert this dict to an OpenAI function: a JSON schema dict must have a top-level "
            "'title' key (used as the function name); other accepted dicts are OpenAI functions/tools "
            "({'name', 'parameters'} / {'type': 'function', 'function': ...}), Anthropic tools "
            f"({{'name', 'input_schema'}}) and Bedrock tools ({{'toolSpec': ...}}). Received keys: {sorted(obj)}."
        )
    return fn


def convert_to_openai_function(obj: Any, *, strict: bool | None = None) -> dict:
    """Convert a tool-like object to an OpenAI function `{"name", "description"?, "parameters"?,
    "strict"?}`. Accepts: OpenAI tool/function dicts, Anthropic `{name, input_schema}`, Bedrock
    `{toolSpec}`, JSON schema dicts with a `title`, pydantic model classes, TypedDict classes,
    `BaseTool` instances and plain Python callables (Google docstring parsed)."""
    from harness.tools.base import BaseTool  # (base builds on this module)

    fn: dict[str, Any]
    if isinstance(obj, dict):
        fn = _function_from_dict(obj)
    elif _is_pydantic_class(obj):
        fn = _pydantic_to_function(obj)
    elif isinstance(obj, type) and is_typeddict(obj):
        fn = _pydantic_to_function(typeddict_to_model(obj))
    elif isinstance(obj, BaseTool):
        fn = _tool_to_function(obj)
    elif callable(obj) and hasattr(obj, "__name__"):
        model, description = create_schema_from_function(obj.__name__, obj)
        fn = _pydantic_to_function(model, name=obj.__name__, description=description)
    else:
        raise ValueError(
            f"Cannot convert {type(obj).__name__} {obj!r:.200} to an OpenAI function. Accepted: a dict "
            "(OpenAI function/tool, JSON schema with 'title', Anthropic or Bedrock tool), a pydantic model "
            "class, a TypedDict class, a BaseTool, or a plain Python function."
        )
    if strict is not None:
        if "strict" in fn and fn["strict"] != strict:
            raise ValueError(
                f"Tool {fn['name']!r} already has strict={fn['strict']!r}, which conflicts with the "
                f"explicit strict={strict!r}."
            )
        fn["strict"] = strict
        if strict and isinstance(fn.get("parameters"), dict):
            fn["parameters"] = _make_strict(fn["parameters"])
    return fn


def _is_builtin_tool(obj: Any) -> bool:
    kind = obj.get("type") if isinstance(obj, dict) else None
    return isinstance(kind, str) and (
        kind in OPENAI_BUILTIN_TOOL_TYPES or kind.startswith("web_search_preview")
    )


def convert_to_openai_tool(obj: Any, *, strict: bool | None = None) -> dict:
    """`{"type": "function", "function": convert_to_openai_function(obj)}`; OpenAI built-in tool dicts
    (and ready `{"type": "function", ...}` tools, unless `strict` is given) are returned unchanged."""
    if _is_builtin_tool(obj) and not (obj.get("type") == "function" and strict is not None):
        return obj
    return {"type": "function", "function": convert_to_openai_function(obj, strict=strict)}


def convert_to_json_schema(obj: Any, *, strict: bool | None = None) -> dict:
    """The function definition reshaped as a JSON schema: `title` = name, `description`, then the
    parameters' keys."""
    tool = convert_to_openai_tool(obj, strict=strict)
    fn = tool.get("function") if isinstance(tool, dict) else None
    if not isinstance(fn, dict) or "name" not in fn:
        raise ValueError(f"Cannot express {obj!r:.200} as a JSON schema: it is a built-in provider tool.")
    schema: dict[str, Any] = {"title": fn["name"]}
    if "description" in fn:
        schema["description"] = fn["description"]
    schema.update(fn.get("parameters") or {})
    return schema
