"""Reading recorded traffic with the provider adapters: which provider, model, stream flag, and the
reply parsed exactly as the chat layer would parse it (used by `harness cassettes show` and the
recorder). The adapter is the one the chat layer named when harness recorded the request (stored as
`provider`); only for traffic other tools recorded is it recognised from the URL (`adapter_for_url`).
Nothing here branches on a provider's name.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from harness.cassettes.interaction import Interaction
from harness.errors import UnknownProviderError

if TYPE_CHECKING:
    import httpx

    from harness.providers.base import ProviderAdapter

_MISSING = object()


def adapter_class(provider: str | None, url: str) -> type[ProviderAdapter] | None:
    """The adapter class for this traffic: the named provider's, else (a cassette another tool wrote,
    or a provider not installed here) the one whose endpoint the URL is; None when none is."""
    if provider:
        from harness.providers import get_adapter_class

        try:
            return get_adapter_class(provider)
        except UnknownProviderError:
            pass
    return _recognised(url)


def request_adapter(request: httpx.Request) -> type[ProviderAdapter] | None:
    """The adapter class the chat layer built this request with; None for other callers' requests."""
    adapter = request.extensions.get("harness_adapter")
    return type(adapter) if adapter is not None else None


def provider_name(adapter: type[ProviderAdapter]) -> str | None:
    """The provider name a cassette stores for this adapter class: only a name the registry resolves
    to this very class (Azure's Responses adapter shares the name `azure_openai` with its chat
    adapter: it is stored without one and recognised from its URL)."""
    return adapter.name if adapter.name and adapter_class(adapter.name, "") is adapter else None


@functools.lru_cache(maxsize=512)
def _recognised(url: str) -> type[ProviderAdapter] | None:
    from harness.providers import adapter_for_url

    return adapter_for_url(url)


def adapter_for(url: str, provider: str | None = None) -> Any:
    """An adapter able to read this recorded traffic, or None when no adapter is known for it."""
    cls = adapter_class(provider, url)
    try:
        return cls.for_recorded(url) if cls is not None else None
    except Exception:
        return None


def _json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        return _MISSING


def request_is_stream(url: str, body: bytes, provider: str | None = None) -> bool:
    adapter = adapter_for(url, provider)
    if adapter is None:
        return False
    parsed = _json(body)
    try:
        return bool(adapter.is_stream_request(url, None if parsed is _MISSING else parsed))
    except Exception:
        return False


def _aggregate(chunks: list[Any]) -> Any:
    from harness.messages.core import AIMessageChunk, message_chunk_to_message

    total = AIMessageChunk(content="")
    total = total + [*chunks, AIMessageChunk(content="", chunk_position="last")]
    return message_chunk_to_message(total)


def parse_reply(ix: Interaction, adapter: Any, streamed: bool) -> dict[str, Any]:
    """The reply as the adapter parses it: text, tool_calls [name, args, id], usage, finish_reason."""
    if streamed:
        message = _aggregate(adapter.parse_stream_body(ix.response.body, ix.chunk_lengths()))
    else:
        body = _json(ix.response.body)
        if body is _MISSING or body is None:
            raise ValueError("response body is not JSON")
        message = adapter.parse_response(body)
    meta = message.response_metadata or {}
    finish = next(
        (meta[k] for k in ("finish_reason", "stop_reason", "done_reason", "stopReason") if meta.get(k)), None
    )
    return {
        "text": str(message.text),
        "tool_calls": [
            {"name": tc.get("name"), "args": tc.get("args"), "id": tc.get("id")} for tc in message.tool_calls
        ],
        "usage_metadata": message.usage_metadata,
        "finish_reason": finish,
    }


