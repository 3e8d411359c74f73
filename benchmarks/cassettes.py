"""Cassette performance against the provider emulator on loopback. Prints figures; asserts nothing.

    python benchmarks/cassettes.py [--quick]

1. caller time-to-first-token, live vs recording (emulator: first token after 100 ms, 30 ms per chunk)
2. replay cost per call with 10 / 200 / 1,000 / 10,000 interactions in one cassette, random picks
   (the same picks for vcrpy 9, which scans its list per call), and with each interaction new;
   2b. what the first cassette of a fresh process adds to its first call's time to first token
3. record overhead per call over the server (emulator answering at once, and at the paced stream)
vcrpy 9 (the anchor in issue #3) is measured on the same model and emulator where it applies.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import random
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from harness import init_chat_model
from harness.cassettes import load_cassette, use_cassette
from harness.cassettes.matching import Matcher
from harness.cassettes.store import dump_fragment, render
from harness.messages.core import HumanMessage
from harness.providers.base import ChatRequest
from harness.testing import ProviderEmulator, Reply

KEY = "sk-bench-0123456789abcdefghij"
MATCHER = Matcher()
logging.getLogger("harness.cassettes").setLevel(logging.ERROR)  # unused-interaction reports


def model_for(emu):
    return init_chat_model("openai:gpt-4.1-mini", base_url=emu.base_url("openai"), api_key=KEY, max_retries=0)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


def ttft_of(model, prompt: str) -> tuple[float, float]:
    t0 = time.perf_counter()
    first = None
    for chunk in model.stream(prompt):
        if first is None and chunk.content:
            first = time.perf_counter() - t0
    return first or 0.0, time.perf_counter() - t0


def vcrpy_cassette(path: Path, mode: str):
    import vcr

    return vcr.use_cassette(str(path), record_mode=mode, match_on=["method", "uri", "body"])


# --- 1. time to first token ---------------------------------------------------------------------------


def bench_ttft(runs: int, tmp: Path) -> None:
    print("\n1. caller time-to-first-token (server: first token at 100 ms, then 30 ms per chunk)")
    reply = Reply(text="The quick brown fox jumps over the lazy dog again and again.", chunk_chars=6)
    with ProviderEmulator(ttft=0.100, chunk_delay=0.030, reply_fn=lambda req: reply) as emu:
        model = model_for(emu)
        ttft_of(model, "warm up")
        rows = {}
        rows["live (no cassette)"] = [ttft_of(model, f"p{i}") for i in range(runs)]
        with use_cassette(tmp / "ttft.yaml", record_mode="all"):
            rows["harness recording"] = [ttft_of(model, f"p{i}") for i in range(runs)]
        with contextlib.suppress(ImportError), vcrpy_cassette(tmp / "ttft-vcrpy.yaml", "all"):
            rows["vcrpy 9 recording (anchor)"] = [ttft_of(model, f"p{i}") for i in range(runs)]
    live = statistics.median(t for t, _ in rows["live (no cassette)"])
    for name, vals in rows.items():
        ttft = statistics.median(t for t, _ in vals)
        total = statistics.median(t for _, t in vals)
        print(f"   {name:<28} ttft {ms(ttft)}  (+{(ttft - live) * 1000:6.2f} ms)   total {ms(total)}")


# --- 2. replay cost -----------------------------------------------------------------------------------


def build_cassette(path: Path, n: int, template, model) -> None:
    """n interactions for n distinct prompts, with the request bodies the chat layer sends."""
    frags = []
    for i in range(n):
        wire = model.adapter.build_request(
            ChatRequest(model=model.model, messages=[HumanMessage(f"question {i}")])
        )
        req = replace(template.request, body=wire.body_bytes())
        key = MATCHER.key(req.method, req.uri, req.body).digest  # as the recorder stores it
        frags.append(dump_fragment(replace(template, request=req, match_key=key)))
    path.write_text(render(frags))


def bench_replay(calls: int, sizes: list[int], tmp: Path) -> None:
    print(f"\n2. replay cost per call (ChatModel.invoke end to end, {calls} calls, sockets unused)")
    with ProviderEmulator() as emu:
        model = model_for(emu)
        with use_cassette(tmp / "one.yaml", record_mode="all"):
            model.invoke("question 0")
        template = load_cassette(tmp / "one.yaml")[0]
        model.invoke("warm")
        t0 = time.perf_counter()
        for i in range(calls):
            model.invoke(f"question {i}")
        live = (time.perf_counter() - t0) / calls
        print(f"   {'live call, for reference':<28} {ms(live)} per call")
        emu.stop()
        vcr_picks = 50  # vcrpy scans its list per call: fewer calls keep its run short
        for n in sizes:
            path = tmp / f"replay-{n}.yaml"
            build_cassette(path, n, template, model)
            picks = random.Random(n).choices(range(n), k=calls)  # random picks, repeats included
            with use_cassette(path, record_mode="none", allow_playback_repeats=True):
                t0 = time.perf_counter()
                model.invoke(f"question {picks[0]}")  # first call: file read and indexed on entry
                first = time.perf_counter() - t0
                t0 = time.perf_counter()
                for i in picks:
                    model.invoke(f"question {i}")
                harness_ms = (time.perf_counter() - t0) / calls
            fresh = random.Random(-n).sample(range(n), min(calls, n))
            with use_cassette(path, record_mode="none"):
                t0 = time.perf_counter()
                for i in fresh:
                    model.invoke(f"question {i}")
                fresh_ms = (time.perf_counter() - t0) / len(fresh)
            line = (
                f"   {n:>6} interactions: harness {ms(harness_ms)} per call (random picks), "
                f"{ms(fresh_ms)} when each is played the first time   (first call {ms(first)}, "
                f"{path.stat().st_size / 1e6:.1f} MB)"
            )
            if n <= 1000:
                with contextlib.suppress(ImportError), vcrpy_cassette(path, "none") as cas:
                    cas.allow_playback_repeats = True
                    t0 = time.perf_counter()
                    for i in picks[:vcr_picks]:
                        model.invoke(f"question {i}")
                    vcr_ms = (time.perf_counter() - t0) / vcr_picks
                    line += f"\n   {'':>6}               vcrpy 9 {ms(vcr_ms)} per call, the same random picks: harness {vcr_ms / harness_ms:.0f}x faster"
            print(line, flush=True)


# --- 2b. first cassette of a process -------------------------------------------------------------------

FIRST_CASSETTE = """
import sys, time
from harness import init_chat_model
from harness.cassettes import use_cassette
model = init_chat_model("openai:gpt-4.1-mini", base_url=sys.argv[1], api_key="sk-x", max_retries=0)
def ttft():
    t0 = time.perf_counter()
    for chunk in model.stream("hello"):
        return time.perf_counter() - t0
