"""Runner benchmarks: replay throughput, live concurrency, peak memory. Prints figures; asserts nothing.

    python benchmarks/runner.py                 # all three (records the replay cassettes first)
    python benchmarks/runner.py --only live
    python benchmarks/runner.py --data DIR      # keep / reuse the recorded cassettes in DIR

1. replay: `harness run` (a subprocess, end to end: start-up, suite load, 20,000 cells, results,
   no report) of a 10,000-case suite × 2 models from cassettes recorded from the emulator
   through the real recording path, with `--workers 1` and `--workers 2` (`--workers 1,2,4`), best
   of `--repeat` runs. Target: under 10 s on a 2-core machine. (The suite parse cache and the
   bytecode cache are warm: an untimed run goes first.) `benchmarks/sweep.py` runs W = 1 ... cores.
2. live: 500 cells against the emulator answering after 100 ms, at concurrency 50, no cassettes.
   Ideal: 500 / 50 × 0.1 s = 1.0 s; target: within 1.3x.
3. memory: peak RSS of `harness run --workers 1` replaying 100,000 cells (50,000 cases × 2 models),
   on the suite's first parse (an empty parse cache) and with the parse cached. The extra 40,000
   cases repeat the first 10,000 cases' prompts, so their cassettes are hard links to the recorded
   files (same bytes, real replay path). Target: under 300 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.testing import ProviderEmulator  # noqa: E402

MODELS = '[openai:gpt-4.1-mini, {model: "anthropic:claude-haiku-4-5", id: haiku}]'


def suite_text(name: str, n_cases: int, distinct: int) -> str:
    lines = [f"name: {name}", f"models: {MODELS}", "defaults: {temperature: 0, max_tokens: 100}", "cases:"]
    for i in range(n_cases):
        lines.append(
            f"  - {{id: c{i:06d}, prompt: 'Question {{{{ n }}}}: what is {{{{ n }}}} plus one?', "
            f"vars: {{n: {i % distinct}}}, assert: [{{type: contains, value: Question}}]}}"
        )
    return "\n".join(lines) + "\n"


PYCACHE = Path(tempfile.gettempdir()) / "harness-bench-pycache"


def base_env(emu: ProviderEmulator | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    env.pop("HARNESS_RECORD_MODE", None)
    env["PYTHONPATH"] = str(ROOT)
    # bytecode cached between runs, as on any machine (outside the tree); without it each run compiles
    # every module it imports again (a machine with PYTHONDONTWRITEBYTECODE set pays that each time)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    if emu is not None:
        env.update(
            OPENAI_BASE_URL=emu.base_url("openai"),
            ANTHROPIC_BASE_URL=emu.base_url("anthropic"),
            OPENAI_API_KEY="sk-bench",
            ANTHROPIC_API_KEY="sk-ant-bench",
        )
    else:  # replay: no keys, and loopback base URLs (the cassettes were recorded against the emulator)
        env.update(OPENAI_BASE_URL="http://127.0.0.1:9/v1", ANTHROPIC_BASE_URL="http://127.0.0.1:9", CI="1")
    return env


def harness_run(
    args: list[str], cwd: Path, env: dict[str, str]
) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "run", *args, "--no-report", "--no-progress"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    return time.perf_counter() - t0, proc


def states(run_dir: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    with open(run_dir / "results.jsonl", "rb") as fh:
        for line in fh:
            s = json.loads(line)["cassette"]["state"]
            out[s] = out.get(s, 0) + 1
    return out


def record(data: Path) -> None:
    marker = data / "cassettes" / "bench10k" / "c009999" / "haiku.yaml"
    (data / "bench10k.yaml").write_text(suite_text("bench10k", 10_000, 10_000))
    if marker.is_file():
        return
    print("recording 20,000 cassettes from the emulator (setup, not timed) ...", flush=True)
    with ProviderEmulator() as emu:
        took, proc = harness_run(
            ["bench10k.yaml", "--record-mode", "all", "--out", "runs/record", "--concurrency", "32"],
            data,
            base_env(emu),
        )
    if proc.returncode != 0:
        raise SystemExit(
            f"recording failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        )
    print(f"  recorded in {took:.1f} s", flush=True)


def replay_once(data: Path, workers: int) -> float:
    """Seconds for `harness run` to replay the 20,000 cells with `--workers N`, end to end."""
    out = data / "runs" / f"replay-{time.time_ns()}"
    took, proc = harness_run(
        ["bench10k.yaml", "--out", str(out), "--concurrency", "16", "--workers", str(workers)],
        data,
        base_env(),
    )
    if proc.returncode != 0 or states(out) != {"replayed": 20_000}:
        raise SystemExit(f"replay --workers {workers} failed ({proc.returncode}): {proc.stderr[-600:]}")
    shutil.rmtree(out)  # 30 MB a run: a sweep with --data would otherwise keep every one
    return took


def bench_replay(data: Path, workers: list[int], repeat: int) -> None:
    record(data)
    replay_once(data, 1)  # warm the suite parse cache and the bytecode cache: not timed
    for w in workers:
        runs = [replay_once(data, w) for _ in range(repeat)]
        best = min(runs)
        print(
            f"replay   10,000 cases x 2 models = 20,000 cells, --workers {w}: {best:.2f} s end to end "
            f"({20_000 / best:,.0f} cells/s; best of {repeat}: {', '.join(f'{r:.2f}' for r in runs)})"
            "  target < 10 s",
            flush=True,
        )


def bench_live() -> None:
    from harness.runner.runner import Runner, RunOptions
    from harness.suite.spec import parse_suite

    text = "name: live\nmodels: [openai:gpt-4.1-mini]\ncases:\n" + "".join(
        f"  - {{id: c{i}, prompt: 'q{i}'}}\n" for i in range(500)
    )
    # the emulator in its own process (`harness emulate`), as a provider would be: no GIL shared with the runner
    emu = subprocess.Popen(
        [sys.executable, "-m", "harness", "emulate", "--port", "0", "--latency", "0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=base_env(),
    )
    try:
        url = ""
        while not url:
            parts = (emu.stdout.readline() if emu.stdout else "").split()
            if not parts:
                raise SystemExit("the emulator did not start")
            url = parts[1] if parts[0] == "openai" else ""
        with tempfile.TemporaryDirectory() as tmp:
            os.environ.update(OPENAI_BASE_URL=url, OPENAI_API_KEY="sk-bench")
            suite = parse_suite(text, "live.yaml")
            runner = Runner(suite, RunOptions(cassettes_dir=None, concurrency=50, out=Path(tmp) / "run"))
            t0 = time.perf_counter()
            result = runner.run()
            took = time.perf_counter() - t0
    finally:
        emu.terminate()
        emu.wait()
    print(
        f"live     500 cells, 100 ms latency, concurrency 50: {took:.2f} s "
        f"({took / 1.0:.2f}x the ideal 1.0 s; {result.counts['passed']} passed)  target <= 1.3x",
        flush=True,
    )


def bench_memory(data: Path) -> None:
    record(data)
    src = data / "cassettes" / "bench10k"
    dst = data / "cassettes" / "bench100k"
    (data / "bench100k.yaml").write_text(suite_text("bench100k", 50_000, 10_000))
    if not (dst / "c049999" / "haiku.yaml").is_file():
        for i in range(50_000):
            target = dst / f"c{i:06d}"
            target.mkdir(parents=True, exist_ok=True)
            for name in ("openai-gpt-4.1-mini.yaml", "haiku.yaml"):
                if not (target / name).exists():
                    os.link(src / f"c{i % 10_000:06d}" / name, target / name)
    # the suite's first parse (an empty parse cache), then a run that finds it cached; each in a child
    # of its own, since ru_maxrss of children is the largest any child reached
    with tempfile.TemporaryDirectory(prefix="harness-bench-cache-") as cache:
        for label in ("first parse", "parse cached"):
            code = (
                "import resource, subprocess, sys; "
                "p = subprocess.run(sys.argv[1:], capture_output=True); "
                "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
            )
            out = data / "runs" / f"mem-{time.time_ns()}"
            args = ["bench100k.yaml", "--out", str(out), "--concurrency", "16", "--workers", "1"]
            cmd = [sys.executable, "-m", "harness", "run", *args, "--no-report", "--no-progress"]
            t0 = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-c", code, *cmd],
                cwd=data,
                env={**base_env(), "HARNESS_CACHE_DIR": cache},
                capture_output=True,
                text=True,
            )
            took = time.perf_counter() - t0
            rc, peak_kb = proc.stdout.split()
            ok = rc == "0" and states(out) == {"replayed": 100_000}
            print(
                f"memory   100,000-cell replay, one process, {label}: peak RSS {int(peak_kb) / 1024:.0f} MB "
                f"in {took:.1f} s{'' if ok else '  [FAILED]'}  target < 300 MB",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=["replay", "live", "memory"])
    parser.add_argument("--data", type=Path, help="directory for the recorded cassettes (kept between runs)")
    parser.add_argument("--workers", default="1,2", help="replay with each of these --workers (default 1,2)")
    parser.add_argument("--repeat", type=int, default=3, help="replay runs of each; the best is printed")
    args = parser.parse_args()
    tmp = None
    data = args.data
    if data is None:
        tmp = tempfile.TemporaryDirectory(prefix="harness-bench-")
        data = Path(tmp.name)
    data.mkdir(parents=True, exist_ok=True)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs", flush=True)
    if args.only in (None, "memory"):  # first: ru_maxrss of children is a max over all of them
        bench_memory(data)
    if args.only in (None, "replay"):
        bench_replay(data, [int(w) for w in args.workers.split(",")], args.repeat)
    if args.only in (None, "live"):
        bench_live()
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