def describe(ix: Interaction) -> dict[str, Any]:
    """One interaction for `show --json`: provider, endpoint, model, streamed flag, parsed reply."""
    uri = ix.request.uri
    adapter = adapter_for(uri, ix.provider)
    req_body = _json(ix.request.body)
    req_json = None if req_body is _MISSING else req_body
    model = None
    streamed = ix.streamed
    if adapter is not None:
        try:
            model = adapter.model_from_request(uri, req_json)
            streamed = streamed or bool(adapter.is_stream_request(uri, req_json))
        except Exception:
            pass
    if model is None and isinstance(req_json, dict):
        model = req_json.get("model")
    out: dict[str, Any] = {
        "index": ix.index,
        "provider": getattr(adapter, "name", None) or None,
        "endpoint": urlsplit(uri).path,
        "method": ix.request.method,
        "uri": uri,
        "model": model,
        "streamed": streamed,
        "status": ix.response.status,
        "reply": None,
        "error": None,
        "timing": ix.timing,
        "recorded_at": ix.recorded_at,
    }
    if ix.response.status >= 400:
        from harness.providers.base import error_message

        body = _json(ix.response.body)
        out["error"] = error_message(ix.response.body if body is _MISSING else body)
    elif adapter is None:
        out["error"] = "no provider adapter recognises this URL"
    else:
        try:
            out["reply"] = parse_reply(ix, adapter, streamed)
        except Exception as e:  # a reply the adapter cannot read is reported, not fatal
            out["error"] = f"{adapter.name} adapter could not parse the reply: {type(e).__name__}: {e}"[:500]
    return out


def request_messages(body: Any) -> list[tuple[str, str]]:
    """(role, text) of each message a request sent, for a conversation view (any wire format)."""
    from harness.cassettes.matching import _first_text, _tool_names

    if not isinstance(body, dict):
        return []
    out: list[tuple[str, str]] = []
    system = body.get("system") or body.get("instructions") or body.get("systemInstruction")
    if system:
        out.append(("system", _first_text(system)))
    for key in ("messages", "contents", "input"):
        msgs = body.get(key)
        if isinstance(msgs, str):
            out.append(("user", msgs))
        elif isinstance(msgs, list):
            for m in msgs:
                if isinstance(m, dict):
                    role = str(m.get("role") or m.get("type") or "?")
                    calls = _tool_names(m)
                    text = _first_text(m) or (f"(calls {', '.join(calls)})" if calls else _brief(m))
                    out.append((role, text))
        if msgs:
            break
    return out


def _brief(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 160 else text[:157] + "..."


# --- model calls from traffic: what a cell or a test sent, whatever client sent it -------------------


def model_call(ix: Interaction, source: str = "recorded", by_model: bool = True) -> dict[str, Any]:
    """One exchange as a model call, parsed by its provider's adapter (as `describe` parses it):
    provider, model, source ("replayed" | "recorded" | "live"), streamed, status, latency_ms,
    ttft_ms (the first chunk's offset for a stream, the whole call otherwise), flat usage, tool
    calls, text, finish_reason, error, and `client` ("harness" for a harness chat model, else
    "other"). The results layer prices it (`harness.results.build.priced_calls`)."""
    from harness.http import EMULATOR_HEADER
    from harness.messages.usage import USAGE_KEYS

    d = describe(ix)
    timing = ix.timing or {}
    total = _ms(timing.get("total_ms"))
    offsets = ix.chunk_offsets_ms()
    ttft = (offsets[0] if offsets else _ms(timing.get("ttfb_ms"))) if d["streamed"] else total
    reply = d["reply"] or {}
    usage = _flat(reply.get("usage_metadata"), USAGE_KEYS)
    emulated = any(k.lower() == EMULATOR_HEADER for k in ix.response.raw_headers)
    return {
        **({"emulated": True} if emulated else {}),  # answered by harness's provider emulator
        "provider": d["provider"],
        "model": d["model"],
        "endpoint": d["endpoint"],
        "source": source,
        "client": "harness" if by_model else "other",
        "streamed": bool(d["streamed"]),
        "status": d["status"],
        "latency_ms": total,
        "ttft_ms": round(ttft, 3) if ttft is not None else None,
        "usage": usage,
        "tool_calls": reply.get("tool_calls") or [],
        "text": reply.get("text") or "",
        "finish_reason": reply.get("finish_reason"),
        "error": d["error"],
    }


def traffic_calls(traffic: list[tuple[Interaction, str, bool]]) -> list[dict[str, Any]]:
    """`model_call` of each exchange of a cassette session's `traffic()`, in order."""
    return [model_call(ix, source, by_model) for ix, source, by_model in traffic]


def _ms(value: Any) -> float | None:
    return round(float(value), 3) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _flat(usage: Any, keys: tuple[str, ...]) -> dict[str, int] | None:
    """Usage metadata (as parsed) in the results' flat shape; None when the reply reported none."""
    if not isinstance(usage, dict) or not usage:
        return None
    from harness.messages.core import AIMessage
    from harness.messages.usage import flat_usage

    flat = flat_usage(AIMessage(content="", usage_metadata=usage))  # type: ignore[arg-type]
    return {k: flat[k] for k in keys}
