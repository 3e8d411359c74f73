"""Incremental Server-Sent Events parser (bytes in, events out), per the WHATWG rules.

Pure and resumable at any byte boundary, so replay can re-chunk a recorded body anywhere and the
corpus checks can parse stored bodies without a socket.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SSEEvent:
    event: str
    data: str
    id: str | None = None


class SSEParser:
    def __init__(self) -> None:
        self._buf = b""
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None

    def feed(self, data: bytes) -> list[SSEEvent]:
        self._buf += data
        out: list[SSEEvent] = []
        while True:
            # a line ends at \n, \r\n or \r; a trailing \r may be the start of \r\n, so wait for more
            idx_n = self._buf.find(b"\n")
            idx_r = self._buf.find(b"\r")
            if idx_n < 0 and (idx_r < 0 or idx_r == len(self._buf) - 1):
                break
            if idx_r >= 0 and (idx_n < 0 or idx_r < idx_n):
                line = self._buf[:idx_r]
                skip = 2 if self._buf[idx_r + 1 : idx_r + 2] == b"\n" else 1
                self._buf = self._buf[idx_r + skip :]
            else:
                line = self._buf[:idx_n]
                self._buf = self._buf[idx_n + 1 :]
            ev = self._line(line.decode("utf-8", "replace"))
            if ev is not None:
                out.append(ev)
        return out

    def close(self) -> list[SSEEvent]:
        out: list[SSEEvent] = []
        if self._buf:
            ev = self._line(self._buf.decode("utf-8", "replace"))
            self._buf = b""
            if ev:
                out.append(ev)
        ev = self._line("")
        if ev:
            out.append(ev)
        return out

    def _line(self, line: str) -> SSEEvent | None:
        if not line:
            if not self._data and not self._event:
                return None
            ev = SSEEvent(self._event or "message", "\n".join(self._data), self._id)
            self._event, self._data = "", []
            return ev
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            self._id = value
        return None
