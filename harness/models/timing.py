"""Per-call timing (live or as recorded), shared by every provider's calls."""

from __future__ import annotations

import time
from typing import Any

import httpx

from harness.http import EMULATOR_HEADER, response_info
from harness.messages.core import AIMessageChunk


class Clock:
    """Timing of one call: live wall clock, or the recorded offsets when a cassette replays it."""

    __slots__ = ("t0", "ttft_ms", "chunk_index", "info", "offsets", "emulated")

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.ttft_ms: float | None = None
        self.chunk_index = 0
        self.info: dict[str, Any] = {}
        self.offsets: list[float] | None = None
        self.emulated = False

    def attach(self, response: httpx.Response) -> None:
        self.info = response_info(response)
        self.emulated = EMULATOR_HEADER in response.headers
        if self.info.get("state") == "replayed":
            self.offsets = list(self.info.get("chunk_offsets_ms") or []) or None

    def now_ms(self) -> float:
        if self.offsets:
            return float(self.offsets[min(self.chunk_index, len(self.offsets) - 1)])
        return (time.perf_counter() - self.t0) * 1000.0

    def token(self) -> None:
        if self.ttft_ms is None:
            self.ttft_ms = round(self.now_ms(), 3)

    def timing(self) -> dict[str, Any]:
        replayed = self.info.get("state") == "replayed"
        total = float(self.info["total_ms"]) if replayed and "total_ms" in self.info else self.now_ms()
        if self.ttft_ms is None:
            self.ttft_ms = round(total, 3)
        out = {
            "ttft_ms": self.ttft_ms,
            "total_ms": round(total, 3),
            "source": self.info.get("state", "live"),
            "replayed": replayed,
            "cassette": self.info.get("cassette"),
        }
        if self.emulated:  # answered by harness's provider emulator (live, or recorded from it)
            out["emulated"] = True
        return out


def sum_chunks(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    """Sum a stream in one `first + rest` (linear; pairwise summing re-parses tool args each step)."""
    if not chunks:
        raise ValueError("No generation chunks were returned")
    return chunks[0] + chunks[1:] if len(chunks) > 1 else chunks[0]
