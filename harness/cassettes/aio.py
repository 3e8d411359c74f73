"""aiohttp clients through the cassette (`clients` installs this while a cassette is active).

`aiohttp.ClientSession._request` is patched at the class level, so every session — made before the block
or inside it, by google-genai's async client, by LiteLLM's `LiteLLMAiohttpTransport`, or by the user — is
covered. The patched method reads the interceptor of the *current context*; with one, it appends a
client middleware of harness's (innermost, after the session's own, so what is recorded is the request
as it would leave: default headers, auth, cookies, serialised body). The middleware hands the request to
the interceptor as an `httpx.Request`:

- replay: the middleware answers with a `ClientResponse` built from the recorded response and never
  calls aiohttp's handler, so no connection is made (not even a DNS lookup);
- record: the handler sends the request for real, and the caller gets a `ClientResponse` whose
  `content` pulls each chunk through the recording stream as the caller reads it (nothing buffered:
  time to first token is the live one); reading it to the end, or leaving it, closes the recording.

aiohttp is not imported for this: when the first cassette is entered before anything imported aiohttp,
`install` leaves a finder on `sys.meta_path` that patches `ClientSession` as soon as `aiohttp.client` is
executed (a session made after `import aiohttp` inside the block is covered), and that is removed when
the last cassette leaves — so a process that never uses aiohttp never pays for importing it.

Redirects, `raise_for_status`, cookies and timeouts stay aiohttp's (each hop is one interaction). A miss,
or a refused write, leaves as `CassetteSignal`, as for httpx clients. Needs aiohttp >= 3.12 (client
middlewares); with an older one `install` patches nothing and the outside-traffic warning still names
the host.
"""

from __future__ import annotations

import asyncio
import importlib.abc
import inspect
import sys
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace
from typing import Any

import httpx

from harness.cassettes import outside
from harness.cassettes.clients import as_signal
from harness.http import Interceptor, current_interceptor, sending_live

# dropped from a response whose body aiohttp already decompressed: the recorded bytes are the decoded ones
_DECODED = frozenset({"content-encoding", "content-length", "transfer-encoding"})


Patch = Callable[[type, str, Callable[[Any], Any]], None]
_CLIENT = "aiohttp.client"  # the module that defines ClientSession


def install(patch: Patch, patch_later: Patch) -> None:
    """Patch aiohttp's ClientSession with `patch` now if it is imported; otherwise watch for its import
    and patch it then with `patch_later` (which checks that a cassette is still active)."""
    module = sys.modules.get(_CLIENT)
    if module is not None and hasattr(module, "ClientSession"):
        _patch_session(module.ClientSession, patch)
    elif not any(isinstance(f, _Watch) for f in sys.meta_path):
        sys.meta_path.insert(0, _Watch(patch_later))


def uninstall() -> None:
    """The last cassette left: stop watching for aiohttp's import."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _Watch)]


def _patch_session(session: type, patch: Patch) -> None:
    if "middlewares" in inspect.signature(session._request).parameters:  # type: ignore[attr-defined]
        patch(session, "_request", _patched_request)  # else aiohttp < 3.12: nothing to patch


class _Watch(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loader the other finders give `aiohttp.client`."""

    def __init__(self, patch: Patch) -> None:
        self.patch = patch

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != _CLIENT:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _ThenPatch(spec.loader, self.patch)
                return spec
        return None


class _ThenPatch(importlib.abc.Loader):
    """The module's own loader, then the patch once its code has run."""

    def __init__(self, loader: Any, patch: Patch) -> None:
        self.loader, self.patch = loader, patch

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self.loader.exec_module(module)
        _patch_session(module.ClientSession, self.patch)

    def __getattr__(self, name: str) -> Any:  # get_source, get_code, ...: the real loader's
        return getattr(self.loader, name)


def _patched_request(original: Any) -> Any:
    async def _request(self: Any, method: str, str_or_url: Any, *args: Any, **kwargs: Any) -> Any:
        icp = current_interceptor()
        if icp is None or sending_live():  # no cassette here, or one is sending this request live
            host = _host(self, str_or_url)
            if icp is None:
                outside.without_cassette(host)
            with outside.expected(host):
                return await original(self, method, str_or_url, *args, **kwargs)
        middlewares = kwargs.get("middlewares")
        if middlewares is None:
            middlewares = self._middlewares
        decompress = kwargs.get("auto_decompress")
        if decompress is None:
            decompress = self._auto_decompress
        kwargs["middlewares"] = (*middlewares, _Cassette(icp, bool(decompress)))
        return await original(self, method, str_or_url, *args, **kwargs)

    return _request


def _host(session: Any, str_or_url: Any) -> str:
    try:
        return str(session._build_url(str_or_url).host or "")
    except Exception:  # an invalid URL: aiohttp itself says so
        return ""


