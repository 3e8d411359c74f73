"""AWS event-stream binary framing (the ConverseStream body): an incremental decoder and an encoder.

Each message: 4-byte total length, 4-byte headers length, 4-byte CRC32 of those 8 bytes, the headers,
the payload, and a 4-byte CRC32 of everything before it (big-endian throughout; zlib's CRC32). See
docs/providers/bedrock.md.

The decoder is pure and resumable at any byte boundary, so a recorded body can be re-chunked
anywhere on replay and the corpus checks can decode stored bodies without a socket.
"""

from __future__ import annotations

import struct
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Any

from harness.errors import EventStreamError

_PRELUDE = 12  # total length, headers length, prelude CRC
_MIN_MESSAGE = _PRELUDE + 4
MAX_HEADERS = 128 * 1024  # the limits botocore enforces
MAX_PAYLOAD = 24 * 1024 * 1024


@dataclass
class EventStreamMessage:
    headers: dict[str, Any] = field(default_factory=dict)
    payload: bytes = b""

    @property
    def message_type(self) -> str:
        return str(self.headers.get(":message-type", "event"))

    @property
    def event_type(self) -> str | None:
        return self.headers.get(":event-type")


class EventStreamDecoder:
    """feed(bytes) -> complete messages so far; keeps the partial tail for the next feed."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0  # start of the first undecoded byte in _buf

    def feed(self, data: bytes) -> list[EventStreamMessage]:
        self._buf += data
        out: list[EventStreamMessage] = []
        while True:
            msg = self._next()
            if msg is None:
                break
            out.append(msg)
        if self._pos:  # drop consumed bytes so the buffer never grows with the stream
            del self._buf[: self._pos]
            self._pos = 0
        return out

    def close(self) -> None:
        """End of body: leftover bytes mean the stream was cut in the middle of a message."""
        left = len(self._buf) - self._pos
        if left:
            raise EventStreamError(f"event stream ended inside a message ({left} bytes left over)")

    @property
    def pending(self) -> int:
        return len(self._buf) - self._pos

    def _next(self) -> EventStreamMessage | None:
        buf, pos = self._buf, self._pos
        if len(buf) - pos < _PRELUDE:
            return None
        total, headers_len, prelude_crc = struct.unpack_from(">III", buf, pos)
        if zlib.crc32(buf[pos : pos + 8]) != prelude_crc:
            raise EventStreamError("event stream prelude CRC mismatch")
        if headers_len > MAX_HEADERS:
            raise EventStreamError(f"event stream headers of {headers_len} bytes exceed {MAX_HEADERS}")
        payload_len = total - headers_len - _MIN_MESSAGE
        if total < _MIN_MESSAGE or payload_len < 0:
            raise EventStreamError(
                f"event stream message length {total} is impossible (headers {headers_len})"
            )
        if payload_len > MAX_PAYLOAD:
            raise EventStreamError(f"event stream payload of {payload_len} bytes exceeds {MAX_PAYLOAD}")
        if len(buf) - pos < total:
            return None
        end = pos + total
        (message_crc,) = struct.unpack_from(">I", buf, end - 4)
        if zlib.crc32(buf[pos : end - 4]) != message_crc:
            raise EventStreamError("event stream message CRC mismatch")
        headers = decode_headers(bytes(buf[pos + _PRELUDE : pos + _PRELUDE + headers_len]))
        payload = bytes(buf[pos + _PRELUDE + headers_len : end - 4])
        self._pos = end
        return EventStreamMessage(headers, payload)


def decode_headers(data: bytes) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    i, n = 0, len(data)
    try:
        while i < n:
            name_len = data[i]
            name = data[i + 1 : i + 1 + name_len].decode("utf-8")
            i += 1 + name_len
            kind = data[i]
            i += 1
            value: Any
            if kind in (0, 1):
                value = kind == 0
            elif kind == 2:
                (value,) = struct.unpack_from(">b", data, i)
                i += 1
            elif kind == 3:
                (value,) = struct.unpack_from(">h", data, i)
                i += 2
            elif kind == 4:
                (value,) = struct.unpack_from(">i", data, i)
                i += 4
            elif kind in (5, 8):  # int64; a timestamp is int64 milliseconds since the epoch
                (value,) = struct.unpack_from(">q", data, i)
                i += 8
            elif kind in (6, 7):
                (length,) = struct.unpack_from(">H", data, i)
                raw = data[i + 2 : i + 2 + length]
                if len(raw) != length:
                    raise EventStreamError("event stream header value is cut short")
                value = raw.decode("utf-8") if kind == 7 else raw
                i += 2 + length
            elif kind == 9:
                raw = data[i : i + 16]
                if len(raw) != 16:
                    raise EventStreamError("event stream UUID header is cut short")
                value = uuid.UUID(bytes=raw)
                i += 16
            else:
                raise EventStreamError(f"event stream header {name!r} has unknown value type {kind}")
            headers[name] = value
    except (IndexError, struct.error, UnicodeDecodeError) as e:
        raise EventStreamError(f"malformed event stream headers: {e}") from e
    return headers


def encode_headers(headers: dict[str, Any]) -> bytes:
    out = bytearray()
    for name, value in headers.items():
        raw_name = name.encode("utf-8")
        out += bytes([len(raw_name)]) + raw_name
        if isinstance(value, bool):
            out += b"\x00" if value else b"\x01"
        elif isinstance(value, int):
            out += (
                b"\x04" + struct.pack(">i", value)
                if -(2**31) <= value < 2**31
                else b"\x05" + struct.pack(">q", value)
            )
        elif isinstance(value, bytes):
            out += b"\x06" + struct.pack(">H", len(value)) + value
        elif isinstance(value, uuid.UUID):
            out += b"\x09" + value.bytes
        else:
            raw = str(value).encode("utf-8")
            out += b"\x07" + struct.pack(">H", len(raw)) + raw
    return bytes(out)


def encode_message(headers: dict[str, Any], payload: bytes) -> bytes:
    """One framed message (used by the emulator and tests)."""
    raw_headers = encode_headers(headers)
    total = _MIN_MESSAGE + len(raw_headers) + len(payload)
    prelude = struct.pack(">II", total, len(raw_headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + raw_headers + payload
    return body + struct.pack(">I", zlib.crc32(body))


def encode_event(event_type: str, payload: bytes) -> bytes:
    return encode_message(
        {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}, payload
    )


def encode_exception(exception_type: str, payload: bytes) -> bytes:
    return encode_message(
        {
            ":exception-type": exception_type,
            ":content-type": "application/json",
            ":message-type": "exception",
        },
        payload,
    )
