"""Shared fixtures: a live provider emulator on loopback, and an OpenAI-format model pointed at it."""

from __future__ import annotations

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
