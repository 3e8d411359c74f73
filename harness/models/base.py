"""ChatModelBase: what every call of a ChatModel shares, sync or async — the model's settings
(adapter, parameters, profile, callbacks, retry policy, HTTP clients), preparing a call (the request,
its callback manager), and turning bytes and failures into messages and errors. `chat.ChatModel` adds
the calls themselves (invoke / stream and their async twins), as httpx's BaseClient and Client.
"""

from __future__ import annotations

import copy
import dataclasses
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

import httpx
from typing_extensions import Self

from harness import callbacks as cb
from harness.aws import SigV4Auth
from harness.errors import ConfigurationError, ModelAPIError, ModelError
from harness.messages.convert import convert_to_messages
from harness.messages.core import AIMessage, AIMessageChunk, BaseMessage
from harness.models.binding import ChatSurface
from harness.models.calls import (
    chat_request,
    http_request,
    request_extensions,
    response_error,
    transport_error,
)
from harness.models.clients import HttpClients
from harness.models.params import move_unknown, proxy_setting
from harness.models.retry import RetryPolicy
from harness.models.timing import Clock as _Clock
from harness.models.timing import sum_chunks
from harness.profiles import checked_profile, model_profile
from harness.providers import get_adapter_class
from harness.providers.base import ChatRequest, ProviderAdapter, WireRequest
from harness.runnables import Runnable, ensure_config

if TYPE_CHECKING:
    from harness.models.chat import ChatModel


