"""Per-call overhead of ChatModel.invoke over a raw httpx POST of the same body to the emulator.

    python benchmarks/overhead.py [--calls 2000]

Both paths use one keep-alive connection to the loopback emulator; the difference of the medians is
what harness adds (message coercion, request building, callbacks, parsing into an AIMessage, timing).
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx

from harness import init_chat_model
from harness.testing import ProviderEmulator, Reply


def _measure(fn, calls: int) -> list[float]:
    for _ in range(50):  # warm up connections and caches
        fn()
    out = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=2000)
    args = ap.parse_args()
    with ProviderEmulator(reply_fn=lambda req: Reply(text="The capital of France is Paris.")) as emu:
        model = init_chat_model("openai:gpt-4.1-mini", base_url=emu.base_url("openai"), api_key="sk-bench")
        prompt = [("system", "Be brief."), ("user", "What is the capital of France?")]
        wire = model.adapter.build_request(model._prepare(prompt, None, {}, stream=False)[1])
        raw = httpx.Client()
        body = wire.body_bytes()

        def raw_call() -> None:
            r = raw.post(wire.url, content=body, headers=wire.headers)
            r.json()

        def harness_call() -> None:
            model.invoke(prompt)

        # interleave rounds so drift in the server affects both equally
        raw_ms: list[float] = []
        h_ms: list[float] = []
        for _ in range(4):
            raw_ms += _measure(raw_call, args.calls // 4)
            h_ms += _measure(harness_call, args.calls // 4)
    raw_med, h_med = statistics.median(raw_ms), statistics.median(h_ms)
    print(f"calls per path:             {len(raw_ms)}")
    print(
        f"raw httpx POST   median:    {raw_med:.3f} ms   p95 {statistics.quantiles(raw_ms, n=20)[18]:.3f} ms"
    )
    print(f"harness invoke   median:    {h_med:.3f} ms   p95 {statistics.quantiles(h_ms, n=20)[18]:.3f} ms")
    print(f"overhead per call (median): {h_med - raw_med:.3f} ms   (target < 0.5 ms)")


if __name__ == "__main__":
    main()
