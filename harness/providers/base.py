"""The provider adapter contract: pure translation between harness messages and one wire format.

An adapter builds the HTTP request, parses a whole response, decodes a stream and classifies an
error. It owns no client, does no I/O and never retries: the chat layer (`harness.models.chat`) does that
once for every provider. Shared code must never branch on a provider's name; anything that differs
per provider is a class attribute or method here.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from harness.errors import MissingAPIKeyError, ModelError, error_for_status

if TYPE_CHECKING:
    from collections.abc import Callable

    from harness.messages.core import AIMessage, AIMessageChunk, BaseMessage

StructuredMethod = Literal["json_schema", "function_calling", "json_mode"]


# json.dumps with options builds an encoder per call; every request body is encoded here
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Capabilities:
    """What a provider supports, so an unsupported combination fails before a request is sent."""

    streaming: bool = True
    tools: bool = True
    parallel_tool_calls: bool = True
    tool_choice: bool = True
    structured_output: tuple[str, ...] = ("json_schema", "function_calling", "json_mode")
    images: bool = True
    reasoning: bool = False
    logprobs: bool = False


# parameters every adapter reads
COMMON_PARAMS = frozenset({"temperature", "max_tokens", "top_p", "stop", "stream_usage"})


@dataclass
class ResponseFormat:
    """Provider-neutral structured-output request (method json_schema or json_mode)."""

    type: Literal["json_schema", "json_object"]
    name: str | None = None
    schema: dict[str, Any] | None = None
    description: str | None = None
    strict: bool | None = None


@dataclass
class ChatRequest:
    """One provider-neutral model call, as the chat layer hands it to an adapter."""

    model: str
    messages: list[BaseMessage]
    params: dict[str, Any] = field(default_factory=dict)  # temperature, max_tokens, stop, logprobs ...
    tools: list[dict[str, Any]] | None = None  # OpenAI function-tool dicts (convert_to_openai_tool)
    # normalised by the chat layer: None | "auto" | "any" | "none" | {"type": "tool", "name": str}
    # | any other dict (provider-native, passed through)
    tool_choice: Any = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    stream: bool = False
    extra_body: dict[str, Any] = field(default_factory=dict)  # model_kwargs: merged into the body last


@dataclass
class WireRequest:
    """An HTTP request ready to send. `content` is set when the exact bytes matter (signing)."""

    method: str
    url: str
    headers: dict[str, str]
    json: Any = None
    content: bytes | None = None

    def body_bytes(self) -> bytes:
        if self.content is not None:
            return self.content
        return _COMPACT_JSON.encode(self.json).encode()


class StreamDecoder:
    """Incremental decoder: raw body bytes in, message chunks out. Subclasses keep parse state."""

    def feed(self, data: bytes) -> list[AIMessageChunk]:
        raise NotImplementedError

    def close(self) -> list[AIMessageChunk]:
        """Called at end of body; returns any buffered chunks. Raise ModelAPIError if truncated."""
        return []


@dataclass(frozen=True)
class Signing:
    """A request signature the adapter computes purely, given credentials found only when live.

    `scheme` names the credential source (only "aws-sigv4": AWS credentials from explicit keys, the
    environment or botocore's chain); `sign(method, url, body, credentials)` returns the headers.
    """

    scheme: Literal["aws-sigv4"]
    sign: Callable[[str, str, bytes, Any], dict[str, str]]
    given: Any = None  # credentials passed explicitly (used as they are)
    profile: str | None = None


class ProviderAdapter:
    """Base class of every provider module's adapter. See the module docstring."""

    name: ClassVar[str] = ""
    capabilities: ClassVar[Capabilities] = Capabilities()
    api_key_env: ClassVar[tuple[str, ...]] = ()
    base_url_env: ClassVar[tuple[str, ...]] = ()
    default_base_url: ClassVar[str] = ""
    requires_api_key: ClassVar[bool] = True
    default_structured_method: ClassVar[str] = "json_schema"
    # constructor parameters that configure the adapter (endpoint, auth) rather than the request body
    settings_keys: ClassVar[tuple[str, ...]] = ()
    # the request parameters the adapter knows (LangChain's fields for the provider); the chat layer
    # warns about any other constructor keyword and moves it into model_kwargs, sent as is. None: the
    # adapter places every keyword itself (Bedrock Converse passes unknown ones to the model)
    known_params: ClassVar[frozenset[str] | None] = None
    # LangChain's proxy variable for the provider (OPENAI_PROXY); HTTP(S)_PROXY apply to every provider
    proxy_env: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        model: str,
        api_key: str | None = None,
        base_url: str | None = None,
        **settings: Any,
    ) -> None:
        self.model = model
        self.api_key = api_key if api_key is not None else first_env(self.api_key_env)
        # A missing key is only an error when a request would go live: a cassette can replay without
        # one. The chat layer attaches this to the request and the live transport raises it.
        self.missing_key: MissingAPIKeyError | None = None
        if not self.api_key and self.requires_api_key:
            self.missing_key = MissingAPIKeyError(self.name, list(self.api_key_env))
        base = base_url or first_env(self.base_url_env) or self.default_base_url
        self.base_url = base.rstrip("/")
        self.settings = settings

    # --- the four translations -----------------------------------------------------------------

    def build_request(self, request: ChatRequest) -> WireRequest:
        raise NotImplementedError

    def parse_response(self, body: Any) -> AIMessage:
        raise NotImplementedError

    def stream_decoder(self) -> StreamDecoder:
        raise NotImplementedError

    def route(self, request: ChatRequest) -> ProviderAdapter:
        """The adapter that handles this request: build, parse and stream decoding all use it. Default:
        this one. OpenAI Chat Completions hands built-in tools and Responses-only parameters to its
        Responses adapter, as LangChain does; Anthropic streams dict blocks when tools are bound."""
        return self

    @classmethod
    def is_server_tool(cls, tool: Any) -> bool:
        """Whether `bind_tools` should pass this tool dict through untouched: a provider-executed
        (server-side / built-in) tool in this provider's own shape, not a function to convert."""
        return False

    def classify_error(self, status: int, headers: Mapping[str, str], body: Any) -> ModelError:
        """Default: message from the body, retry-after from the headers, class from the status."""
        return error_for_status(
            status,
            error_message(body),
            provider=self.name,
            body=body,
            retry_after=retry_after_seconds(headers),
        )

    # --- recognising recorded traffic (cassettes show, corpus checks, matching) ------------------

    url_pattern: ClassVar[str] = ""  # regex searched in a request URL to say "this is my endpoint"

    @classmethod
    def recognizes(cls, url: str) -> bool:
        return bool(cls.url_pattern) and re.search(cls.url_pattern, url) is not None

    @classmethod
    def for_recorded(cls, url: str = "") -> ProviderAdapter:
        """An adapter able to parse recorded traffic: no key, no endpoint needed."""
        return cls(model="", api_key="recorded", base_url=url or "http://recorded.invalid")

    def model_from_request(self, url: str, body: Any) -> str | None:
        return body.get("model") if isinstance(body, dict) else None

    def is_stream_request(self, url: str, body: Any) -> bool:
        return bool(body.get("stream")) if isinstance(body, dict) else False

    @classmethod
    def normalize_url_for_match(cls, url: str) -> str:
        """Cassette matching key for a URL (e.g. Bedrock drops the region). Default: unchanged."""
        return url

    # --- helpers ------------------------------------------------------------------------------

    def secrets(self) -> list[str]:
        """Live secret values this adapter sends (cassettes refuse to write any of them; error messages
        mask them): the key, and `default_headers` values whose header name says they are credentials."""
        from harness.redaction import is_secret_header

        headers = self.settings.get("default_headers") or {}
        custom = [str(v) for k, v in headers.items() if is_secret_header(k) and v]
        return ([self.api_key] if self.api_key else []) + custom

    def signing(self) -> Signing | None:
        """How to sign this adapter's requests when one goes live (credentials looked up then, by the
        model layer); None when `build_request` already put everything in the headers."""
        return None

    def parse_stream_body(self, body: bytes, chunks: Iterable[int] | None = None) -> list[AIMessageChunk]:
        """Decode a whole recorded stream body (for replay inspection and corpus checks)."""
        decoder = self.stream_decoder()
        out: list[AIMessageChunk] = []
        if chunks is None:
            out.extend(decoder.feed(body))
        else:
            pos = 0
            for length in chunks:
                out.extend(decoder.feed(body[pos : pos + length]))
                pos += length
            if pos < len(body):
                out.extend(decoder.feed(body[pos:]))
        out.extend(decoder.close())
        return out


