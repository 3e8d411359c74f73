"""Incremental parser of a streamed JSON array (`[{...},\\r\\n{...}]`), bytes in, elements out.

Gemini's `streamGenerateContent` without `?alt=sse` answers with one JSON array whose elements arrive
as they are generated. Resumable at any byte boundary, like the SSE parser beside it.
"""

from __future__ import annotations

import codecs
import json
from typing import Any

_SKIP = " \t\r\n,"


class JSONArrayParser:
    def __init__(self) -> None:
        self._text = ""
        self._utf8 = codecs.getincrementaldecoder("utf-8")()  # keeps a character split across feeds
        self._started = False
        self._decoder = json.JSONDecoder()

    def feed(self, data: bytes) -> list[Any]:
        self._text += self._utf8.decode(data)
        return self._elements()

    def close(self) -> list[Any]:
        self._text += self._utf8.decode(b"", final=True)
        out = self._elements()
        rest = self._text.strip(_SKIP + "]")
        if rest:
            raise ValueError(f"incomplete JSON array element: {rest[:200]!r}")
        return out

    def _elements(self) -> list[Any]:
        out: list[Any] = []
        pos = 0
        text = self._text
        if not self._started:
            stripped = text.lstrip()
            if not stripped:
                return out
            if stripped[0] != "[":
                raise ValueError(f"not a JSON array: {stripped[:200]!r}")
            pos = len(text) - len(stripped) + 1
            self._started = True
        while True:
            while pos < len(text) and text[pos] in _SKIP:
                pos += 1
            if pos >= len(text) or text[pos] == "]":
                break
            try:
                value, end = self._decoder.raw_decode(text, pos)
            except ValueError:
                break  # the element is not complete yet
            out.append(value)
            pos = end
        self._text = text[pos:]
        return out
