"""The chat-model layer: `ChatModel` over one provider adapter, and everything LangChain users call on it.

Owns: `chat` (invoke / stream / astream_events, callbacks, retries, timing, the HTTP client),
`binding` (`bind`, `bind_tools`, `with_structured_output`),
`init` (`init_chat_model`, provider inference, `ConfigurableModel`), `timing`, `retry` (the one
`RetryPolicy`, also the runner's), `clients` (the HTTP clients a model opens, and their closing).
May import: `harness.aws`, `harness.callbacks`, `harness.errors`, `harness.http`, `harness.messages`,
`harness.profiles`, `harness.providers`, `harness.redaction`, `harness.runnables`, `harness.tools`.
"""

from __future__ import annotations

from harness.models.chat import ChatModel
from harness.models.init import ConfigurableModel, infer_provider, init_chat_model, parse_model_string

__all__ = ["ChatModel", "ConfigurableModel", "infer_provider", "init_chat_model", "parse_model_string"]
