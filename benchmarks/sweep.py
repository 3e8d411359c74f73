"""Workers sweep: the 20,000-cell replay of `benchmarks/runner.py` with `--workers` W = 1 ... cores.
Prints seconds and the speed-up over W = 1; asserts nothing.

    python benchmarks/sweep.py                      # W = 1 .. os.cpu_count(), best of 3
    python benchmarks/sweep.py --max 8 --repeat 5 --data /tmp/bench   # keep the recorded cassettes

Targets (issue #16): at least 1.8x at 2 workers on 2 cores, at least 10x at 16 workers on 16 cores.
A machine shared with other work gives lower and noisier figures: run it on an idle one.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from runner import record, replay_once  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max", type=int, default=os.cpu_count() or 1, help="largest W (default: the cores)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each W; the best is printed")
    ap.add_argument("--data", type=Path, help="directory for the recorded cassettes (kept between runs)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="harness-sweep-") as tmp:
        data = args.data or Path(tmp)
        data.mkdir(parents=True, exist_ok=True)
        record(data)
        replay_once(data, 1)  # warm the parse and bytecode caches: not timed
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(
            f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {load:.1f} at start; best of {args.repeat}"
        )
        base = None
        for w in range(1, args.max + 1):
            best = min(replay_once(data, w) for _ in range(args.repeat))
            base = base or best
            print(
                f"--workers {w:>2}: {best:6.2f} s  {20_000 / best:7,.0f} cells/s  {base / best:5.2f}x",
                flush=True,
            )


if __name__ == "__main__":
    main()