t0 = time.perf_counter()
with use_cassette(sys.argv[2], record_mode="none"):
    enter = time.perf_counter() - t0
    first = ttft()
t0 = time.perf_counter()
with use_cassette(sys.argv[3], record_mode="none"):
    enter2 = time.perf_counter() - t0
    second = ttft()
print(first, second, enter, enter2)
"""


def bench_first_cassette(runs: int, tmp: Path) -> None:
    """TTFT of the first replayed call in a fresh process (imports done, model built, cassette entered)
    against that of a call in a second cassette: what the first cassette of a process adds."""
    import subprocess
    import sys

    print(f"\n2b. first cassette of a process: time to first token, fresh process each run ({runs} runs)")
    with ProviderEmulator() as emu:
        model = model_for(emu)
        for name in ("first", "second"):
            with use_cassette(tmp / f"{name}.yaml", record_mode="all"):
                list(model.stream("hello"))
        url = emu.base_url("openai")
    root = str(Path(__file__).resolve().parent.parent)
    firsts, seconds, enters, enters2 = [], [], [], []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", FIRST_CASSETTE, url, str(tmp / "first.yaml"), str(tmp / "second.yaml")],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": root, "CI": "1"},
            check=True,
        ).stdout.split()
        firsts.append(float(out[0]))
        seconds.append(float(out[1]))
        enters.append(float(out[2]))
        enters2.append(float(out[3]))
    first, second = statistics.median(firsts), statistics.median(seconds)
    print(
        f"   first cassette's first call ttft {ms(first)}, a later cassette's {ms(second)}: "
        f"+{(first - second) * 1000:.2f} ms (median)  target <= 5 ms"
    )
    enter, enter2 = statistics.median(enters), statistics.median(enters2)
    print(
        f"   entering the first cassette {ms(enter)}, a later one {ms(enter2)}: +{(enter - enter2) * 1000:.2f} ms "
        "(median; aiohttp is not imported for it)"
    )


# --- 3. record overhead ---------------------------------------------------------------------------------


def per_call(fn, n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - t0) / n


def bench_record(calls: int, tmp: Path) -> None:
    print(f"\n3. record overhead per call over the server ({calls} calls into one cassette)")
    with ProviderEmulator() as emu:
        model = model_for(emu)
        for i in range(20):
            model.invoke(f"warm {i}")
        live = per_call(lambda i: model.invoke(f"r{i}"), calls)
        t_flush = 0.0
        cas = use_cassette(tmp / "record.yaml", record_mode="all")
        with cas:
            rec = per_call(lambda i: model.invoke(f"r{i}"), calls)
            t_flush = time.perf_counter()
        t_flush = time.perf_counter() - t_flush
        print(
            f"   invoke, server answers at once:  live {ms(live)}  recording {ms(rec)}  "
            f"overhead {ms(rec - live)}   (final write on exit {ms(t_flush)})"
        )
    stream_calls = max(5, calls // 20)
    reply = Reply(text="The quick brown fox jumps over the lazy dog.", chunk_chars=6)
    with ProviderEmulator(ttft=0.100, chunk_delay=0.030, reply_fn=lambda req: reply) as emu:
        model = model_for(emu)
        ttft_of(model, "warm")
        live = statistics.median(ttft_of(model, f"s{i}")[1] for i in range(stream_calls))
        with use_cassette(tmp / "record-stream.yaml", record_mode="all"):
            rec = statistics.median(ttft_of(model, f"s{i}")[1] for i in range(stream_calls))
        print(
            f"   stream, paced server (total):    live {ms(live)}  recording {ms(rec)}  overhead {ms(rec - live)}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer runs")
    ap.add_argument("--only", choices=["first"], help="only the first cassette of a process (2b)")
    args = ap.parse_args()
    runs, calls = (5, 100) if args.quick else (15, 500)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if args.only == "first":
            bench_first_cassette(runs, tmp)
            return
        bench_ttft(runs, tmp)
        bench_replay(calls, [10, 200, 1_000, 10_000], tmp)
        bench_first_cassette(runs, tmp)
        bench_record(calls, tmp)


if __name__ == "__main__":
    main()
