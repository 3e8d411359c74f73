"""The chat-model layer: `ChatModel` over one provider adapter, and everything LangChain users call on it.

Owns: `chat` (invoke / stream / astream_events and their async twins: the calls), `base` (a model's
settings and what every call shares: preparing it, callbacks, parsing), `calls` (one call's request,
its capability checks, the errors of a refused response or a failed transport),
`binding` (`bind`, `bind_tools`, `with_structured_output`),
`init` (`init_chat_model`, provider inference, `ConfigurableModel`), `timing`, `retry` (the one
`RetryPolicy`, also the runner's), `clients` (the HTTP clients a model opens, and their closing),
`params` (constructor keywords sorted before a model is built: the proxy, unknown keywords).
May import: `harness.aws`, `harness.callbacks`, `harness.errors`, `harness.http`, `harness.messages`,
`harness.profiles`, `harness.providers`, `harness.redaction`, `harness.runnables`, `harness.tools`.
"""

from __future__ import annotations

from harness.models.chat import ChatModel
from harness.models.init import ConfigurableModel, infer_provider, init_chat_model, parse_model_string

__all__ = ["ChatModel", "ConfigurableModel", "infer_provider", "init_chat_model", "parse_model_string"]
