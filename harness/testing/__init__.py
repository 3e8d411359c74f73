"""Offline testing helpers: the provider emulator and its scripting types.

May import: `harness.errors`, `harness.http`, `harness.providers`.
"""

from harness.testing.emulator import ProviderEmulator, ReceivedRequest
from harness.testing.scripting import (
    EmulatedRequest,
    Fault,
    Reply,
    ToolCallSpec,
    default_reply,
    example_from_schema,
)

__all__ = [
    "EmulatedRequest",
    "Fault",
    "ProviderEmulator",
    "ReceivedRequest",
    "Reply",
    "ToolCallSpec",
    "default_reply",
    "example_from_schema",
]
