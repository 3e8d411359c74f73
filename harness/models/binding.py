"""bind / bind_tools / with_structured_output, shared by ChatModel and its bindings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from harness.errors import ModelRefusalError, UnsupportedFeatureError
from harness.runnables import Runnable

if TYPE_CHECKING:
    from harness.models.chat import ChatModel

_CHOICE_ALIASES = {"any": "any", "required": "any", True: "any", "auto": "auto", "none": "none"}


def normalize_tool_choice(tool_choice: Any, tools: list[dict[str, Any]]) -> Any:
    """ "any" == "required" == True; a bare tool name stays a name; False/None/"" -> None."""
    if tool_choice in (None, False, ""):
        return None
    if isinstance(tool_choice, dict):
        return tool_choice
    if tool_choice in _CHOICE_ALIASES:
        return _CHOICE_ALIASES[tool_choice]
    if isinstance(tool_choice, str):
        names = [t.get("function", {}).get("name") or t.get("name") for t in tools]
        # an OpenAI built-in tool is chosen by its type (tool_choice="web_search")
        names += [t["type"] for t in tools if t.get("type") not in (None, "function") and "name" not in t]
        if tool_choice not in names and names:
            raise ValueError(
                f"tool_choice {tool_choice!r} is not one of the bound tools {names}; "
                "allowed: 'auto', 'any', 'required', 'none', True, a tool name, or a dict"
            )
        return {"type": "tool", "name": tool_choice}
    raise ValueError(
        f"tool_choice must be 'auto', 'any', 'required', 'none', a bool, a name or a dict; got {tool_choice!r}"
    )


def unsupported_parallel(value: Any) -> str:
    return (
        f"parallel_tool_calls={value!r}: its API has no such setting, so harness refuses it rather than "
        "drop it (leave it unset)"
    )


class ChatSurface:
    """Mixin: the declarative methods. `self._chat_model` is the ChatModel underneath."""

    @property
    def _chat_model(self) -> ChatModel:
        raise NotImplementedError

    def bind(self, **kwargs: Any) -> ChatModelBinding:
        return ChatModelBinding(self._chat_model, {**getattr(self, "kwargs", {}), **kwargs})

    def bind_tools(
        self,
        tools: Sequence[Any],
        *,
        tool_choice: Any = None,
        parallel_tool_calls: bool | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> ChatModelBinding:
        from harness.tools.tool import convert_to_openai_tool

        model = self._chat_model
        if not model.capabilities.tools:
            raise UnsupportedFeatureError(model.model_provider, "tool calling")
        # a provider's own server-side tool dict (Anthropic web search, Gemini google_search ...) is
        # sent as given; everything else becomes an OpenAI function tool that each adapter translates
        formatted = [
            t if model.is_server_tool(t) else convert_to_openai_tool(t, strict=strict) for t in tools
        ]
        extra: dict[str, Any] = {"tools": formatted, **kwargs}
        choice = normalize_tool_choice(tool_choice, formatted)
        if choice is not None:
            if not model.capabilities.tool_choice:
                raise UnsupportedFeatureError(model.model_provider, f"tool_choice={tool_choice!r}")
            extra["tool_choice"] = choice
        if parallel_tool_calls is not None:
            if not model.capabilities.parallel_tool_calls:  # refused here, before anything is sent
                raise UnsupportedFeatureError(model.model_provider, unsupported_parallel(parallel_tool_calls))
            extra["parallel_tool_calls"] = parallel_tool_calls
        return self.bind(**extra)

    def with_structured_output(
        self,
        schema: Any,
        *,
        method: str | None = None,
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> StructuredOutputRunnable:
        from harness.tools.output_parsers import make_structured_parser, schema_to_json_schema

        model = self._chat_model
        caps = model.capabilities
        method = method or model.default_structured_method
        if method not in ("json_schema", "function_calling", "json_mode"):
            raise ValueError(
                f"method must be 'json_schema', 'function_calling' or 'json_mode'; got {method!r}"
            )
        if method not in caps.structured_output:
            raise UnsupportedFeatureError(  # a wrapper (a LangChain model) names itself, not its provider
                getattr(model, "capability_owner", model.model_provider),
                f"structured output method {method!r}",
                list(caps.structured_output),
            )
        if method == "json_mode" and strict is not None:
            raise ValueError("strict is not allowed with method='json_mode'")
        if kwargs:
            raise ValueError(f"Received unsupported arguments {sorted(kwargs)}")
        if (
            isinstance(schema, dict)
            and "properties" in schema
            and not schema.get("title")
            and "name" not in schema
        ):
            schema = {"title": "output", **schema}  # a bare JSON schema from a suite file: give it a name
        name, description, json_schema = schema_to_json_schema(schema)
        if method == "function_calling":
            function: dict[str, Any] = {"name": name, "parameters": json_schema}
            if description:
                function["description"] = description
            tool = {"type": "function", "function": function}
            parallel = False if caps.parallel_tool_calls else None
            bound = self.bind_tools([tool], tool_choice=name, parallel_tool_calls=parallel, strict=strict)
        elif method == "json_schema":
            bound = self.bind(
                response_format={
                    "type": "json_schema",
                    "name": name,
                    "schema": json_schema,
                    "description": description,
                    "strict": strict,
                }
            )
        else:
            bound = self.bind(response_format={"type": "json_object"})
        return StructuredOutputRunnable(bound, make_structured_parser(schema, method), include_raw)


class ChatModelBinding(ChatSurface, Runnable):
    """A ChatModel with call kwargs fixed (`model.bind(logprobs=True)`); call-time kwargs win."""

    def __init__(self, model: ChatModel, kwargs: dict[str, Any]) -> None:
        self._model = model
        self.kwargs = kwargs

    @property
    def _chat_model(self) -> ChatModel:
        return self._model

    def __repr__(self) -> str:
        return f"ChatModelBinding({self._chat_model!r}, kwargs={sorted(self.kwargs)})"

    def invoke(self, input: Any, config: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self._chat_model.invoke(input, config, **{**self.kwargs, **kwargs})

    async def ainvoke(self, input: Any, config: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return await self._chat_model.ainvoke(input, config, **{**self.kwargs, **kwargs})

    def stream(self, input: Any, config: dict[str, Any] | None = None, **kwargs: Any) -> Iterator[Any]:
        return self._chat_model.stream(input, config, **{**self.kwargs, **kwargs})

    def astream(self, input: Any, config: dict[str, Any] | None = None, **kwargs: Any) -> AsyncIterator[Any]:
        return self._chat_model.astream(input, config, **{**self.kwargs, **kwargs})

    def astream_events(
        self, input: Any, config: dict[str, Any] | None = None, **kwargs: Any
    ) -> AsyncIterator[Any]:
        return self._chat_model.astream_events(input, config, **{**self.kwargs, **kwargs})

    def close(self) -> None:
        self._chat_model.close()

    async def aclose(self) -> None:
        await self._chat_model.aclose()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._chat_model, name)


class StructuredOutputRunnable(Runnable):
    """Model + parser. include_raw=True returns {"raw", "parsed", "parsing_error"} and never raises
    on a parse failure; otherwise parse failures and refusals raise."""

    def __init__(self, bound: ChatModelBinding, parser: Any, include_raw: bool) -> None:
        self.bound = bound
        self.parser = parser
        self.include_raw = include_raw

    def close(self) -> None:
        self.bound.close()

    async def aclose(self) -> None:
        await self.bound.aclose()

    def _result(self, message: Any) -> Any:
        try:
            refusal = message.additional_kwargs.get("refusal")
            if refusal:
                raise ModelRefusalError(str(refusal), raw_message=message)
            parsed = self.parser(message)
        except Exception as e:
            if self.include_raw:
                return {"raw": message, "parsed": None, "parsing_error": e}
            raise
        return {"raw": message, "parsed": parsed, "parsing_error": None} if self.include_raw else parsed

    def invoke(self, input: Any, config: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self._result(self.bound.invoke(input, config, **kwargs))

    async def ainvoke(self, input: Any, config: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self._result(await self.bound.ainvoke(input, config, **kwargs))

    def stream(self, input: Any, config: dict[str, Any] | None = None, **kwargs: Any) -> Iterator[Any]:
        from harness.messages.core import message_chunk_to_message
        from harness.models.chat import sum_chunks

        yield self._result(
            message_chunk_to_message(sum_chunks(list(self.bound.stream(input, config, **kwargs))))
        )

    async def astream(
        self, input: Any, config: dict[str, Any] | None = None, **kwargs: Any
    ) -> AsyncIterator[Any]:
        from harness.messages.core import message_chunk_to_message
        from harness.models.chat import sum_chunks

        yield self._result(
            message_chunk_to_message(
                sum_chunks([c async for c in self.bound.astream(input, config, **kwargs)])
            )
        )
