"""Provider registry: name -> adapter class, imported lazily.

Third parties register adapters through the `harness.providers` entry-point group
(`name = "package.module:AdapterClass"`).

Owns: `base` (the ProviderAdapter contract), one module or subpackage per provider (`openai`,
`azure_openai`, `ollama`, `anthropic/`, `google_genai/`, `openai_responses/`, `bedrock/`), `foreign`
(other libraries' replies as harness messages), and the shared steps: `_common` (translation steps
several adapters share), `_sse` (the incremental SSE parser), `_json_array` (a streamed JSON array,
Gemini's).

May import: `harness.errors`, `harness.messages`, `harness.redaction`.

Never `harness.models` or `harness.http`: adapters are pure.
"""

from __future__ import annotations

import importlib
import importlib.util
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from harness.errors import UnknownProviderError

if TYPE_CHECKING:
    from harness.providers.base import ProviderAdapter

_BUILTIN: dict[str, str] = {
    "openai": "harness.providers.openai:OpenAIChatAdapter",
    "openai_responses": "harness.providers.openai_responses:OpenAIResponsesAdapter",
    "azure_openai": "harness.providers.azure_openai:AzureOpenAIAdapter",
    "anthropic": "harness.providers.anthropic:AnthropicAdapter",
    "google_genai": "harness.providers.google_genai:GeminiAdapter",
    "bedrock_converse": "harness.providers.bedrock:BedrockConverseAdapter",
    "bedrock": "harness.providers.bedrock:BedrockInvokeAdapter",
    "ollama": "harness.providers.ollama:OllamaAdapter",
}
# aliases users type (LangChain registry keys that mean the same wire format here)
_ALIASES: dict[str, str] = {"google": "google_genai", "gemini": "google_genai"}

_cache: dict[str, type[ProviderAdapter]] = {}
_plugins: dict[str, str] | None = None


def _plugin_specs() -> dict[str, str]:
    global _plugins
    if _plugins is None:
        _plugins = {ep.name: ep.value for ep in entry_points(group="harness.providers")}
    return _plugins


def _available() -> dict[str, str]:
    specs = dict(_BUILTIN)
    specs.update(_plugin_specs())
    return specs


def known_providers() -> list[str]:
    """Provider names whose adapter module can be imported."""
    out = []
    for name, spec in _available().items():
        mod = spec.split(":", 1)[0]
        if importlib.util.find_spec(mod) is not None:
            out.append(name)
    return sorted(out)


def normalize_provider(name: str) -> str:
    key = name.replace("-", "_").lower()
    return _ALIASES.get(key, key)


def get_adapter_class(provider: str, *, model: str | None = None) -> type[ProviderAdapter]:
    key = normalize_provider(provider)
    if key in _cache:
        return _cache[key]
    spec = _available().get(key)
    if spec is None or importlib.util.find_spec(spec.split(":", 1)[0]) is None:
        raise UnknownProviderError(provider, known_providers(), model=model)
    mod_name, cls_name = spec.split(":", 1)
    cls = getattr(importlib.import_module(mod_name), cls_name)
    _cache[key] = cls
    return cls


def register_provider(name: str, spec: str) -> None:
    """Register an adapter at run time: `register_provider("mine", "pkg.mod:MyAdapter")`."""
    _BUILTIN[normalize_provider(name)] = spec
    _cache.pop(normalize_provider(name), None)


# more specific endpoints first: Azure's /openai/deployments/.../chat/completions before OpenAI's
_RECOGNIZE_ORDER = (
    "azure_openai",
    "openai_responses",
    "bedrock_converse",
    "bedrock",
    "google_genai",
    "anthropic",
    "ollama",
    "openai",
)


def adapter_for_url(url: str) -> type[ProviderAdapter] | None:
    """The adapter class whose endpoint this URL is, or None (used on recorded traffic)."""
    names = [*_RECOGNIZE_ORDER, *(n for n in _available() if n not in _RECOGNIZE_ORDER)]
    for name in names:
        try:
            cls = get_adapter_class(name)
        except Exception:
            continue
        if cls.recognizes(url):
            return cls
    return None
