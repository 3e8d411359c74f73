"""Cassette format variants in, one `Interaction` shape out; and harness's own record shape back.

Read: vcrpy / pytest-recording (`interactions:` with `body: {string}`, `!!binary` and compressed
bodies), pydantic-ai's serializer (`parsed_body` on request and response), langchain-aws (parallel
`requests:` / `responses:` lists) and Ruby VCR (`http_interactions:`, `base64_string` bodies, `!binary`
strings).
Write: vcrpy's shape with decoded, readable bodies (JSON pretty-printed, streams verbatim) plus the
keys vcrpy ignores: `timing`, `streamed`, `recorded_at`, `provider`, `match_key`.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.cassettes.interaction import (
    Interaction,
    RecordedRequest,
    RecordedResponse,
    is_stream_content_type,
)
from harness.errors import CassetteEntryError

# --- reading --------------------------------------------------------------------------------------


def interactions_from_data(data: Any) -> list[Interaction]:
    """Every known cassette layout -> Interactions, in file order."""
    if data is None:
        return []
    if not isinstance(data, dict):
        raise CassetteEntryError(
            f"expected a mapping with an `interactions:` list, received a {type(data).__name__}"
        )
    if "interactions" in data or "http_interactions" in data:
        entries = data.get("interactions", data.get("http_interactions")) or []
        if not isinstance(entries, list):
            raise CassetteEntryError("`interactions` must be a list of {request, response} mappings")
        pairs = []
        for i, e in enumerate(entries):
            if (
                not isinstance(e, dict)
                or not isinstance(e.get("request"), dict)
                or not isinstance(e.get("response"), dict)
            ):
                raise CassetteEntryError("each interaction needs a `request:` and a `response:` mapping", i)
            pairs.append((e["request"], e["response"], e))
    elif "requests" in data and "responses" in data:  # langchain-aws: parallel lists
        reqs, resps = data["requests"] or [], data["responses"] or []
        if not isinstance(reqs, list) or not isinstance(resps, list) or len(reqs) != len(resps):
            raise CassetteEntryError(
                f"`requests:` and `responses:` must be lists of equal length "
                f"(received {len(reqs)} and {len(resps)})"
            )
        pairs = [(q, r, {}) for q, r in zip(reqs, resps, strict=False)]
    else:
        raise CassetteEntryError(
            "no `interactions:` list (nor `http_interactions:`, nor `requests:`/`responses:`); "
            f"top-level keys are: {', '.join(map(str, data)) or 'none'}"
        )
    out = []
    for i, (req, resp, extra) in enumerate(pairs):
        try:
            out.append(_interaction(req, resp, extra, i))
        except CassetteEntryError as e:
            e.entry = i
            raise
        except (TypeError, ValueError, KeyError, AttributeError) as e:
            raise CassetteEntryError(f"malformed interaction: {type(e).__name__}: {e}", i) from e
    return out


def _interaction(req: dict[str, Any], resp: dict[str, Any], extra: dict[str, Any], index: int) -> Interaction:
    if not req.get("uri") or not req.get("method"):
        raise CassetteEntryError("request needs `method:` and `uri:`")
    request = RecordedRequest(
        method=str(req["method"]).upper(),
        uri=str(req["uri"]),
        raw_headers=_headers(req.get("headers")),
        body=_body(req["parsed_body"]) if "parsed_body" in req else _body(req.get("body")),
    )
    status = resp.get("status")
    code, message = (
        (status.get("code"), status.get("message", "")) if isinstance(status, dict) else (status, "")
    )
    if code is None:
        raise CassetteEntryError("response needs `status: {code: ...}`")
    response = RecordedResponse(
        status=int(code),
        message=str(message or ""),
        raw_headers=_headers(resp.get("headers")),
        body=_body(resp["parsed_body"]) if "parsed_body" in resp else _body(resp.get("body")),
    )
    _decompress(response)
    timing = checked_timing(extra.get("timing"))
    match_key = extra.get("match_key")
    streamed = (
        bool(extra.get("streamed"))
        or bool(timing and timing.get("chunks"))
        or is_stream_content_type(response.content_type)
    )
    recorded_at = extra.get("recorded_at")
    provider = extra.get("provider")
    return Interaction(
        request,
        response,
        timing,
        streamed,
        str(recorded_at) if recorded_at else None,
        index,
        str(match_key) if match_key else None,
        str(provider) if provider else None,
    )


MAX_RECORDED_MS = 86_400_000.0  # a day: a recorded time beyond it is a corrupt file, not a slow reply


Milliseconds = Annotated[float, Field(ge=0, le=MAX_RECORDED_MS, allow_inf_nan=False, strict=True)]


class RecordedTiming(BaseModel):
    """What replay reads of `timing:`; other keys are kept as they are."""

    model_config = ConfigDict(extra="allow")
    ttfb_ms: Milliseconds | None = None
    total_ms: Milliseconds | None = None
    chunks: list[tuple[Milliseconds, Annotated[int, Field(ge=0, strict=True)]]] | None = None


def checked_timing(value: Any) -> dict[str, Any] | None:
    """The `timing:` mapping, checked so replay can trust it: finite milliseconds, [offset_ms, length]
    chunks. A CassetteEntryError names the key, what is allowed and what was found."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise CassetteEntryError(
            f"`timing` must be a mapping (ttfb_ms, total_ms, chunks); received {value!r:.80}"
        )
    try:
        RecordedTiming.model_validate(value)
    except ValidationError as e:
        err = e.errors(include_url=False)[0]
        where = ".".join(str(p) for p in ("timing", *err["loc"]))
        allowed = "[offset_ms, length] pairs" if "chunks" in err["loc"] else f"0 to {MAX_RECORDED_MS:,.0f} ms"
        raise CassetteEntryError(
            f"`{where}`: {err['msg'].lower()}; allowed: {allowed}; received {err['input']!r:.80}"
        ) from None
    return value


