"""The LangChain bridge, both ways (`pip install 'harness[langchain]'`).

- `to_langchain(model)`: a harness chat model as a real `langchain_core` `BaseChatModel`, so it drops
  into `prompt | model` chains, `langchain.agents.create_agent` and LangGraph nodes;
- `from_langchain(messages)`: LangChain messages (one, a list, or a prompt value) as harness messages
  (every harness model also accepts them directly, through `harness.messages.convert`);
- `LangChainChatModel` / `langchain_model`: any LangChain chat model as a harness chat model, which is
  what a suite's `{model: "langchain:pkg.module:factory"}` entry builds.

Owns: `messages` (conversion both ways), `chat_model` (the `BaseChatModel` subclass; the only module
importing langchain-core at its top, itself imported only when `to_langchain` is called), `wrapped`
(LangChain chat models as harness chat models). harness imports and works without langchain-core.
May import: `harness.errors`, `harness.imports`, `harness.messages`, `harness.models`,
`harness.providers`, `harness.runnables`, `harness.tools`.
"""

from __future__ import annotations

from typing import Any, cast

from harness.errors import ConfigurationError
from harness.langchain.messages import from_langchain, to_langchain_message, to_langchain_messages
from harness.langchain.wrapped import LANGCHAIN_PREFIX, LangChainChatModel, langchain_model

__all__ = [
    "LANGCHAIN_PREFIX",
    "LangChainChatModel",
    "from_langchain",
    "langchain_model",
    "to_langchain",
    "to_langchain_message",
    "to_langchain_messages",
]


def to_langchain(model: Any) -> Any:
    """`model` (a harness ChatModel, a binding of one, or anything with harness's invoke / stream)
    as a `langchain_core.language_models.BaseChatModel`. Raises ConfigurationError without
    langchain-core installed."""
    from harness.langchain.messages import require_langchain

    require_langchain("to_langchain")
    from harness.langchain.chat_model import HarnessChatModel

    if not all(callable(getattr(model, m, None)) for m in ("invoke", "ainvoke", "stream", "astream")):
        raise ConfigurationError(
            f"to_langchain expects a harness chat model (init_chat_model(...) or a binding of one); "
            f"got {type(model).__name__}"
        )
    if hasattr(model, "_get_ls_params"):
        raise ConfigurationError(
            "to_langchain got a LangChain chat model already; pass it to LangChain as it is"
        )

    # LangChain's `profile` field: the harness model's (None where harness has no entry, as LangChain)
    profile = getattr(model, "profile", None)
    return HarnessChatModel(harness_model=model, profile=cast(Any, dict(profile)) if profile else None)
