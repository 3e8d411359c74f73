"""Time to first token of the openai and anthropic SDKs' streams, and of a plain aiohttp stream, while recording: live, inside harness's
`use_cassette`, and inside vcrpy's, against the same emulator (first chunk after 200 ms, then 20 ms a
chunk). Prints figures; asserts nothing.

    python benchmarks/sdk_ttft.py [--runs N]

One client per SDK, made before timing; the three ways take turns run by run (so a busy machine slows
them alike), each run recording a fresh cassette. Figures: the median over the runs of the caller's time
from the request to its first text delta, and to the end of the stream.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import anthropic
import openai

from harness.cassettes import use_cassette
from harness.testing import ProviderEmulator, Reply

logging.getLogger("harness.cassettes").setLevel(logging.ERROR)
TEXT = "A reply of a few sentences, streamed in small pieces as a model would stream it to its caller."
ASK = [{"role": "user", "content": "Hi"}]


def openai_stream(client: openai.OpenAI) -> Iterator[str]:
    for chunk in client.chat.completions.create(model="gpt-4.1-mini", messages=ASK, stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            yield chunk.choices[0].delta.content


def anthropic_stream(client: anthropic.Anthropic) -> Iterator[str]:
    with client.messages.stream(model="claude-haiku-4-5", max_tokens=200, messages=ASK) as stream:
        yield from stream.text_stream


class AiohttpClient:
    """An aiohttp session on an event loop of its own, read from synchronous code (as the SDK clients are)."""

    def __init__(self, url: str) -> None:
        self.url, self.loop = url, asyncio.new_event_loop()
        self.session = self.loop.run_until_complete(self._session())

    @staticmethod
    async def _session() -> aiohttp.ClientSession:
        return aiohttp.ClientSession()

    def close(self) -> None:
        self.loop.run_until_complete(self.session.close())
        self.loop.close()


def aiohttp_stream(client: AiohttpClient) -> Iterator[str]:
    async def events() -> Any:
        body = {"model": "gpt-4.1-mini", "messages": ASK, "stream": True}
        async with client.session.post(client.url, json=body) as response:
            async for line in response.content:
                if line.startswith(b"data: {"):
                    yield line.decode()

    agen = events()
    try:
        while True:
            try:  # each step is a task, which copies this thread's context: the cassette is seen
                yield client.loop.run_until_complete(agen.__anext__())
            except StopAsyncIteration:
                return
    finally:
        client.loop.run_until_complete(agen.aclose())


def live(path: Path) -> contextlib.AbstractContextManager[Any]:
    return contextlib.nullcontext()


def harness_recording(path: Path) -> contextlib.AbstractContextManager[Any]:
    return use_cassette(path, record_mode="all")


def vcrpy_recording(path: Path) -> contextlib.AbstractContextManager[Any]:
    import vcr

    return vcr.use_cassette(str(path), record_mode="all")


WAYS = (live, harness_recording, vcrpy_recording)


def one_run(
    emu: ProviderEmulator, stream: Callable[[Any], Iterator[str]], client: Any, way: Any, path: Path
) -> tuple[float, float]:
    emu.queue(Reply(text=TEXT, chunk_chars=12))
    with way(path):
        t0 = time.perf_counter()
        first = None
        for _ in stream(client):
            if first is None:
                first = time.perf_counter() - t0
        total = time.perf_counter() - t0
    return (first or 0.0) * 1000, total * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with ProviderEmulator(ttft=0.2, chunk_delay=0.02) as emu, tempfile.TemporaryDirectory() as tmp:
        clients = {
            openai_stream: openai.OpenAI(
                base_url=emu.base_url("openai"), api_key="sk-bench-0123456789abcdef"
            ),
            anthropic_stream: anthropic.Anthropic(
                base_url=emu.base_url("anthropic"), api_key="sk-ant-bench-0123456789"
            ),
            aiohttp_stream: AiohttpClient(emu.base_url("openai") + "/chat/completions"),
        }
        for stream, client in clients.items():
            for way in WAYS:  # warm-up: imports, the first connection
                one_run(emu, stream, client, way, Path(tmp, f"warm-{way.__name__}.yaml"))
            figures: dict[Any, list[tuple[float, float]]] = {way: [] for way in WAYS}
            for i in range(args.runs):
                for way in WAYS:
                    figures[way].append(
                        one_run(emu, stream, client, way, Path(tmp, f"{way.__name__}-{i}.yaml"))
                    )
            print(f"{stream.__name__.replace('_stream', '')} stream (median of {args.runs}):")
            base = statistics.median(f for f, _ in figures[live])
            for way in WAYS:
                first = statistics.median(f for f, _ in figures[way])
                total = statistics.median(t for _, t in figures[way])
                delta = "" if way is live else f"  ({first - base:+7.1f} ms vs live)"
                print(
                    f"  {way.__name__:18} first token {first:7.1f} ms{delta}   whole stream {total:7.1f} ms"
                )
            client.close()


if __name__ == "__main__":
    main()