def interaction_from_entry(entry: Any, index: int) -> Interaction:
    """One `{request, response, ...}` mapping (an item of `interactions:`) -> Interaction."""
    if (
        not isinstance(entry, dict)
        or not isinstance(entry.get("request"), dict)
        or not isinstance(entry.get("response"), dict)
    ):
        raise CassetteEntryError("each interaction needs a `request:` and a `response:` mapping", index)
    try:
        return _interaction(entry["request"], entry["response"], entry, index)
    except CassetteEntryError as e:
        e.entry = index
        raise
    except (TypeError, ValueError, KeyError, AttributeError) as e:
        raise CassetteEntryError(f"malformed interaction: {type(e).__name__}: {e}", index) from e


def _headers(raw: Any) -> dict[str, list[str]]:
    if not raw:
        return {}
    if not isinstance(raw, dict):
        raise CassetteEntryError(
            f"headers must be a mapping of name -> [values], received {type(raw).__name__}"
        )
    out: dict[str, list[str]] = {}
    for k, v in raw.items():
        vals = v if isinstance(v, list) else [v]
        out[str(k)] = [x.decode("latin-1") if isinstance(x, bytes) else str(x) for x in vals if x is not None]
    return out


def ruby_binary(loader: Any, node: Any) -> str | bytes:
    """Ruby Psych's `!binary` scalar (base64, like YAML's `!!binary`): the text when it is UTF-8,
    since Ruby marks any string it holds as binary that way (headers too), else the bytes."""
    raw = base64.b64decode("".join(str(loader.construct_scalar(node)).split()))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def _body(value: Any) -> bytes:
    """A stored body in any variant -> bytes: str, !!binary bytes, {string}, {base64_string}, parsed JSON."""
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, dict):
        if "base64_string" in value:  # Ruby VCR for binary bodies
            return base64.b64decode(value["base64_string"] or "")
        if "string" in value:
            return _body(value["string"])
        if set(value) <= {"encoding"}:
            return b""
    # pydantic-ai's parsed_body: JSON stored as YAML; re-encode compactly
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _brotli(data: bytes) -> bytes:
    import brotli  # type: ignore[import-not-found]

    return brotli.decompress(data)


_DECODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": lambda b: zlib.decompress(b, 47),  # 32+15: gzip or zlib header, auto-detected
    "x-gzip": lambda b: zlib.decompress(b, 47),
    "deflate": lambda b: _inflate(b),
    "br": _brotli,
}


def _inflate(data: bytes) -> bytes:
    try:
        return zlib.decompress(data)
    except zlib.error:
        return zlib.decompress(data, -15)  # raw deflate, as some servers send it


def _decompress(response: RecordedResponse) -> None:
    """Serve bodies decoded: undo content-encoding and drop the header (httpx would decode again)."""
    key = next((k for k in response.raw_headers if k.lower() == "content-encoding"), None)
    if key is None:
        return
    codings = [c.strip().lower() for v in response.raw_headers[key] for c in v.split(",") if c.strip()]
    body = response.body
    try:
        for c in reversed(codings):
            if c == "identity":
                continue
            body = _DECODERS[c](body)
    except (KeyError, ImportError):
        return  # an encoding we cannot undo here: keep the body and its header as recorded
    except zlib.error:
        body = response.body  # header says compressed but the body is already plain (decoded by a tool)
    response.body = body
    del response.raw_headers[key]
    _set_length(response.raw_headers, len(body))


def _set_length(headers: dict[str, list[str]], n: int) -> None:
    for k in headers:
        if k.lower() == "content-length":
            headers[k] = [str(n)]


# --- writing ----------------------------------------------------------------------------------------


def readable_body(body: bytes, *, pretty: bool) -> str | bytes:
    """Text when the body is UTF-8 (JSON re-indented when `pretty`), else bytes (dumped as !!binary)."""
    if not body:
        return ""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return body
    if pretty and text[:1] in "{[":
        try:
            return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            return text
    return text


def to_record(ix: Interaction) -> dict[str, Any]:
    """The vcrpy-loadable mapping written for one interaction."""
    req_body = readable_body(ix.request.body, pretty=True)
    resp_body = readable_body(ix.response.body, pretty=not ix.streamed)
    req_headers = {k: list(v) for k, v in ix.request.raw_headers.items()}
    resp_headers = {k: list(v) for k, v in ix.response.raw_headers.items()}
    _set_length(req_headers, len(req_body.encode() if isinstance(req_body, str) else req_body))
    _set_length(resp_headers, len(resp_body.encode() if isinstance(resp_body, str) else resp_body))
    record: dict[str, Any] = {
        "request": {
            "method": ix.request.method,
            "uri": ix.request.uri,
            "headers": req_headers,
            "body": req_body,
        },
        "response": {
            "status": {"code": ix.response.status, "message": ix.response.message},
            "headers": resp_headers,
            "body": {"string": resp_body},
        },
    }
    if ix.timing is not None:
        record["timing"] = ix.timing
    record["streamed"] = ix.streamed
    if ix.recorded_at:
        record["recorded_at"] = ix.recorded_at
    if ix.provider:
        record["provider"] = ix.provider
    if ix.match_key:
        record["match_key"] = ix.match_key
    return record


def stored_body(body: bytes, *, pretty: bool) -> bytes:
    """The bytes replay will serve once `body` has been written and read back."""
    value = readable_body(body, pretty=pretty)
    return value.encode("utf-8") if isinstance(value, str) else value