class _Cassette:
    """The client middleware: one exchange through the interceptor."""

    def __init__(self, icp: Interceptor, decompress: bool) -> None:
        self.icp, self.decompress = icp, decompress

    async def __call__(self, req: Any, handler: Any) -> Any:
        body = await req.body.as_bytes() if req.body else b""
        request = httpx.Request(req.method, str(req.url), headers=list(req.headers.items()), content=body)
        live = _Live(req, handler, self.decompress)
        with as_signal():
            response = await self.icp.ahandle(request, live)
        return _cassette_response(req, response, self.decompress)


class _Live(httpx.AsyncBaseTransport):
    """aiohttp's own handler (connect, send, read the head) as the interceptor's live transport."""

    def __init__(self, req: Any, handler: Any, decompress: bool) -> None:
        self.req, self.handler, self.decompress = req, handler, decompress

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        with outside.expected(request.url.host):
            real = await self.handler(self.req)
        headers = [
            (k, v) for k, v in real.raw_headers if not (self.decompress and k.lower().decode() in _DECODED)
        ]
        return httpx.Response(
            real.status,
            headers=headers,
            stream=_FromAiohttp(real),
            extensions={"reason_phrase": (real.reason or "").encode("latin-1", "replace")},
            request=request,
        )


class _FromAiohttp(httpx.AsyncByteStream):
    """A live aiohttp body, chunk by chunk as it arrives."""

    def __init__(self, real: Any) -> None:
        self.real = real

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.real.content.iter_any():
            yield chunk

    async def aclose(self) -> None:
        if self.real.content.at_eof():
            self.real.release()  # the connection goes back to the pool
        else:
            self.real.close()


class _NoProtocol:
    """What an aiohttp StreamReader expects of its connection: the body is pulled, not pushed."""

    connected = True
    _reading_paused = False

    def pause_reading(self) -> None:
        pass

    def resume_reading(self, resume_parser: bool = True) -> None:
        pass


def _reader_class() -> type:
    from aiohttp import streams

    class PullReader(streams.StreamReader):
        """aiohttp's StreamReader (its whole API: read, readline, iter_any, iter_chunked, ...), fed one
        chunk of the interceptor's response each time a read finds its buffer empty."""

        def __init__(self, chunks: AsyncIterator[bytes], loop: asyncio.AbstractEventLoop) -> None:
            super().__init__(_NoProtocol(), 2**16, loop=loop)  # type: ignore[arg-type]
            self._chunks = chunks

        async def _wait(self, func_name: str) -> None:
            try:
                with as_signal():
                    chunk = await self._chunks.__anext__()
            except StopAsyncIteration:
                self.feed_eof()
            else:
                self.feed_data(chunk)

    return PullReader


def _response_class() -> type:
    import aiohttp

    class CassetteResponse(aiohttp.ClientResponse):
        """A response whose body comes through the cassette; releasing it early closes the recording
        (which reads on briefly for what the server still sends, as for httpx clients)."""

        _source: httpx.Response
        _chunks: Any
        _closing: asyncio.Task[None] | None = None

        def _close_source(self) -> None:
            if self._closing is None and not self._source.is_closed:
                self._closing = self._loop.create_task(self._aclose_source())

        async def _aclose_source(self) -> None:
            with as_signal():
                await self._chunks.aclose()
                await self._source.aclose()

        def release(self) -> Any:
            self._close_source()
            return super().release()

        def close(self) -> None:
            self._close_source()
            super().close()

        async def wait_for_close(self) -> None:
            await super().wait_for_close()
            if self._closing is not None:
                await self._closing

    return CassetteResponse


_classes: dict[str, type] = {}


def _cassette_response(req: Any, response: httpx.Response, decompress: bool) -> Any:
    from aiohttp import ClientResponse, HttpVersion11
    from multidict import CIMultiDict, CIMultiDictProxy

    if not _classes:
        _classes.update(reader=_reader_class(), response=_response_class())
    loop = asyncio.get_running_loop()
    extra: dict[str, Any] = {}
    if "stream_writer" in inspect.signature(ClientResponse.__init__).parameters:
        extra["stream_writer"] = SimpleNamespace(output_size=0)  # the request has been sent
    resp = _classes["response"](
        req.method,
        req.url,
        writer=None,
        continue100=None,
        timer=None,
        request_info=req.request_info,
        traces=[],
        loop=loop,
        session=req.session,
        **extra,
    )
    raw = response.headers.raw
    resp.status, resp.version = response.status_code, HttpVersion11
    resp.reason = response.reason_phrase
    resp._headers = CIMultiDictProxy(CIMultiDict((k.decode("latin-1"), v.decode("latin-1")) for k, v in raw))
    resp._raw_headers = tuple(raw)
    if cookies := resp._headers.getall("set-cookie", ()):
        resp._raw_cookie_headers = tuple(cookies)
    resp._source = response
    resp._closed = False
    resp._chunks = response.aiter_bytes() if decompress else response.aiter_raw()
    resp.content = _classes["reader"](resp._chunks, loop)
    return resp
