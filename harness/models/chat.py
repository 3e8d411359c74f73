"""ChatModel: the LangChain-style model interface over one provider adapter and httpx.

Everything provider-specific is in the adapter (`harness.providers.*`); this module holds what is the
same for all of them: callbacks, rate limiting, retries with backoff, timing, streaming aggregation.
Every request goes through `harness.http.HarnessTransport`, so a cassette can record or replay it.
"""

from __future__ import annotations

import copy
import dataclasses
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any, cast

import httpx

from harness import callbacks as cb
from harness.aws import SigV4Auth
from harness.errors import (
    ConfigurationError,
    ModelAPIError,
    ModelConnectionError,
    ModelError,
    ModelTimeoutError,
    SecretLeakError,
    UnsupportedFeatureError,
)
from harness.messages.convert import convert_to_messages
from harness.messages.core import AIMessage, AIMessageChunk, BaseMessage, message_chunk_to_message
from harness.models.binding import ChatSurface, unsupported_parallel
from harness.models.clients import HttpClients
from harness.models.params import move_unknown, proxy_setting
from harness.models.retry import RetryPolicy, raise_if_replay_unreadable
from harness.models.timing import Clock as _Clock
from harness.models.timing import sum_chunks
from harness.profiles import checked_profile, model_profile
from harness.providers import get_adapter_class
from harness.providers.base import ChatRequest, ProviderAdapter, ResponseFormat, WireRequest
from harness.redaction import mask_data, mask_text
from harness.runnables import EVENT_FILTERS, Runnable, ensure_config, event_included

# the headers an httpx client adds by default
_CLIENT_HEADERS = {
    "accept": "*/*",
    "accept-encoding": "gzip, deflate",
    "connection": "keep-alive",
    "user-agent": f"python-httpx/{httpx.__version__}",
}


# call kwargs the chat layer consumes itself; everything else is a request parameter
_REQUEST_FIELDS = ("tools", "tool_choice", "parallel_tool_calls", "response_format")


