"""`HarnessChatModel`: a harness chat model as a real LangChain `BaseChatModel`.

LangChain's own machinery does the rest: callbacks and tracing (`on_chat_model_start`,
`on_llm_new_token`, `on_llm_end` with usage), batch / abatch, `with_structured_output` (LangChain's
default `bind_tools` plus its tool parsers; `method="json_schema"` / `"json_mode"` bind a
`response_format` and parse with LangChain's JSON / pydantic output parsers, as its provider
integrations do), `with_retry`, `prompt | model`. Each call goes to the
harness model, so it is sent by harness's HTTP layer and recorded or replayed by the active cassette.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from operator import itemgetter
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.base import LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ConfigDict, Field

from harness.langchain.messages import from_langchain, to_langchain_message
from harness.models.binding import normalize_tool_choice
from harness.tools.output_parsers import schema_to_json_schema

__all__ = ["HarnessChatModel"]

# kwargs LangChain adds for its tracing; never request parameters
_LANGCHAIN_ONLY = ("ls_structured_output_format",)


class HarnessChatModel(BaseChatModel):
    """A LangChain chat model whose calls go to `harness_model` (build it with `to_langchain`)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    harness_model: Any = Field(exclude=True)
    """The harness ChatModel (or binding) every call goes to."""

    @property
    def _llm_type(self) -> str:
        return "harness"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        # what LangChain's cache key and traces name the model by: its params too (a bound
        # temperature is another model to a cache)
        return {
            "model": self._harness_attr("model"),
            "provider": self._harness_attr("model_provider"),
            "params": dict(getattr(self.harness_model, "params", None) or {}),
            "bound": dict(getattr(self.harness_model, "kwargs", None) or {}),
        }

    def _harness_attr(self, name: str) -> Any:
        return getattr(self.harness_model, name, None)

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider=str(self._harness_attr("model_provider") or "harness"),
            ls_model_name=str(self._harness_attr("model") or ""),
            ls_model_type="chat",
        )
        if stop:
            params["ls_stop"] = stop
        return params

    # --- calls ------------------------------------------------------------------------------------

    @staticmethod
    def _call_kwargs(stop: list[str] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        call = {k: v for k, v in kwargs.items() if k not in _LANGCHAIN_ONLY}
        if stop is not None:
            call["stop"] = stop
        return call

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply = self.harness_model.invoke(from_langchain(messages), **self._call_kwargs(stop, kwargs))
        return ChatResult(generations=[ChatGeneration(message=to_langchain_message(reply))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply = await self.harness_model.ainvoke(from_langchain(messages), **self._call_kwargs(stop, kwargs))
        return ChatResult(generations=[ChatGeneration(message=to_langchain_message(reply))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for chunk in self.harness_model.stream(from_langchain(messages), **self._call_kwargs(stop, kwargs)):
            out = _generation_chunk(chunk)
            if run_manager is not None:
                run_manager.on_llm_new_token(out.text, chunk=out)
            yield out

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        stream = self.harness_model.astream(from_langchain(messages), **self._call_kwargs(stop, kwargs))
        async for chunk in stream:
            out = _generation_chunk(chunk)
            if run_manager is not None:
                await run_manager.on_llm_new_token(out.text, chunk=out)
            yield out

    # --- tools ------------------------------------------------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | dict[str, Any] | bool | None = None,
        parallel_tool_calls: bool | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """LangChain tools (BaseTool, functions, pydantic classes, dicts) in OpenAI's format, which
        the harness model translates for its provider. tool_choice: "auto", "any" / "required" /
        True, "none", a tool name, or a dict."""
        formatted = [convert_to_openai_tool(t, strict=strict) for t in tools]
        call: dict[str, Any] = {"tools": formatted, **kwargs}
        choice = normalize_tool_choice(tool_choice, formatted)
        if choice is not None:
            call["tool_choice"] = choice
        if parallel_tool_calls is not None:
            call["parallel_tool_calls"] = parallel_tool_calls
        return self.bind(**call)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        method: str = "function_calling",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        """LangChain's structured output. method: "function_calling" (LangChain's default: a forced
        tool call parsed by its tool parsers), "json_schema" or "json_mode" (a response_format the
        harness model translates for its provider, parsed by LangChain's output parsers)."""
        if method == "function_calling":
            return super().with_structured_output(schema, include_raw=include_raw, **kwargs)
        if method not in ("json_schema", "json_mode"):
            raise ValueError(
                f"method must be 'function_calling', 'json_schema' or 'json_mode'; got {method!r}"
            )
        if kwargs:
            raise ValueError(f"Received unsupported arguments {sorted(kwargs)}")
        if method == "json_schema":
            name, description, body = schema_to_json_schema(schema)
            response_format: dict[str, Any] = {
                "type": "json_schema",
                "name": name,
                "schema": body,
                "description": description,
                "strict": strict,
            }
        else:
            response_format = {"type": "json_object"}
        llm = self.bind(
            response_format=response_format,
            ls_structured_output_format={"kwargs": {"method": method}, "schema": schema},
        )
        parser: Runnable[Any, Any] = (
            PydanticOutputParser(pydantic_object=schema)
            if isinstance(schema, type) and issubclass(schema, BaseModel)
            else JsonOutputParser()
        )
        if not include_raw:
            return llm | parser
        parsed = RunnablePassthrough.assign(parsed=itemgetter("raw") | parser, parsing_error=lambda _: None)
        failed = RunnablePassthrough.assign(parsed=lambda _: None)
        return RunnableMap(raw=llm) | parsed.with_fallbacks([failed], exception_key="parsing_error")

    # --- resources --------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the harness model's HTTP clients (it reopens them when called again)."""
        self.harness_model.close()

    async def aclose(self) -> None:
        await self.harness_model.aclose()


def _generation_chunk(chunk: Any) -> ChatGenerationChunk:
    message = to_langchain_message(chunk)
    if not isinstance(message, AIMessageChunk):
        message = AIMessageChunk(**message.model_dump(exclude={"type"}))
    return ChatGenerationChunk(message=message)
