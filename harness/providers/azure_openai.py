"""Azure OpenAI: the OpenAI Chat Completions wire format on an Azure resource (docs/providers/openai.md).

    init_chat_model("azure_openai:gpt-4o", azure_endpoint="https://my-res.openai.azure.com",
                    azure_deployment="gpt-4o-prod", api_version="2024-10-21")

* endpoint: `base_url` / `azure_endpoint` / env AZURE_OPENAI_ENDPOINT. A plain resource endpoint gives
  the deployment URL `{endpoint}/openai/deployments/{deployment}/chat/completions?api-version=...`;
  an endpoint ending in `/openai/v1` (the v1 API) gives `{endpoint}/chat/completions` with the
  deployment as `model` and no api-version.
* `azure_deployment` defaults to the model name; `api_version` defaults to env OPENAI_API_VERSION.
* auth: header `api-key` (api_key / env AZURE_OPENAI_API_KEY), or `Authorization: Bearer <token>`
  when `azure_ad_token` (env AZURE_OPENAI_AD_TOKEN) is given, which wins over a key.
* `use_responses_api=True` sends the Responses API to `{endpoint}/openai/v1/responses`.
* Content-filter results are kept in `response_metadata` (`prompt_filter_results`,
  `content_filter_results`); a filtered answer has `finish_reason="content_filter"` (no exception).
"""

from __future__ import annotations

import os
import re
from typing import Any, ClassVar
from urllib.parse import quote

from harness.errors import ConfigurationError, MissingAPIKeyError
from harness.messages.core import AIMessage
from harness.providers.base import ChatRequest, ProviderAdapter
from harness.providers.openai import OpenAIChatAdapter
from harness.providers.openai_responses.adapter import OpenAIResponsesAdapter

_DEPLOYMENT = re.compile(r"/openai/deployments/([^/?#]+)")


class _AzureEndpoint:
    """Endpoint, deployment and auth shared by the Chat Completions and Responses variants."""

    name: ClassVar[str] = "azure_openai"
    api_key_env: ClassVar[tuple[str, ...]] = ("AZURE_OPENAI_API_KEY",)
    base_url_env: ClassVar[tuple[str, ...]] = ("AZURE_OPENAI_ENDPOINT",)
    default_base_url: ClassVar[str] = ""
    settings_keys: ClassVar[tuple[str, ...]] = (
        "azure_endpoint",
        "azure_deployment",
        "api_version",
        "azure_ad_token",
        "default_headers",
    )
    settings: dict[str, Any]
    base_url: str
    api_key: str | None
    missing_key: Any

    def __init__(
        self, *, model: str, api_key: str | None = None, base_url: str | None = None, **settings: Any
    ):
        super().__init__(
            model=model, api_key=api_key, base_url=base_url or settings.get("azure_endpoint"), **settings
        )  # type: ignore[call-arg]
        self.ad_token = settings.get("azure_ad_token") or os.environ.get("AZURE_OPENAI_AD_TOKEN")
        if self.ad_token:
            self.missing_key = None  # Entra ID token instead of a key
        elif self.missing_key is not None:
            self.missing_key = MissingAPIKeyError(
                self.name, ["AZURE_OPENAI_API_KEY", "AZURE_OPENAI_AD_TOKEN"]
            )
        self.api_version = settings.get("api_version") or os.environ.get("OPENAI_API_VERSION")
        self.deployment = settings.get("azure_deployment") or model

    def auth_headers(self) -> dict[str, str]:
        if self.ad_token:
            return {"Authorization": f"Bearer {self.ad_token}"}
        return {"api-key": self.api_key or "harness-missing-key"}

    def secrets(self) -> list[str]:
        return [s for s in (self.api_key, self.ad_token) if s]

    def endpoint(self) -> str:
        if not self.base_url:
            raise ConfigurationError(
                "azure_openai: no endpoint. Pass azure_endpoint='https://<resource>.openai.azure.com' "
                "(or base_url=...) or set AZURE_OPENAI_ENDPOINT."
            )
        return self.base_url

    def is_v1(self) -> bool:
        return self.endpoint().endswith("/openai/v1")

    def version_query(self) -> str:
        if not self.api_version:
            raise ConfigurationError(
                "azure_openai: no API version. Pass api_version='2024-10-21' (or another version your "
                "resource supports) or set OPENAI_API_VERSION; or use the v1 API with "
                "azure_endpoint='https://<resource>.openai.azure.com/openai/v1'."
            )
        return "?api-version=" + quote(self.api_version)

    def model_from_request(self, url: str, body: Any) -> str | None:
        m = _DEPLOYMENT.search(url)
        return m.group(1) if m else super().model_from_request(url, body)  # type: ignore[misc]


class AzureOpenAIAdapter(_AzureEndpoint, OpenAIChatAdapter):
    url_pattern: ClassVar[str] = (
        r"/openai/deployments/[^/?#]+/chat/completions(?:[?#]|$)|\.azure\.com/openai/v1/chat/completions(?:[?#]|$)"
    )

    @classmethod
    def responses_adapter_class(cls) -> type[ProviderAdapter]:
        return AzureOpenAIResponsesAdapter

    def url(self, request: ChatRequest) -> str:
        base = self.endpoint()
        if self.is_v1():
            return (
                base
                + "/chat/completions"
                + (self.version_query() if self.settings.get("api_version") else "")
            )
        if "/openai/deployments/" not in base:
            base += "/openai/deployments/" + quote(self.deployment, safe="")
        return base + "/chat/completions" + self.version_query()

    def build_body(self, request: ChatRequest) -> dict[str, Any]:
        body = super().build_body(request)
        body["model"] = self.deployment  # v1: selects the deployment; deployment URLs ignore it
        return body

    def parse_response(self, body: Any) -> AIMessage:
        msg = super().parse_response(body)
        if body.get("prompt_filter_results"):
            msg.response_metadata["prompt_filter_results"] = body["prompt_filter_results"]
        choice = (body.get("choices") or [{}])[0]
        if choice.get("content_filter_results"):
            msg.response_metadata["content_filter_results"] = choice["content_filter_results"]
        return msg


class AzureOpenAIResponsesAdapter(_AzureEndpoint, OpenAIResponsesAdapter):
    """The Responses API on Azure's v1 surface (`{endpoint}/openai/v1/responses`)."""

    url_pattern: ClassVar[str] = r"\.azure\.com/openai/v1/responses(?:[?#]|$)"
    reported_provider: ClassVar[str] = "azure_openai"

    def url(self, request: ChatRequest) -> str:
        base = self.endpoint()
        return (base if self.is_v1() else base + "/openai/v1") + "/responses"

    def build_body(self, request: ChatRequest) -> dict[str, Any]:
        return {**super().build_body(request), "model": self.deployment}
