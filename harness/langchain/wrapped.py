"""Any LangChain chat model as a harness chat model: what a suite's
`{model: "langchain:pkg.module:factory"}` entry builds, so the runner, assertions, usage and
cassettes treat it like any other model.

Nothing here imports langchain-core at module level: the LangChain model is driven through its public
Runnable methods (`invoke`, `ainvoke`, `stream`, `astream`, `bind_tools`, `bind`).
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from harness.errors import ConfigurationError
from harness.imports import import_object
from harness.langchain.messages import from_langchain, require_langchain, to_langchain_messages
from harness.messages.core import AIMessage, AIMessageChunk
from harness.models.binding import ChatSurface
from harness.providers.base import Capabilities
from harness.runnables import Runnable

__all__ = ["LANGCHAIN_PREFIX", "LangChainChatModel", "langchain_model"]

LANGCHAIN_PREFIX = "langchain:"

# what every LangChain chat model that implements bind_tools can do; json_schema / json_mode differ
# from one integration to the next, so structured output goes through a forced tool call
_CAPABILITIES = Capabilities(parallel_tool_calls=False, structured_output=("function_calling",))


class LangChainChatModel(ChatSurface, Runnable):
    """A LangChain `BaseChatModel` behind harness's chat-model interface: harness messages in,
    harness `AIMessage`s out (usage, tool calls), tools and structured output through the shared
    `bind_tools` / `with_structured_output`, which hand the LangChain model OpenAI-format tools."""

    default_structured_method = "function_calling"

    def __init__(self, model: Any, *, name: str | None = None) -> None:
        self.lc_model = model
        ls = _ls_params(model)
        self.model: str = name or str(ls.get("ls_model_name") or type(model).__name__)
        self.model_provider: str = str(ls.get("ls_provider") or "langchain")
        self.capabilities = _CAPABILITIES
        # what it cannot do is this wrapper's limit, not its provider's: say so in refusals
        self.capability_owner = f"a LangChain model entry ({type(model).__name__})"

    @property
    def _chat_model(self) -> Any:  # the shared ChatSurface binds this model itself
        return self

    def is_server_tool(self, tool: Any) -> bool:
        """A provider tool dict (`{"type": "web_search"}`, ...) goes to the LangChain model as given:
        its own `bind_tools` knows its provider's server-side tools."""
        return isinstance(tool, dict) and tool.get("type") not in (None, "function")

    @property
    def model_name(self) -> str:
        return self.model

    def __repr__(self) -> str:
        return f"LangChainChatModel({type(self.lc_model).__name__}:{self.model})"

    def _runnable(self, kwargs: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """The LangChain runnable for one call (tools bound) and the call's remaining kwargs."""
        call = {k: v for k, v in kwargs.items() if v is not None and k != "stream"}
        tools = call.pop("tools", None)
        choice = call.pop("tool_choice", None)
        parallel = call.pop("parallel_tool_calls", None)
        if call.pop("response_format", None) is not None:
            raise ConfigurationError(
                f"{self!r}: response_format is not supported; use method='function_calling'"
            )
        if not tools:
            return self.lc_model, call
        extra: dict[str, Any] = {}
        if isinstance(choice, dict) and choice.get("type") == "tool":
            extra["tool_choice"] = choice["name"]
        elif choice is not None:
            extra["tool_choice"] = choice
        if parallel is not None:
            extra["parallel_tool_calls"] = parallel
        return self.lc_model.bind_tools(tools, **extra), call

    def invoke(
        self,
        input: Any,
        config: dict[str, Any] | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        runnable, call = self._runnable(kwargs)
        started = time.perf_counter()
        reply = runnable.invoke(to_langchain_messages(input), _config(config), stop=stop, **call)
        return _with_timing(from_langchain(reply), started)

    async def ainvoke(
        self,
        input: Any,
        config: dict[str, Any] | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        runnable, call = self._runnable(kwargs)
        started = time.perf_counter()
        reply = await runnable.ainvoke(to_langchain_messages(input), _config(config), stop=stop, **call)
        return _with_timing(from_langchain(reply), started)

    def stream(
        self,
        input: Any,
        config: dict[str, Any] | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> Iterator[AIMessageChunk]:
        runnable, call = self._runnable(kwargs)
        clock = _StreamClock()
        for chunk in runnable.stream(to_langchain_messages(input), _config(config), stop=stop, **call):
            yield clock.seen(from_langchain(chunk))
        yield clock.last()

    async def astream(
        self,
        input: Any,
        config: dict[str, Any] | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[AIMessageChunk]:
        runnable, call = self._runnable(kwargs)
        clock = _StreamClock()
        async for chunk in runnable.astream(to_langchain_messages(input), _config(config), stop=stop, **call):
            yield clock.seen(from_langchain(chunk))
        yield clock.last()

    def close(self) -> None:
        """Close the LangChain model when it has a close() (to_langchain models do); else nothing."""
        close = getattr(self.lc_model, "close", None)
        if callable(close):
            close()

    async def aclose(self) -> None:
        aclose = getattr(self.lc_model, "aclose", None)
        if callable(aclose):
            await aclose()
        else:
            self.close()


def _config(config: dict[str, Any] | None) -> dict[str, Any] | None:
    """What of a harness call's config LangChain reads the same way (tags, metadata, run name);
    harness callback handlers stay with harness."""
    if not config:
        return None
    return {k: config[k] for k in ("tags", "metadata", "run_name") if k in config} or None


def _ls_params(model: Any) -> dict[str, Any]:
    get = getattr(model, "_get_ls_params", None)
    try:
        params = get() if callable(get) else {}
    except Exception:  # an integration's tracing hook must not stop a run
        params = {}
    return dict(params) if isinstance(params, dict) else {}


def _measured(started: float, ttft_ms: float | None = None) -> dict[str, Any]:
    total = round((time.perf_counter() - started) * 1000.0, 3)
    return {
        "ttft_ms": total if ttft_ms is None else ttft_ms,
        "total_ms": total,
        "source": "measured",
        "replayed": False,
        "cassette": None,
    }


def _with_timing(message: AIMessage, started: float) -> AIMessage:
    """A harness model under to_langchain keeps its own (live or recorded) timing; any other
    LangChain model gets the wall-clock time of the call."""
    message.response_metadata.setdefault("timing", _measured(started))
    return message


class _StreamClock:
    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.ttft_ms: float | None = None
        self.timed = False

    def seen(self, chunk: AIMessageChunk) -> AIMessageChunk:
        if self.ttft_ms is None and (chunk.content or chunk.tool_call_chunks):
            self.ttft_ms = round((time.perf_counter() - self.started) * 1000.0, 3)
        self.timed = self.timed or "timing" in chunk.response_metadata
        return chunk

    def last(self) -> AIMessageChunk:
        metadata = {} if self.timed else {"timing": _measured(self.started, self.ttft_ms)}
        return AIMessageChunk(content="", chunk_position="last", response_metadata=metadata)


def langchain_model(
    model: str, params: dict[str, Any] | None = None, *, base_dir: str | os.PathLike[str] | None = None
) -> LangChainChatModel:
    """The harness chat model for `"langchain:pkg.module:factory"` (or `file.py:factory`): the factory
    is called with `params` as keyword arguments and returns a LangChain BaseChatModel (the path may
    also name a BaseChatModel instance). Raises ConfigurationError / ImportPathError."""
    require_langchain(f"model {model!r}")
    from langchain_core.language_models import BaseChatModel

    target = import_object(model.removeprefix(LANGCHAIN_PREFIX), "LangChain factory", base_dir=base_dir)
    if isinstance(target, BaseChatModel):
        if params:
            raise ConfigurationError(
                f"model {model!r} names a chat model, not a factory: it takes no params ({', '.join(params)})"
            )
        return LangChainChatModel(target)
    if not callable(target):
        raise ConfigurationError(
            f"model {model!r} names a {type(target).__name__}; expected a function returning a LangChain BaseChatModel"
        )
    try:
        built = target(**(params or {}))
    except Exception as e:  # user code ran: what it raised is reported on the one line
        raise ConfigurationError(f"model {model!r}: the factory raised {type(e).__name__}: {e}") from None
    if not isinstance(built, BaseChatModel):
        raise ConfigurationError(
            f"model {model!r}: the factory returned a {type(built).__name__}; expected a LangChain BaseChatModel"
        )
    return LangChainChatModel(built)
