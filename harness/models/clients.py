"""The httpx clients and transports one ChatModel sends through: made once, on first use, and always closed.

A sync call goes straight to the model's own `HarnessTransport` (an active cassette's interceptor,
else the live path): no `httpx.Client` sits in front of it, since the requests are built here with no
base URL, auth or cookies to merge, and a client's send (its auth and redirect flows, its cookie jar,
the stream wrapper that points back at the response) costs about a tenth of a replayed call. The transport,
and the live connections behind it, is the model's: made under a lock on first use (a first
concurrent batch would otherwise build one per thread, keeping only the last) and closed by
`close()`, or when the model is garbage-collected (LangChain users rarely close models).

A client the user passes in (`http_client=` / `http_async_client=`) builds and sends the requests
with its own settings (base URL, headers, auth, event hooks, proxies), but is reached through a
`HarnessTransport`, so an active cassette records and replays its calls like any other: the user's
`client.send` is the live path the interceptor calls when it must go live.

The live paths made here route requests the way a plain `httpx.Client` would: `proxy=` when given,
else `HTTP_PROXY` / `HTTPS_PROXY` / `ALL_PROXY` / `NO_PROXY` from the environment. httpx reads the
environment only when it builds its own transports, so each live path is a private plain httpx client
(`_OwnClientTransport`) built with the proxy and the timeout, which applies httpx's own rules; it sits
behind the `HarnessTransport`, so replay never reaches it (nor opens a socket).

An `httpx.AsyncClient` belongs to the event loop it first ran in, so each loop gets its own.
They are closed by `aclose()` in that loop, when the loop shuts down, or soon after the model is
garbage-collected while the loop runs. The loop-shutdown hook is an async generator parked at its
`yield`: `asyncio.run` (and `asyncio.Runner`, hence pytest-asyncio) closes every live async
generator of the loop before closing the loop, which runs the generator's `finally` there, in the
loop, where the clients can still be awaited. So `asyncio.run(model.ainvoke(...))` closes its
sockets, and a loop that makes many calls keeps its connections open between them. The parked
generators are held here, per loop, rather than by the model: the loop holds them only weakly, and
one must outlive a model dropped just before its loop ends.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import threading
import weakref
from collections.abc import AsyncGenerator

import httpx

from harness.http import AsyncHarnessTransport, AsyncLazyTransport, HarnessTransport, LazyTransport

_ASYNC_POOLS = 8


class _NoCookies(httpx.Cookies):
    """The cookie jar of the clients harness makes. Their requests are built without the client's
    cookies (`ChatModel._request`), so storing a response's cookies is of no use; skipping it saves a
    tenth of a replayed call (httpx wraps every response for http.cookiejar, Set-Cookie or not)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class _AsyncClient(httpx.AsyncClient):
    @property
    def cookies(self) -> httpx.Cookies:
        return _NO_COOKIES

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        raise TypeError("harness's own HTTP clients keep no cookies")


_NO_COOKIES = _NoCookies()
_ssl_lock = threading.Lock()
# per loop: the parked closers of its clients (see the module docstring)
_PARKED: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, set[AsyncGenerator[None, None]]] = (
    weakref.WeakKeyDictionary()
)
# closings started for garbage-collected models: a task the loop holds only weakly could vanish
_CLOSING: set[asyncio.Task[None]] = set()


@functools.lru_cache(maxsize=1)
def _build_ssl_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def ssl_context() -> ssl.SSLContext:
    """One verified TLS context for all pools (building one loads the CA bundle: ~20 ms each)."""
    with _ssl_lock:  # lru_cache alone lets concurrent first calls each build their own
        return _build_ssl_context()


async def _close_at_loop_shutdown(clients: list[httpx.AsyncClient]) -> AsyncGenerator[None, None]:
    # must not refer to the model or to _LoopClients: a cycle would keep them until the cyclic GC ran
    try:
        yield
    finally:
        for client in clients:
            await client.aclose()


