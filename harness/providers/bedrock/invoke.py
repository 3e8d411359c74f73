"""AWS Bedrock Runtime InvokeModel (`POST {base}/model/{modelId}/invoke`) and
InvokeModelWithResponseStream (`/invoke-with-response-stream`): LangChain's `ChatBedrock`, provider
`bedrock`. The body is the model family's own payload:

- Anthropic (`anthropic.claude-…`, also behind a `us.` / `eu.` / `apac.` / `global.` profile): the
  Messages API body without `model` / `stream`, with `"anthropic_version": "bedrock-2023-05-31"`;
  the reply is a Messages API message, streamed as Messages API events.
- Amazon Nova (`amazon.nova-…`): `"schemaVersion": "messages-v1"` with Converse-shaped `messages`,
  `system`, `inferenceConfig` and `toolConfig`; the reply is Converse-shaped, streamed as Converse
  events (`contentBlockDelta`, `messageStop`, `metadata` …).

A stream is an AWS event stream of `chunk` events whose payload is `{"bytes": "<base64 JSON event>"}`.
Endpoint, credentials and signing are the Converse adapter's.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any, ClassVar
from urllib.parse import quote, unquote, urlsplit

from harness.errors import ModelAPIError, UnsupportedFeatureError
from harness.messages.core import AIMessage, AIMessageChunk, register_block_translator
from harness.providers.anthropic.adapter import AnthropicAdapter
from harness.providers.anthropic.blocks import content_blocks as anthropic_blocks
from harness.providers.base import Capabilities, ChatRequest, ProviderAdapter, StreamDecoder, WireRequest
from harness.providers.bedrock.converse import DEFAULT_REGION, BedrockConverseAdapter
from harness.providers.bedrock.eventstream import EventStreamDecoder, EventStreamError, encode_event
from harness.providers.bedrock.request import build_body as converse_body
from harness.providers.bedrock.response import ConverseStreamDecoder, exception_error, parse_converse

PROVIDER = "bedrock"
BEDROCK_ANTHROPIC_VERSION = "bedrock-2023-05-31"
_PATH = re.compile(r"/model/([^/]+)/invoke(-with-response-stream)?/?$")
_PROFILE = re.compile(r"^(us|eu|apac|global|us-gov|jp|au)\.")
_CONVERSE_EVENTS = ("messageStart", "contentBlockStart", "contentBlockDelta", "contentBlockStop",
                    "messageStop", "metadata")  # fmt: skip


def model_family(model: str) -> str | None:
    """ "anthropic" or "nova" for a model id, ARN or inference profile; None for other families."""
    name = _PROFILE.sub("", model.rsplit("/", 1)[-1])
    if name.startswith("anthropic."):
        return "anthropic"
    if name.startswith("amazon.nova"):
        return "nova"
    return None


class _BedrockAnthropic(AnthropicAdapter):
    """The Messages API translation, reported as provider `bedrock`."""

    name: ClassVar[str] = PROVIDER


class BedrockInvokeAdapter(BedrockConverseAdapter):
    name: ClassVar[str] = PROVIDER
    # Nova has no switch for parallel calls, nor native structured output: one set for both families
    capabilities: ClassVar[Capabilities] = Capabilities(
        parallel_tool_calls=False, structured_output=("function_calling",), reasoning=True
    )
    known_params: ClassVar[frozenset[str] | None] = AnthropicAdapter.known_params | {"top_k"}  # type: ignore[operator]
    url_pattern: ClassVar[str] = r"/model/[^/?]+/invoke(-with-response-stream)?/?(\?|$)"

    def __init__(
        self, *, model: str, api_key: str | None = None, base_url: str | None = None, **settings: Any
    ) -> None:
        super().__init__(model=model, api_key=api_key, base_url=base_url, **settings)
        family = model_family(model)
        if family is None and model:
            raise UnsupportedFeatureError(
                PROVIDER,
                f"model {model!r} (InvokeModel payloads here: Anthropic 'anthropic.…' and Amazon Nova "
                "'amazon.nova-…'; use 'bedrock_converse:' for other models)",
            )
        self.family = family or "anthropic"
        self._anthropic = _BedrockAnthropic(model=model, api_key="unused")

    @classmethod
    def for_recorded(cls, url: str = "") -> ProviderAdapter:
        match = _PATH.search(urlsplit(url).path) if url else None
        base = url[: url.index("/model/")] if url and "/model/" in url else "http://recorded.invalid"
        model = unquote(match.group(1)) if match else ""
        return cls(
            model=model if model_family(model) else "anthropic.recorded",
            api_key="recorded",
            base_url=base,
            region_name=DEFAULT_REGION,
        )

    def url(self, model: str, stream: bool) -> str:
        suffix = "invoke-with-response-stream" if stream else "invoke"
        return f"{self.base_url}/model/{quote(model, safe='')}/{suffix}"

    def build_body(self, request: ChatRequest) -> dict[str, Any]:
        if self.family == "anthropic":
            body = self._anthropic.build_body(request)
            body.pop("model", None)
            body.pop("stream", None)
            return {"anthropic_version": BEDROCK_ANTHROPIC_VERSION, **body}
        if request.response_format is not None:
            raise UnsupportedFeatureError(PROVIDER, "response_format on Amazon Nova's InvokeModel")
        body = converse_body(request)
        extra = body.pop("additionalModelRequestFields", None) or {}
        inference = body.setdefault("inferenceConfig", {})
        if "top_k" in extra:
            inference["topK"] = extra.pop("top_k")
        inference.update(extra.pop("inferenceConfig", None) or {})
        body.update(extra)
        if not inference:
            del body["inferenceConfig"]
        return {"schemaVersion": "messages-v1", **body}

    def build_request(self, request: ChatRequest) -> WireRequest:
        body = self.build_body(request)
        content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        if request.stream:
            headers["X-Amzn-Bedrock-Accept"] = "application/json"
            headers["Accept"] = "application/vnd.amazon.eventstream"
        return WireRequest(
            "POST", self.url(request.model, request.stream), headers, json=body, content=content
        )

    def parse_response(self, body: Any) -> AIMessage:
        if self.family == "anthropic":
            return self._anthropic.parse_response(body)
        if not isinstance(body, dict) or "output" not in body:
            raise ModelAPIError(
                f"not a Nova InvokeModel response: {body!r:.200}", provider=self.name, body=body
            )
        return parse_converse(body, self.model, self.name)

    def stream_decoder(self) -> StreamDecoder:
        inner = (
            self._anthropic.stream_decoder()
            if self.family == "anthropic"
            else ConverseStreamDecoder(self.name, self.model)
        )
        return _InvokeStreamDecoder(self.name, self.family, inner)

    # --- recognising recorded traffic ---------------------------------------------------------------

    def model_from_request(self, url: str, body: Any) -> str | None:
        match = _PATH.search(urlsplit(url).path)
        return unquote(match.group(1)) if match else None

    def is_stream_request(self, url: str, body: Any) -> bool:
        return urlsplit(url).path.rstrip("/").endswith("/invoke-with-response-stream")


class _InvokeStreamDecoder(StreamDecoder):
    """Event-stream `chunk` frames -> the family's events, fed to that family's own decoder (as SSE
    for Anthropic, as Converse frames for Nova), so streamed and whole replies parse alike."""

    def __init__(self, provider: str, family: str, inner: StreamDecoder) -> None:
        self.provider = provider
        self.family = family
        self.inner = inner
        self.frames = EventStreamDecoder()

    def feed(self, data: bytes) -> list[AIMessageChunk]:
        try:
            frames = self.frames.feed(data)
        except EventStreamError as e:
            raise ModelAPIError(f"malformed InvokeModel stream: {e}", provider=self.provider) from e
        out: list[AIMessageChunk] = []
        for frame in frames:
            if frame.message_type in ("exception", "error"):
                payload = json.loads(frame.payload or b"{}")
                code = str(frame.headers.get(":exception-type") or frame.headers.get(":error-code") or "")
                raise exception_error(
                    code[:1].upper() + code[1:], str(payload.get("message", "")), None,
                    provider=self.provider, body=payload,
                )  # fmt: skip
            if frame.event_type == "chunk":
                out += self.inner.feed(self._translate(frame.payload))
        return out

    def _translate(self, payload: bytes) -> bytes:
        try:
            event = base64.b64decode(json.loads(payload)["bytes"])
            obj = json.loads(event)
        except (ValueError, KeyError, TypeError) as e:
            raise ModelAPIError(
                f"malformed InvokeModel chunk: {payload[:200]!r}", provider=self.provider
            ) from e
        if self.family == "anthropic":
            return b"data: " + event + b"\n\n"
        kind = next((k for k in _CONVERSE_EVENTS if k in obj), None)
        return encode_event(kind, json.dumps(obj[kind]).encode()) if kind else b""

    def close(self) -> list[AIMessageChunk]:
        try:
            self.frames.close()
        except EventStreamError as e:
            raise ModelAPIError(f"InvokeModel stream was cut off: {e}", provider=self.provider) from e
        return self.inner.close()


def _content_blocks(message: Any) -> list[dict[str, Any]]:
    if "stop_reason" in message.response_metadata:  # an Anthropic payload
        return anthropic_blocks(message)
    raise NotImplementedError  # Nova: Converse content, the generic conversion


register_block_translator(PROVIDER, _content_blocks)
