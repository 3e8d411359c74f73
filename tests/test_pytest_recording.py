"""harness beside pytest-recording (vcrpy), both installed: who owns what (docs/pytest.md).

- `--record-mode`: pytest-recording defines it; both plugins read it.
- `--block-network`: pytest-recording defines and enforces it, per test, and its guard refuses loopback
  too (the emulator, local servers) unless `--allowed-hosts` (or `--allow-private-ips`) allows it; harness
  then installs no guard of its own. With `-p no:recording`, harness's guard refuses all but loopback.
- cassettes: `@pytest.mark.vcr` tests are vcrpy's; harness's fixtures and marker are harness's.
"""

from __future__ import annotations

import openai  # noqa: F401
import pytest
import requests  # noqa: F401
import vcr  # noqa: F401

# loaded here, not first inside an in-process pytester run: pytester unloads the modules a run imported,
# and PyYAML's C loader breaks on re-import
import harness.cassettes  # noqa: F401
import harness.runner.runner  # noqa: F401
from harness.testing import ProviderEmulator

pytest_plugins = ["pytester"]

TESTS = """
import os
import openai
import requests
import pytest

URL = os.environ["HARNESS_TEST_OPENAI_URL"]

def ask(question):  # application code: the openai SDK, no harness import
    with openai.OpenAI(base_url=URL, api_key="sk-test-key-0123456789") as client:
        reply = client.chat.completions.create(model="gpt-4.1-mini", messages=[{"role": "user", "content": question}])
    return reply.choices[0].message.content

def test_with_harness(cassette):
    assert ask("Capital of France?") == "Emulated reply to: Capital of France?"

@pytest.mark.vcr
def test_with_vcrpy():
    body = {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "Hi"}]}
    assert requests.post(URL + "/chat/completions", json=body, timeout=5).status_code == 200
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    emu = ProviderEmulator().start()
    monkeypatch.setenv("HARNESS_TEST_OPENAI_URL", emu.base_url("openai"))
    monkeypatch.delenv("HARNESS_RECORD_MODE", raising=False)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_app=TESTS)
    pytester.emulator = emu  # type: ignore[attr-defined]
    yield pytester
    emu.stop()


def test_one_record_mode_drives_both_plugins_cassettes(project: pytest.Pytester) -> None:
    project.runpytest("-p", "no:cacheprovider", "--record-mode=once").assert_outcomes(passed=2)
    assert (project.path / "cassettes" / "test_app" / "test_with_harness.yaml").is_file()  # harness's
    assert (project.path / "cassettes" / "test_app" / "test_with_vcrpy.yaml").is_file()  # vcrpy's
    assert len(project.emulator.requests) == 2  # type: ignore[attr-defined]
    project.emulator.stop()  # type: ignore[attr-defined]
    replay = project.runpytest(
        "-p", "no:cacheprovider", "--block-network"
    )  # emulator stopped: nothing to reach
    replay.assert_outcomes(passed=2)  # both replay without a socket
    replay.stdout.fnmatch_lines(["*network blocked by pytest-recording*"])


def test_pytest_recordings_block_network_refuses_loopback_unless_allowed(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        test_local="""
        import socket

        def connect(address):  # closes its socket whatever the guard raises
            sock = socket.socket()
            try:
                sock.settimeout(1)
                sock.connect(address)
            finally:
                sock.close()

        def test_loopback():
            with socket.create_server(("127.0.0.1", 0)) as server:
                connect(server.getsockname())

        def test_remote():
            connect(("192.0.2.10", 443))
        """
    )
    blocked = project.runpytest("-p", "no:cacheprovider", "test_local.py", "--block-network")
    blocked.assert_outcomes(failed=2)
    blocked.stdout.fnmatch_lines(["*Network is disabled for host '127.0.0.1'*"])
    # the documented workaround: loopback open again, the rest still refused
    loopback = r"--allowed-hosts=127\.0\.0\.1$,::1$,localhost$"
    allowed = project.runpytest("-p", "no:cacheprovider", "test_local.py", "--block-network", loopback)
    allowed.assert_outcomes(passed=1, failed=1)
    allowed.stdout.fnmatch_lines(["*Network is disabled for host '192.0.2.10'*"])
    # or without pytest-recording: harness's own guard, which always lets loopback through
    own = project.runpytest(
        "-p", "no:cacheprovider", "-p", "no:recording", "test_local.py", "--block-network"
    )
    own.assert_outcomes(passed=1, failed=1)
    own.stdout.fnmatch_lines(["*NetworkBlockedError: --block-network: a connection to 192.0.2.10:443*"])


def test_a_miss_inside_the_sdk_fails_the_test_as_a_cassette_miss(project: pytest.Pytester) -> None:
    """The plugin turns the miss's carrier (past the SDK's retry loop) back into the CassetteMissError."""
    args = ("-p", "no:cacheprovider", "-k", "harness")
    project.runpytest(*args, "--record-mode=once").assert_outcomes(passed=1)
    (project.path / "test_app.py").write_text(TESTS.replace("Capital of France?", "Capital of Spain?"))
    result = project.runpytest(*args)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*cassette miss*", "*nearest recorded (#0)*"])
    assert "Connection error" not in result.stdout.str()
    assert len(project.emulator.requests) == 1  # type: ignore[attr-defined]
