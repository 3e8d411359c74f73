"""The previous majors of the openai SDK (2.x, on httpx) and the anthropic SDK (1.x, on httpx2) record and
replay like the current ones (tests/test_cassettes_sdks.py): in fresh processes that import them from
.sdk-previous/ (made by scripts/install_previous_sdks.py, which .ci/run calls)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.testing import ProviderEmulator

ROOT = Path(__file__).resolve().parent.parent
PREVIOUS = ROOT / ".sdk-previous"
FOLDERS = [PREVIOUS / "openai2", PREVIOUS / "anthropic1"]
SCENARIOS = [
    *("openai_invoke", "openai_stream", "openai_astream", "openai_tools", "openai_structured"),
    *("anthropic_invoke", "anthropic_stream", "anthropic_astream", "anthropic_tools"),
]

pytestmark = pytest.mark.skipif(
    not all(f.is_dir() for f in FOLDERS),
    reason="run scripts/install_previous_sdks.py to test the previous SDK majors",
)


def _env(urls: dict[str, str]) -> dict[str, str]:
    path = os.pathsep.join([*(str(f) for f in FOLDERS), str(ROOT)])
    return {**os.environ, "SDK_BASE_URLS": json.dumps(urls), "PYTHONPATH": path}


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout


def test_the_previous_sdk_majors_record_then_replay_offline(tmp_path):
    probe = (
        "import openai, anthropic, openai._base_client as o, anthropic._base_client as a\n"
        "on = lambda m: 'httpx2' if hasattr(m, 'httpx2') else 'httpx'\n"
        "print(openai.__version__, anthropic.__version__, on(o), on(a))"
    )
    with ProviderEmulator() as emu:
        env = _env(emu.base_urls)
        openai_version, anthropic_version, openai_http, anthropic_http = _run(["-c", probe], env).split()
        assert (openai_version[0], openai_http) == ("2", "httpx")
        assert (anthropic_version[0], anthropic_http) == ("1", "httpx2")
        app = [str(ROOT / "tests" / "_sdk_app.py")]
        recorded = json.loads(_run([*app, "record", str(tmp_path), *SCENARIOS], env))
        sent = [{k.lower(): v for k, v in r.headers.items()} for r in emu.requests]
    # anthropic 1.x sends its key as x-api-key (2.x: Authorization: Bearer); neither reaches the files
    assert any(h.get("x-api-key") == "sk-ant-SENTINEL-anthropic-0123456789abcdef" for h in sent)
    assert {n: (r["state"], r["calls"]) for n, r in recorded.items()} == dict.fromkeys(
        SCENARIOS, ("recorded", 1)
    )
    written = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert written and b"SENTINEL" not in written
    replayed = json.loads(_run([*app, "replay", str(tmp_path), *SCENARIOS], env))
    assert {n: r["state"] for n, r in replayed.items()} == dict.fromkeys(SCENARIOS, "replayed")
    assert {n: r["out"] for n, r in replayed.items()} == {n: r["out"] for n, r in recorded.items()}
    # both retry any Exception from their transport: a miss still reaches the caller after one attempt
    missed = json.loads(_run([*app, "miss", str(tmp_path / "none"), *SCENARIOS], env))
    assert {n: (r["out"], r["misses"]) for n, r in missed.items()} == dict.fromkeys(
        SCENARIOS, ("CassetteMissError", 1)
    )
