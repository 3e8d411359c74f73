"""JSON Schema validation for the `json-schema` assertion.

Uses the `jsonschema` library (a dependency of harness). If it is missing, a small validator
covering the common keywords (type, enum, const, properties, required, additionalProperties,
items, min/max, minLength/maxLength, minItems/maxItems, pattern, anyOf/oneOf/allOf, $ref to
$defs) stands in, so a broken environment degrades instead of failing every suite.
"""

from __future__ import annotations

import re
from typing import Any

try:
    import jsonschema
    from jsonschema.validators import validator_for
except ImportError:  # pragma: no cover - jsonschema is a declared dependency
    jsonschema = None  # type: ignore[assignment]


def validate_schema(schema: dict[str, Any]) -> None:
    """Raise ValueError naming the problem when `schema` itself is not a valid JSON schema."""
    if jsonschema is None:  # pragma: no cover
        return
    cls = validator_for(schema)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as e:
        where = _path(e.absolute_path)
        raise ValueError(f"invalid JSON schema at {where}: {e.message}") from None


def schema_errors(value: Any, schema: dict[str, Any]) -> list[str]:
    """Every way `value` breaks `schema`, as "at $.path: message" lines, document order."""
    if jsonschema is None:  # pragma: no cover
        return fallback_errors(value, schema)
    validator = validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(value), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"at {_path(e.absolute_path)}: {e.message}" for e in errors]


def fallback_errors(value: Any, schema: dict[str, Any]) -> list[str]:
    """The small stand-in validator (used when `jsonschema` is not installed)."""
    out: list[str] = []
    _fallback(value, schema, "$", schema.get("$defs", schema.get("definitions", {})), out)
    return out


def _path(parts: Any) -> str:
    out = "$"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


_TYPES: dict[str, Any] = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
    "integer": int,
    "number": (int, float),
}


def _is_type(value: Any, t: str) -> bool:
    if t in ("integer", "number") and isinstance(value, bool):
        return False
    if t == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES.get(t, object))


def _fallback(value: Any, schema: Any, at: str, defs: dict[str, Any], out: list[str]) -> None:
    if not isinstance(schema, dict):
        return
    if "$ref" in schema:
        schema = defs.get(schema["$ref"].split("/")[-1], {})
    t = schema.get("type")
    if t is not None:
        types = t if isinstance(t, list) else [t]
        if not any(_is_type(value, x) for x in types):
            out.append(f"at {at}: {value!r} is not of type {t!r}")
            return
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"at {at}: {value!r} is not one of {schema['enum']!r}")
    if "const" in schema and value != schema["const"]:
        out.append(f"at {at}: {schema['const']!r} was expected")
    for key, test, msg in (
        ("minimum", lambda v, m: v >= m, "less than the minimum"),
        ("maximum", lambda v, m: v <= m, "greater than the maximum"),
    ):
        if key in schema and isinstance(value, (int, float)) and not test(value, schema[key]):
            out.append(f"at {at}: {value!r} is {msg} of {schema[key]!r}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            out.append(f"at {at}: {value!r} is too short")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            out.append(f"at {at}: {value!r} is too long")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            out.append(f"at {at}: {value!r} does not match {schema['pattern']!r}")
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                out.append(f"at {at}: {name!r} is a required property")
        props = schema.get("properties", {})
        for k, v in value.items():
            if k in props:
                _fallback(v, props[k], f"{at}.{k}", defs, out)
            elif schema.get("additionalProperties") is False:
                out.append(f"at {at}: additional property {k!r} is not allowed")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            out.append(f"at {at}: {value!r} is too short")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            out.append(f"at {at}: {value!r} is too long")
        for i, item in enumerate(value):
            _fallback(item, schema.get("items", {}), f"{at}[{i}]", defs, out)
    for key in ("allOf", "anyOf", "oneOf"):
        if key not in schema:
            continue
        results = []
        for sub in schema[key]:
            errs: list[str] = []
            _fallback(value, sub, at, defs, errs)
            results.append(errs)
        passing = sum(1 for r in results if not r)
        if key == "allOf":
            out.extend(e for r in results for e in r)
        elif (key == "anyOf" and passing == 0) or (key == "oneOf" and passing != 1):
            out.append(f"at {at}: {value!r} is not valid under {key} ({passing} of {len(results)} match)")
