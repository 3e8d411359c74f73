"""Any client: while a cassette is active, every `httpx`, `httpx2` and `aiohttp` client in the process sends
through it (aiohttp: see `aio`).

As vcrpy does, the real transports are patched at the class level — `httpx.HTTPTransport.handle_request`,
`httpx.AsyncHTTPTransport.handle_async_request` and the same two of `httpx2` (pydantic's fork of httpx,
which openai >= 3 and anthropic >= 1 send through) — so clients made before the block are covered too.
The patch is installed when the first cassette is entered and removed when the last one leaves
(reference-counted, thread-safe), or, while something `hold`s it (the pytest plugin, for its session:
one cassette per test would otherwise patch and unpatch per test), when that lets go. The patched method reads the interceptor of the *current context*
(`harness.http.current_interceptor`): with none, it calls the original, so code outside any cassette, and
concurrent cells or tests with cassettes of their own, are untouched.

Requests harness's own `HarnessTransport` already handed to the interceptor carry the `harness_routed`
extension and pass straight through. An `httpx2` request is converted to an `httpx.Request` for the
interceptor, and its answer back to an `httpx2.Response` whose body streams chunk by chunk as it arrives
(nothing is buffered, so time to first token is the live one).

A miss raised for another library's client — or a refused write (`SecretLeakError`, raised when a
recorded body closes) — leaves as `CassetteSignal`, a BaseException: the SDKs' retry loops catch
`Exception` and would retry (re-sending a leaking request live), then report "Connection error".
`use_cassette`, the pytest plugin and the runner turn it back into the error it carries (`unwrap`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx

from harness.cassettes import outside
from harness.errors import CassetteError, CassetteMissError, CassetteSignal, SecretLeakError
from harness.http import ROUTED, Interceptor, current_interceptor, response_info, sending_live

try:
    import httpx2
except ImportError:  # pragma: no cover - httpx2 comes with the SDKs that need it
    httpx2 = None  # type: ignore[assignment]

_lock = threading.Lock()
_users = 0  # active cassettes
_holders = 0  # holders keeping the patch between cassettes
_patched = False
_saved: list[tuple[type, str, Any]] = []


def acquire() -> None:
    """A cassette became active: patch the transports if it is the first."""
    global _users, _patched
    with _lock:
        _users += 1
        if _users == 1:
            if not _patched:
                _install()
                _patched = True
            outside.arm(True)


def release() -> None:
    """A cassette left: unpatch when it was the last and nothing holds the patch."""
    global _users
    with _lock:
        _users -= 1
        if _users == 0:
            outside.arm(False)
            if not _holders:
                _uninstall()


def hold() -> None:
    """Keep the patch installed once a cassette installs it, until `let_go`. Between cassettes the
    patched methods see no cassette and call the originals, as unpatched ones would."""
    global _holders
    with _lock:
        _holders += 1


def let_go() -> None:
    global _holders
    with _lock:
        _holders -= 1
        if not _holders and not _users:
            _uninstall()


def _uninstall() -> None:
    global _patched
    from harness.cassettes import aio

    aio.uninstall()
    for cls, name, original in reversed(_saved):
        setattr(cls, name, original)
    _saved.clear()
    _patched = False


def unwrap(exc: BaseException | None) -> CassetteError | None:
    """The error a CassetteSignal carries (None for anything else)."""
    return exc.error if isinstance(exc, CassetteSignal) else None


def _patch(cls: type, name: str, make: Callable[[Any], Any]) -> None:
    original = cls.__dict__[name]
    _saved.append((cls, name, original))
    setattr(cls, name, make(original))


def _install() -> None:
    _patch(httpx.HTTPTransport, "handle_request", _sync_httpx)
    _patch(httpx.AsyncHTTPTransport, "handle_async_request", _async_httpx)
    if httpx2 is not None:
        _patch(httpx2.HTTPTransport, "handle_request", _sync_httpx2)
        _patch(httpx2.AsyncHTTPTransport, "handle_async_request", _async_httpx2)
    from harness.cassettes import aio  # imports clients: here, not at the top

    aio.install(_patch, _patch_if_active)  # aiohttp: now if imported, else when it is


def _patch_if_active(cls: type, name: str, make: Callable[[Any], Any]) -> None:
    """`_patch` from an import made later, in any thread: only while the patch is still installed."""
    with _lock:
        if _patched and not any(c is cls and n == name for c, n, _ in _saved):
            _patch(cls, name, make)


# --- httpx ---------------------------------------------------------------------------------------------


class _Original(httpx.BaseTransport):
    """The real transport, unpatched: what the interceptor calls when it must go live."""

    def __init__(self, transport: Any, original: Any) -> None:
        self.transport, self.original = transport, original

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with outside.expected(request.url.host):
            return self.original(self.transport, request)  # type: ignore[no-any-return]


class _AsyncOriginal(httpx.AsyncBaseTransport):
    def __init__(self, transport: Any, original: Any) -> None:
        self.transport, self.original = transport, original

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        with outside.expected(request.url.host):
            return await self.original(self.transport, request)  # type: ignore[no-any-return]


def _cassette_for(request: Any) -> Interceptor | None:
    """The cassette of this context, or None to send the request straight to the real transport: no
    cassette here (said once for a provider host while one is active elsewhere), or harness's own
    transport already handed it to the cassette, or the cassette is sending it live through a transport
    that uses this client underneath."""
    icp = current_interceptor()
    if icp is None:
        outside.without_cassette(request.url.host)
        return None
    return None if request.extensions.get(ROUTED) or sending_live() else icp


def _sync_httpx(original: Any) -> Any:
    def handle_request(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        icp = _cassette_for(request)
        if icp is None:
            return _Original(self, original).handle_request(request)
        with as_signal():
            return _signalling(icp.handle(request, _Original(self, original)))

    return handle_request


def _async_httpx(original: Any) -> Any:
    async def handle_async_request(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        icp = _cassette_for(request)
        if icp is None:
            return await _AsyncOriginal(self, original).handle_async_request(request)
        with as_signal():
            return _signalling(await icp.ahandle(request, _AsyncOriginal(self, original)))

    return handle_async_request


@contextlib.contextmanager
def as_signal() -> Iterator[None]:
    """A miss or a refused write raised inside another library's client leaves as CassetteSignal."""
    try:
        yield
    except (CassetteMissError, SecretLeakError) as e:
        raise CassetteSignal(e) from None


