"""Callback handlers for chat-model runs (LangChain names and signatures).

Handlers come from the model (`callbacks=`), the call's config (`config["callbacks"]`) and any
`get_usage_metadata_callback()` block active in the current context.

May import: `harness.messages`.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from harness.messages.core import AIMessage, BaseMessage, add_usage
from harness.messages.display import get_buffer_string


@dataclass
class ChatGeneration:
    message: BaseMessage
    generation_info: dict[str, Any] | None = None

    @property
    def text(self) -> str:
        return self.message.text


@dataclass
class LLMResult:
    generations: list[list[ChatGeneration]]
    llm_output: dict[str, Any] | None = None
    run: list[Any] | None = field(default=None)


class BaseCallbackHandler:
    """Override the hooks you need; every hook receives keyword `run_id` and friends."""

    raise_error = False

    def on_chat_model_start(
        self, serialized: dict[str, Any], messages: list[list[BaseMessage]], *, run_id: UUID, **kwargs: Any
    ) -> Any:
        # as in LangChain: a handler that does not implement this gets `on_llm_start` with the
        # messages as prompt strings instead
        raise NotImplementedError(f"{type(self).__name__} does not implement on_chat_model_start")

    def on_llm_start(
        self, serialized: dict[str, Any], prompts: list[str], *, run_id: UUID, **kwargs: Any
    ) -> Any: ...

    def on_llm_new_token(self, token: Any, *, chunk: Any = None, run_id: UUID, **kwargs: Any) -> Any: ...

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> Any: ...

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> Any: ...


class AsyncCallbackHandler(BaseCallbackHandler):
    """Same hooks as coroutines; the chat layer awaits them from async calls."""


class UsageMetadataCallbackHandler(BaseCallbackHandler):
    """Sums `usage_metadata` of every finished call, keyed by `response_metadata["model_name"]`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.usage_metadata: dict[str, Any] = {}

    def __repr__(self) -> str:
        return str(self.usage_metadata)

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        try:
            message = response.generations[0][0].message
        except IndexError:
            return
        if not isinstance(message, AIMessage) or not message.usage_metadata:
            return
        name = message.response_metadata.get("model_name")
        if not name:
            return
        with self._lock:
            self.usage_metadata[name] = add_usage(self.usage_metadata.get(name), message.usage_metadata)


_context_handlers: contextvars.ContextVar[tuple[BaseCallbackHandler, ...]] = contextvars.ContextVar(
    "harness_context_handlers", default=()
)


@contextlib.contextmanager
def callbacks_context(*handlers: Any) -> Iterator[None]:
    """Every chat-model call inside the block (and tasks and copied contexts started from it) also
    reports to these handlers, without passing them in each call's config."""
    token = _context_handlers.set((*_context_handlers.get(), *handlers))
    try:
        yield
    finally:
        _context_handlers.reset(token)


@contextlib.contextmanager
def get_usage_metadata_callback(
    name: str = "usage_metadata_callback",
) -> Iterator[UsageMetadataCallbackHandler]:
    """Every chat-model call inside the block reports its usage to the yielded handler."""
    handler = UsageMetadataCallbackHandler()
    with callbacks_context(handler):
        yield handler


def context_handlers() -> tuple[BaseCallbackHandler, ...]:
    return _context_handlers.get()


def _call(handler: BaseCallbackHandler, hook: str, *args: Any, **kwargs: Any) -> Any:
    try:
        return getattr(handler, hook)(*args, **kwargs)
    except NotImplementedError:
        if hook == "on_chat_model_start" and hasattr(handler, "on_llm_start"):
            serialized, messages = args
            prompts = [get_buffer_string(m) for m in messages]
            return _call(handler, "on_llm_start", serialized, prompts, **kwargs)
        return None
    except Exception:
        if handler.raise_error:
            raise
        return None


class CallbackManager:
    """Fans one run's events out to its handlers; a failing handler never breaks the call."""

    __slots__ = ("handlers", "run_id", "tags", "metadata")

    def __init__(
        self, handlers: list[BaseCallbackHandler], run_id: UUID, tags: list[str], metadata: dict[str, Any]
    ):
        self.handlers = handlers
        self.run_id = run_id
        self.tags = tags
        self.metadata = metadata

    def _kwargs(self, hook: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        if hook.endswith("_start"):  # as in LangChain, metadata goes to the start hooks only
            kwargs = {"metadata": self.metadata, **kwargs}
        return kwargs

    def emit(self, hook: str, *args: Any, **kwargs: Any) -> None:
        kwargs = self._kwargs(hook, kwargs)
        for h in self.handlers:
            res = _call(h, hook, *args, run_id=self.run_id, tags=self.tags, **kwargs)
            if hasattr(res, "__await__"):
                res.close()  # an async handler called from sync code: nothing to run it on

    async def aemit(self, hook: str, *args: Any, **kwargs: Any) -> None:
        kwargs = self._kwargs(hook, kwargs)
        for h in self.handlers:
            res = _call(h, hook, *args, run_id=self.run_id, tags=self.tags, **kwargs)
            if hasattr(res, "__await__"):
                try:
                    await res
                except Exception:
                    if h.raise_error:
                        raise
