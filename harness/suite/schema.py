"""The suite file's JSON schema (generated from `harness.suite.models.Suite`) and one-line validation messages.

Regenerate the committed schema after changing the models:  python -m harness.suite.schema
"""

from __future__ import annotations

import difflib
import json
import sys
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, BaseModel

from harness.assertions.registry import ASSERTION_TYPES
from harness.files import write_atomic
from harness.suite.expansion import dotted

SCHEMA_PATH = Path(__file__).parent.parent / "suite.schema.json"
SCHEMA_ID = "https://harness.dev/suite.schema.json"


def suite_json_schema() -> dict[str, Any]:
    from harness.suite.models import Suite

    schema = Suite.model_json_schema(by_alias=True, mode="validation")
    _accept_alias_choices(schema.get("$defs", {}))
    _accept_file_refs(schema)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "harness suite",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def _accept_alias_choices(defs: dict[str, Any]) -> None:
    """A field pydantic accepts under several names (`rubric` or promptfoo's `value`) is written in
    the schema under each of them: exactly one of the names when the field is required."""
    for model in ASSERTION_TYPES.values():
        entry = defs.get(model.__name__)
        if entry is None:
            continue
        for name, info in model.model_fields.items():
            choices = info.validation_alias
            if not isinstance(choices, AliasChoices):
                continue
            names = [c for c in choices.choices if isinstance(c, str)]
            key = info.alias or name
            props = entry.get("properties", {})
            if key not in props:
                continue
            for other in names:
                props.setdefault(other, props[key])
            if key in entry.get("required", []):
                entry["required"] = [r for r in entry["required"] if r != key]
                entry["oneOf"] = [{"required": [n]} for n in names]


FILE_REF = {"type": "string", "pattern": "^file://", "description": "A file beside the suite (file://...)."}


def _accept_file_refs(schema: dict[str, Any]) -> None:
    """`cases` and `vars` may name a file (read before validation: harness.suite.datafiles)."""
    case = schema.get("$defs", {}).get("Case", {}).get("properties", {})
    for props, key in ((schema["properties"], "cases"), (schema["properties"], "vars"), (case, "vars")):
        if key in props:
            entry = props[key]
            meta = {k: entry.pop(k) for k in ("title", "description", "default") if k in entry}
            props[key] = {**meta, "anyOf": [entry, FILE_REF]}


def schema_text() -> str:
    return json.dumps(suite_json_schema(), indent=2, ensure_ascii=False) + "\n"


def write_schema(path: Path = SCHEMA_PATH) -> Path:
    return write_atomic(path, schema_text())


# --- validation messages --------------------------------------------------------------------------


def _unwrap(ann: Any) -> Any:
    while typing.get_origin(ann) is typing.Annotated:
        ann = typing.get_args(ann)[0]
    return ann


def _members(ann: Any) -> list[Any]:
    ann = _unwrap(ann)
    if typing.get_origin(ann) in (typing.Union, types.UnionType):
        return [_unwrap(a) for a in typing.get_args(ann) if a is not type(None)]
    return [ann]


def _field(model: type[BaseModel], key: str) -> Any:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info.annotation
    return None


def _tag_of(model: Any) -> str | None:
    if isinstance(model, type) and issubclass(model, BaseModel) and "type" in model.model_fields:
        args = typing.get_args(model.model_fields["type"].annotation)
        return args[0] if args else None
    return None


def _union_label(member: Any) -> str:
    """The name pydantic gives a union member in an error's loc: 'str', 'ModelEntry', 'dict[str,any]'."""
    if typing.get_origin(member) is None and isinstance(member, type):
        return member.__name__
    return str(member).replace("typing.", "").replace(" ", "").lower()


def _step(ann: Any, part: Any) -> tuple[Any, bool]:
    """Follow one loc item from annotation `ann`: (next annotation, whether the item is in the file)."""
    members = _members(ann)
    if isinstance(part, str):
        for m in members:  # a pydantic union tag: an assertion type or a member's class name
            if _tag_of(m) == part or (len(members) > 1 and _union_label(m) == part) or str(m) == part:
                return m, False
    for m in members:
        origin = typing.get_origin(m)
        if isinstance(part, int) and origin is list:
            return typing.get_args(m)[0], True
        if isinstance(part, str) and origin is dict:
            return typing.get_args(m)[1], True
        if isinstance(part, str) and isinstance(m, type) and issubclass(m, BaseModel):
            sub = _field(m, part)
            if sub is not None:
                return sub, True
    return None, isinstance(part, int) or part not in ("str", "int", "dict", "list")


