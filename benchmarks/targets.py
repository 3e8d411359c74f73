"""Target cells against prompt cells: replay throughput, and what reading calls from traffic costs.
Prints figures; asserts nothing.

    python benchmarks/targets.py            # 1,000 cells of each kind
    python benchmarks/targets.py --cells 200

Records N prompt cells (one call each) and N target cells (a sync target making the same call through
`TargetInput.model`) from the emulator, then replays each suite in-process (`Runner`, no report) with
one process, and prints cells per second. The difference is a target cell's own cost: a worker thread
for the sync function, and parsing its call back out of the cassette traffic (`model_call`).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.runner import Runner, RunOptions  # noqa: E402
from harness.suite.spec import load_suite  # noqa: E402
from harness.testing import ProviderEmulator  # noqa: E402

APP = "def answer(inp):\n    return inp.model.invoke(inp.messages)\n"


def write_suite(folder: Path, name: str, n: int, base: str, target: bool) -> Path:
    lines = [
        f"name: {name}",
        f"models: [{{model: 'openai:gpt-4.1-mini', base_url: '{base}', api_key: sk-bench-0123456789}}]",
        *(["target: app.py:answer"] if target else []),
        "cases:",
    ]
    lines += [f"  - {{id: c{i}, prompt: 'Question number {i}?'}}" for i in range(n)]
    path = folder / f"{name}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run(suite: Path, folder: Path, mode: str, out: str) -> float:
    runner = Runner(
        load_suite(suite),
        RunOptions(cassettes_dir=folder / "cassettes", record_mode=mode, out=folder / out, concurrency=8),
    )
    t0 = time.perf_counter()
    result = runner.run()
    elapsed = time.perf_counter() - t0
    states = result.states
    assert set(states) == {"replayed" if mode == "none" else "recorded"}, states
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cells", type=int, default=1000)
    n = parser.parse_args().cells
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "app.py").write_text(APP)
        with ProviderEmulator() as emu:
            base = emu.base_url("openai")
            suites = {
                "prompt": write_suite(folder, "prompt", n, base, False),
                "target": write_suite(folder, "target", n, base, True),
            }
            for kind, suite in suites.items():
                run(suite, folder, "once", f"{kind}-rec")
        best = {kind: float("inf") for kind in suites}
        for attempt in range(3):  # interleaved, best of three: the machine may be busy
            for kind, suite in suites.items():
                best[kind] = min(best[kind], run(suite, folder, "none", f"{kind}-replay{attempt}"))
        print(f"replay of {n:,} cells, one process, concurrency 8 (best of 3):")
        for kind, elapsed in best.items():
            print(
                f"  {kind:>6} cells: {elapsed:6.2f} s  ({n / elapsed:,.0f} cells/s, {1000 * elapsed / n:.2f} ms/cell)"
            )


if __name__ == "__main__":
    main()
