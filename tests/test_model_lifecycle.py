"""Retries through the one policy, and closing what a model opens: over real HTTP to the emulator."""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from harness import init_chat_model
from harness.cassettes import use_cassette
from harness.errors import ModelRateLimitError
from harness.models.retry import RetryPolicy
from harness.testing import Fault, Reply


def _model(emulator, **kw):
    return init_chat_model("openai:gpt-4.1-mini", base_url=emulator.base_url("openai"), api_key="k", **kw)


def _wait_for(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


# --- retries -----------------------------------------------------------------------------------------


def test_a_429_without_retry_after_is_retried_after_a_backoff(emulator):
    emulator.queue(Fault.rate_limit(retry_after=None), Reply(text="after the backoff"))
    with _model(emulator, max_retries=1) as model:
        started = time.perf_counter()
        assert model.invoke("x").content == "after the backoff"
        elapsed = time.perf_counter() - started
    assert len(emulator.requests) == 2
    assert elapsed >= RetryPolicy().initial_delay


async def test_retry_after_longer_than_the_backoff_is_honoured(emulator):
    # the first backoff is at most initial_delay + jitter (1 s): waiting longer means retry-after won
    emulator.queue(Fault.rate_limit(retry_after=1.2), Reply(text="finally"))
    async with _model(emulator, max_retries=1) as model:
        started = time.perf_counter()
        assert (await model.ainvoke("x")).content == "finally"
        assert time.perf_counter() - started >= 1.2


def test_max_retries_zero_sends_once_and_max_retries_is_settable(emulator):
    emulator.queue(Fault.rate_limit(retry_after=0.01), Fault.rate_limit(retry_after=0.01), Reply(text="ok"))
    with _model(emulator, max_retries=0) as model:
        with pytest.raises(ModelRateLimitError):
            model.invoke("x")
        assert len(emulator.requests) == 1
        model.max_retries = 1
        assert model.retry_policy.max_retries == 1
        assert model.invoke("x").content == "ok"
    assert len(emulator.requests) == 3


def test_a_replayed_429_is_retried_without_waiting(emulator, tmp_path):
    path = tmp_path / "limited.yaml"
    emulator.queue(Fault.rate_limit(retry_after=1.0), Reply(text="recorded"))
    with _model(emulator, max_retries=1) as model:
        with use_cassette(path, record_mode="all"):
            model.invoke("x")
        started = time.perf_counter()
        with use_cassette(path, record_mode="none"):
            assert model.invoke("x").content == "recorded"
        assert time.perf_counter() - started < 0.9  # the live call waited the full 1 s


# --- closing -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("streamed", [False, True])
def test_a_replayed_call_leaves_nothing_for_the_cyclic_collector(emulator, tmp_path, streamed):
    """A model built, called under its cassette and closed, as each pytest test does, is freed as soon
    as it is dropped: no reference cycle is left for Python's cyclic collector, whose passes would
    otherwise grow with every test (a sixth of the plugin's cost per test before this)."""
    path = tmp_path / "one.yaml"
    emulator.queue(Reply(text="recorded"))

    def one_test(mode="none"):
        with use_cassette(path, record_mode=mode), _model(emulator) as model:
            if streamed:
                assert "".join(c.text for c in model.stream("x")) == "recorded"
            else:
                assert model.invoke("x").content == "recorded"

    one_test("all")
    one_test()  # first replay: caches filled, modules imported
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    try:
        one_test()
        assert gc.collect() == 0
    finally:
        if was:
            gc.enable()


def test_with_block_closes_the_connection(emulator):
    with _model(emulator) as model:
        model.invoke("hi")
        assert emulator.connections_open == 1
    assert _wait_for(lambda: emulator.connections_open == 0)
    assert model.invoke("again").content  # a closed model opens a new client when used again
    model.close()


def test_models_with_the_same_settings_keep_their_own_connections_and_close_them(emulator):
    first, second = _model(emulator), _model(emulator)
    first.invoke("one")
    second.invoke("two")
    assert emulator.connections_open == 2
    first.close()
    assert _wait_for(lambda: emulator.connections_open == 1)
    assert second.invoke("still open").content  # the other model's connection is untouched
    assert emulator.connections_opened == 2
    second.close()
    assert _wait_for(lambda: emulator.connections_open == 0)
    assert first.invoke("reopened").content  # a closed model opens a new connection when used again
    assert emulator.connections_opened == 3
    first.close()
    assert _wait_for(lambda: emulator.connections_open == 0)


def test_bound_and_structured_models_close_the_model_underneath(emulator):
    model = _model(emulator)
    structured = model.bind(temperature=0).with_structured_output({"title": "t", "type": "object"})
    emulator.queue(Reply(text="{}"))
    with structured:
        structured.invoke("hi")
        assert emulator.connections_open == 1
    assert _wait_for(lambda: emulator.connections_open == 0)


def test_asyncio_run_ainvoke_leaves_no_unclosed_socket(emulator):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = _model(emulator)
        assert asyncio.run(model.ainvoke("one")).content
        assert asyncio.run(model.ainvoke("two")).content
        del model
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
    assert _wait_for(lambda: emulator.connections_open == 0)


async def test_async_with_closes_this_loops_connections(emulator):
    async with _model(emulator) as model:
        await model.abatch(["a", "b", "c"])
        assert emulator.connections_open >= 1
    assert _wait_for(lambda: emulator.connections_open == 0)


async def test_a_model_dropped_while_its_loop_runs_closes_its_connections(emulator):
    model = _model(emulator)
    await model.ainvoke("hi")
    del model
    gc.collect()
    for _ in range(100):  # the closing runs as a task of this loop
        await asyncio.sleep(0.01)
        if emulator.connections_open == 0:
            break
    assert emulator.connections_open == 0


def test_configurable_model_reuses_and_closes_the_models_it_built(emulator):
    configurable = init_chat_model(
        configurable_fields=("model",), base_url=emulator.base_url("openai"), api_key="k"
    )
    config = {"configurable": {"model": "openai:gpt-4.1-mini"}}
    with configurable:
        configurable.invoke("a", config)
        configurable.bind_tools([]).invoke("b", config)
        assert emulator.connections_opened == 1  # one model, one connection, for both calls
    assert _wait_for(lambda: emulator.connections_open == 0)


FIRST_BATCH = """
import sys
from harness import init_chat_model
from harness.testing import ProviderEmulator

with ProviderEmulator(latency=0.05) as emu:  # the five calls overlap
    with init_chat_model("openai:gpt-4.1-mini", base_url=emu.base_url(), api_key="k") as model:
        model.batch([f"q{i}" for i in range(5)], config={"max_concurrency": 5})
        model.batch([f"r{i}" for i in range(5)], config={"max_concurrency": 5})
    print(emu.connections_opened)
"""


def test_a_concurrent_first_batch_makes_one_client():
    # a fresh process: the first client of a process also builds the TLS context, the slow part
    # that concurrent first calls used to race through, each building a client of its own
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", FIRST_BATCH],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert done.returncode == 0, done.stderr
    # one client: the second batch reuses the first batch's five connections
    assert done.stdout.split() == ["5"]
