"""Time to first token of the openai and anthropic SDKs' streams while recording: live, inside harness's
`use_cassette`, and inside vcrpy's, against the same emulator (first chunk after 200 ms, then 20 ms a
chunk). Prints figures; asserts nothing.

    python benchmarks/sdk_ttft.py [--runs N]

Each run is a fresh recording (a new cassette file); the figure is the median over the runs of the
caller's time from the request to its first text delta, and to the end of the stream.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai

from harness.cassettes import use_cassette
from harness.testing import ProviderEmulator, Reply

logging.getLogger("harness.cassettes").setLevel(logging.ERROR)
TEXT = "A reply of a few sentences, streamed in small pieces as a model would stream it to its caller."


def openai_stream(emu: ProviderEmulator) -> Iterator[str]:
    with openai.OpenAI(base_url=emu.base_url("openai"), api_key="sk-bench-0123456789abcdef") as client:
        stream = client.chat.completions.create(
            model="gpt-4.1-mini", messages=[{"role": "user", "content": "Hi"}], stream=True
        )
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content


def anthropic_stream(emu: ProviderEmulator) -> Iterator[str]:
    client = anthropic.Anthropic(base_url=emu.base_url("anthropic"), api_key="sk-ant-bench-0123456789")
    ask = {"model": "claude-haiku-4-5", "max_tokens": 200, "messages": [{"role": "user", "content": "Hi"}]}
    with client, client.messages.stream(**ask) as stream:
        yield from stream.text_stream


def live(path: Path) -> contextlib.AbstractContextManager[Any]:
    return contextlib.nullcontext()


def harness_recording(path: Path) -> contextlib.AbstractContextManager[Any]:
    return use_cassette(path, record_mode="all")


def vcrpy_recording(path: Path) -> contextlib.AbstractContextManager[Any]:
    import vcr

    return vcr.use_cassette(str(path), record_mode="all")


def measure(
    emu: ProviderEmulator,
    stream: Callable[[ProviderEmulator], Iterator[str]],
    context: Any,
    runs: int,
    tmp: Path,
) -> tuple[float, float]:
    firsts, totals = [], []
    for i in range(runs):
        emu.queue(Reply(text=TEXT, chunk_chars=12))
        with context(tmp / f"{context.__name__}-{stream.__name__}-{i}.yaml"):
            t0 = time.perf_counter()
            first = None
            for _ in stream(emu):
                if first is None:
                    first = time.perf_counter() - t0
            totals.append(time.perf_counter() - t0)
        firsts.append(first or 0.0)
    return statistics.median(firsts) * 1000, statistics.median(totals) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with ProviderEmulator(ttft=0.2, chunk_delay=0.02) as emu, tempfile.TemporaryDirectory() as tmp:
        for stream in (openai_stream, anthropic_stream):
            measure(emu, stream, live, 1, Path(tmp))  # warm-up: imports, first connection
            print(f"{stream.__name__.replace('_stream', '')} SDK stream (median of {args.runs}):")
            base = None
            for context in (live, harness_recording, vcrpy_recording):
                first, total = measure(emu, stream, context, args.runs, Path(tmp))
                base = first if base is None else base
                delta = "" if context is live else f"  ({first - base:+7.1f} ms vs live)"
                print(
                    f"  {context.__name__:18} first token {first:7.1f} ms{delta}   whole stream {total:7.1f} ms"
                )


if __name__ == "__main__":
    main()
