"""pytest plugin cost per test: replayed one-call tests against the same number of trivial tests without
harness, at each `-n W`, in one run. Prints figures; asserts nothing.

    python benchmarks/plugin.py                    # 1,000 tests, -n 0 and -n 2, best of 3
    python benchmarks/plugin.py --tests 2000 --workers 0,2,4 --repeat 5

The harness project is N tests `def test_call(chat_model, i): chat_model.invoke(f"question {i}")`, each
replaying its own cassette (recorded first from the emulator, not timed) with the emulator stopped
(`CI=1`: record mode none, and replay opens no socket; `--block-network` is left out, since with
pytest-recording installed it is that plugin's per-test fixture, not harness's). The baseline is N tests `def test_plain(i): assert i >= 0` with the plugin disabled
(`-p no:harness`): what pytest and pytest-xdist cost alone. Both are timed end to end (a subprocess:
start-up, collection, the run), with bytecode caching on (PYTHONPYCACHEPREFIX, outside the tree);
the difference over N is what harness adds per test, the replayed call and the plugin's start-up
included. The same projects with one test each give the start-up alone, and so the cost of each
further test. Target: at most 1 ms per test at every W.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.testing import ProviderEmulator  # noqa: E402

HARNESS_TESTS = """\
import pytest

@pytest.mark.parametrize("i", range({n}))
def test_call(chat_model, i):
    assert chat_model.invoke(f"question {{i}}").text
"""
PLAIN_TESTS = """\
import pytest

@pytest.mark.parametrize("i", range({n}))
def test_plain(i):
    assert i >= 0
"""
MODEL = "openai:gpt-4.1-mini"


PYCACHE = Path(tempfile.gettempdir()) / "harness-bench-pycache"


def env(emu: ProviderEmulator | None) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    out.pop("HARNESS_RECORD_MODE", None)
    # compiled bytecode kept between runs, as on any machine (outside the tree): without it every run
    # compiles each module again, and pytest rewrites every plugin's modules again
    out.pop("PYTHONDONTWRITEBYTECODE", None)
    out["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    out["PYTHONPATH"] = str(ROOT)
    out["OPENAI_BASE_URL"] = emu.base_url("openai") if emu is not None else "http://127.0.0.1:9/v1"
    if emu is not None:
        out["OPENAI_API_KEY"] = "sk-bench"
    else:
        out["CI"] = "1"
    return out


def pytest_run(project: Path, args: list[str], environ: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=project,
        env=environ,
        capture_output=True,
        text=True,
    )
    took = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"pytest {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tests", type=int, default=1000)
    ap.add_argument("--workers", default="0,2", help="comma-separated -n values (0: no xdist)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each; the best is printed")
    args = ap.parse_args()
    n = args.tests
    with tempfile.TemporaryDirectory(prefix="harness-plugin-bench-") as d:
        project = Path(d)
        (project / "pytest.ini").write_text("[pytest]\n")
        (project / "test_harness.py").write_text(HARNESS_TESTS.format(n=n))
        (project / "test_plain.py").write_text(PLAIN_TESTS.format(n=n))
        (project / "test_harness_one.py").write_text(HARNESS_TESTS.format(n=1))
        (project / "test_plain_one.py").write_text(PLAIN_TESTS.format(n=1))
        with ProviderEmulator() as emu:
            for f in ("test_harness.py", "test_harness_one.py"):
                pytest_run(project, [f, "--models", MODEL, "--record-mode=once"], env(emu))
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; {n:,} tests, best of {args.repeat}")
        for w in [int(x) for x in args.workers.split(",")]:
            xdist = ["-n", str(w)] if w else ["-p", "no:xdist"]
            best: dict[str, float] = {}
            runs = {
                "plain": ["test_plain.py", "-p", "no:harness", *xdist],
                "plain1": ["test_plain_one.py", "-p", "no:harness", *xdist],
                "harness": ["test_harness.py", "--models", MODEL, *xdist],
                "harness1": ["test_harness_one.py", "--models", MODEL, *xdist],
            }
            for _ in range(args.repeat):  # interleaved, so a busy moment hits every kind alike
                for name, run_args in runs.items():
                    best[name] = min(best.get(name, float("inf")), pytest_run(project, run_args, env(None)))
            total_ms = (best["harness"] - best["plain"]) / n * 1000
            startup_ms = (best["harness1"] - best["plain1"]) * 1000
            each_ms = (
                ((best["harness"] - best["harness1"]) - (best["plain"] - best["plain1"])) / (n - 1) * 1000
            )
            print(
                f"pytest -n {w}: {n:,} replayed one-call tests {best['harness']:6.2f} s, {n:,} trivial tests "
                f"without harness {best['plain']:6.2f} s: harness adds {total_ms:.2f} ms per test "
                f"({startup_ms:.0f} ms once at start-up, then {each_ms:.2f} ms per test, the replayed call "
                "included)  target <= 1 ms",
                flush=True,
            )


if __name__ == "__main__":
    main()
