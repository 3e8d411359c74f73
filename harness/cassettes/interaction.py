"""One recorded HTTP exchange, as every cassette variant loads into it.

Bodies are bytes exactly as replay serves them (already decompressed). Headers keep the cassette's
`{name: [values]}` shape; `.headers` gives a case-insensitive `httpx.Headers` view built on demand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

# content types whose bodies arrive as a sequence of events: recorded with chunk boundaries
STREAM_CONTENT_TYPES = (
    "text/event-stream",
    "application/x-ndjson",
    "application/vnd.amazon.eventstream",
    "application/jsonl",
    "application/stream+json",
)


def _header_view(raw: dict[str, list[str]]) -> httpx.Headers:
    return httpx.Headers([(k, v) for k, vals in raw.items() for v in vals])


def _json(body: bytes) -> Any:
    return json.loads(body) if body else None


class _RecordedMessage:
    """What a recorded request and response share: headers and a body that may be JSON."""

    raw_headers: dict[str, list[str]]
    body: bytes

    @property
    def headers(self) -> httpx.Headers:
        return _header_view(self.raw_headers)

    def json(self) -> Any:
        """The body parsed as JSON (raises ValueError when it is not JSON)."""
        return _json(self.body)

    def json_or_none(self) -> Any:
        try:
            return _json(self.body)
        except (ValueError, UnicodeDecodeError):
            return None


@dataclass
class RecordedRequest(_RecordedMessage):
    method: str
    uri: str
    raw_headers: dict[str, list[str]] = field(default_factory=dict)
    body: bytes = b""


@dataclass
class RecordedResponse(_RecordedMessage):
    status: int
    raw_headers: dict[str, list[str]] = field(default_factory=dict)
    body: bytes = b""
    message: str = ""

    @property
    def content_type(self) -> str:
        for k, vals in self.raw_headers.items():
            if k.lower() == "content-type" and vals:
                return str(vals[0]).split(";")[0].strip().lower()
        return ""


@dataclass
class Interaction:
    """request + response, plus what harness adds: `timing` (ttfb_ms, total_ms, chunks [[offset_ms,
    length]]), `streamed`, `recorded_at`, `provider` (the adapter that built the request, when the chat
    layer said so; None in cassettes other tools wrote). `index` is the position in its cassette file;
    `match_key` the request's matching digest as stored when recorded (saves re-hashing on load)."""

    request: RecordedRequest
    response: RecordedResponse
    timing: dict[str, Any] | None = None
    streamed: bool = False
    recorded_at: str | None = None
    index: int = 0
    match_key: str | None = None
    provider: str | None = None

    def chunk_lengths(self) -> list[int] | None:
        """Byte length of each recorded chunk (None when no boundaries were recorded)."""
        chunks = (self.timing or {}).get("chunks")
        if not chunks:
            return None
        return [int(c[1]) for c in chunks]

    def chunk_offsets_ms(self) -> list[float]:
        chunks = (self.timing or {}).get("chunks")
        return [float(c[0]) for c in chunks] if chunks else []

    def chunks(self) -> list[bytes]:
        """The body cut at the recorded boundaries (one piece when none were recorded)."""
        body = self.response.body
        lengths = self.chunk_lengths()
        if not lengths or sum(lengths) != len(body):
            return [body] if body else []
        out, pos = [], 0
        for n in lengths:
            out.append(body[pos : pos + n])
            pos += n
        return out


def is_stream_content_type(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() in STREAM_CONTENT_TYPES


def header_lists(items: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in items:
        out.setdefault(k, []).append(v)
    return out
