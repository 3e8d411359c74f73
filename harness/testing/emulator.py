"""ProviderEmulator: a real HTTP server on loopback that speaks each provider's wire format.

    with ProviderEmulator(ttft=0.05, chunk_delay=0.01) as emu:
        emu.queue(Reply(text="Paris"), Fault.rate_limit(retry_after=0.1))
        model = init_chat_model("openai:gpt-4.1-mini", base_url=emu.base_url("openai"), api_key="sk-test")

Every provider's format is served on the same port (their paths differ); `base_url(provider)` gives
the URL to point a model at. Requests are kept in `emu.requests` for wire-format assertions.
"""

from __future__ import annotations

import collections
import importlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from harness.http import EMULATOR_HEADER
from harness.testing.scripting import EmulatedRequest, Fault, Reply, ReplyFn, default_reply
from harness.testing.wire.base import WireFormat

_WIRE_MODULES = (
    "openai_chat",
    "openai_responses",
    "azure_openai",
    "anthropic",
    "gemini",
    "ollama",
    "bedrock",
    "bedrock_invoke",
)


def _load_formats() -> list[WireFormat]:
    formats = []
    for name in _WIRE_MODULES:
        try:
            mod = importlib.import_module(f"harness.testing.wire.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"harness.testing.wire.{name}":
                raise
            continue
        formats.append(mod.FORMAT)
    return formats


@dataclass
class ReceivedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    raw: bytes
    provider: str | None = None
    parsed: EmulatedRequest | None = None
    rejected: str | None = None  # the error message, when the strict emulator refused the request
    at: float = field(default_factory=time.monotonic)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
            return  # a client that hung up (timeouts, dropped streams) is routine here
        super().handle_error(request, client_address)


class ProviderEmulator:
    def __init__(
        self,
        *,
        ttft: float = 0.0,
        chunk_delay: float = 0.0,
        latency: float = 0.0,
        reply_fn: ReplyFn | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        strict: bool = True,
    ) -> None:
        self.ttft = ttft
        self.chunk_delay = chunk_delay
        self.latency = latency
        self.reply_fn: ReplyFn = reply_fn or default_reply
        # refuse what the real API refuses (harness.testing.wire.strict); False accepts anything
        self.strict = strict
        self.host = host
        self.port = port
        self.formats = _load_formats()
        self.requests: list[ReceivedRequest] = []
        # TCP connections clients opened, and those still open: how a test sees pooling and closing
        self.connections_opened = 0
        self.connections_open = 0
        self._queue: collections.deque[Reply | Fault | str] = collections.deque()
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> ProviderEmulator:
        if self._server is not None:
            return self
        self._server = _Server((self.host, self.port), _make_handler(self))
        self.port = self._server.server_address[1]
        # a short poll interval: stop() waits for the serve loop to notice, and tests stop it often
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="provider-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server = None

    def __enter__(self) -> ProviderEmulator:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    # --- scripting ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def base_url(self, provider: str = "openai") -> str:
        for fmt in self.formats:
            if provider in fmt.base_paths:
                return self.url + fmt.base_paths[provider]
        known = sorted(p for f in self.formats for p in f.base_paths)
        raise ValueError(f"the emulator does not speak {provider!r}; it speaks: {', '.join(known)}")

    @property
    def base_urls(self) -> dict[str, str]:
        return {p: self.url + path for f in self.formats for p, path in f.base_paths.items()}

    def queue(self, *items: Reply | Fault | str) -> ProviderEmulator:
        """Answer the next requests with these, in order; then fall back to `reply_fn`."""
        with self._lock:
            self._queue.extend(items)
        return self

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self.requests.clear()

    def requests_for(self, provider: str) -> list[ReceivedRequest]:
        return [r for r in self.requests if r.provider == provider]

    def _next(self, req: EmulatedRequest) -> Reply | Fault:
        with self._lock:
            item = self._queue.popleft() if self._queue else None
        if item is None:
            item = self.reply_fn(req)
        return Reply(text=item) if isinstance(item, str) else item


def _make_handler(emu: ProviderEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections as with real providers
        # headers and body leave in separate writes; without TCP_NODELAY the client's delayed ACK
        # adds ~40 ms to every response
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def setup(self) -> None:
            super().setup()
            with emu._lock:
                emu.connections_opened += 1
                emu.connections_open += 1

        def finish(self) -> None:
            with emu._lock:
                emu.connections_open -= 1
            super().finish()

        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def _handle(self) -> None:
            split = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body: Any = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            headers = {k.lower(): v for k, v in self.headers.items()}
            query = dict(parse_qsl(split.query))
            rec = ReceivedRequest(self.command, split.path, query, headers, body, raw)
            with emu._lock:
                emu.requests.append(rec)
            fmt = next((f for f in emu.formats if f.matches(self.command, split.path)), None)
            if fmt is None:
                self._send(
                    404,
                    {"content-type": "application/json"},
                    json.dumps(
                        {"error": {"message": f"emulator: no route for {self.command} {split.path}"}}
                    ).encode(),
                )
                return
            rec.provider = fmt.provider
            rejection = fmt.validate(split.path, headers, body) if emu.strict else None
            if rejection is not None:
                rec.rejected = rejection.message
                self._send(*fmt.reject(rejection))
                return
            try:
                req = fmt.parse(split.path, headers, body, query)
            except Exception as e:  # a client bug: answer like a provider would, with a 400
                status, h, b = fmt.render_error(
                    Fault.http(400, f"emulator could not parse request: {e}"), None
                )
                self._send(status, h, b)
                return
            rec.parsed = req
            self._respond(fmt, req, emu._next(req))

        def _respond(self, fmt: WireFormat, req: EmulatedRequest, item: Reply | Fault) -> None:
            if isinstance(item, Fault) and item.kind == "status":
                status, h, b = fmt.render_error(item, req)
                if item.retry_after is not None:
                    h["retry-after"] = f"{item.retry_after:g}"
                self._send(status, {**h, **item.headers}, b)
                return
            if isinstance(item, Fault) and item.kind == "timeout":
                time.sleep(item.delay)
                item = Reply(text="late")
            if not req.stream:
                if isinstance(item, Fault):  # drop / malformed on a non-stream request
                    if item.kind == "malformed":
                        self._send(200, {"content-type": "application/json"}, b"{not json")
                    else:
                        self.close_connection = True
                        self.wfile.flush()
                        self.connection.close()
                    return
                if emu.latency:
                    time.sleep(emu.latency)
                status, h, b = fmt.render(item, req)
                self._send(status, h, b)
                return
            self._stream(fmt, req, item)

        def _stream(self, fmt: WireFormat, req: EmulatedRequest, item: Reply | Fault) -> None:
            if isinstance(item, Fault):
                base = Reply(text="partial answer that will be cut off")
                status, h, pieces = fmt.render_stream(base, req)
                if item.kind == "malformed":
                    pieces = pieces[:1] + fmt.malformed_stream(req)
                ttft, delay = emu.ttft, emu.chunk_delay
            else:
                status, h, pieces = fmt.render_stream(item, req)
                ttft = item.ttft if item.ttft is not None else emu.ttft
                delay = item.chunk_delay if item.chunk_delay is not None else emu.chunk_delay
            self.send_response(status)
            for k, v in h.items():
                self.send_header(k, v)
            self.send_header("transfer-encoding", "chunked")
            self.send_header(EMULATOR_HEADER, "1")
            self.end_headers()
            for i, piece in enumerate(pieces):
                if isinstance(item, Fault) and item.kind == "drop" and i >= item.after_chunks:
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                time.sleep(ttft if i == 0 else delay)
                try:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    return
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            try:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(body)))
                self.send_header(EMULATOR_HEADER, "1")
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler
