"""Response body streams: one that records chunks as they pass to the caller, one that replays them.

Recording never buffers: each chunk is handed on the moment it arrives, and its arrival offset noted;
the interaction is written when the stream closes. A reader may close before the body's end: the
openai SDK and most SSE readers stop at the provider's end marker (`data: [DONE]`), a caller may
abandon a stream midway. Closing then reads on, bounded (`READ_ON_S`, `READ_ON_BYTES`), for what the
server still sends: a stream that ends within the bound is recorded whole; one that does not is
recorded up to where reading stopped and marked `truncated`. Replay yields exactly the recorded chunks (one httpx
stream chunk per recorded chunk), instantly or paced at the recorded offsets.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import re
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx

from harness.cassettes.inspect import provider_name, request_adapter, request_is_stream
from harness.cassettes.interaction import (
    Interaction,
    RecordedRequest,
    RecordedResponse,
    header_lists,
    is_stream_content_type,
)
from harness.cassettes.scrub import scrub_chunks

# how long and how much a recording stream reads on after its reader closed it before the end: enough
# for the last bytes after an end marker, short enough not to hold up a caller that abandoned a stream
READ_ON_S = 0.25
READ_ON_BYTES = 1 << 20

try:  # an httpx2 client's body (harness.cassettes.clients) raises httpx2's errors
    import httpx2

    _BROKEN: tuple[type[Exception], ...] = (httpx.TransportError, httpx2.TransportError)
except ImportError:  # pragma: no cover
    _BROKEN = (httpx.TransportError,)


class Tape:
    """What a recording stream saw: chunks, their offsets from the request start, completion."""

    __slots__ = ("t0", "ttfb_ms", "chunks", "offsets_ms", "total_ms", "complete", "closed", "on_close")

    def __init__(self, t0: float, on_close: Callable[[Tape], None]) -> None:
        self.t0 = t0
        self.ttfb_ms = (time.perf_counter() - t0) * 1000.0
        self.chunks: list[bytes] = []
        self.offsets_ms: list[float] = []
        self.total_ms: float | None = None
        self.complete = False
        self.closed = False
        self.on_close = on_close

    def add(self, chunk: bytes) -> None:
        if chunk:
            self.offsets_ms.append(round((time.perf_counter() - self.t0) * 1000.0, 3))
            self.chunks.append(chunk)

    def end(self) -> None:
        self.total_ms = round((time.perf_counter() - self.t0) * 1000.0, 3)
        self.complete = True

    @property
    def truncated(self) -> bool:
        """Closed before the body's end, which reading on did not reach either."""
        return self.closed and not self.complete

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.total_ms is None:
                self.total_ms = round((time.perf_counter() - self.t0) * 1000.0, 3)
            self.on_close(self)


class _ReadOn:
    """The bound on reading on after an early close: stop past the deadline or the byte budget."""

    def __init__(self) -> None:
        self.deadline = time.perf_counter() + READ_ON_S
        self.budget = READ_ON_BYTES

    def spent(self, chunk: bytes) -> bool:
        self.budget -= len(chunk)
        return self.budget < 0 or time.perf_counter() > self.deadline


class RecordingStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, tape: Tape) -> None:
        self.inner = inner
        self.tape = tape
        self._chunks: Iterator[bytes] | None = None  # shared by the reader and the read-on at close

    def __iter__(self) -> Iterator[bytes]:
        self._chunks = iter(self.inner)
        for chunk in self._chunks:
            self.tape.add(chunk)
            yield chunk
        self.tape.end()

    def _read_on(self) -> None:
        # the deadline is checked between chunks: a read the server never answers waits for the
        # client's read timeout (a sync socket read cannot be cut short from here)
        bound = _ReadOn()
        try:
            for chunk in self._chunks if self._chunks is not None else iter(self.inner):
                self.tape.add(chunk)
                if bound.spent(chunk):
                    return
        except _BROKEN:
            return  # the connection broke: what was read is recorded, marked truncated
        self.tape.end()

    def close(self) -> None:
        try:
            if not self.tape.complete and not self.tape.closed:
                self._read_on()
            self.inner.close()
        finally:
            self.tape.close()


class AsyncRecordingStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, tape: Tape) -> None:
        self.inner = inner
        self.tape = tape
        self._chunks: AsyncIterator[bytes] | None = None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self._chunks = self.inner.__aiter__()
        async for chunk in self._chunks:
            self.tape.add(chunk)
            yield chunk
        self.tape.end()

    async def _read_on(self) -> None:
        bound = _ReadOn()
        async for chunk in self._chunks if self._chunks is not None else self.inner.__aiter__():
            self.tape.add(chunk)
            if bound.spent(chunk):
                return
        self.tape.end()

    async def aclose(self) -> None:
        try:
            if not self.tape.complete and not self.tape.closed:
                # timed out or the connection broke: what was read is recorded, marked truncated
                with contextlib.suppress(asyncio.TimeoutError, *_BROKEN):
                    await asyncio.wait_for(self._read_on(), READ_ON_S)
            await self.inner.aclose()
        finally:
            self.tape.close()


