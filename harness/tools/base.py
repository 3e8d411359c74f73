"""`BaseTool`: the tool interface (schema shown to the model, input validation, the ToolMessage of a
call, the error policy described in `harness.tools.tool`); `StructuredTool` and `@tool` build on it."""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel

from harness.messages.core import ToolMessage
from harness.runnables import Runnable
from harness.tools.schema import _dereference_refs, _model_schema, _rm_titles

ToolCall = dict  # {"name": str, "args": dict, "id": str | None, "type": "tool_call"}
ResponseFormat = Literal["content", "content_and_artifact"]
# Block types that may stand in a ToolMessage's list content as they are (else the list is JSON-encoded).
_TOOL_MESSAGE_BLOCK_TYPES = (
    "text",
    "image_url",
    "image",
    "json",
    "search_result",
    "custom_tool_call_output",
    "document",
    "file",
)
_SIMPLE_SCHEMA = {
    "properties": {"__arg1": {"title": "__arg1", "type": "string"}},
    "required": ["__arg1"],
    "type": "object",
}


def _is_tool_call(x: Any) -> bool:
    return isinstance(x, dict) and x.get("type") == "tool_call"


def _is_tool_message(x: Any) -> bool:
    return isinstance(x, ToolMessage)


def _stringify(content: Any) -> str | list:
    """ToolMessage content: str kept, a list of str / known blocks kept, anything else JSON (or str())."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(
        isinstance(b, str) or (isinstance(b, dict) and b.get("type") in _TOOL_MESSAGE_BLOCK_TYPES)
        for b in content
    ):
        return content
    try:
        return json.dumps(content, ensure_ascii=False)
    except Exception:
        return str(content)


def _error_text(exc: BaseException) -> str:
    lines = [ln for ln in str(exc).splitlines() if not ln.strip().startswith("For further information")]
    message = "\n".join(lines)
    return f"Error: {type(exc).__name__}: {message}" if message else f"Error: {type(exc).__name__}"


class BaseTool(Runnable):
    """A tool the model can call. Subclass and implement `_run` (and optionally `_arun`), or use `@tool`.

    Attributes may be given as class attributes or constructor keywords: `name`, `description`,
    `args_schema` (pydantic class or JSON schema dict; None → a single string argument),
    `return_direct`, `response_format` ("content" | "content_and_artifact"), `handle_tool_error`,
    `extras`, `metadata`, `tags`.
    """

    name: str = ""
    description: str = ""
    args_schema: type[BaseModel] | dict[str, Any] | None = None
    return_direct: bool = False
    response_format: ResponseFormat = "content"
    handle_tool_error: bool | str | Callable[[Exception], str] | None = False
    extras: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    tags: list[str] | None = None

    def __init__(self, **kwargs: Any) -> None:
        for key, value in kwargs.items():
            if not hasattr(type(self), key):
                raise TypeError(f"{type(self).__name__} got an unexpected keyword argument {key!r}")
            setattr(self, key, value)
        if not self.name:
            raise ValueError(f"{type(self).__name__} needs a name")
        if self.response_format not in ("content", "content_and_artifact"):
            raise ValueError(
                f"response_format must be 'content' or 'content_and_artifact'; got {self.response_format!r}"
            )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    # --- schema -------------------------------------------------------------------------------

    @property
    def args(self) -> dict[str, Any]:
        """The JSON-schema `properties` of the arguments (titles kept, as LangChain does)."""
        if self.args_schema is None:
            return {"__arg1": {"title": "__arg1", "type": "string"}}
        if isinstance(self.args_schema, dict):
            return dict(self.args_schema.get("properties", {}))
        return _model_schema(self.args_schema).get("properties", {})

    @property
    def tool_call_schema(self) -> dict[str, Any]:
        """The JSON schema shown to the model: `title` = tool name, `description`, parameters
        ($refs inlined, titles removed)."""
        if self.args_schema is None:
            params: dict[str, Any] = json.loads(json.dumps(_SIMPLE_SCHEMA))
        elif isinstance(self.args_schema, dict):
            params = {k: v for k, v in self.args_schema.items() if k not in ("title", "description")}
        else:
            params = _rm_titles(_dereference_refs(_model_schema(self.args_schema)))
            params.pop("description", None)
        head = {"title": self.name, **({"description": self.description} if self.description else {})}
        return {**head, **params}

    # --- running ------------------------------------------------------------------------------

    def _run(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not implement _run")

    async def _arun(self, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(functools.partial(self._run, *args, **kwargs))

    def _target(self) -> Callable[..., Any]:
        return self._run

    def _to_kwargs(self, tool_input: Any) -> tuple[tuple, dict[str, Any]]:
        """Validate the input and return the call arguments."""
        schema = self.args_schema
        if schema is None:  # single-string tool
            if isinstance(tool_input, dict):
                values = list(tool_input.values())
                if len(values) != 1:
                    raise ValueError(
                        f"Tool {self.name!r} takes a single input; got keys {sorted(tool_input)}"
                    )
                tool_input = values[0]
            return (tool_input,), {}
        if isinstance(tool_input, str):
            props = list(self.args)
            if len(props) != 1:
                raise ValueError(
                    f"Tool {self.name!r} takes arguments {props}; pass them as a dict, not a string."
                )
            tool_input = {props[0]: tool_input}
        if not isinstance(tool_input, dict):
            raise TypeError(
                f"Tool {self.name!r} expects a dict of arguments, a ToolCall or a string; "
                f"got {type(tool_input).__name__}"
            )
        if isinstance(schema, dict):  # a JSON schema is not validated locally
            return (), dict(tool_input)
        validated = schema.model_validate(tool_input)
        fields = type(validated).model_fields
        try:
            params: Mapping[str, inspect.Parameter] = inspect.signature(self._target()).parameters
        except (TypeError, ValueError):
            params = {}
        # Keys the caller gave, plus schema defaults for parameters that have no default of their own.
        keep = {
            k
            for k in fields
            if k in tool_input or (k in params and params[k].default is inspect.Parameter.empty)
        }
        return (), {k: getattr(validated, k) for k in fields if k in keep}

    def _split_input(self, input: Any) -> tuple[Any, str | None, bool]:
        if _is_tool_call(input):
            call_id = input.get("id")
            return input.get("args", {}), None if call_id is None else str(call_id), True
        return input, None, False

    def _format(self, output: Any, call_id: str | None, is_call: bool) -> Any:
        if _is_tool_message(output):
            return output
        artifact = None
        if self.response_format == "content_and_artifact":
            if not (isinstance(output, tuple) and len(output) == 2):
                raise ValueError(
                    f"Tool {self.name!r} has response_format='content_and_artifact', so it must return a "
                    f"(content, artifact) tuple; got {type(output).__name__}."
                )
            output, artifact = output
        if not is_call:
            return output
        return ToolMessage(
            content=_stringify(output),
            name=self.name,
            tool_call_id=call_id or "",
            artifact=artifact,
            status="success",
        )

    def _handle(self, exc: Exception, call_id: str | None, is_call: bool) -> Any:
        handler = self.handle_tool_error
        if not is_call and not handler:
            raise exc
        if isinstance(handler, str):
            content = handler
        elif callable(handler):
            content = str(handler(exc))
        else:
            content = _error_text(exc)
        if not is_call:
            return content
        return ToolMessage(content=content, name=self.name, tool_call_id=call_id or "", status="error")

    def invoke(self, input: Any, config: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """Run the tool. `input`: args dict (→ raw result), ToolCall (→ ToolMessage) or a string for a
        single-argument tool. `config` is accepted for Runnable compatibility and ignored."""
        args, call_id, is_call = self._split_input(input)
        try:
            pos, kw = self._to_kwargs(args)
            output = self._run(*pos, **kw)
            return self._format(output, call_id, is_call)
        except Exception as exc:
            return self._handle(exc, call_id, is_call)

    async def ainvoke(self, input: Any, config: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """Async `invoke`: coroutine tools are awaited, sync ones run in a worker thread."""
        args, call_id, is_call = self._split_input(input)
        try:
            pos, kw = self._to_kwargs(args)
            output = await self._arun(*pos, **kw)
            return self._format(output, call_id, is_call)
        except Exception as exc:
            return self._handle(exc, call_id, is_call)
