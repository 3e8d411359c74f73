"""The one HTTP path every model call takes.

Every ChatModel sends through a `HarnessTransport` (sync) or `AsyncHarnessTransport`. Each looks up the
*interceptor* active in the current context (a cassette, see `harness.cassettes`) and lets it handle
the request — record, replay or refuse — handing it the real transport to call when it must go live.
With no interceptor the request goes straight to the real transport. Interceptors are held in a
ContextVar so concurrent asyncio tasks (the runner's cells) each see their own cassette.

The chat layer marks each request it builds (request extensions): `harness_adapter` (the adapter that
built it, so the cassette layer need not guess it from the URL), `harness_secrets` (values a cassette
must never write), `harness_missing_key` (raised if the request would go live without its key) and
`harness_live_auth` (a `LiveAuth`, e.g. AWS SigV4, applied only here on the live path: replay never
looks for credentials). The transports mark what they hand on `harness_routed`, so the class-level
patches that route other clients' requests through the interceptor (`harness.cassettes.clients`) let
it pass.

Interceptors mark responses with `response.extensions["harness"]`, a dict the chat layer reads:
  {"state": "replayed" | "recorded" | "live", "cassette": str | None,
   "ttfb_ms": float, "total_ms": float, "chunk_offsets_ms": [float, ...]}  # recorded timings on replay

Answers of harness's provider emulator carry the header `EMULATOR_HEADER`; a cassette keeps it, so a
call replayed from a recording of the emulator is still known as emulated (`response_info`'s
"emulated", the timing's `emulated`, the report's banner).

May import: nothing from harness.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import httpx

EMULATOR_HEADER = "x-harness-emulator"  # set by harness.testing.ProviderEmulator on every answer


class Interceptor(Protocol):
    def handle(self, request: httpx.Request, inner: httpx.BaseTransport) -> httpx.Response: ...

    async def ahandle(self, request: httpx.Request, inner: httpx.AsyncBaseTransport) -> httpx.Response: ...


# set on each request a HarnessTransport hands on: the class-level patches of `harness.cassettes.clients`
# let it through, as the interceptor has already seen it
ROUTED = "harness_routed"

_interceptor: contextvars.ContextVar[Interceptor | None] = contextvars.ContextVar(
    "harness_interceptor", default=None
)


def current_interceptor() -> Interceptor | None:
    return _interceptor.get()


# set while an interceptor sends a request live through the real transport: a patched client layer below
# it (aiohttp under a custom httpx transport, say) lets the request pass, as the cassette already has it
_live: contextvars.ContextVar[bool] = contextvars.ContextVar("harness_sending_live", default=False)


def sending_live() -> bool:
    return _live.get()


@contextlib.contextmanager
def live_send() -> Iterator[None]:
    token = _live.set(True)
    try:
        yield
    finally:
        _live.reset(token)


@contextlib.contextmanager
def intercept(interceptor: Interceptor | None) -> Iterator[None]:
    """Route every model call made in this context (and tasks started from it) through `interceptor`."""
    token = _interceptor.set(interceptor)
    try:
        yield
    finally:
        _interceptor.reset(token)


class LiveAuth(httpx.Auth):
    """Authentication applied by the live transport just before a request leaves, never on replay, so
    credentials are looked up only for live calls. Its flow must yield the request once (signing);
    `secrets()` names the values it has used, so a cassette refuses to write them."""

    def secrets(self) -> tuple[str, ...]:
        return ()


def _go_live(request: httpx.Request) -> None:
    """Refuse to send a request live when it was built without its API key; apply its live auth."""
    missing = request.extensions.get("harness_missing_key")
    if missing is not None:
        raise missing
    auth = request.extensions.get("harness_live_auth")
    if auth is None:
        return
    # the sync flow in the async transport too: a lookup (botocore's chain) happens once per model and
    # signing is CPU only, as when the adapter signed while building the request
    flow = auth.sync_auth_flow(request)
    try:
        next(flow)
    finally:
        flow.close()
    # the request object is the one a recording cassette holds: it reads these when it writes
    request.extensions["harness_secrets"] = (*request.extensions.get("harness_secrets", ()), *auth.secrets())


class _LiveTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        _go_live(request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


class _AsyncLiveTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        _go_live(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class LazyTransport(httpx.BaseTransport):
    """A transport made on its first request. A replayed call never reaches it, so a process that
    only replays never builds a connection pool or a TLS context (loading the CA bundle and
    importing httpcore cost the first call of a process some 60 ms)."""

    def __init__(self, factory: Callable[[], httpx.BaseTransport]) -> None:
        self._factory = factory
        self._inner: httpx.BaseTransport | None = None
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        inner = self._inner
        if inner is None:
            with self._lock:
                if self._inner is None:
                    self._inner = self._factory()
                inner = self._inner
        return inner.handle_request(request)

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()


class AsyncLazyTransport(httpx.AsyncBaseTransport):
    """`LazyTransport` for async clients (one event loop each: no lock needed)."""

    def __init__(self, factory: Callable[[], httpx.AsyncBaseTransport]) -> None:
        self._factory = factory
        self._inner: httpx.AsyncBaseTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._inner is None:
            self._inner = self._factory()
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        if self._inner is not None:
            await self._inner.aclose()


class HarnessTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport | None = None) -> None:
        self.inner = _LiveTransport(inner or httpx.HTTPTransport())

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.extensions[ROUTED] = True
        icp = _interceptor.get()
        if icp is not None:
            return icp.handle(request, self.inner)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


class AsyncHarnessTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.inner = _AsyncLiveTransport(inner or httpx.AsyncHTTPTransport())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.extensions[ROUTED] = True
        icp = _interceptor.get()
        if icp is not None:
            return await icp.ahandle(request, self.inner)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def response_info(response: httpx.Response) -> dict[str, Any]:
    """The interceptor's marks on a response ({} for a plain live call)."""
    info = response.extensions.get("harness")
    return info if isinstance(info, dict) else {}


def loads_or_text(body: bytes | str) -> Any:
    """Parse JSON; fall back to the decoded text when the body is not JSON (error pages)."""
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            return body
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body