class _SignalOnClose(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A recorded body whose close may refuse the write (SecretLeakError): carried past retry loops too."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __iter__(self) -> Iterator[bytes]:
        yield from self.inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.inner:
            yield chunk

    def close(self) -> None:
        with as_signal():
            self.inner.close()

    async def aclose(self) -> None:
        with as_signal():
            await self.inner.aclose()


def _signalling(response: httpx.Response) -> httpx.Response:
    if response_info(response).get("state") == "recorded":
        response.stream = _SignalOnClose(response.stream)
    return response


# --- httpx2: converted to httpx for the interceptor, and back --------------------------------------------


def _as_httpx_request(request: Any, body: bytes) -> httpx.Request:
    return httpx.Request(
        request.method,
        str(request.url),
        headers=request.headers.raw,
        content=body,
        extensions=dict(request.extensions),
    )


def _as_httpx_response(response: Any, request: httpx.Request, stream: Any) -> httpx.Response:
    return httpx.Response(
        response.status_code,
        headers=response.headers.raw,
        stream=stream,
        extensions=dict(response.extensions),
        request=request,
    )


def _as_httpx2_response(response: httpx.Response, stream: Any) -> Any:
    assert httpx2 is not None
    return httpx2.Response(
        response.status_code,
        headers=response.headers.raw,
        stream=stream,
        extensions=dict(response.extensions),
    )


class _Forward:
    """A body read chunk by chunk from another library's stream (httpx <-> httpx2), closed with it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __iter__(self) -> Iterator[bytes]:
        yield from self.inner

    def close(self) -> None:
        self.inner.close()


class _AsyncForward:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.inner:
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()


class _FromHttpx2(_Forward, httpx.SyncByteStream):
    """An httpx2 body as an httpx one."""


class _AsyncFromHttpx2(_AsyncForward, httpx.AsyncByteStream):
    """An httpx2 async body as an httpx one."""


class _Original2(httpx.BaseTransport):
    """The real httpx2 transport, sending the original httpx2 request (its body already read)."""

    def __init__(self, transport: Any, original: Any, request: Any) -> None:
        self.transport, self.original, self.request = transport, original, request

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with outside.expected(request.url.host):
            response = self.original(self.transport, self.request)
        return _as_httpx_response(response, request, _FromHttpx2(response.stream))


class _AsyncOriginal2(httpx.AsyncBaseTransport):
    def __init__(self, transport: Any, original: Any, request: Any) -> None:
        self.transport, self.original, self.request = transport, original, request

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        with outside.expected(request.url.host):
            response = await self.original(self.transport, self.request)
        return _as_httpx_response(response, request, _AsyncFromHttpx2(response.stream))


if httpx2 is not None:
    # made once here, not per patch: a class statement costs about as much as a replayed call's parse

    class _ToHttpx2(_Forward, httpx2.SyncByteStream):  # type: ignore[misc, name-defined]
        """An httpx body as an httpx2 one; its close may carry a refused write (see `as_signal`)."""

        def close(self) -> None:
            with as_signal():
                super().close()

    class _AsyncToHttpx2(_AsyncForward, httpx2.AsyncByteStream):  # type: ignore[misc, name-defined]
        async def aclose(self) -> None:
            with as_signal():
                await super().aclose()


def _sync_httpx2(original: Any) -> Any:
    assert httpx2 is not None

    def handle_request(self: Any, request: Any) -> Any:
        icp = _cassette_for(request)
        if icp is None:
            with outside.expected(request.url.host):
                return original(self, request)
        converted = _as_httpx_request(request, request.read())
        with as_signal():
            response = icp.handle(converted, _Original2(self, original, request))
        return _as_httpx2_response(response, _ToHttpx2(response.stream))

    return handle_request


def _async_httpx2(original: Any) -> Any:
    assert httpx2 is not None

    async def handle_async_request(self: Any, request: Any) -> Any:
        icp = _cassette_for(request)
        if icp is None:
            with outside.expected(request.url.host):
                return await original(self, request)
        converted = _as_httpx_request(request, await request.aread())
        with as_signal():
            response = await icp.ahandle(converted, _AsyncOriginal2(self, original, request))
        return _as_httpx2_response(response, _AsyncToHttpx2(response.stream))

    return handle_async_request
