"""ChatModel: the LangChain-style model interface over one provider adapter and httpx.

Everything provider-specific is in the adapter (`harness.providers.*`); this module holds what is the
same for all of them: callbacks, rate limiting, retries with backoff, timing, streaming aggregation.
Every request goes through `harness.http.HarnessTransport`, so a cassette can record or replay it.
"""

from __future__ import annotations

import dataclasses
import functools
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any, cast

import httpx

from harness import callbacks as cb
from harness.aws import SigV4Auth
from harness.errors import (
    ModelAPIError,
    ModelConnectionError,
    ModelError,
    ModelTimeoutError,
    SecretLeakError,
    UnsupportedFeatureError,
)
from harness.messages.convert import convert_to_messages
from harness.messages.core import AIMessage, AIMessageChunk, BaseMessage, message_chunk_to_message
from harness.models.binding import ChatSurface
from harness.models.clients import HttpClients
from harness.models.retry import RetryPolicy
from harness.models.timing import Clock as _Clock
from harness.models.timing import sum_chunks
from harness.providers import get_adapter_class
from harness.providers.base import ChatRequest, ProviderAdapter, ResponseFormat, WireRequest
from harness.redaction import mask_data, mask_text
from harness.runnables import Runnable, ensure_config

# the headers an httpx client adds by default
_CLIENT_HEADERS = {
    "accept": "*/*",
    "accept-encoding": "gzip, deflate",
    "connection": "keep-alive",
    "user-agent": f"python-httpx/{httpx.__version__}",
}


# call kwargs the chat layer consumes itself; everything else is a request parameter
_REQUEST_FIELDS = ("tools", "tool_choice", "parallel_tool_calls", "response_format")


@functools.lru_cache(maxsize=512)
def _url(url: str) -> httpx.URL:
    """A parsed URL, shared by every request to it (an httpx.URL is immutable)."""
    return httpx.URL(url)


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
        **params: Any,
    ) -> None:
        adapter_cls = get_adapter_class(model_provider, model=model)
        adapter_cls = adapter_cls.select(params) if hasattr(adapter_cls, "select") else adapter_cls
        settings = {k: params.pop(k) for k in list(params) if k in adapter_cls.settings_keys}
        self.adapter: ProviderAdapter = adapter_cls(
            model=model, api_key=api_key, base_url=base_url, **settings
        )
        signing = self.adapter.signing()
        self._live_auth = SigV4Auth(self.adapter.name, signing) if signing is not None else None
        self.model = model
        self.model_provider = adapter_cls.name
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
        self.params = {k: v for k, v in params.items() if v is not None}
        self.model_kwargs = dict(model_kwargs or {})
        self._clients = HttpClients(
            timeout=timeout,
            http_client=http_client,
            http_async_client=http_async_client,
            transport=transport,
            async_transport=async_transport,
        )

    # --- plumbing ---------------------------------------------------------------------------------

    @property
    def _extensions(self) -> dict[str, Any]:
        # the cassette layer reads the adapter that built the request (no guessing from the URL) and
        # refuses to write any of these secrets; the live transport refuses to send a request built
        # without its key, and applies the live auth (credentials looked up only for a live call)
        ext: dict[str, Any] = {
            "harness_adapter": self.adapter,
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
            raise UnsupportedFeatureError(self.model_provider, "parallel_tool_calls")
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

    def _request(self, client: httpx.Client | httpx.AsyncClient, wire: WireRequest) -> httpx.Request:
        if self._clients.is_users(client):
            return client.build_request(
                wire.method,
                wire.url,
                headers=wire.headers,
                content=wire.body_bytes(),
                extensions=self._extensions,
            )
        # our own clients have no base_url, auth or cookies to merge: skip httpx's merging (about a
        # tenth of a replayed call's CPU), and parse each endpoint's URL once
        return httpx.Request(
            wire.method,
            _url(wire.url),
            headers={**_CLIENT_HEADERS, **wire.headers},
            content=wire.body_bytes(),
            extensions=self._extensions,
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
        wire = self.adapter.build_request(request)
        return self.retry_policy.call(self._send_once, self._clients.sync(), wire, clock)

    def _send_once(self, client: httpx.Client, wire: WireRequest, clock: _Clock) -> httpx.Response:
        try:
            response = self._clients.send(client, self._request(client, wire))
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
            message = self._finish(self._parse(body), clock, manager.run_id)
        except BaseException as e:
            manager.emit("on_llm_error", e)
            if isinstance(e, SecretLeakError):
                raise e.with_traceback(None)  # noqa: B904  (the frames below hold the refused bytes)
            raise
        manager.emit("on_llm_end", cb.LLMResult([[cb.ChatGeneration(message)]]))
        return message

    def _parse(self, body: bytes) -> AIMessage:
        from harness.http import loads_or_text

        data = loads_or_text(body)
        if not isinstance(data, (dict, list)):
            raise ModelAPIError(
                f"expected a JSON body, received {body[:200]!r}", provider=self.model_provider
            )
        return self.adapter.parse_response(data)

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
            decoder = self.adapter.stream_decoder()
            try:
                for raw in response.iter_raw():
                    for chunk in self._chunks(decoder.feed(raw), clock, manager):
                        seen.append(chunk)
                        yield chunk
                    clock.chunk_index += 1
                tail = decoder.close()
            except httpx.TransportError as e:
                raise self._transport_error(e) from e
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
        wire = self.adapter.build_request(request)
        client = await self._clients.async_()
        return await self.retry_policy.acall(self._asend_once, client, wire, clock)

    async def _asend_once(
        self, client: httpx.AsyncClient, wire: WireRequest, clock: _Clock
    ) -> httpx.Response:
        try:
            response = await self._clients.asend(client, self._request(client, wire))
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
            message = self._finish(self._parse(body), clock, manager.run_id)
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
            decoder = self.adapter.stream_decoder()
            try:
                async for raw in response.aiter_raw():
                    for chunk in self._chunks(decoder.feed(raw), clock, manager):
                        seen.append(chunk)
                        yield chunk
                    clock.chunk_index += 1
                tail = decoder.close()
            except httpx.TransportError as e:
                raise self._transport_error(e) from e
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
        """on_chat_model_start / on_chat_model_stream (one per chunk) / on_chat_model_end."""
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
