"""Tools: `@tool`, `BaseTool` / `StructuredTool`, and schema conversion (`convert_to_openai_tool` ...).

Invoking a tool::

    @tool
    def add(a: int, b: int) -> int:
        "Add two integers."
        return a + b

    add.invoke({"a": 1, "b": 2})                                  # -> 3 (the raw result)
    add.invoke({"name": "add", "args": {"a": 1, "b": 2}, "id": "call_1", "type": "tool_call"})
    # -> ToolMessage(content="3", name="add", tool_call_id="call_1", status="success")

Error policy (a harness product decision, stricter than LangChain's default): when a tool is invoked
with a ToolCall, *any* exception raised while running it, argument validation errors included, is
returned as `ToolMessage(content="Error: <ExceptionType>: <message>", status="error")` so an agent loop
can hand the failure back to the model and continue. Invoked with a plain args dict, exceptions
propagate unless `handle_tool_error` is set (True → the same "Error: ..." text is returned; a str →
that text; a callable → `callable(exception)`).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from pydantic import BaseModel

from harness.tools.base import BaseTool, ResponseFormat, ToolCall
from harness.tools.schema import (
    _is_pydantic_class,
    convert_to_json_schema,
    convert_to_openai_function,
    convert_to_openai_tool,
)
from harness.tools.signatures import create_schema_from_function, parse_google_docstring

__all__ = [
    "BaseTool",
    "StructuredTool",
    "ToolCall",
    "convert_to_json_schema",
    "convert_to_openai_function",
    "convert_to_openai_tool",
    "create_schema_from_function",
    "tool",
]


class StructuredTool(BaseTool):
    """A tool wrapping a function (`func`) and/or a coroutine function (`coroutine`)."""

    func: Callable[..., Any] | None = None
    coroutine: Callable[..., Coroutine[Any, Any, Any]] | None = None

    def _target(self) -> Callable[..., Any]:
        return self.func or self.coroutine or self._run

    def _run(self, *args: Any, **kwargs: Any) -> Any:
        if self.func is not None:
            return self.func(*args, **kwargs)
        if self.coroutine is not None:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return asyncio.run(self.coroutine(*args, **kwargs))
            raise RuntimeError(
                f"Tool {self.name!r} is async-only and an event loop is running: use `await tool.ainvoke(...)`."
            )
        raise NotImplementedError(f"Tool {self.name!r} has neither func nor coroutine")

    async def _arun(self, *args: Any, **kwargs: Any) -> Any:
        if self.coroutine is not None:
            return await self.coroutine(*args, **kwargs)
        return await asyncio.to_thread(functools.partial(self._run, *args, **kwargs))

    @classmethod
    def from_function(
        cls,
        func: Callable[..., Any] | None = None,
        coroutine: Callable[..., Coroutine[Any, Any, Any]] | None = None,
        name: str | None = None,
        description: str | None = None,
        return_direct: bool = False,
        args_schema: type[BaseModel] | dict[str, Any] | None = None,
        infer_schema: bool = True,
        *,
        response_format: ResponseFormat = "content",
        parse_docstring: bool = False,
        error_on_invalid_docstring: bool = False,
        handle_tool_error: bool | str | Callable[[Exception], str] | None = False,
        extras: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> StructuredTool:
        """Build a tool from a function. `description` defaults to the whole (cleaned) docstring, or to
        its summary with `parse_docstring=True` (argument descriptions then go into the schema)."""
        source = func or coroutine
        if source is None:
            raise ValueError("from_function needs func or coroutine")
        if func is not None and coroutine is None and inspect.iscoroutinefunction(func):
            func, coroutine = None, func
        name = name or source.__name__
        if args_schema is None and infer_schema:
            args_schema, _ = create_schema_from_function(
                name,
                source,
                parse_docstring=parse_docstring,
                error_on_invalid_docstring=error_on_invalid_docstring,
            )
        summary = parse_google_docstring(source.__doc__)[0] if parse_docstring else ""
        if description is None:
            if summary:
                description = summary
            elif source.__doc__:
                description = inspect.cleandoc(source.__doc__)
            elif _is_pydantic_class(args_schema) and args_schema.__doc__:  # type: ignore[union-attr]
                description = inspect.cleandoc(args_schema.__doc__)  # type: ignore[union-attr]
            elif isinstance(args_schema, dict) and args_schema.get("description"):
                description = args_schema["description"]
            else:
                raise ValueError(
                    f"Tool {name!r}: the function has no docstring; pass description=... to @tool."
                )
        return cls(
            name=name,
            description=description,
            func=func,
            coroutine=coroutine,
            args_schema=args_schema,
            return_direct=return_direct,
            response_format=response_format,
            handle_tool_error=handle_tool_error,
            extras=extras,
            **kwargs,
        )


def tool(
    name_or_callable: str | Callable[..., Any] | None = None,
    runnable: Callable[..., Any] | None = None,
    *,
    description: str | None = None,
    return_direct: bool = False,
    args_schema: type[BaseModel] | dict[str, Any] | None = None,
    infer_schema: bool = True,
    response_format: ResponseFormat = "content",
    parse_docstring: bool = False,
    error_on_invalid_docstring: bool = True,
    handle_tool_error: bool | str | Callable[[Exception], str] | None = False,
    extras: dict[str, Any] | None = None,
) -> Any:
    """Make a `StructuredTool` from a function (sync or async).

    Forms: `@tool`, `@tool("name")`, `@tool(description=..., ...)`, `@tool("name", parse_docstring=True)`,
    and `tool("name", func)`. The description is `description`, else the whole docstring, else (with
    `parse_docstring=True`) only the docstring summary, the `Args:` entries becoming argument
    descriptions (`error_on_invalid_docstring` then rejects a docstring without `Args:`).
    """
    options = dict(
        description=description,
        return_direct=return_direct,
        args_schema=args_schema,
        infer_schema=infer_schema,
        response_format=response_format,
        parse_docstring=parse_docstring,
        error_on_invalid_docstring=error_on_invalid_docstring,
        handle_tool_error=handle_tool_error,
        extras=extras,
    )

    def make(func: Callable[..., Any], name: str | None = None) -> StructuredTool:
        if isinstance(func, BaseTool):
            raise TypeError("@tool was applied to something that is already a tool")
        if not callable(func):
            raise TypeError(f"@tool needs a function; got {type(func).__name__}")
        return StructuredTool.from_function(func, name=name, **options)  # type: ignore[arg-type]

    if isinstance(name_or_callable, str):
        tool_name = name_or_callable
        if runnable is not None:
            return make(runnable, tool_name)
        return lambda func: make(func, tool_name)
    if runnable is not None:
        raise TypeError("tool(name, func): the first argument must be the tool name (a str)")
    if name_or_callable is None:
        return make
    return make(name_or_callable)
