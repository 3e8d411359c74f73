"""`harness.chat_models`: where LangChain users look for `init_chat_model` (`langchain.chat_models`).

The code lives in `harness.models.init`; this module only names it.

May import: `harness.models`.
"""

from __future__ import annotations

from harness.models.init import ConfigurableModel, infer_provider, init_chat_model, parse_model_string

__all__ = ["ConfigurableModel", "infer_provider", "init_chat_model", "parse_model_string"]
