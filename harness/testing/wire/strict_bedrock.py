"""Request checks for Bedrock Runtime, as `strict.py` does for the other APIs: Converse /
ConverseStream against botocore's service model (every shape reachable from `ConverseRequest`, kept in
`request_schema.json`), InvokeModel against the model family's payload (Anthropic Messages on Bedrock,
Amazon Nova `messages-v1`).

Bedrock answers a refused request with HTTP 400, header `x-amzn-ErrorType: ValidationException:...`
and `{"message": ...}`. The messages follow the service's own wording: Converse's validation errors
are `1 validation error detected: Value null at 'messages.1.member.content' failed to satisfy
constraint: Member must not be null` (1-based list positions, `member` for a list element); the
conversation rules are the API's sentences; InvokeModel refuses a payload with `Malformed input
request: #: extraneous key [foo] is not permitted, please reformat your input and try again.` An
unknown Converse field (which boto3 refuses before sending, so the service's own answer is not
documented) gets the Converse validation wording with the shape's member names.
"""

from __future__ import annotations

from typing import Any

from harness.testing.wire.strict import SCHEMA, Rejection, check_anthropic

_CONVERSE: dict[str, Any] = SCHEMA["bedrock_converse"]
_SHAPES: dict[str, dict[str, Any]] = _CONVERSE["shapes"]
_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "blob": (str,),  # base64 in JSON
    "integer": (int,),
    "long": (int,),
    "float": (int, float),
    "double": (int, float),
    "boolean": (bool,),
    "timestamp": (str, int, float),
}


def _invalid(detail: str) -> Rejection:
    return Rejection(f"1 validation error detected: {detail}")


def _check(value: Any, shape_name: str, where: str) -> Rejection | None:
    shape = _SHAPES[shape_name]
    kind = shape["type"]
    if kind == "document":
        return None
    if kind == "structure":
        return _check_structure(value, shape, where)
    if kind == "list":
        if not isinstance(value, list):
            return _invalid(f"Value at '{where}' failed to satisfy constraint: Member must be a list")
        for i, item in enumerate(value, start=1):
            if (bad := _check(item, shape["member"], f"{where}.{i}.member")) is not None:
                return bad
        return None
    if kind == "map":
        if not isinstance(value, dict):
            return _invalid(f"Value at '{where}' failed to satisfy constraint: Member must be a map")
        for key, item in value.items():
            if (bad := _check(item, shape["value"], f"{where}.{key}")) is not None:
                return bad
        return None
    wanted = _PY_TYPES.get(kind, (object,))
    if not isinstance(value, wanted) or (kind != "boolean" and isinstance(value, bool)):
        return _invalid(f"Value at '{where}' failed to satisfy constraint: Member must be of type {kind}")
    if "enum" in shape and value not in shape["enum"]:
        allowed = ", ".join(shape["enum"])
        return _invalid(
            f"Value '{value}' at '{where}' failed to satisfy constraint: Member must satisfy enum value "
            f"set: [{allowed}]"
        )
    return None


def _check_structure(value: Any, shape: dict[str, Any], where: str) -> Rejection | None:
    at = f"{where}." if where else ""
    if not isinstance(value, dict):
        return _invalid(f"Value at '{where}' failed to satisfy constraint: Member must be a structure")
    members: dict[str, str] = shape["members"]
    for key in value:
        if key not in members:
            return _invalid(
                f"Value at '{at}{key}' failed to satisfy constraint: Member must be one of the fields "
                f"[{', '.join(members)}]"
            )
    for key in shape["required"]:
        if value.get(key) is None:
            return _invalid(
                f"Value null at '{at}{key}' failed to satisfy constraint: Member must not be null"
            )
    if shape.get("union") and len([k for k, v in value.items() if v is not None]) != 1:
        return _invalid(
            f"Value at '{where}' failed to satisfy constraint: Member must have exactly one of the fields "
            f"[{', '.join(members)}] set"
        )
    for key, item in value.items():
        if item is not None and (bad := _check(item, members[key], f"{at}{key}")) is not None:
            return bad
    return None


def check_bedrock_converse(body: Any) -> Rejection | None:
    if not isinstance(body, dict):
        return Rejection("Unable to parse request body as JSON.")
    if (bad := _check(body, _CONVERSE["root"], "")) is not None:
        return bad
    messages = body.get("messages") or []
    if not messages or messages[0].get("role") != "user":
        return Rejection(
            "A conversation must start with a user message. Try again with a conversation that starts "
            "with a user message."
        )
    roles = [m.get("role") for m in messages]
    if any(a == b for a, b in zip(roles, roles[1:], strict=False)):
        return Rejection(
            "A conversation must alternate between user and assistant roles. Make sure the conversation "
            "alternates between user and assistant roles and try again."
        )
    return None


# InvokeModel payloads: the Anthropic Messages body on Bedrock (no `model`, no `stream`; the version in
# `anthropic_version`, betas in `anthropic_beta`), Amazon Nova's messages-v1 (Converse-shaped)
_ANTHROPIC_ALLOWED = (set(SCHEMA["anthropic"]["allowed"]) - {"model", "stream"}) | {
    "anthropic_version",
    "anthropic_beta",
}
_ANTHROPIC_REQUIRED = ["anthropic_version", "max_tokens", "messages"]
_NOVA_ALLOWED = {"schemaVersion", "system", "messages", "inferenceConfig", "toolConfig"}
_NOVA_REQUIRED = ["messages"]


def _malformed(detail: str) -> Rejection:
    return Rejection(f"Malformed input request: {detail}, please reformat your input and try again.")


def check_bedrock_invoke(model: str, body: Any) -> Rejection | None:
    """The payload of InvokeModel for `model` (an `amazon.nova…` id takes Nova's, others Anthropic's)."""
    if not isinstance(body, dict):
        return _malformed("#: expected type: JSONObject, found: " + type(body).__name__)
    nova = "amazon.nova" in model
    allowed, required = (_NOVA_ALLOWED, _NOVA_REQUIRED) if nova else (_ANTHROPIC_ALLOWED, _ANTHROPIC_REQUIRED)
    for key in required:
        if key not in body:
            return _malformed(f"#: required key [{key}] not found")
    for key in body:
        if key not in allowed:
            return _malformed(f"#: extraneous key [{key}] is not permitted")
    if nova:
        if body.get("schemaVersion", "messages-v1") != "messages-v1":
            return _malformed("#/schemaVersion: messages-v1 is the only supported version")
        return None
    if body["anthropic_version"] != "bedrock-2023-05-31":
        return _malformed(f"#/anthropic_version: {body['anthropic_version']} is not a valid enum value")
    if not isinstance(body["messages"], list):
        return _malformed("#/messages: expected type: JSONArray, found: " + type(body["messages"]).__name__)
    for i, m in enumerate(body["messages"]):
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
            role = m.get("role") if isinstance(m, dict) else m
            return _malformed(f"#/messages/{i}/role: {role} is not a valid enum value")
    # past Bedrock's own schema, the body reaches Anthropic, whose validation errors Bedrock passes on
    # as the ValidationException's message (`messages.0.content.0.text.foo: Extra inputs are not
    # permitted`, the thinking rules, tool shapes)
    rest = {k: v for k, v in body.items() if k not in ("anthropic_version", "anthropic_beta")}
    return check_anthropic({**rest, "model": model})
