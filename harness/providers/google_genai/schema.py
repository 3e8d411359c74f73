"""JSON Schema -> Gemini's OpenAPI-subset `Schema` (for `responseSchema` / `parameters`).

Only used with `schema_dialect="openapi"`: the default sends plain JSON Schema in
`responseJsonSchema` / `parametersJsonSchema`, which needs no conversion. Older models accept only the
OpenAPI subset: upper-case types, `nullable` instead of a null type, no `$ref`.
"""

from __future__ import annotations

from typing import Any

_KEEP = {
    "format",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "required",
    "propertyOrdering",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "title",
    "default",
    "example",
    "minProperties",
    "maxProperties",
}
_MAX_DEPTH = 50


def to_openapi_schema(schema: dict[str, Any]) -> dict[str, Any]:
    defs = {**schema.get("definitions", {}), **schema.get("$defs", {})}
    return _convert(schema, defs, 0)


def _convert(schema: dict[str, Any], defs: dict[str, Any], depth: int) -> dict[str, Any]:
    if depth > _MAX_DEPTH:
        raise ValueError(
            f"schema nests deeper than {_MAX_DEPTH} levels (a recursive $ref?); "
            "Gemini's OpenAPI schema cannot express recursion: use schema_dialect='json_schema'"
        )
    if "$ref" in schema:
        target = defs.get(schema["$ref"].rsplit("/", 1)[-1])
        if target is None:
            raise ValueError(f"schema $ref {schema['$ref']!r} names no entry of $defs/definitions")
        merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        return _convert(merged, defs, depth + 1)
    out: dict[str, Any] = {k: v for k, v in schema.items() if k in _KEEP}
    if "const" in schema:
        out["enum"] = [schema["const"]]
    t = schema.get("type")
    if isinstance(t, list):
        non_null = [x for x in t if x != "null"]
        if len(non_null) < len(t):
            out["nullable"] = True
        t = non_null[0] if non_null else None
    if t:
        out["type"] = str(t).upper()
    elif "enum" in out:
        out["type"] = "STRING"
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"]
            if len(options) < len(schema[key]):
                out["nullable"] = True
            if len(options) == 1:
                out.update({k: v for k, v in _convert(options[0], defs, depth + 1).items() if k not in out})
            else:
                out["anyOf"] = [_convert(o, defs, depth + 1) for o in options]
    if "allOf" in schema:
        for part in schema["allOf"]:
            out.update({k: v for k, v in _convert(part, defs, depth + 1).items() if k not in out})
    if "properties" in schema:
        out["properties"] = {k: _convert(v, defs, depth + 1) for k, v in schema["properties"].items()}
        out.setdefault("type", "OBJECT")
    if isinstance(schema.get("items"), dict):
        out["items"] = _convert(schema["items"], defs, depth + 1)
    return out
