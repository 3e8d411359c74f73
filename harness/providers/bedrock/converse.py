"""AWS Bedrock Runtime Converse (`POST {base}/model/{modelId}/converse`) and ConverseStream
(`/converse-stream`, a binary AWS event stream).

Pure translation; see harness.providers.base for the contract and ../shared/docs/wire-formats.md §7.
Requests are signed with SigV4 (`_sigv4`) over the exact body bytes, or carry a Bedrock API key as a
bearer token. Credentials, in order: `api_key=` (a Bedrock API key); `aws_access_key_id` +
`aws_secret_access_key` (+ `aws_session_token`); `credentials_profile_name` (botocore); env
AWS_BEARER_TOKEN_BEDROCK; env AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN);
botocore's credential chain (shared files, SSO, roles). With none, a cassette can still replay; only
a live call fails (the base `missing_key` mechanism).
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, ClassVar
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from harness.errors import MissingAPIKeyError, ModelAPIError, ModelError
from harness.messages.core import AIMessage
from harness.providers.base import (
    Capabilities,
    ChatRequest,
    ProviderAdapter,
    StreamDecoder,
    WireRequest,
    error_message,
    retry_after_seconds,
)
from harness.providers.bedrock import sigv4 as _sigv4
from harness.providers.bedrock.request import build_body
from harness.providers.bedrock.response import ConverseStreamDecoder, exception_error, parse_converse

_HOST_REGION = re.compile(r"^bedrock-runtime(-fips)?\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")
_PATH = re.compile(r"/model/([^/]+)/converse(-stream)?/?$")
DEFAULT_REGION = "us-east-1"


class BedrockConverseAdapter(ProviderAdapter):
    name: ClassVar[str] = "bedrock_converse"
    # no JSON mode in Converse; json_schema is `outputConfig.textFormat`
    capabilities: ClassVar[Capabilities] = Capabilities(
        parallel_tool_calls=False, structured_output=("function_calling", "json_schema"), reasoning=True
    )
    api_key_env: ClassVar[tuple[str, ...]] = ("AWS_BEARER_TOKEN_BEDROCK",)
    base_url_env: ClassVar[tuple[str, ...]] = ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME",)
    requires_api_key: ClassVar[bool] = False  # decided in __init__ / build_request: SigV4 needs no api_key
    default_structured_method: ClassVar[str] = "function_calling"
    settings_keys: ClassVar[tuple[str, ...]] = (
        "region_name",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "credentials_profile_name",
        "endpoint_url",
    )
    url_pattern: ClassVar[str] = r"/model/[^/?]+/converse(-stream)?/?(\?|$)"

    def __init__(
        self, *, model: str, api_key: str | None = None, base_url: str | None = None, **settings: Any
    ) -> None:
        explicit_keys = bool(settings.get("aws_access_key_id") and settings.get("aws_secret_access_key"))
        profile = settings.get("credentials_profile_name")
        endpoint = base_url or settings.get("endpoint_url") or _sigv4_env(self.base_url_env)
        host_match = _HOST_REGION.match(urlsplit(endpoint).hostname or "") if endpoint else None
        self.region: str = (
            settings.get("region_name")
            or (host_match.group(2) if host_match else None)
            or os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION")
            or _sigv4.region_from_config(profile)
            or DEFAULT_REGION
        )
        endpoint = endpoint or f"https://bedrock-runtime.{self.region}.amazonaws.com"
        super().__init__(model=model, api_key=api_key, base_url=endpoint, **settings)
        if api_key is None and (explicit_keys or profile):
            self.api_key = (
                None  # explicit AWS credentials win over AWS_BEARER_TOKEN_BEDROCK in the environment
            )
        self._profile = profile
        self._credentials: Any = None
        self._resolved = False
        if explicit_keys:
            self._credentials = _sigv4.AWSCredentials(
                settings["aws_access_key_id"],
                settings["aws_secret_access_key"],
                settings.get("aws_session_token"),
            )
            self._resolved = True
        elif self.api_key:
            self._resolved = True

    @classmethod
    def for_recorded(cls, url: str = "") -> ProviderAdapter:
        match = _PATH.search(urlsplit(url).path) if url else None
        base = url[: url.index("/model/")] if url and "/model/" in url else "http://recorded.invalid"
        return cls(
            model=unquote(match.group(1)) if match else "",
            api_key="recorded",
            base_url=base,
            region_name=DEFAULT_REGION,
        )

    # --- auth -------------------------------------------------------------------------------------

    def _aws_credentials(self) -> Any:
        """SigV4 credentials (explicit, environment, or botocore's chain), resolved once; None if none."""
        if not self._resolved:
            self._resolved = True
            self._credentials = (
                None if self._profile else _sigv4.env_credentials()
            ) or _sigv4.chain_credentials(self._profile)
            if self._credentials is None:
                self.missing_key = MissingAPIKeyError(
                    self.name,
                    [
                        "AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY",
                        "AWS_BEARER_TOKEN_BEDROCK",
                        f"an AWS profile (credentials_profile_name=..., needs {_sigv4.INSTALL_HINT})",
                    ],
                )
        return self._credentials

    def secrets(self) -> list[str]:
        out = [self.api_key] if self.api_key else []
        creds = None if self.api_key else self._aws_credentials()
        if creds is not None:
            frozen = _sigv4.frozen(creds)
            out += [s for s in (frozen.secret_key, frozen.token) if s]
        return out

    def sign(self, method: str, url: str, headers: dict[str, str], body: bytes) -> dict[str, str]:
        if self.api_key:
            return {**headers, "Authorization": f"Bearer {self.api_key}"}
        creds = self._aws_credentials()
        if creds is None:
            return headers  # replay can still match it; a live send raises self.missing_key
        return _sigv4.sign(method, url, headers, body, _sigv4.frozen(creds), self.region, "bedrock")

    # --- translation ------------------------------------------------------------------------------

    def url(self, model: str, stream: bool) -> str:
        # the model id (an ARN or "vendor.model-v1:0") is one path label: percent-encode all but -._~
        return f"{self.base_url}/model/{quote(model, safe='')}/converse{'-stream' if stream else ''}"

    def build_request(self, request: ChatRequest) -> WireRequest:
        body = build_body(request)
        content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        url = self.url(request.model, request.stream)
        headers = self.sign("POST", url, {"Content-Type": "application/json"}, content)
        if request.stream:
            headers["Accept"] = "application/vnd.amazon.eventstream"
        return WireRequest("POST", url, headers, json=body, content=content)

    def parse_response(self, body: Any) -> AIMessage:
        if not isinstance(body, dict) or "output" not in body:
            raise ModelAPIError(
                f"not a Converse response: {error_message(body)}", provider=self.name, body=body
            )
        return parse_converse(body, self.model, self.name)

    def stream_decoder(self) -> StreamDecoder:
        return ConverseStreamDecoder(self.name, self.model)

    def classify_error(self, status: int, headers: Any, body: Any) -> ModelError:
        code = (headers.get("x-amzn-errortype") or "") if hasattr(headers, "get") else ""
        code = code.split(":", 1)[0]
        if not code and isinstance(body, dict):
            code = str(body.get("__type") or body.get("code") or "").rsplit("#", 1)[-1]
        return exception_error(
            code,
            error_message(body),
            status,
            provider=self.name,
            body=body,
            retry_after=retry_after_seconds(headers),
        )

    # --- recognising recorded traffic ---------------------------------------------------------------

    def model_from_request(self, url: str, body: Any) -> str | None:
        match = _PATH.search(urlsplit(url).path)
        return unquote(match.group(1)) if match else None

    def is_stream_request(self, url: str, body: Any) -> bool:
        return urlsplit(url).path.rstrip("/").endswith("/converse-stream")

    @classmethod
    def normalize_url_for_match(cls, url: str) -> str:
        """Drop the region from the AWS host and decode the model id, so a cassette recorded in one
        region (or by an SDK that encodes ':' differently) matches in another."""
        parts = urlsplit(url)
        host = parts.netloc
        match = _HOST_REGION.match(parts.hostname or "")
        if match:
            host = f"bedrock-runtime{match.group(1) or ''}.amazonaws.com{match.group(3) or ''}"
        return urlunsplit((parts.scheme, host, unquote(parts.path), parts.query, parts.fragment))


def _sigv4_env(names: tuple[str, ...]) -> str | None:
    for n in names:
        if os.environ.get(n):
            return os.environ[n]
    return None
