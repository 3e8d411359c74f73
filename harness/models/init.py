"""init_chat_model("provider:model", ...) and configurable models (LangChain names and rules)."""

from __future__ import annotations

import re
import threading
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any

from harness.errors import ConfigurationError, UnknownProviderError
from harness.providers import _available, known_providers, normalize_provider
from harness.runnables import Runnable, ensure_config

# case-insensitive startswith, first match wins (Bedrock ids "anthropic." come after "claude")
_PREFIXES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("gpt-", "o1", "o3", "o4", "chatgpt", "text-davinci"), "openai"),
    (("claude",), "anthropic"),
    (("gemini",), "google_genai"),
    (("amazon.", "anthropic.", "meta.", "us.", "eu.", "apac.", "global."), "bedrock_converse"),
)


def infer_provider(model: str) -> str | None:
    low = model.lower()
    for prefixes, provider in _PREFIXES:
        if low.startswith(prefixes):
            return provider
    return None


def parse_model_string(model: str, model_provider: str | None = None) -> tuple[str, str]:
    """ "provider:model" -> (model, provider). Later colons stay in the model ("ollama:llama3:8b")."""
    if not isinstance(model, str) or not model:
        raise ConfigurationError(
            f"model must be a non-empty string like 'openai:gpt-4.1-mini'; got {model!r}"
        )
    if model_provider:
        return model, normalize_provider(model_provider)
    if ":" in model:
        prefix, rest = model.split(":", 1)
        key = normalize_provider(prefix)
        if key in _available():
            if not rest.strip():
                raise ConfigurationError(
                    f"model {model!r} names no model after '{prefix}:'; write it as '{prefix}:<model name>'"
                )
            return rest, key
        if not infer_provider(model) and re.fullmatch(r"[A-Za-z][A-Za-z_-]*", prefix):
            raise UnknownProviderError(prefix, known_providers(), model=model)
    provider = infer_provider(model)
    if provider is None:
        raise ConfigurationError(
            f"Unable to infer model provider for model={model!r}. Write it as 'provider:model' "
            f"or pass model_provider=...; supported providers: {', '.join(known_providers())}."
        )
    return model, provider


def _build(model: str, model_provider: str | None, params: dict[str, Any]) -> Any:
    from harness.models.chat import ChatModel

    name, provider = parse_model_string(model, model_provider)
    return ChatModel(model=name, model_provider=provider, **params)


def init_chat_model(
    model: str | None = None,
    *,
    model_provider: str | None = None,
    configurable_fields: Any = None,
    config_prefix: str | None = None,
    **kwargs: Any,
) -> Any:
    """Build a chat model from "provider:model" (or a bare name whose provider is inferred).

    With `configurable_fields` ("any" or a list of names) or no model, returns a ConfigurableModel
    whose fields are read per call from `config["configurable"]` (prefixed by `config_prefix`).
    """
    if model is not None and not isinstance(model, str):
        raise TypeError(
            f"model must be a string like 'openai:gpt-4.1-mini', got {type(model).__name__}; "
            "pass an already-built model object directly instead"
        )
    if not model and not configurable_fields:
        configurable_fields = ("model", "model_provider")
    config_prefix = config_prefix or ""
    if config_prefix and not configurable_fields:
        warnings.warn(
            f"config_prefix={config_prefix!r} has no effect without configurable_fields", stacklevel=2
        )
    if not configurable_fields:
        assert model is not None
        return _build(model, model_provider, kwargs)
    defaults = dict(kwargs)
    if model:
        defaults["model"] = model
    if model_provider:
        defaults["model_provider"] = model_provider
    return ConfigurableModel(defaults, configurable_fields, config_prefix)


class _BuiltModels:
    """The ChatModels a ConfigurableModel (and what it queued) built, one per distinct configuration:
    they keep their connections between calls, and `close()` closes them all."""

    def __init__(self) -> None:
        self.models: dict[str, Any] = {}
        self.lock = threading.Lock()

    def get(self, model: str, params: dict[str, Any]) -> Any:
        key = repr((model, sorted(params.items())))
        with self.lock:
            built = self.models.get(key)
            if built is None:
                built = self.models[key] = _build(model, params.pop("model_provider", None), params)
        return built


class ConfigurableModel(Runnable):
    """Resolves the model per call from config["configurable"]; bind_tools / with_structured_output
    calls are queued and replayed on each resolved model."""

    def __init__(
        self,
        defaults: dict[str, Any],
        fields: Any,
        prefix: str = "",
        queued: tuple[tuple[str, tuple[Any, ...], dict[str, Any]], ...] = (),
        built: _BuiltModels | None = None,
    ) -> None:
        self.defaults = defaults
        self.fields = fields if fields == "any" else tuple(fields)
        self.prefix = prefix + "_" if prefix and not prefix.endswith("_") else prefix
        self.queued = queued
        self._built = built or _BuiltModels()

    def _overrides(self, config: dict[str, Any] | None) -> dict[str, Any]:
        configurable = ensure_config(config)["configurable"]
        out = {}
        for key, value in configurable.items():
            if self.prefix:
                if not key.startswith(self.prefix):
                    continue
                key = key[len(self.prefix) :]
            if self.fields == "any" or key in self.fields:
                out[key] = value
        return out

    def _model(self, config: dict[str, Any] | None = None) -> Any:
        params = {**self.defaults, **self._overrides(config)}
        model = params.pop("model", None)
        if not model:
            raise ConfigurationError(
                "no model configured: pass model=... or config={'configurable': {'"
                f"{self.prefix}model': 'provider:name'}}}}"
            )
        built = self._built.get(model, params)
        for name, args, kwargs in self.queued:
            built = getattr(built, name)(*args, **kwargs)
        return built

    def _queue(self, name: str, *args: Any, **kwargs: Any) -> ConfigurableModel:
        return ConfigurableModel(
            self.defaults, self.fields, self.prefix, (*self.queued, (name, args, kwargs)), self._built
        )

    def bind_tools(self, *args: Any, **kwargs: Any) -> ConfigurableModel:
        return self._queue("bind_tools", *args, **kwargs)

    def with_structured_output(self, *args: Any, **kwargs: Any) -> ConfigurableModel:
        return self._queue("with_structured_output", *args, **kwargs)

    def bind(self, **kwargs: Any) -> ConfigurableModel:
        return self._queue("bind", **kwargs)

    def invoke(self, input: Any, config: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self._model(config).invoke(input, config, **kwargs)

    async def ainvoke(self, input: Any, config: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return await self._model(config).ainvoke(input, config, **kwargs)

    def stream(self, input: Any, config: dict[str, Any] | None = None, **kwargs: Any) -> Iterator[Any]:
        return self._model(config).stream(input, config, **kwargs)

    def astream(self, input: Any, config: dict[str, Any] | None = None, **kwargs: Any) -> AsyncIterator[Any]:
        return self._model(config).astream(input, config, **kwargs)

    def astream_events(
        self, input: Any, config: dict[str, Any] | None = None, **kwargs: Any
    ) -> AsyncIterator[Any]:
        return self._model(config).astream_events(input, config, **kwargs)

    def close(self) -> None:
        for model in list(self._built.models.values()):
            model.close()

    async def aclose(self) -> None:
        for model in list(self._built.models.values()):
            await model.aclose()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or "model" not in self.defaults:
            raise AttributeError(f"{name} is not a ChatModel attribute, or no default model is configured")
        return getattr(self._model(), name)
