"""harness: evaluation and replay-testing for chat models.

from harness import init_chat_model, tool
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["init_chat_model", "tool", "__version__"]


def __getattr__(name: str) -> Any:
    # lazy: `import harness` stays cheap for the CLI and the pytest plugin
    if name == "init_chat_model":
        from harness.models.init import init_chat_model

        return init_chat_model
    if name == "tool":
        from harness.tools.tool import tool

        return tool
    raise AttributeError(f"module 'harness' has no attribute {name!r}")
