"""Google Gemini Developer API (v1beta `models/{model}:generateContent` / `:streamGenerateContent?alt=sse`).

Pure translation; see harness.providers.base for the contract and docs/providers/google_genai.md.
The request side lives in `request.py` (contents, tools, config), the response side in `response.py`
(one decoder for both paths: a whole response is decoded as a stream of one event and summed); this
module holds the adapter: URLs, headers, errors, and recognising recorded traffic.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from harness.errors import ModelAPIError, ModelError, error_for_status
from harness.messages.core import AIMessage, message_chunk_to_message, register_block_translator
from harness.providers.base import (
    COMMON_PARAMS,
    Capabilities,
    ChatRequest,
    ProviderAdapter,
    StreamDecoder,
    WireRequest,
    error_message,
    retry_after_seconds,
)
from harness.providers.google_genai.blocks import content_blocks
from harness.providers.google_genai.builtin import is_builtin_tool
from harness.providers.google_genai.request import KNOWN_PARAMS, PROVIDER, build_body
from harness.providers.google_genai.response import GeminiDecoder
from harness.providers.google_genai.response import finish_reason as finish_reason
from harness.providers.google_genai.response import usage_from_gemini as usage_from_gemini

_MODEL_IN_URL = re.compile(r"/models/([^/:?]+):(?:generateContent|streamGenerateContent)(?:\?|$)")
_OLD_MODEL = re.compile(r"^(models/)?gemini-[12][.-]")  # before Gemini 3 function calls needed no signature


class GeminiAdapter(ProviderAdapter):
    name: ClassVar[str] = PROVIDER
    # no parallel_tool_calls switch in the API (the model may call several tools in one turn)
    capabilities: ClassVar[Capabilities] = Capabilities(reasoning=True, parallel_tool_calls=False)
    api_key_env: ClassVar[tuple[str, ...]] = ("GOOGLE_API_KEY", "GEMINI_API_KEY")
    base_url_env: ClassVar[tuple[str, ...]] = ("GOOGLE_GEMINI_BASE_URL",)
    default_base_url: ClassVar[str] = "https://generativelanguage.googleapis.com"
    default_structured_method: ClassVar[str] = "json_schema"
    # api_version: "v1beta" (default) or "v1"; schema_dialect: "json_schema" (default: responseJsonSchema /
    # parametersJsonSchema) or "openapi" (responseSchema / parameters, converted)
    settings_keys: ClassVar[tuple[str, ...]] = ("api_version", "schema_dialect", "default_headers")
    known_params: ClassVar[frozenset[str] | None] = COMMON_PARAMS | KNOWN_PARAMS
    # generativelanguage `/v1beta/models/x:generateContent` and Vertex AI
    # `/projects/p/locations/l/publishers/google/models/x:generateContent` share the body format
    url_pattern: ClassVar[str] = _MODEL_IN_URL.pattern

    @classmethod
    def is_server_tool(cls, tool: Any) -> bool:
        return is_builtin_tool(tool)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        dialect = self.settings.get("schema_dialect", "json_schema")
        if dialect not in ("json_schema", "openapi"):
            raise ValueError(
                f"google_genai: schema_dialect must be 'json_schema' or 'openapi', got {dialect!r}"
            )
        self.schema_dialect = dialect

    def url(self, request: ChatRequest) -> str:
        model = request.model if "/" in request.model else f"models/{request.model}"
        base = self.base_url
        if not re.search(r"/v\d+(alpha|beta)?\d*$", base):
            base = f"{base}/{self.settings.get('api_version') or 'v1beta'}"
        method = "streamGenerateContent?alt=sse" if request.stream else "generateContent"
        return f"{base}/{model}:{method}"

    def build_request(self, request: ChatRequest) -> WireRequest:
        headers = {
            "Content-Type": "application/json",
            "x-goog-api-key": self.api_key or "harness-missing-key",
            **(self.settings.get("default_headers") or {}),
        }
        sign_calls = not _OLD_MODEL.match(request.model)
        body = build_body(request, dialect=self.schema_dialect, sign_calls=sign_calls)
        return WireRequest("POST", self.url(request), headers, body)

    def parse_response(self, body: Any) -> AIMessage:
        decoder = GeminiDecoder(self.name)
        chunks = [c for ev in (body if isinstance(body, list) else [body]) for c in decoder.event(ev)]
        chunks += decoder.finish()
        if not chunks:
            raise ModelAPIError(
                "empty response: no GenerateContentResponse in the body", provider=self.name, body=body
            )
        return message_chunk_to_message(chunks[0] + chunks[1:])  # type: ignore[return-value]

    def stream_decoder(self) -> StreamDecoder:
        return GeminiDecoder(self.name)

    def classify_error(self, status: int, headers: Any, body: Any) -> ModelError:
        err = (body[0] if isinstance(body, list) and body else body) if body else None
        err = err.get("error") if isinstance(err, dict) else None
        err = err if isinstance(err, dict) else {}
        msg = error_message(body)
        if err.get("status"):
            msg = f"{err['status']}: {msg}"
        retry_after = retry_after_seconds(headers) if hasattr(headers, "get") else None
        if retry_after is None:
            retry_after = _retry_delay(err.get("details"))
        overflow = status == 400 and bool(
            re.search(r"exceeds the maximum number of tokens|context (window|length)", msg, re.IGNORECASE)
        )
        return error_for_status(
            status, msg, provider=self.name, body=body, context_overflow=overflow, retry_after=retry_after
        )

    # --- recorded traffic ---------------------------------------------------------------------------

    def model_from_request(self, url: str, body: Any) -> str | None:
        m = _MODEL_IN_URL.search(url)
        return m.group(1) if m else None

    def is_stream_request(self, url: str, body: Any) -> bool:
        return ":streamGenerateContent" in url

    @classmethod
    def normalize_url_for_match(cls, url: str) -> str:
        """Drop a `key=` query parameter (some clients put the API key there) and `alt=` (a stream
        recorded without `alt=sse` is a JSON array, which the decoder reads as well)."""
        parts = urlsplit(url)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ("key", "alt")]
        return urlunsplit(parts._replace(query=urlencode(query)))


def _retry_delay(details: Any) -> float | None:
    """google.rpc.RetryInfo `retryDelay` ("19s", "0.5s", or {"seconds", "nanos"}) -> seconds."""
    for d in details or ():
        if not (isinstance(d, dict) and str(d.get("@type", "")).endswith("google.rpc.RetryInfo")):
            continue
        delay = d.get("retryDelay")
        try:
            if isinstance(delay, str) and delay.endswith("s"):
                return float(delay[:-1])
            if isinstance(delay, dict):
                return float(delay.get("seconds", 0)) + float(delay.get("nanos", 0)) / 1e9
        except ValueError:
            return None
    return None


register_block_translator(PROVIDER, content_blocks)
