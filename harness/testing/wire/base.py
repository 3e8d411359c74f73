"""The emulator side of one provider's wire format: parse what a client sent, render a Reply.

Each module in this package defines `FORMAT`, an instance of a `WireFormat` subclass. The emulator
routes a request to the first format whose `matches(method, path)` is true.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from harness.testing.scripting import EmulatedRequest, Fault, Reply
from harness.testing.wire.strict import Rejection

Rendered = tuple[int, dict[str, str], bytes]
RenderedStream = tuple[int, dict[str, str], list[bytes]]


class WireFormat:
    provider: ClassVar[str] = ""
    # providers whose base_url this format serves, and the path prefix of that base URL
    base_paths: ClassVar[dict[str, str]] = {}
    stream_content_type: ClassVar[str] = "text/event-stream"

    def matches(self, method: str, path: str) -> bool:
        raise NotImplementedError

    def parse(self, path: str, headers: dict[str, str], body: Any, query: dict[str, str]) -> EmulatedRequest:
        raise NotImplementedError

    def render(self, reply: Reply, req: EmulatedRequest) -> Rendered:
        raise NotImplementedError

    def render_stream(self, reply: Reply, req: EmulatedRequest) -> RenderedStream:
        """Status, headers and the body pieces; the emulator paces them (ttft, chunk delay)."""
        raise NotImplementedError

    def validate(self, path: str, headers: dict[str, str], body: Any) -> Rejection | None:
        """What the real API would refuse in this request (harness.testing.wire.strict); None: accepted."""
        return None

    def reject(self, rejection: Rejection) -> Rendered:
        """The provider's error response for a refused request."""
        return self.render_error(Fault.http(rejection.status, rejection.message), None)

    def render_error(self, fault: Fault, req: EmulatedRequest | None) -> Rendered:
        body = {"error": {"message": fault.message, "type": "emulated_error", "code": None}}
        return fault.status, {"content-type": "application/json"}, json.dumps(body).encode()

    def malformed_stream(self, req: EmulatedRequest) -> list[bytes]:
        return [b"data: {not json\n\n"]


def json_response(obj: Any, status: int = 200) -> Rendered:
    return status, {"content-type": "application/json"}, json.dumps(obj).encode()


def sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"{head}data: {payload}\n\n".encode()
