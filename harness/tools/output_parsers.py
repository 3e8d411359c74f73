"""Output parsers and the structured-output helpers used by `with_structured_output`.

Parsers take a string (`.parse(text)`) or a message (`.parse_result(message)`; an AIMessage-like object
with `.text` and `.tool_calls`, a list whose first item is one, or a generation with `.message`).
`.invoke(x)` dispatches on the type, so a parser can follow a model: `parser.invoke(model.invoke(...))`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Literal

from harness.errors import OutputParserException
from harness.runnables import Runnable
from harness.tools.schema import _is_pydantic_class, _make_strict, convert_to_openai_function, is_typeddict

__all__ = [
    "BaseOutputParser",
    "JsonOutputKeyToolsParser",
    "JsonOutputParser",
    "JsonOutputToolsParser",
    "PydanticOutputParser",
    "PydanticToolsParser",
    "StrOutputParser",
    "make_structured_parser",
    "parse_json_markdown",
    "schema_kind",
    "schema_to_json_schema",
]

SchemaKind = Literal["pydantic", "typeddict", "json_schema", "openai_function"]
_FENCE_RE = re.compile(r"```[ \t]*[A-Za-z0-9_+-]*[ \t]*\n?(.*?)(?:```|\Z)", re.DOTALL)
_PREVIEW = 200
_MAX_PROSE_STARTS = 50


def _preview(text: Any) -> str:
    s = text if isinstance(text, str) else repr(text)
    return s if len(s) <= _PREVIEW else s[:_PREVIEW] + f"... ({len(s)} chars)"


def parse_json_markdown(text: str) -> Any:
    """Parse the JSON value in a model reply: bare JSON, JSON in a ```json (or bare ```) fence, or a
    JSON object/array with prose around it. Raises OutputParserException showing what was received."""
    if not isinstance(text, str):
        raise OutputParserException(
            f"Expected the model reply as a string; got {type(text).__name__}: {_preview(text)}",
            llm_output=str(text),
        )
    decoder = json.JSONDecoder(strict=False)  # tolerate raw newlines/tabs inside strings
    candidates = [text.strip()] + [m.group(1).strip() for m in _FENCE_RE.finditer(text)]
    for cand in candidates:
        try:
            return decoder.decode(cand)
        except ValueError:
            pass
    for cand in candidates:  # JSON embedded in prose: first "{" / "[" that decodes
        for i, m in enumerate(re.finditer(r"[\[{]", cand)):
            if i >= _MAX_PROSE_STARTS:
                break
            try:
                return decoder.raw_decode(cand, m.start())[0]
            except ValueError:
                continue
    shown = _preview(text) if text.strip() else "an empty reply"
    raise OutputParserException(
        f"Invalid JSON output: expected a JSON value (optionally in a ```json code fence); got: {shown}",
        llm_output=text,
    )


def _as_message(result: Any) -> Any:
    if isinstance(result, (list, tuple)) and result:
        result = result[0]
    return getattr(result, "message", result)


def _text(message: Any) -> str:
    if isinstance(message, str):
        return message
    text = getattr(message, "text", None)
    if callable(text) and not isinstance(text, str):  # old-style .text() method
        text = text()
    if isinstance(text, str):
        return str(text)
    content = getattr(message, "content", None)
    if isinstance(content, str):
        return content
    raise OutputParserException(f"Cannot read text from {type(message).__name__}: {_preview(message)}")


def _tool_calls(message: Any) -> list[dict[str, Any]]:
    """Valid tool calls of a message; raises when the model only produced unparseable calls."""
    get = message.get if isinstance(message, dict) else lambda k, d=None: getattr(message, k, d)
    calls = [dict(c) for c in get("tool_calls", None) or []]
    invalid = get("invalid_tool_calls", None) or []
    if not calls and invalid:
        bad = invalid[0]
        raise OutputParserException(
            f"The model called tool {bad.get('name')!r} with arguments that could not be parsed "
            f"({bad.get('error') or 'invalid JSON'}): {_preview(bad.get('args'))}",
            llm_output=str(bad.get("args")),
        )
    return calls


def _validate(model: type, obj: Any) -> Any:
    validate = getattr(model, "model_validate", None) or model.parse_obj  # type: ignore[attr-defined]
    return validate(obj)


class BaseOutputParser(Runnable):
    def parse(self, text: str) -> Any:
        raise NotImplementedError

    def parse_result(self, result: Any) -> Any:
        return self.parse(_text(_as_message(result)))

    def invoke(self, input: Any, config: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self.parse(input) if isinstance(input, str) else self.parse_result(input)

    async def ainvoke(self, input: Any, config: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self.invoke(input, config, **kwargs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class StrOutputParser(BaseOutputParser):
    """The message text."""

    def parse(self, text: str) -> str:
        return text


class JsonOutputParser(BaseOutputParser):
    """JSON value of the reply (fences and surrounding prose tolerated)."""

    def __init__(self, pydantic_object: type | None = None) -> None:
        self.pydantic_object = pydantic_object

    def parse(self, text: str) -> Any:
        return parse_json_markdown(text)


class PydanticOutputParser(JsonOutputParser):
    """JSON reply validated into `pydantic_object`; any failure raises OutputParserException
    "Failed to parse <Name> from completion <text>. Got: <error>"."""

    def __init__(self, pydantic_object: type) -> None:
        if not _is_pydantic_class(pydantic_object):
            raise ValueError(f"PydanticOutputParser needs a pydantic model class; got {pydantic_object!r}")
        super().__init__(pydantic_object)

    def parse(self, text: str) -> Any:
        model = self.pydantic_object
        assert model is not None
        try:
            return _validate(model, parse_json_markdown(text))
        except Exception as e:  # invalid JSON or pydantic ValidationError
            raise OutputParserException(
                f"Failed to parse {model.__name__} from completion {_preview(text)}. Got: {e}",
                llm_output=text if isinstance(text, str) else None,
            ) from e

    def __repr__(self) -> str:
        return f"PydanticOutputParser({getattr(self.pydantic_object, '__name__', '?')})"


class JsonOutputToolsParser(BaseOutputParser):
    """Tool calls as `[{"type": name, "args": {...}}]` (+ `"id"` with return_id=True).
    `first_tool_only=True` → the first call or None when the model called no tool."""

    def __init__(self, *, first_tool_only: bool = False, return_id: bool = False) -> None:
        self.first_tool_only = first_tool_only
        self.return_id = return_id

    def parse(self, text: Any) -> Any:
        if hasattr(text, "tool_calls"):
            return self.parse_result(text)
        raise OutputParserException(
            f"{type(self).__name__} reads tool calls from a message; call parse_result(message), "
            f"not parse() with text: {_preview(text)}"
        )

    def _results(self, result: Any) -> list[dict[str, Any]]:
        out = []
        for call in _tool_calls(_as_message(result)):
            item = {"type": call.get("name"), "args": call.get("args") or {}}
            if self.return_id:
                item["id"] = call.get("id")
            out.append(item)
        return out

    def parse_result(self, result: Any) -> Any:
        results = self._results(result)
        if self.first_tool_only:
            return results[0] if results else None
        return results


class JsonOutputKeyToolsParser(JsonOutputToolsParser):
    """Args of the calls to tool `key_name` (whole call dicts with return_id=True)."""

    def __init__(self, key_name: str, *, first_tool_only: bool = False, return_id: bool = False) -> None:
        super().__init__(first_tool_only=first_tool_only, return_id=return_id)
        self.key_name = key_name

    def parse_result(self, result: Any) -> Any:
        hits = [
            r if self.return_id else r["args"] for r in self._results(result) if r["type"] == self.key_name
        ]
        if self.first_tool_only:
            return hits[0] if hits else None
        return hits


class PydanticToolsParser(JsonOutputToolsParser):
    """Tool calls validated into the pydantic class with the tool's name. Unknown tool names raise
    OutputParserException; invalid arguments raise pydantic's ValidationError (as LangChain does)."""

    def __init__(self, tools: list[type], *, first_tool_only: bool = False) -> None:
        super().__init__(first_tool_only=first_tool_only)
        self.tools = list(tools)
        self._by_name: dict[str, type] = {}
        for cls in self.tools:
            if not _is_pydantic_class(cls):
                raise ValueError(f"PydanticToolsParser needs pydantic model classes; got {cls!r}")
            self._by_name[cls.__name__] = cls
            self._by_name.setdefault(convert_to_openai_function(cls)["name"], cls)

    def parse_result(self, result: Any) -> Any:
        results = self._results(result)
        known = [r for r in results if r["type"] in self._by_name]
        unknown = [r["type"] for r in results if r["type"] not in self._by_name]
        if unknown and (not self.first_tool_only or not known):
            raise OutputParserException(
                f"The model called unknown tool(s) {unknown}; expected one of {sorted(self._by_name)}."
            )
        parsed = [_validate(self._by_name[r["type"]], r["args"]) for r in known]
        if self.first_tool_only:
            return parsed[0] if parsed else None
        return parsed


# --- structured output ------------------------------------------------------------------------


def schema_kind(schema: Any) -> SchemaKind:
    """Classify a structured-output schema: "pydantic" (model class), "typeddict", "json_schema" (dict
    with a top-level "title") or "openai_function" (OpenAI function/tool or response-format dict,
    Anthropic / Bedrock tool dict)."""
    if _is_pydantic_class(schema):
        return "pydantic"
    if isinstance(schema, type) and is_typeddict(schema):
        return "typeddict"
    if isinstance(schema, dict):
        if any(k in schema for k in ("name", "toolSpec", "json_schema")) or schema.get("type") == "function":
            return "openai_function"
        if "title" in schema:
            return "json_schema"
        raise ValueError(
            "A JSON schema used for structured output needs a top-level 'title' (it names the output); "
            f"received a dict with keys {sorted(schema)}."
        )
    raise ValueError(
        "schema must be a pydantic model class, a TypedDict class, a JSON schema dict with a 'title', "
        f"or an OpenAI function/tool dict; got {type(schema).__name__}: {schema!r:.200}"
    )


def schema_to_json_schema(
    schema: Any, *, strict: bool | None = None
) -> tuple[str, str | None, dict[str, Any]]:
    """`(name, description or None, JSON schema of the output)` for any schema `schema_kind` accepts.
    With strict=True the JSON schema is rewritten for OpenAI strict mode."""
    kind = schema_kind(schema)
    if kind == "json_schema":
        body = {k: v for k, v in schema.items() if k not in ("title", "description")}
        name, description = schema["title"], schema.get("description")
    elif kind == "openai_function" and ("json_schema" in schema or ("schema" in schema and "name" in schema)):
        fmt = schema.get("json_schema", schema)  # OpenAI response_format, wrapped or not
        name, description, body = fmt["name"], fmt.get("description"), dict(fmt.get("schema") or {})
    else:
        fn = convert_to_openai_function(schema)
        name, description = fn["name"], fn.get("description")
        body = fn.get("parameters") or {"type": "object", "properties": {}}
    return name, description or None, _make_strict(body) if strict else body


def make_structured_parser(schema: Any, method: str) -> Callable[[Any], Any]:
    """Parser for `with_structured_output`: message → pydantic instance (pydantic schema) or dict.

    "function_calling": args of the call to the schema's tool (else the first call); None when the
    model called no tool; pydantic ValidationError propagates. "json_schema" / "json_mode": the message
    text parsed as JSON (fences tolerated) and, for pydantic, validated; failures raise
    OutputParserException.
    """
    kind = schema_kind(schema)
    name = schema_to_json_schema(schema)[0]
    model = schema if kind == "pydantic" else None
    if method == "function_calling":

        def parse_tool_call(message: Any) -> Any:
            calls = _tool_calls(_as_message(message))
            if not calls:
                return None
            call = next((c for c in calls if c.get("name") == name), calls[0])
            args = call.get("args") or {}
            return _validate(model, args) if model is not None else args

        return parse_tool_call
    if method in ("json_schema", "json_mode"):
        parser = PydanticOutputParser(model) if model is not None else JsonOutputParser()
        return parser.parse_result
    raise ValueError(f"method must be 'function_calling', 'json_schema' or 'json_mode'; got {method!r}")
