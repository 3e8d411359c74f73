"""What one call of a ChatModel sends, and what its failures become: the provider-neutral
`ChatRequest` built from the call's arguments (with the capability checks that refuse a call before
anything is sent), the `httpx.Request` with the extensions the cassette layer reads, and the
`ModelError` a refused response or a transport failure is turned into (secrets masked)."""

from __future__ import annotations

import functools
from typing import Any

import httpx

from harness.errors import ModelConnectionError, ModelError, ModelTimeoutError, UnsupportedFeatureError
from harness.messages.core import BaseMessage
from harness.models.binding import unsupported_parallel
from harness.providers.base import ChatRequest, ProviderAdapter, ResponseFormat, WireRequest
from harness.redaction import mask_data, mask_text

# the headers an httpx client adds by default
CLIENT_HEADERS = {
    "accept": "*/*",
    "accept-encoding": "gzip, deflate",
    "connection": "keep-alive",
    "user-agent": f"python-httpx/{httpx.__version__}",
}

# call kwargs the chat layer consumes itself; everything else is a request parameter
REQUEST_FIELDS = ("tools", "tool_choice", "parallel_tool_calls", "response_format")

_METHODS = {"json_schema": "json_schema", "json_object": "json_mode"}


def chat_request(
    adapter: ProviderAdapter,
    provider: str,
    model: str,
    messages: list[BaseMessage],
    call: dict[str, Any],
    extra_body: dict[str, Any],
    *,
    stream: bool,
) -> ChatRequest:
    """The request of one call (`call`: the model's params with the call's kwargs over them), refused
    with UnsupportedFeatureError where the adapter declares it cannot do what is asked."""
    call = dict(call)
    fields = {k: call.pop(k, None) for k in REQUEST_FIELDS}
    call.pop("stream", None)
    caps = adapter.capabilities
    if fields["tools"] and not caps.tools:
        raise UnsupportedFeatureError(provider, "tool calling")
    if fields["parallel_tool_calls"] is not None and not caps.parallel_tool_calls:
        raise UnsupportedFeatureError(provider, unsupported_parallel(fields["parallel_tool_calls"]))
    rf = fields["response_format"]
    if isinstance(rf, dict):
        rf = ResponseFormat(**rf)
    if rf is not None and _METHODS[rf.type] not in caps.structured_output:
        raise UnsupportedFeatureError(
            provider, f"structured output method {rf.type!r}", list(caps.structured_output)
        )
    return ChatRequest(
        model=model,
        messages=messages,
        params=call,
        tools=fields["tools"],
        tool_choice=fields["tool_choice"],
        parallel_tool_calls=fields["parallel_tool_calls"],
        response_format=rf,
        stream=stream,
        extra_body=extra_body,
    )


def request_extensions(
    model_adapter: ProviderAdapter, adapter: ProviderAdapter, live_auth: Any
) -> dict[str, Any]:
    """The cassette layer reads the adapter that built the request (no guessing from the URL) and
    refuses to write any of these secrets; the live transport refuses to send a request built without
    its key, and applies the live auth (credentials looked up only for a live call)."""
    ext: dict[str, Any] = {
        "harness_adapter": adapter,
        "harness_secrets": tuple(s for s in model_adapter.secrets() if s),
    }
    if model_adapter.missing_key is not None:
        ext["harness_missing_key"] = model_adapter.missing_key
    if live_auth is not None:
        ext["harness_live_auth"] = live_auth
    return ext


@functools.lru_cache(maxsize=512)
def _url(url: str) -> httpx.URL:
    """A parsed URL, shared by every request to it (an httpx.URL is immutable)."""
    return httpx.URL(url)


def http_request(
    client: httpx.Client | httpx.AsyncClient | None,
    users: bool,
    wire: WireRequest,
    extensions: dict[str, Any],
) -> httpx.Request:
    """The request to send on `client`; `users`: the client is the user's own (its base_url, auth and
    cookies apply, as httpx merges them)."""
    if users and client is not None:
        return client.build_request(
            wire.method, wire.url, headers=wire.headers, content=wire.body_bytes(), extensions=extensions
        )
    # our own clients have no base_url, auth or cookies to merge: skip httpx's merging (about a tenth
    # of a replayed call's CPU), and parse each endpoint's URL once
    return httpx.Request(
        wire.method,
        _url(wire.url),
        headers={**CLIENT_HEADERS, **wire.headers},
        content=wire.body_bytes(),
        extensions=extensions,
    )


def response_error(adapter: ProviderAdapter, response: httpx.Response, body: bytes) -> ModelError:
    """The error a >= 400 response is, as the adapter classifies it. A provider may echo the key it
    was sent (or refused): every known secret is masked before the message reaches results,
    reports, CI summaries or a terminal."""
    from harness.http import loads_or_text

    secrets = adapter.secrets()
    err = adapter.classify_error(
        response.status_code, response.headers, mask_data(loads_or_text(body), secrets)
    )
    err.args = tuple(mask_text(a, secrets) if isinstance(a, str) else a for a in err.args)
    err.response = response
    err.request_id = (
        err.request_id or response.headers.get("x-request-id") or response.headers.get("request-id")
    )
    return err


def transport_error(
    exc: Exception, adapter: ProviderAdapter, provider: str, timeout: float | None
) -> ModelError:
    if isinstance(exc, httpx.TimeoutException):
        return ModelTimeoutError(
            f"no response within timeout={timeout}s ({type(exc).__name__})", provider=provider
        )
    return ModelConnectionError(
        mask_text(f"{type(exc).__name__}: {exc}", adapter.secrets()), provider=provider
    )