def _walk(loc: tuple[Any, ...]) -> tuple[list[Any], Any, bool]:
    """(the loc items that are in the file, the annotation of the parent of the last item, whether the
    last item names a member of a union the value did not fit)."""
    from harness.suite.models import Suite

    ann: Any = Suite
    shown: list[Any] = []
    parent: Any = Suite
    union_member = False
    for part in loc:
        parent = ann
        ann, in_file = _step(ann, part)
        if in_file:
            shown.append(part)
        union_member = not in_file and ann is not None and len(_members(parent)) > 1 and _tag_of(ann) is None
        if ann is None:
            break
    return shown, parent, union_member


def _kind_of(member: Any) -> str:
    origin = typing.get_origin(member)
    if member is str:
        return "a string"
    if member in (int, float):
        return "a number"
    if member is bool:
        return "true or false"
    if origin is list:
        inner = _members(typing.get_args(member)[0])
        return "a list of mappings" if inner and typing.get_origin(inner[0]) is dict else "a list"
    if origin is dict or (isinstance(member, type) and issubclass(member, BaseModel)):
        return "a mapping"
    return _union_label(member)


def _fields_of(ann: Any) -> list[str]:
    for m in _members(ann):
        if isinstance(m, type) and issubclass(m, BaseModel):
            return [info.alias or name for name, info in m.model_fields.items()]
    return []


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _assertion_types() -> list[str]:
    return sorted(ASSERTION_TYPES)


# the patterns of suite fields (spec.py's _ID and _TOOL_NAME), said in words; another falls back on
# pydantic's message
PATTERN_WORDS = {
    r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$": "letters, digits and _ . : - (starting with a letter or a digit)",
    r"^[A-Za-z0-9_-]{1,64}$": "1 to 64 letters, digits, _ and -",
}


def validation_message(error: dict[str, Any], data: Any = None) -> str:
    """One line for one pydantic error: where (dotted path), what is wrong, what is allowed."""
    loc = tuple(error.get("loc", ()))
    shown, parent, union_member = _walk(loc)
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    where = dotted(shown)
    prefix = f"{where}: " if where else ""
    is_assertion = "assert" in loc
    if kind == "missing":
        name = shown[-1] if shown else loc[-1]
        outer = dotted(shown[:-1])
        return f"{outer + ': ' if outer else ''}missing required field {name!r}"
    if kind == "extra_forbidden":
        name = str(loc[-1])
        outer = dotted(shown[:-1])
        allowed = _fields_of(parent)
        hint = _did_you_mean(name, allowed)
        return f"{outer + ': ' if outer else ''}unknown field {name!r}{hint}; allowed: {', '.join(allowed)}"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tags = _assertion_types() if is_assertion else []
        expected = ", ".join(tags) if tags else str(ctx.get("expected_tags", "")).replace("'", "")
        what = "assertion type" if is_assertion else f"{ctx.get('discriminator', 'type')}".strip("'")
        if kind == "union_tag_not_found":
            return f"{prefix}missing {what.split()[-1]!r}; allowed {what}s: {expected}"
        tag = str(ctx.get("tag"))
        return f"{prefix}unknown {what} {tag!r}{_did_you_mean(tag, tags)}; allowed: {expected}"
    if union_member and kind.endswith("_type"):  # the value fits none of the union's shapes: name them all
        return (
            f"{prefix}expected {' or '.join(dict.fromkeys(map(_kind_of, _members(parent))))}; "
            f"received {_short(error.get('input'))}"
        )
    if kind == "string_pattern_mismatch":  # say what is allowed in words, not as a regular expression
        words = PATTERN_WORDS.get(str(ctx.get("pattern")))
        if words:
            return f"{prefix}{_short(error.get('input'))} is not allowed: use {words}"
    msg = str(error.get("msg", "invalid value"))
    if msg.startswith("Value error, "):
        return prefix + msg[len("Value error, ") :]
    if msg.startswith("Assertion failed, "):
        return prefix + msg[len("Assertion failed, ") :]
    return f"{prefix}{msg[0].lower() + msg[1:] if msg else msg}; received {_short(error.get('input'))}"


if __name__ == "__main__":  # pragma: no cover
    out = write_schema(Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_PATH)
    print(f"wrote {out}")
