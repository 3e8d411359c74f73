"""AWS Bedrock Runtime Converse (`POST {base}/model/{modelId}/converse`) and ConverseStream
(`/converse-stream`, a binary AWS event stream).

Pure translation; see harness.providers.base for the contract and docs/providers/bedrock.md.
A request carries a Bedrock API key as a bearer token, or is built unsigned: `signing()` describes the
signature the model layer applies (with this adapter's pure `sign`) only as it goes live, so
building, replaying and inspecting a request never look for AWS credentials. Credentials, in order:
`api_key=` (a Bedrock API key); `aws_access_key_id` + `aws_secret_access_key` (+ `aws_session_token`);
`credentials_profile_name` (botocore); env AWS_BEARER_TOKEN_BEDROCK; then, at the first live call,
env AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN), else botocore's credential chain
(shared files, SSO, roles). With none, a cassette can still replay; only a live call fails.
"""

from __future__ import annotations

import configparser
import json
import os
import re
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from harness.errors import ModelAPIError, ModelError
from harness.messages.core import AIMessage
from harness.providers.base import (
    Capabilities,
    ChatRequest,
    ProviderAdapter,
    Signing,
    StreamDecoder,
    WireRequest,
    error_message,
    first_env,
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
        endpoint = base_url or settings.get("endpoint_url") or first_env(self.base_url_env)
        host_match = _HOST_REGION.match(urlsplit(endpoint).hostname or "") if endpoint else None
        self.region: str = (
            settings.get("region_name")
            or (host_match.group(2) if host_match else None)
            or first_env(("AWS_REGION", "AWS_DEFAULT_REGION"))
            or _configured_region(profile)
            or DEFAULT_REGION
        )
        endpoint = endpoint or f"https://bedrock-runtime.{self.region}.amazonaws.com"
        super().__init__(model=model, api_key=api_key, base_url=endpoint, **settings)
        if api_key is None and (explicit_keys or profile):
            self.api_key = (
                None  # explicit AWS credentials win over AWS_BEARER_TOKEN_BEDROCK in the environment
            )
        self._profile = profile
        self._explicit = (
            _sigv4.AWSCredentials(
                settings["aws_access_key_id"],
                settings["aws_secret_access_key"],
                settings.get("aws_session_token"),
            )
            if explicit_keys
            else None
        )

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

    # --- auth: a Bedrock API key goes in the headers; SigV4 credentials are found only when live ---

    def secrets(self) -> list[str]:
        given = [self.api_key] if self.api_key else []
        if self._explicit is not None:
            given += [s for s in (self._explicit.secret_key, self._explicit.token) if s]
        return given

    def signing(self) -> Signing | None:
        if self.api_key:
            return None
        return Signing("aws-sigv4", self.sign, self._explicit, self._profile)

    def sign(self, method: str, url: str, body: bytes, credentials: _sigv4.AWSCredentials) -> dict[str, str]:
        """The headers that sign this request (pure: the credentials are given)."""
        return _sigv4.sign(
            method, url, {"Content-Type": "application/json"}, body, credentials, self.region, "bedrock"
        )

    # --- translation ------------------------------------------------------------------------------

    def url(self, model: str, stream: bool) -> str:
        # the model id (an ARN or "vendor.model-v1:0") is one path label: percent-encode all but -._~
        return f"{self.base_url}/model/{quote(model, safe='')}/converse{'-stream' if stream else ''}"

    def build_request(self, request: ChatRequest) -> WireRequest:
        body = build_body(request)
        content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        url = self.url(request.model, request.stream)
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
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


def _configured_region(profile: str | None) -> str | None:
    """The `region` of the profile in the AWS config file (configuration only: no credentials, no network)."""
    path = Path(os.environ.get("AWS_CONFIG_FILE") or Path.home() / ".aws" / "config").expanduser()
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (OSError, configparser.Error):
        return None
    name = profile or os.environ.get("AWS_PROFILE") or "default"
    section = name if name == "default" else f"profile {name}"
    return parser.get(section, "region", fallback=None) or None