_NOT_REPLAYED_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def replay_response(
    ix: Interaction, request: httpx.Request, cassette: str, speed: float | None
) -> httpx.Response:
    """The recorded response, its chunks as recorded, marked for the chat layer with recorded timings."""
    chunks = ix.chunks()
    offsets = ix.chunk_offsets_ms() if ix.chunk_lengths() else []
    if len(offsets) != len(chunks):
        offsets = []
    timing = ix.timing or {}
    info: dict[str, Any] = {
        "state": "replayed",
        "cassette": cassette,
        "index": ix.index,
        "chunk_offsets_ms": offsets,
    }
    for k in ("ttfb_ms", "total_ms"):
        if isinstance(timing.get(k), (int, float)):
            info[k] = float(timing[k])
    pace = offsets or ([info["total_ms"]] * len(chunks) if "total_ms" in info else None)
    headers = [
        (k, v)
        for k, vals in ix.response.raw_headers.items()
        if k.lower() not in _NOT_REPLAYED_HEADERS
        for v in vals
    ]
    if not ix.streamed:
        headers.append(("content-length", str(len(ix.response.body))))
    return httpx.Response(
        ix.response.status,
        headers=headers,
        stream=ReplayStream(chunks, pace, speed),
        extensions={
            "harness": info,
            "http_version": b"HTTP/1.1",
            "reason_phrase": ix.response.message.encode("ascii", "replace"),
        },
        request=request,
    )


class ReplayStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """Recorded chunks; with `speed` (1.0 = recorded pace, 2.0 = twice as fast) each chunk waits for its
    recorded offset measured from when the response was handed out."""

    def __init__(
        self, chunks: list[bytes], offsets_ms: list[float] | None = None, speed: float | None = None
    ) -> None:
        self.chunks = chunks
        self.offsets_ms = offsets_ms if offsets_ms and len(offsets_ms) == len(chunks) else None
        self.speed = speed if speed and self.offsets_ms else None
        self.t0 = time.perf_counter()

    def _wait(self, i: int) -> float:
        assert self.offsets_ms is not None and self.speed
        return self.offsets_ms[i] / 1000.0 / self.speed - (time.perf_counter() - self.t0)

    def __iter__(self) -> Iterator[bytes]:
        for i, chunk in enumerate(self.chunks):
            if self.speed:
                delay = self._wait(i)
                if delay > 0:
                    time.sleep(delay)
            yield chunk

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for i, chunk in enumerate(self.chunks):
            if self.speed:
                delay = self._wait(i)
                if delay > 0:
                    await asyncio.sleep(delay)
            yield chunk

    def close(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


def decode_chunks(
    chunks: list[bytes], offsets: list[float], headers: dict[str, list[str]]
) -> tuple[list[bytes], list[float]]:
    """Undo gzip/deflate chunk by chunk so the body is stored readable and boundaries still line up."""
    key = next((k for k in headers if k.lower() == "content-encoding"), None)
    if key is None:
        return chunks, offsets
    coding = ",".join(headers[key]).strip().lower()
    wbits = {"gzip": 47, "x-gzip": 47, "deflate": 15}.get(coding)
    if wbits is None:
        return chunks, offsets  # e.g. br: kept compressed, with its header, exactly as received
    try:
        d = zlib.decompressobj(wbits)
        out = [d.decompress(c) for c in chunks]
        if out:
            out[-1] += d.flush()
    except zlib.error:
        return chunks, offsets
    del headers[key]
    kept = [(c, o) for c, o in zip(out, offsets, strict=True) if c]
    return [c for c, _ in kept], [o for _, o in kept]


def recorded_interaction(
    request: httpx.Request, response: httpx.Response, tape: Tape, patterns: list[re.Pattern[bytes]]
) -> Interaction:
    """What a recording stream saw, as an interaction: a streamed body keeps its chunk boundaries and
    offsets (scrubbed chunk by chunk with `patterns`); headers and URL are scrubbed by the caller."""
    url = str(request.url)
    req_body = request.content
    adapter = request_adapter(request)
    provider = provider_name(adapter) if adapter is not None else None
    resp_headers = header_lists(response.headers.multi_items())
    chunks, offsets = decode_chunks(tape.chunks, tape.offsets_ms, resp_headers)
    streamed = is_stream_content_type(response.headers.get("content-type", "")) or request_is_stream(
        url, req_body, provider
    )
    timing: dict[str, Any] = {"ttfb_ms": round(tape.ttfb_ms, 3), "total_ms": tape.total_ms}
    if tape.truncated:
        timing["truncated"] = True
    if streamed:
        chunks, kept = scrub_chunks(chunks, patterns)
        if not kept:
            offsets = offsets[-1:]
        timing["chunks"] = [[o, len(c)] for o, c in zip(offsets, chunks, strict=True)]
    return Interaction(
        RecordedRequest(request.method, url, header_lists(request.headers.multi_items()), req_body),
        RecordedResponse(response.status_code, resp_headers, b"".join(chunks), response.reason_phrase or ""),
        timing,
        streamed,
        _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds"),
        provider=provider,
    )