class _LoopClients:
    """One event loop's async clients, and the parked generator that closes them."""

    def __init__(self, clients: list[httpx.AsyncClient]) -> None:
        self.clients = clients
        self.closer = _close_at_loop_shutdown(clients)
        self._next = 0

    async def park(self) -> None:
        _PARKED.setdefault(asyncio.get_running_loop(), set()).add(self.closer)
        await self.closer.__anext__()  # runs to its yield without suspending: no task can interleave

    async def aclose(self) -> None:
        _PARKED.get(asyncio.get_running_loop(), set()).discard(self.closer)
        await self.closer.aclose()

    def next(self) -> httpx.AsyncClient:
        self._next = (self._next + 1) % len(self.clients)
        return self.clients[self._next]


class _UserClientTransport(httpx.BaseTransport):
    """The live path through the user's client: its send applies its auth, hooks and redirects."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.client.send(request, stream=True)

    def close(self) -> None:
        return None  # the user's client is theirs to close


class _AsyncUserClientTransport(httpx.AsyncBaseTransport):
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.client.send(request, stream=True)

    async def aclose(self) -> None:
        return None


class _OwnClientTransport(_UserClientTransport):
    """The live path through a plain httpx client made here (its proxy mounts): closed with ours."""

    def close(self) -> None:
        self.client.close()


class _AsyncOwnClientTransport(_AsyncUserClientTransport):
    async def aclose(self) -> None:
        await self.client.aclose()


def _live_transport(proxy: str | None, timeout: float | None) -> httpx.BaseTransport:
    """The live path, made on the first live call: a plain httpx client, so its proxy (given, or from
    HTTP(S)_PROXY / ALL_PROXY / NO_PROXY by httpx's own rules) applies as plain httpx does. A function
    of values, not a method: the clients' finalizer must not keep the model alive."""
    return _OwnClientTransport(httpx.Client(verify=ssl_context(), proxy=proxy, timeout=timeout))


def _async_live_transport(proxy: str | None, timeout: float | None) -> httpx.AsyncBaseTransport:
    return _AsyncOwnClientTransport(httpx.AsyncClient(verify=ssl_context(), proxy=proxy, timeout=timeout))


class HttpClients:
    """The clients of one model: the user's own (never closed here) or ones made and closed here."""

    def __init__(
        self,
        *,
        timeout: float | None,
        http_client: httpx.Client | None = None,
        http_async_client: httpx.AsyncClient | None = None,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
        proxy: str | None = None,
    ) -> None:
        self.timeout = timeout
        self.proxy = proxy
        self.user_client = http_client
        self.user_async_client = http_async_client
        self._transport = transport
        self._async_transport = async_transport
        self._through_user_client = (
            HarnessTransport(_UserClientTransport(http_client)) if http_client else None
        )
        self._through_user_async_client = (
            AsyncHarnessTransport(_AsyncUserClientTransport(http_async_client)) if http_async_client else None
        )
        self._lock = threading.Lock()
        self._sync_transport: HarnessTransport | None = None
        self._close_sync: weakref.finalize | None = None
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClients] = (
            weakref.WeakKeyDictionary()
        )
        self._closes_loops = False  # the finalizer closing async clients: set with the first of them

    @functools.cached_property
    def timeout_extension(self) -> dict[str, float | None]:
        """The per-request `timeout` extension a client's send would set (transports read it)."""
        return httpx.Timeout(self.timeout).as_dict()

    def is_users(self, client: httpx.Client | httpx.AsyncClient) -> bool:
        return client is self.user_client or client is self.user_async_client

    def send(self, client: httpx.Client | None, request: httpx.Request) -> httpx.Response:
        """Send `request` (built by `client`, the user's; None: built here), streamed, through the
        active cassette if any."""
        if client is not None:  # the user's (`sync`): its send is the live path behind the cassette
            assert self._through_user_client is not None
            return self._through_user_client.handle_request(request)
        response = self._own_transport().handle_request(request)
        response.request = request  # as a client's send sets it (a transport= of the user's may not)
        return response

    async def asend(self, client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
        if client is self.user_async_client and self._through_user_async_client is not None:
            return await self._through_user_async_client.handle_async_request(request)
        return await client.send(request, stream=True)

    def sync(self) -> httpx.Client | None:
        """The client that builds and sends a sync call's requests: the user's, or None (built here and
        sent straight to this model's transport)."""
        return self.user_client

    def _own_transport(self) -> HarnessTransport:
        transport = self._sync_transport
        if transport is None:
            with self._lock:
                if self._sync_transport is None:
                    inner = self._transport or LazyTransport(
                        functools.partial(_live_transport, self.proxy, self.timeout)
                    )
                    self._sync_transport = HarnessTransport(inner)
                    self._close_sync = weakref.finalize(self, self._sync_transport.close)
                transport = self._sync_transport
        return transport

    async def async_(self) -> httpx.AsyncClient:
        if self.user_async_client is not None:
            return self.user_async_client
        loop = asyncio.get_running_loop()
        pools = self._loops.get(loop)
        if pools is None:
            with self._lock:
                pools = self._loops.get(loop)
                if pools is None:
                    pools = self._loops[loop] = _LoopClients(self._new_async_clients())
                    starting = True
                    if not self._closes_loops:  # a sync-only model (one per pytest test) needs none
                        weakref.finalize(self, _close_when_collected, self._loops)
                        self._closes_loops = True
                else:
                    starting = False
            if starting:
                await (
                    pools.closer.__anext__()
                )  # parks at its yield; never suspends, so no task can interleave
        return pools.next()

    def _new_async_clients(self) -> list[httpx.AsyncClient]:
        if self._async_transport is not None:
            transport = AsyncHarnessTransport(self._async_transport)
            return [_AsyncClient(transport=transport, timeout=self.timeout)]
        # httpcore assigns queued requests to connections in O(connections x requests); with dozens of
        # calls in flight that dominates the client's CPU, so spread them over a few small pools
        return [
            _AsyncClient(
                transport=AsyncHarnessTransport(
                    AsyncLazyTransport(functools.partial(_async_live_transport, self.proxy, self.timeout))
                ),
                timeout=self.timeout,
            )
            for _ in range(_ASYNC_POOLS)
        ]

    def close(self) -> None:
        """Close the sync transport made here (its live connections); the next sync call makes a new one."""
        with self._lock:
            close, self._close_sync, self._sync_transport = self._close_sync, None, None
        if close is not None:
            close()

    async def aclose(self) -> None:
        """Close the sync client and the running loop's async clients made here."""
        self.close()
        with self._lock:
            pools = self._loops.pop(asyncio.get_running_loop(), None)
        if pools is not None:
            await pools.aclose()


def _close_when_collected(loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClients]) -> None:
    """The model is gone: close its async clients in their loops, if those still run."""
    for loop, pools in list(loops.items()):
        if not loop.is_closed():
            loop.call_soon_threadsafe(_start_closing, pools)


def _start_closing(pools: _LoopClients) -> None:
    # if the loop ends first, the task is cancelled before it starts and the loop's shutdown closes
    # the still-parked generator instead
    task = asyncio.ensure_future(pools.aclose())
    _CLOSING.add(task)
    task.add_done_callback(_CLOSING.discard)


# what a closed response's `stream` is left as: empty, readable, and holding nothing
_CLOSED_STREAM = httpx.ByteStream(b"")


def close_response(response: httpx.Response) -> None:
    """Close `response` and let go of its stream. httpx's client wraps the stream in one that holds the
    response (to stamp its elapsed time on close): a reference cycle, with the request, its extensions
    and the adapter in it, freed only by the cyclic collector, a cost on every call. A closed
    response's body, if read, stays readable (`content`)."""
    try:
        response.close()
    finally:
        response.stream = _CLOSED_STREAM


async def aclose_response(response: httpx.Response) -> None:
    try:
        await response.aclose()
    finally:
        response.stream = _CLOSED_STREAM
