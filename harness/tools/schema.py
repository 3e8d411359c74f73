"""Schema conversion: Python objects → OpenAI function / tool definitions and JSON schema.

Public entry points are re-exported by `harness.tools.tool`:
`convert_to_openai_function`, `convert_to_openai_tool`, `convert_to_json_schema`.
"""

from __future__ import annotations

import copy
import inspect
import re
import types
import typing
import warnings
from collections.abc import Callable
from typing import Annotated, Any, get_args, get_origin

import pydantic
import typing_extensions
from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.fields import FieldInfo
from typing_extensions import is_typeddict  # also recognises typing_extensions.TypedDict

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
# Required[...] / NotRequired[...] wrappers → whether the key is required
_REQUIRED_WRAPPERS = {
    getattr(mod, name): name == "Required"
    for mod in (typing, typing_extensions)
    for name in ("Required", "NotRequired")
    if hasattr(mod, name)
}
_VALUE_KEYWORDS = {"default", "enum", "const", "examples", "required"}  # data, not schemas
_DROPPED_PARAMS = {"self", "cls", "run_manager", "callbacks"}
_SECTION_RE = re.compile(r"^(Returns?|Yields?|Raises?|Examples?|Notes?):")
_ARG_RE = re.compile(r"^(\*{0,2}[A-Za-z_]\w*)\s*(\([^)]*\))?\s*:(.*)$")


# --- docstrings -------------------------------------------------------------------------------


