"""ChatModel: the LangChain-style model interface over one provider adapter and httpx.

Everything provider-specific is in the adapter (`harness.providers.*`); this module holds what is the
same for all of them: callbacks, rate limiting, retries with backoff, timing, streaming aggregation.
Every request goes through `harness.http.HarnessTransport`, so a cassette can record or replay it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any, cast

import httpx

from harness import callbacks as cb
from harness.errors import SecretLeakError
from harness.messages.core import AIMessage, AIMessageChunk, message_chunk_to_message
from harness.models.base import ChatModelBase
from harness.models.clients import aclose_response, close_response
from harness.models.retry import raise_if_replay_unreadable
from harness.models.timing import Clock as _Clock
from harness.models.timing import sum_chunks
from harness.providers.base import ChatRequest, ProviderAdapter, WireRequest
from harness.runnables import EVENT_FILTERS, ensure_config, event_included


class ChatModel(ChatModelBase):
    """A chat model of one provider. Build it with `init_chat_model("provider:model", ...)`."""

    # --- sync --------------------------------------------------------------------------------------

    def _send(self, request: ChatRequest, clock: _Clock) -> httpx.Response:
        adapter = self.adapter.route(request)
        wire = adapter.build_request(request)
        return self.retry_policy.call(self._send_once, self._clients.sync(), wire, adapter, clock)

    def _send_once(
        self, client: httpx.Client | None, wire: WireRequest, adapter: ProviderAdapter, clock: _Clock
    ) -> httpx.Response:
        try:
            response = self._clients.send(client, self._request(client, wire, adapter))
        except httpx.TransportError as e:
            raise self._transport_error(e) from e
        if response.status_code >= 400:
            try:
                raise self._error(response, response.read())
            finally:
                close_response(response)
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
                close_response(response)
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
                close_response(response)
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

    # --- async ---------------------------------------------------------------------------------

    async def _asend(self, request: ChatRequest, clock: _Clock) -> httpx.Response:
        adapter = self.adapter.route(request)
        wire = adapter.build_request(request)
        client = await self._clients.async_()
        return await self.retry_policy.acall(self._asend_once, client, wire, adapter, clock)

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
                await aclose_response(response)
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
                await aclose_response(response)
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
                await aclose_response(response)
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