class ChatModel(ChatSurface, Runnable):
    """A chat model of one provider. Build it with `init_chat_model("provider:model", ...)`."""

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
        # the cassette layer reads the adapter that built the request (no guessing from the URL) and
        # refuses to write any of these secrets; the live transport refuses to send a request built
        # without its key, and applies the live auth (credentials looked up only for a live call)
        ext: dict[str, Any] = {
            "harness_adapter": adapter,
            "harness_secrets": tuple(s for s in self.adapter.secrets() if s),
        }
        if self.adapter.missing_key is not None:
            ext["harness_missing_key"] = self.adapter.missing_key
        if self._live_auth is not None:
            ext["harness_live_auth"] = self._live_auth
        return ext

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
        return self

    def __repr__(self) -> str:
        return f"ChatModel({self.model_provider}:{self.model})"

    @property
    def max_retries(self) -> int:
        """Retries after the first attempt (LangChain's meaning); setting it changes `retry_policy`."""
        return self.retry_policy.max_retries

    @max_retries.setter
    def max_retries(self, value: int) -> None:
        self.retry_policy = dataclasses.replace(self.retry_policy, max_retries=value)

    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> ChatModel:
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
        call = {**self.params, **kwargs}
        fields = {k: call.pop(k, None) for k in _REQUEST_FIELDS}
        call.pop("stream", None)
        caps = self.adapter.capabilities
        if fields["tools"] and not caps.tools:
            raise UnsupportedFeatureError(self.model_provider, "tool calling")
        if fields["parallel_tool_calls"] is not None and not caps.parallel_tool_calls:
            raise UnsupportedFeatureError(
                self.model_provider, unsupported_parallel(fields["parallel_tool_calls"])
            )
        rf = fields["response_format"]
        if isinstance(rf, dict):
            rf = ResponseFormat(**rf)
        if rf is not None and (
            {"json_schema": "json_schema", "json_object": "json_mode"}[rf.type] not in caps.structured_output
        ):
            raise UnsupportedFeatureError(
                self.model_provider, f"structured output method {rf.type!r}", list(caps.structured_output)
            )
        request = ChatRequest(
            model=self.model,
            messages=messages,
            params=call,
            tools=fields["tools"],
            tool_choice=fields["tool_choice"],
            parallel_tool_calls=fields["parallel_tool_calls"],
            response_format=rf,
            stream=stream,
            extra_body=self.model_kwargs,
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
        self, client: httpx.Client | httpx.AsyncClient, wire: WireRequest, adapter: ProviderAdapter
    ) -> httpx.Request:
        if self._clients.is_users(client):
            return client.build_request(
                wire.method,
                wire.url,
                headers=wire.headers,
                content=wire.body_bytes(),
                extensions=self._extensions(adapter),
            )
        # our own clients have no base_url, auth or cookies to merge: skip httpx's merging (about a
        # tenth of a replayed call's CPU)
        return httpx.Request(
            wire.method,
            wire.url,
            headers={**_CLIENT_HEADERS, **wire.headers},
            content=wire.body_bytes(),
            extensions=self._extensions(adapter),
        )

    def _error(self, response: httpx.Response, body: bytes) -> ModelError:
        from harness.http import loads_or_text

        # a provider may echo the key it was sent (or refused): mask every known secret before the
        # message reaches results, reports, CI summaries or a terminal
        secrets = self.adapter.secrets()
        err = self.adapter.classify_error(
            response.status_code, response.headers, mask_data(loads_or_text(body), secrets)
        )
        err.args = tuple(mask_text(a, secrets) if isinstance(a, str) else a for a in err.args)
        err.response = response
        err.request_id = (
            err.request_id or response.headers.get("x-request-id") or response.headers.get("request-id")
        )
        return err

    def _transport_error(self, exc: Exception) -> ModelError:
        if isinstance(exc, httpx.TimeoutException):
            return ModelTimeoutError(
                f"no response within timeout={self.timeout}s ({type(exc).__name__})",
                provider=self.model_provider,
            )
        return ModelConnectionError(
            mask_text(f"{type(exc).__name__}: {exc}", self.adapter.secrets()), provider=self.model_provider
        )

    def _finish(
        self, message: AIMessage, clock: _Clock, run_id: uuid.UUID, index: int | None = 0
    ) -> AIMessage:
        if not message.id:
            message.id = f"lc_run--{run_id}" + (f"-{index}" if index is not None else "")
        message.response_metadata["timing"] = clock.timing()
        return message

    # --- sync --------------------------------------------------------------------------------------

    def _send(self, request: ChatRequest, clock: _Clock) -> httpx.Response:
        adapter = self.adapter.route(request)
        wire = adapter.build_request(request)
        return self.retry_policy.retrying()(self._send_once, self._clients.sync(), wire, adapter, clock)

    def _send_once(
        self, client: httpx.Client, wire: WireRequest, adapter: ProviderAdapter, clock: _Clock
    ) -> httpx.Response:
        try:
            response = self._clients.send(client, self._request(client, wire, adapter))
        except httpx.TransportError as e:
            raise self._transport_error(e) from e
        if response.status_code >= 400:
            try:
                raise self._error(response, response.read())
            finally:
                response.close()
        clock.attach(response)
        return response

    def invoke(
        self,
        input: Any,
        config: dict[str, Any] | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        if stop is not None:
            kwargs["stop"] = stop
        if (self.streaming or kwargs.get("stream") is True) and self._use_stream(kwargs):
            return cast(
                AIMessage, message_chunk_to_message(self._aggregate(self.stream(input, config, **kwargs)))
            )
        messages, request, manager, config = self._prepare(input, config, kwargs, stream=False)
        manager.emit(
            "on_chat_model_start", {"name": "ChatModel"}, [messages], **self._start_kwargs(request, config)
        )
        try:
            if self.rate_limiter is not None:
                self.rate_limiter.acquire(blocking=True)
            clock = _Clock()
            response = self._send(request, clock)
            try:
                body = response.read()
            except httpx.TransportError as e:
                raise self._transport_error(e) from e
            finally:
                response.close()
            try:
                parsed = self._parse(body, request)
            except Exception as e:
                raise_if_replay_unreadable(response, e, self.model_provider)
                raise
            message = self._finish(parsed, clock, manager.run_id)
        except BaseException as e:
            manager.emit("on_llm_error", e)
            if isinstance(e, SecretLeakError):
                raise e.with_traceback(None)  # noqa: B904  (the frames below hold the refused bytes)
            raise
        manager.emit("on_llm_end", cb.LLMResult([[cb.ChatGeneration(message)]]))
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

    def stream(
        self,
        input: Any,
        config: dict[str, Any] | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> Iterator[AIMessageChunk]:
        if stop is not None:
            kwargs["stop"] = stop
        if not self._use_stream(kwargs):
            msg = self.invoke(input, config, **{**kwargs, "stream": False})
            yield AIMessageChunk(**{**msg.model_dump(exclude={"type"}), "chunk_position": "last"})
            return
        messages, request, manager, config = self._prepare(input, config, kwargs, stream=True)
        manager.emit(
            "on_chat_model_start", {"name": "ChatModel"}, [messages], **self._start_kwargs(request, config)
        )
        seen: list[AIMessageChunk] = []
        try:
            if self.rate_limiter is not None:
                self.rate_limiter.acquire(blocking=True)
            clock = _Clock()
            response = self._send(request, clock)
            decoder = self.adapter.route(request).stream_decoder()
            try:
                for raw in response.iter_raw():
                    for chunk in self._chunks(decoder.feed(raw), clock, manager):
                        seen.append(chunk)
                        yield chunk
                    clock.chunk_index += 1
                tail = decoder.close()
            except httpx.TransportError as e:
                raise self._transport_error(e) from e
            except Exception as e:
                raise_if_replay_unreadable(response, e, self.model_provider)
                raise
            finally:
                response.close()
            for chunk in [*self._chunks(tail, clock, manager), self._last_chunk(clock, manager.run_id)]:
                seen.append(chunk)
                yield chunk
        except BaseException as e:
            manager.emit("on_llm_error", e)
            if isinstance(e, SecretLeakError):
                raise e.with_traceback(None)  # noqa: B904  (the frames below hold the refused bytes)
            raise
        manager.emit(
            "on_llm_end", cb.LLMResult([[cb.ChatGeneration(message_chunk_to_message(sum_chunks(seen)))]])
        )

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

    # --- async ---------------------------------------------------------------------------------

    async def _asend(self, request: ChatRequest, clock: _Clock) -> httpx.Response:
        adapter = self.adapter.route(request)
        wire = adapter.build_request(request)
        client = await self._clients.async_()
        return await self.retry_policy.aretrying()(self._asend_once, client, wire, adapter, clock)

    async def _asend_once(
        self, client: httpx.AsyncClient, wire: WireRequest, adapter: ProviderAdapter, clock: _Clock
    ) -> httpx.Response:
        try:
            response = await self._clients.asend(client, self._request(client, wire, adapter))
        except httpx.TransportError as e:
            raise self._transport_error(e) from e
        if response.status_code >= 400:
            try:
                raise self._error(response, await response.aread())
            finally:
                await response.aclose()
        clock.attach(response)
        return response

    async def ainvoke(
        self,
        input: Any,
        config: dict[str, Any] | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        if stop is not None:
            kwargs["stop"] = stop
        if (self.streaming or kwargs.get("stream") is True) and self._use_stream(kwargs):
            return cast(
                AIMessage,
                message_chunk_to_message(
                    sum_chunks([c async for c in self.astream(input, config, **kwargs)])
                ),
            )
        messages, request, manager, config = self._prepare(input, config, kwargs, stream=False)
        await manager.aemit(
            "on_chat_model_start", {"name": "ChatModel"}, [messages], **self._start_kwargs(request, config)
        )
        try:
            if self.rate_limiter is not None:
                await self.rate_limiter.aacquire(blocking=True)
            clock = _Clock()
            response = await self._asend(request, clock)
            try:
                body = await response.aread()
            except httpx.TransportError as e:
                raise self._transport_error(e) from e
            finally:
                await response.aclose()
            try:
                parsed = self._parse(body, request)
            except Exception as e:
                raise_if_replay_unreadable(response, e, self.model_provider)
                raise
            message = self._finish(parsed, clock, manager.run_id)
        except BaseException as e:
            await manager.aemit("on_llm_error", e)
            if isinstance(e, SecretLeakError):
                raise e.with_traceback(None)  # noqa: B904  (the frames below hold the refused bytes)
            raise
        await manager.aemit("on_llm_end", cb.LLMResult([[cb.ChatGeneration(message)]]))
        return message

    async def astream(
        self,
        input: Any,
        config: dict[str, Any] | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[AIMessageChunk]:
        if stop is not None:
            kwargs["stop"] = stop
        if not self._use_stream(kwargs):
            msg = await self.ainvoke(input, config, **{**kwargs, "stream": False})
            yield AIMessageChunk(**{**msg.model_dump(exclude={"type"}), "chunk_position": "last"})
            return
        messages, request, manager, config = self._prepare(input, config, kwargs, stream=True)
        await manager.aemit(
            "on_chat_model_start", {"name": "ChatModel"}, [messages], **self._start_kwargs(request, config)
        )
        seen: list[AIMessageChunk] = []
        try:
            if self.rate_limiter is not None:
                await self.rate_limiter.aacquire(blocking=True)
            clock = _Clock()
            response = await self._asend(request, clock)
            decoder = self.adapter.route(request).stream_decoder()
            try:
                async for raw in response.aiter_raw():
                    for chunk in self._chunks(decoder.feed(raw), clock, manager):
                        seen.append(chunk)
                        yield chunk
                    clock.chunk_index += 1
                tail = decoder.close()
            except httpx.TransportError as e:
                raise self._transport_error(e) from e
            except Exception as e:
                raise_if_replay_unreadable(response, e, self.model_provider)
                raise
            finally:
                await response.aclose()
            for chunk in [*self._chunks(tail, clock, manager), self._last_chunk(clock, manager.run_id)]:
                seen.append(chunk)
                yield chunk
        except BaseException as e:
            await manager.aemit("on_llm_error", e)
            if isinstance(e, SecretLeakError):
                raise e.with_traceback(None)  # noqa: B904  (the frames below hold the refused bytes)
            raise
        await manager.aemit(
            "on_llm_end", cb.LLMResult([[cb.ChatGeneration(message_chunk_to_message(sum_chunks(seen)))]])
        )

    async def astream_events(
        self, input: Any, config: dict[str, Any] | None = None, *, version: str = "v2", **kwargs: Any
    ) -> AsyncIterator[dict[str, Any]]:
        """on_chat_model_start / on_chat_model_stream (one per chunk) / on_chat_model_end, filtered by
        LangChain's include_names / include_types / include_tags / exclude_* (run type "chat_model")."""
        filters = {k: kwargs.pop(k) for k in EVENT_FILTERS if k in kwargs}
        async for event in self._events(input, config, **kwargs):
            if event_included(event, "chat_model", filters):
                yield event

    async def _events(
        self, input: Any, config: dict[str, Any] | None = None, **kwargs: Any
    ) -> AsyncIterator[dict[str, Any]]:
        cfg = ensure_config(config)
        run_id = str(cfg.get("run_id") or uuid.uuid4())
        base = {
            "name": cfg.get("run_name") or "ChatModel",
            "run_id": run_id,
            "parent_ids": [],
            "tags": [*self.tags, *cfg["tags"]],
            "metadata": {**cfg["metadata"], "ls_provider": self.model_provider, "ls_model_name": self.model},
        }
        yield {"event": "on_chat_model_start", **base, "data": {"input": input}}
        seen: list[AIMessageChunk] = []
        async for chunk in self.astream(input, {**cfg, "run_id": uuid.UUID(run_id)}, **kwargs):
            seen.append(chunk)
            yield {"event": "on_chat_model_stream", **base, "data": {"chunk": chunk}}
        yield {"event": "on_chat_model_end", **base, "data": {"output": sum_chunks(seen)}}
