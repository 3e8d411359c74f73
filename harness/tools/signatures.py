"""Python signatures as pydantic models: a function's parameters (with its Google docstring's
descriptions) and TypedDicts, for `harness.tools.schema` to turn into JSON schema."""

from __future__ import annotations

import inspect
import re
import types
import typing
import warnings
from collections.abc import Callable
from typing import Annotated, Any, get_args, get_origin

import typing_extensions
from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.fields import FieldInfo
from typing_extensions import is_typeddict  # also recognises typing_extensions.TypedDict

# Required[...] / NotRequired[...] wrappers → whether the key is required
_REQUIRED_WRAPPERS = {
    getattr(mod, name): name == "Required"
    for mod in (typing, typing_extensions)
    for name in ("Required", "NotRequired")
    if hasattr(mod, name)
}
_DROPPED_PARAMS = {"self", "cls", "run_manager", "callbacks"}
_SECTION_RE = re.compile(r"^(Returns?|Yields?|Raises?|Examples?|Notes?):")
_ARG_RE = re.compile(r"^(\*{0,2}[A-Za-z_]\w*)\s*(\([^)]*\))?\s*:(.*)$")


# --- docstrings -------------------------------------------------------------------------------


def parse_google_docstring(
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


# --- Python objects → pydantic models ---------------------------------------------------------


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
        description, arg_docs = parse_google_docstring(
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


def typeddict_to_model(td: type, depth: int = 0, cache: dict | None = None) -> type[BaseModel]:
    """TypedDict → pydantic model: Google docstring `Args:` and `Annotated[T, default, "desc"]` give
    descriptions/defaults; nested TypedDicts (also inside list/Optional/...) recurse up to depth 25."""
    cache = {} if cache is None else cache
    if td in cache:
        return cache[td]
    own_doc = td.__dict__.get("__doc__")
    hints = typing.get_type_hints(td, include_extras=True)
    description, arg_docs = parse_google_docstring(own_doc, list(hints))
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
        return typeddict_to_model(tp, depth, cache)
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