class ChatModelBase(ChatSurface, Runnable):
    """The settings and the call plumbing of a ChatModel (see `harness.models.chat.ChatModel`)."""

    def __init__(
        self,
        *,
        model: str,
        model_provider: str,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = 600.0,
        max_retries: int = 2,
        rate_limiter: Any = None,
        callbacks: list[Any] | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        streaming: bool = False,
        disable_streaming: bool | str = False,
        model_kwargs: dict[str, Any] | None = None,
        http_client: httpx.Client | None = None,
        http_async_client: httpx.AsyncClient | None = None,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
        proxy: str | None = None,
        profile: dict[str, Any] | None = None,
        **params: Any,
    ) -> None:
        adapter_cls = get_adapter_class(model_provider, model=model)
        own_http = http_client or http_async_client or transport or async_transport
        proxy = proxy_setting(proxy, params, own_http, adapter_cls.proxy_env)
        adapter_cls = adapter_cls.select(params) if hasattr(adapter_cls, "select") else adapter_cls
        settings = {k: params.pop(k) for k in list(params) if k in adapter_cls.settings_keys}
        self.adapter: ProviderAdapter = adapter_cls(
            model=model, api_key=api_key, base_url=base_url, **settings
        )
        signing = self.adapter.signing()
        self._live_auth = SigV4Auth(self.adapter.name, signing) if signing is not None else None
        self.model = model
        self.model_provider = adapter_cls.name
        # LangChain's `model.profile`: the packaged entry, or the user's own dict
        self.profile: dict[str, Any] = (
            checked_profile(profile) if profile is not None else model_profile(self.model_provider, model)
        )
        self.timeout = timeout
        self.retry_policy = RetryPolicy(max_retries=max_retries)
        self.rate_limiter = rate_limiter
        self.callbacks = list(callbacks or [])
        self.tags = list(tags or [])
        self.metadata = dict(metadata or {})
        self.streaming = streaming
        self.disable_streaming = disable_streaming
        if "stop_sequences" in params:
            params["stop"] = params.pop("stop_sequences")
        self.model_kwargs = dict(model_kwargs or {})
        self.params = {k: v for k, v in params.items() if v is not None}
        move_unknown(self.params, self.model_kwargs, adapter_cls.known_params, adapter_cls.name)
        self._clients = HttpClients(
            timeout=timeout,
            http_client=http_client,
            http_async_client=http_async_client,
            transport=transport,
            async_transport=async_transport,
            proxy=proxy,
        )

    # --- plumbing ---------------------------------------------------------------------------------

    def _extensions(self, adapter: ProviderAdapter) -> dict[str, Any]:
        return request_extensions(self.adapter, adapter, self._live_auth)

    @property
    def model_name(self) -> str:
        return self.model

    @property
    def capabilities(self) -> Any:
        return self.adapter.capabilities

    def is_server_tool(self, tool: Any) -> bool:
        """Whether `tool` is the provider's own server-side tool dict, sent as given by `bind_tools`."""
        return bool(self.adapter.is_server_tool(tool))

    @property
    def default_structured_method(self) -> str:
        """`with_structured_output`'s method when none is given: the provider's native one."""
        return self.adapter.default_structured_method

    @property
    def _chat_model(self) -> ChatModel:
        return cast("ChatModel", self)

    def __repr__(self) -> str:
        return f"ChatModel({self.model_provider}:{self.model})"

    @property
    def max_retries(self) -> int:
        """Retries after the first attempt (LangChain's meaning); setting it changes `retry_policy`."""
        return self.retry_policy.max_retries

    @max_retries.setter
    def max_retries(self, value: int) -> None:
        self.retry_policy = dataclasses.replace(self.retry_policy, max_retries=value)

    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy with some attributes replaced, as pydantic's `model_copy` on a LangChain model
        (`model.model_copy(update={"profile": {...}})`); it shares this model's HTTP clients."""
        if deep:
            raise ConfigurationError("model_copy(deep=True) is not supported: a model's clients are shared")
        new = copy.copy(self)
        for name, value in (update or {}).items():
            if name.startswith("_") or not hasattr(self, name):
                raise ConfigurationError(
                    f"model_copy(update=...) cannot set {name!r}: not an attribute of {self!r}"
                )
            setattr(new, name, checked_profile(value) if name == "profile" else value)
        return new

    def close(self) -> None:
        """Close the sync HTTP client this model made (never one passed in); the model stays usable."""
        self._clients.close()

    async def aclose(self) -> None:
        """Close the sync client and this event loop's async clients that this model made."""
        await self._clients.aclose()

    def _prepare(
        self, input: Any, config: dict[str, Any] | None, kwargs: dict[str, Any], *, stream: bool
    ) -> tuple[list[BaseMessage], ChatRequest, cb.CallbackManager, dict[str, Any]]:
        messages = convert_to_messages(input)
        config = ensure_config(config)
        request = chat_request(
            self.adapter,
            self.model_provider,
            self.model,
            messages,
            {**self.params, **kwargs},
            self.model_kwargs,
            stream=stream,
        )
        handlers = [*self.callbacks, *(config.get("callbacks") or []), *cb.context_handlers()]
        metadata = {
            **self.metadata,
            **config["metadata"],
            "ls_provider": self.model_provider,
            "ls_model_name": self.model,
            "ls_model_type": "chat",
        }
        run_id = config.get("run_id") or uuid.uuid4()
        manager = cb.CallbackManager(handlers, run_id, [*self.tags, *config["tags"]], metadata)
        return messages, request, manager, config

    def _use_stream(self, kwargs: dict[str, Any]) -> bool:
        if kwargs.get("stream") is False or not self.adapter.capabilities.streaming:
            return False
        return not (
            self.disable_streaming is True
            or (self.disable_streaming == "tool_calling" and kwargs.get("tools"))
        )

    def _start_kwargs(self, request: ChatRequest, config: dict[str, Any]) -> dict[str, Any]:
        return {
            "invocation_params": {"model": self.model, "provider": self.model_provider, **request.params},
            "name": config.get("run_name") or "ChatModel",
            "batch_size": 1,
        }

    def _request(
        self, client: httpx.Client | httpx.AsyncClient | None, wire: WireRequest, adapter: ProviderAdapter
    ) -> httpx.Request:
        extensions = self._extensions(adapter)
        if client is None:  # sent straight to a transport: the timeout a client's send would add
            extensions["timeout"] = self._clients.timeout_extension
        users = client is not None and self._clients.is_users(client)
        return http_request(client, users, wire, extensions)

    def _error(self, response: httpx.Response, body: bytes) -> ModelError:
        return response_error(self.adapter, response, body)

    def _transport_error(self, exc: Exception) -> ModelError:
        return transport_error(exc, self.adapter, self.model_provider, self.timeout)

    def _finish(
        self, message: AIMessage, clock: _Clock, run_id: uuid.UUID, index: int | None = 0
    ) -> AIMessage:
        if not message.id:
            message.id = f"lc_run--{run_id}" + (f"-{index}" if index is not None else "")
        message.response_metadata["timing"] = clock.timing()
        return message

    def _parse(self, body: bytes, request: ChatRequest) -> AIMessage:
        from harness.http import loads_or_text

        data = loads_or_text(body)
        if not isinstance(data, (dict, list)):
            raise ModelAPIError(
                f"expected a JSON body, received {body[:200]!r}", provider=self.model_provider
            )
        return self.adapter.route(request).parse_response(data)

    @staticmethod
    def _aggregate(chunks: Any) -> AIMessageChunk:
        return sum_chunks(list(chunks))

    def _chunks(
        self, chunks: list[AIMessageChunk], clock: _Clock, manager: cb.CallbackManager
    ) -> Iterator[AIMessageChunk]:
        for chunk in chunks:
            if chunk.content or chunk.tool_call_chunks:
                clock.token()
            if not chunk.id:
                chunk.id = f"lc_run--{manager.run_id}"
            manager.emit("on_llm_new_token", chunk.content, chunk=chunk)
            yield chunk

    def _last_chunk(self, clock: _Clock, run_id: uuid.UUID) -> AIMessageChunk:
        return AIMessageChunk(
            content="",
            id=f"lc_run--{run_id}",
            chunk_position="last",
            response_metadata={"timing": clock.timing()},
        )