def _parse_google_docstring(
    docstring: str | None, args: list[str] | None = None, *, error_on_invalid_docstring: bool = False
) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into (description, {arg name: description}).

    The description is every block (blocks are separated by blank lines) before `Args:`, stopping at a
    `Returns:`/`Example:`-style block, joined with single spaces. In `Args:`, each `name: text` or
    `name (type): text` line starts an argument; deeper-indented lines continue it.
    With `error_on_invalid_docstring=True`, a function with parameters (`args`) whose docstring has no
    summary followed by an `Args:` block raises ValueError.
    """
    doc = inspect.cleandoc(docstring) if docstring else ""
    blocks = [b for b in re.split(r"\n[ \t]*\n", doc) if b.strip()]
    params = [a for a in (args or []) if a not in _DROPPED_PARAMS and a != "return"]
    if (
        error_on_invalid_docstring
        and params
        and (len(blocks) < 2 or not any(b.startswith("Args:") for b in blocks[1:]))
    ):
        raise ValueError(
            "Found invalid Google-style docstring: expected a summary, a blank line, then an 'Args:' "
            f"section describing {', '.join(params)}; got {docstring!r}."
        )
    descriptors: list[str] = []
    args_block = None
    past = False
    for block in blocks:
        if block.startswith("Args:"):
            args_block = block
            break
        if _SECTION_RE.match(block):
            past = True
        elif not past:
            descriptors.append(" ".join(line.strip() for line in block.splitlines() if line.strip()))
    arg_descriptions: dict[str, str] = {}
    if args_block:
        lines = args_block.splitlines()[1:]
        indent = None
        current = None
        for line in lines:
            if not line.strip():
                continue
            depth = len(line) - len(line.lstrip())
            match = _ARG_RE.match(line.strip())
            if match and (indent is None or depth <= indent):
                indent = depth if indent is None else indent
                current = match.group(1).lstrip("*")
                arg_descriptions[current] = match.group(3).strip()
            elif current is not None:
                arg_descriptions[current] = (arg_descriptions[current] + " " + line.strip()).strip()
    return " ".join(descriptors), arg_descriptions


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


# --- Python objects → pydantic models ---------------------------------------------------------


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


def _split_annotated(tp: Any) -> tuple[Any, list[Any]]:
    if get_origin(tp) is Annotated:
        base, *meta = get_args(tp)
        return base, meta
    return tp, []


def _annotated(base: Any, meta: list[Any]) -> Any:
    """`Annotated[base, *meta]`, or `base` when there is no metadata."""
    params = (base, *meta)
    return Annotated[params] if meta else base  # type: ignore[valid-type]


def _make_model(name: str, fields: dict[str, Any], doc: str | None) -> type[BaseModel]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. a parameter called "schema" shadows a BaseModel attribute
        model = create_model(  # type: ignore[call-overload]
            name, __config__=ConfigDict(arbitrary_types_allowed=True), **fields
        )
    model.__doc__ = doc or None
    return model


def create_schema_from_function(
    name: str,
    func: Callable,
    *,
    parse_docstring: bool = True,
    error_on_invalid_docstring: bool = False,
) -> tuple[type[BaseModel], str]:
    """A pydantic model of `func`'s parameters and the (parsed) description.

    Type hints, defaults and `Annotated[T, "description"]` are honoured; `self`, `cls`, `run_manager`,
    `callbacks`, `*args` and `**kwargs` are dropped.
    """
    sig = inspect.signature(func)
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception:  # unresolvable forward references: fall back to the raw annotations
        hints = {}
    params = [
        p
        for p in sig.parameters.values()
        if p.name not in _DROPPED_PARAMS and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    description, arg_docs = "", dict[str, str]()
    if parse_docstring:
        description, arg_docs = _parse_google_docstring(
            inspect.getdoc(func),
            [p.name for p in params],
            error_on_invalid_docstring=error_on_invalid_docstring,
        )
    fields: dict[str, Any] = {}
    for p in params:
        tp = hints.get(p.name, p.annotation)
        tp = Any if tp is inspect.Parameter.empty else tp
        base, meta = _split_annotated(tp)
        desc = arg_docs.get(p.name) or next((m for m in meta if isinstance(m, str)), None)
        kept = [m for m in meta if not isinstance(m, str)]
        tp = _annotated(base, kept)
        if desc:
            tp = Annotated[tp, Field(description=desc)]
        fields[p.name] = (tp, ... if p.default is inspect.Parameter.empty else p.default)
    return _make_model(name, fields, description), description


def _drop_default(schema: dict) -> None:
    schema.pop("default", None)


def _typeddict_to_model(td: type, depth: int = 0, cache: dict | None = None) -> type[BaseModel]:
    """TypedDict → pydantic model: Google docstring `Args:` and `Annotated[T, default, "desc"]` give
    descriptions/defaults; nested TypedDicts (also inside list/Optional/...) recurse up to depth 25."""
    cache = {} if cache is None else cache
    if td in cache:
        return cache[td]
    own_doc = td.__dict__.get("__doc__")
    hints = typing.get_type_hints(td, include_extras=True)
    description, arg_docs = _parse_google_docstring(own_doc, list(hints))
    required_keys = getattr(td, "__required_keys__", frozenset(hints))
    fields: dict[str, Any] = {}
    for key, tp in hints.items():
        required = key in required_keys  # wrong under `from __future__ import annotations`: check hints
        while get_origin(tp) in _REQUIRED_WRAPPERS:
            required, tp = _REQUIRED_WRAPPERS[get_origin(tp)], get_args(tp)[0]
        base, meta = _split_annotated(tp)
        infos = [m for m in meta if isinstance(m, FieldInfo)]
        plain = [m for m in meta if not isinstance(m, FieldInfo)]
        default: Any = ...
        desc = None
        if len(plain) == 1 and isinstance(plain[0], str):
            desc = plain[0]
        elif plain:
            default = plain[0]
            if len(plain) > 1:
                if not isinstance(plain[1], str):
                    raise ValueError(
                        f"Invalid annotation for field {key!r} of {td.__name__}: the third argument to "
                        f"Annotated must be a string description, received {type(plain[1]).__name__}."
                    )
                desc = plain[1]
        desc = arg_docs.get(key) or desc
        base = _convert_td_types(base, depth + 1, cache)
        kwargs: dict[str, Any] = {"description": desc} if desc else {}
        if default is ... and not required:
            default, kwargs["json_schema_extra"] = None, _drop_default
        fields[key] = (_annotated(base, infos), Field(default, **kwargs))
    model = _make_model(td.__name__, fields, description)
    cache[td] = model
    return model


def _convert_td_types(tp: Any, depth: int, cache: dict) -> Any:
    if depth > 25:
        return tp
    if isinstance(tp, type) and is_typeddict(tp):
        return _typeddict_to_model(tp, depth, cache)
    origin, args = get_origin(tp), get_args(tp)
    if not args or origin is typing.Literal:
        return tp
    if origin is Annotated:
        return _annotated(_convert_td_types(args[0], depth + 1, cache), list(args[1:]))
    new = tuple(_convert_td_types(a, depth + 1, cache) for a in args)
    if new == args:
        return tp
    if origin in (typing.Union, types.UnionType):
        return typing.Union[new]
    try:
        return origin[new if len(new) > 1 else new[0]]
    except TypeError:
        return tp


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


def convert_to_openai_function(obj: Any, *, strict: bool | None = None) -> dict:
    """Convert a tool-like object to an OpenAI function `{"name", "description"?, "parameters"?,
    "strict"?}`. Accepts: OpenAI tool/function dicts, Anthropic `{name, input_schema}`, Bedrock
    `{toolSpec}`, JSON schema dicts with a `title`, pydantic model classes, TypedDict classes,
    `BaseTool` instances and plain Python callables (Google docstring parsed)."""
    from harness.tools.tool import BaseTool

    fn: dict[str, Any]
    if isinstance(obj, dict) and obj.get("type") == "function" and isinstance(obj.get("function"), dict):
        fn = {
            k: v for k, v in obj["function"].items() if k in ("name", "description", "parameters", "strict")
        }
    elif isinstance(obj, dict) and "name" in obj and "input_schema" in obj:
        fn = {"name": obj["name"], "parameters": obj["input_schema"]}
        if "description" in obj:
            fn["description"] = obj["description"]
    elif isinstance(obj, dict) and isinstance(obj.get("toolSpec"), dict):
        spec = obj["toolSpec"]
        fn = {"name": spec["name"], "parameters": spec.get("inputSchema", {}).get("json", {})}
        if "description" in spec:
            fn["description"] = spec["description"]
    elif isinstance(obj, dict) and "name" in obj:
        fn = {k: v for k, v in obj.items() if k in ("name", "description", "parameters", "strict")}
    elif isinstance(obj, dict) and "title" in obj:
        rest = dict(obj)
        fn = {"name": rest.pop("title")}
        if "description" in rest:
            fn["description"] = rest.pop("description")
        if "properties" in rest:
            fn["parameters"] = rest
    elif isinstance(obj, dict):
        raise ValueError(
            "Cannot convert this dict to an OpenAI function: a JSON schema dict must have a top-level "
            "'title' key (used as the function name); other accepted dicts are OpenAI functions/tools "
            "({'name', 'parameters'} / {'type': 'function', 'function': ...}), Anthropic tools "
            f"({{'name', 'input_schema'}}) and Bedrock tools ({{'toolSpec': ...}}). Received keys: {sorted(obj)}."
        )
    elif _is_pydantic_class(obj):
        fn = _pydantic_to_function(obj)
    elif isinstance(obj, type) and is_typeddict(obj):
        fn = _pydantic_to_function(_typeddict_to_model(obj))
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