def first_env(names: Iterable[str]) -> str | None:
    """The first of these environment variables that is set and not empty (configuration, read when an
    adapter is built; never credentials looked up for a live call)."""
    for n in names:
        v = os.environ.get(n)
        if v:
            return v
    return None


def retry_after_seconds(headers: dict[str, str] | Any) -> float | None:
    """`retry-after-ms` (float ms) or `retry-after` (seconds or an HTTP date), as the SDKs read them."""
    get = headers.get
    ms = get("retry-after-ms")
    if ms:
        try:
            return float(ms) / 1000.0
        except ValueError:
            pass
    ra = get("retry-after")
    if not ra:
        return None
    try:
        return float(ra)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            import time

            return max(0.0, parsedate_to_datetime(ra).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def should_retry_header(headers: Any) -> bool | None:
    """The SDKs' `x-should-retry: true|false` override of the status-based retry decision."""
    value = headers.get("x-should-retry") if hasattr(headers, "get") else None
    return {"true": True, "false": False}.get(value) if isinstance(value, str) else None


def error_message(body: Any) -> str:
    """Best-effort human message from a provider error body (dict, list or text)."""
    if isinstance(body, list) and body:
        body = body[0]
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            msg = err.get("message") or err.get("Message") or err.get("msg")
            if msg:
                return str(msg)
            return json.dumps(err)[:500]
        if isinstance(err, str):
            return err
        msg = body.get("message") or body.get("Message")
        if msg:
            return str(msg)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    return str(body)[:500] if body else "no error body"


def data_url_parts(url: str) -> tuple[str, str] | None:
    """`data:image/png;base64,xxx` -> ("image/png", "xxx"); None for other URLs."""
    if not url.startswith("data:") or ";base64," not in url:
        return None
    head, data = url[5:].split(";base64,", 1)
    return head, data


def image_source(block: dict[str, Any]) -> dict[str, str] | None:
    """Normalise any image block form (standard v1, v0 source_type, OpenAI image_url) to
    {"url": ...} or {"base64": ..., "mime_type": ...}. None if the block is not an image."""
    t = block.get("type")
    if t == "image_url":
        iu = block.get("image_url")
        url = iu.get("url") if isinstance(iu, dict) else iu
        return url_source(url or "")
    if t != "image":
        return None
    if block.get("source_type") == "base64" or ("data" in block and "base64" not in block):
        return {"base64": block.get("data", ""), "mime_type": block.get("mime_type", "image/png")}
    if block.get("base64"):
        return {"base64": block["base64"], "mime_type": block.get("mime_type", "image/png")}
    return url_source(block.get("url", ""))


def url_source(url: str) -> dict[str, str]:
    """A URL as a media source: {"base64": ..., "mime_type": ...} for a data: URL, else {"url": url}."""
    parts = data_url_parts(url)
    return {"base64": parts[1], "mime_type": parts[0]} if parts else {"url": url}


def source_url(src: dict[str, str]) -> str:
    """The inverse of `url_source`: the source's URL, or a data: URL of its base64 data."""
    return src.get("url") or f"data:{src['mime_type']};base64,{src['base64']}"


def image_detail(block: dict[str, Any]) -> str | None:
    """OpenAI's image `detail` ("low" / "high" / "auto"), on the block or inside its `image_url`."""
    iu = block.get("image_url")
    return block.get("detail") or (iu.get("detail") if isinstance(iu, dict) else None)
