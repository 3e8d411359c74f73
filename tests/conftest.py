"""Shared fixtures: a live provider emulator on loopback, and an OpenAI-format model pointed at it."""

from __future__ import annotations

import gc
import sys

import pytest

from harness import init_chat_model
from harness.testing import ProviderEmulator


@pytest.fixture
def emulator():
    """A running ProviderEmulator (all providers' wire formats on one loopback port)."""
    with ProviderEmulator() as emu:
        yield emu


@pytest.fixture(scope="module")
def emu():
    """One ProviderEmulator for a whole test module (faster; each test clears it, e.g. in its model fixture)."""
    with ProviderEmulator() as emu:
        yield emu


@pytest.fixture
def openai_model(emulator):
    """`openai:gpt-4.1-mini` talking to the emulator, with quick retries."""
    return init_chat_model(
        "openai:gpt-4.1-mini", base_url=emulator.base_url("openai"), api_key="sk-test-key", max_retries=2
    )


def pytest_sessionfinish() -> None:
    """langchain-openai keeps process-wide HTTP clients in an lru_cache and never closes them: drop
    them while the interpreter still runs, so their own `__del__` closes their sockets cleanly."""
    utils = sys.modules.get("langchain_openai.chat_models._client_utils")
    if utils is not None:
        utils._cached_sync_httpx_client.cache_clear()
        utils._cached_async_httpx_client.cache_clear()
        gc.collect()
