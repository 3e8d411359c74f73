"""Secrets never reach disk: scrub every auth scheme before writing, refuse a write that still leaks.

Scrubbed by default: every request header whose name says key, token, auth, secret, password,
signature, cookie or credential (Authorization of every scheme, x-api-key, X-Api-Token, X-Ollama-Key
...), set-cookie and organisation/project ids, a URL's userinfo password, credential query parameters
(`?key=`, `?token=`, signed-URL signatures ...), any header holding a live secret, the headers named in
`secret_headers` and every user pattern. Independently, the live values a request carried (its auth
headers, userinfo and query, plus `secrets=`) are looked for, raw, url-encoded, base64 and hex, in every
byte about to be written and in a streamed reply reassembled; finding one refuses the write.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
from collections.abc import Iterable
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from harness.cassettes.interaction import Interaction
from harness.redaction import (
    ACCOUNT_HEADERS,
    MIN_SECRET_LEN,
    REDACTED,
    encoded_forms,
    high_entropy_tokens,
    is_secret_header,
    is_secret_query,
    mask,
    mask_url,
)
from harness.redaction import KEY_SHAPES as KEY_SHAPES_TEXT

# response headers scrubbed by name (request headers: any name `is_secret_header` accepts)
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "ocp-apim-subscription-key",
        "x-amz-security-token",
        "cookie",
        "set-cookie",
        *ACCOUNT_HEADERS,
    }
)
NEWLINE = b"\n"
# credential shapes `verify` looks for in files written by any tool
KEY_SHAPES = re.compile(KEY_SHAPES_TEXT.encode())
_PLACEHOLDER = re.compile(r"redact|scrub|filter|dummy|fake|test|placeholder|mock|xxxx|\*\*\*|<|^\s*$", re.I)
_SIGV4 = re.compile(r"Credential=([^/,\s]+)|Signature=([0-9a-fA-F]+)")


def compile_patterns(patterns: Iterable[str | re.Pattern[Any]]) -> list[re.Pattern[bytes]]:
    out = []
    for p in patterns:
        if isinstance(p, re.Pattern):
            src = p.pattern if isinstance(p.pattern, bytes) else p.pattern.encode()
            out.append(re.compile(src, p.flags & ~re.UNICODE if isinstance(p.pattern, str) else p.flags))
        else:
            out.append(re.compile(p.encode()))
    return out


# --- what a request reveals ----------------------------------------------------------------------


def live_secrets(
    headers: Iterable[tuple[str, str]], url: str, secret_headers: Iterable[str] = ()
) -> set[str]:
    """The secret values a live request carried, to be searched for in what is written."""
    extra = tuple(secret_headers)
    found: set[str] = set()
    for name, value in headers:
        n = name.lower()
        if not is_secret_header(n, extra) or n in ACCOUNT_HEADERS:
            continue
        found.update(_header_secrets(n, value))
    parts = urlsplit(url)
    if parts.password:
        found.update({parts.password, unquote(parts.password)})
    for k, v in parse_qsl(parts.query, keep_blank_values=True):
        if is_secret_query(k):
            found.add(v)
    return {s for s in found if len(s) >= MIN_SECRET_LEN}


def _header_secrets(name: str, value: str) -> set[str]:
    found = {value}
    scheme, _, token = value.partition(" ")
    if token and scheme.isalpha():
        found.add(token.strip())
        if scheme.lower() == "basic":
            with contextlib.suppress(ValueError):
                found.update(base64.b64decode(token).decode().split(":", 1))
    for cred, sig in _SIGV4.findall(value):
        found.add(cred or sig)
    if name == "cookie":
        for part in value.split(";"):
            found.add(part.partition("=")[2].strip())
    return found


# --- scrubbing ---------------------------------------------------------------------------------------


def scrub_url(url: str, patterns: list[re.Pattern[bytes]]) -> str:
    return scrub_text(mask_url(url), patterns)


def scrub_text(text: str, patterns: list[re.Pattern[bytes]]) -> str:
    if not patterns:
        return text
    return scrub_bytes(text.encode("utf-8", "surrogateescape"), patterns).decode("utf-8", "surrogateescape")


def scrub_bytes(data: bytes, patterns: list[re.Pattern[bytes]]) -> bytes:
    for p in patterns:
        data = p.sub(REDACTED.encode(), data)
    return data


def scrub_headers(
    raw: dict[str, list[str]],
    patterns: list[re.Pattern[bytes]],
    *,
    request: bool,
    secret_headers: Iterable[str] = (),
    secrets: Iterable[str] = (),
) -> dict[str, list[str]]:
    """Secret headers (by name, because they hold a live secret, or — request headers — because they
    hold a generated token `verify` would flag) become <REDACTED>; the rest are scrubbed with the
    user's patterns."""
    extra = {h.lower() for h in secret_headers}
    live = [s for s in secrets if len(s) >= MIN_SECRET_LEN]
    out = {}
    for k, vals in raw.items():
        n = k.lower()
        by_name = is_secret_header(n, extra) if request else (n in SECRET_HEADERS or n in extra)
        if by_name or any(s in v for v in vals for s in live) or (request and _token_header(n, vals)):
            out[k] = [REDACTED for _ in vals]
        else:
            out[k] = [scrub_text(v, patterns) for v in vals]
    return out


def _token_header(name: str, values: list[str]) -> bool:
    """A request header of any name holding a high-entropy token (a UUID, hex or base64 run, a JWT)
    that is not one of the generated non-credentials (request ids, dates, hashes, versions)."""
    return not _NOT_CREDENTIALS.match(name) and any(high_entropy_tokens(v) for v in values)


def scrub_chunks(chunks: list[bytes], patterns: list[re.Pattern[bytes]]) -> tuple[list[bytes], bool]:
    """Scrub a streamed body chunk by chunk (so boundaries survive). Returns (chunks, boundaries_kept):
    False when a pattern only matched across a boundary; the caller then keeps one chunk."""
    if not patterns:
        return chunks, True
    scrubbed = [scrub_bytes(c, patterns) for c in chunks]
    whole = b"".join(scrubbed)
    again = scrub_bytes(whole, patterns)
    if again != whole:
        return [again], False
    return scrubbed, True


def scrub_interaction(
    ix: Interaction,
    patterns: list[re.Pattern[bytes]],
    *,
    secret_headers: Iterable[str] = (),
    secrets: Iterable[str] = (),
) -> Interaction:
    """Headers, URL and non-streamed bodies (a streamed response body is scrubbed by the recorder)."""
    named = {"secret_headers": tuple(secret_headers), "secrets": tuple(secrets)}
    req = replace(
        ix.request,
        uri=scrub_url(ix.request.uri, patterns),
        raw_headers=scrub_headers(ix.request.raw_headers, patterns, request=True, **named),
        body=scrub_bytes(ix.request.body, patterns),
    )
    resp = replace(
        ix.response, raw_headers=scrub_headers(ix.response.raw_headers, patterns, request=False, **named)
    )
    if not ix.streamed:
        resp = replace(resp, body=scrub_bytes(resp.body, patterns))
    return replace(ix, request=req, response=resp)


# --- refusing leaks ----------------------------------------------------------------------------------


def leaked(data: bytes, secrets: Iterable[str]) -> list[str]:
    """The secrets found in `data` in any of their forms (raw, url-encoded, base64, hex)."""
    return [
        s
        for s in secrets
        if s and any(f.encode("utf-8", "surrogateescape") in data for f in encoded_forms(s))
    ]


def interaction_bytes(ix: Interaction) -> list[bytes]:
    """Every value of an interaction as bytes, before serialisation (catches bodies stored as base64),
    plus a streamed reply reassembled (a key streamed back over several chunks is contiguous only there)."""
    parts = [ix.request.uri.encode(), ix.request.body, ix.response.body]
    for raw in (ix.request.raw_headers, ix.response.raw_headers):
        for k, vals in raw.items():
            parts.append(k.encode("utf-8", "replace"))
            parts.extend(v.encode("utf-8", "replace") for v in vals)
    if ix.streamed:
        parts.append(reassembled_reply(ix))
    return parts


def reassembled_reply(ix: Interaction) -> bytes:
    """A streamed reply's text and tool-call arguments as the caller sees them ("" when no adapter reads it)."""
    from harness.cassettes.inspect import adapter_for, parse_reply

    adapter = adapter_for(ix.request.uri)
    if adapter is None:
        return b""
    try:
        reply = parse_reply(ix, adapter, True)
    except Exception:  # an unreadable stream has no reassembled form; its bytes are checked as they are
        return b""
    return (reply["text"] + json.dumps(reply["tool_calls"], ensure_ascii=False)).encode("utf-8", "replace")


def leak_report(data: bytes | list[bytes], secrets: Iterable[str], where: str) -> str | None:
    """None when no live secret is in `data`; else the refusal message, naming each one masked.

    Returns rather than raises, so the frame that raises SecretLeakError holds no secret in a local."""
    blobs = data if isinstance(data, list) else [data]
    hits = sorted({s for b in blobs for s in leaked(b, secrets)})
    if not hits:
        return None
    line = ""
    if isinstance(data, bytes):
        pos = max(data.find(f.encode("utf-8", "surrogateescape")) for f in encoded_forms(hits[0]))
        line = f" at line {data.count(NEWLINE, 0, pos) + 1}"
    return (
        f"refusing to write {where}: it would contain a live secret ({', '.join(map(mask, hits))}){line}. "
        "It is not in a header harness scrubs; add a pattern that matches it to scrub_patterns=[...] "
        "(or its header to secret_headers=[...]) or keep it out of the request."
    )


def looks_unredacted(value: str) -> bool:
    """`verify`: does a secret header/query value look like a real credential?"""
    token = value.split(" ", 1)[-1].strip()
    return len(token) >= 12 and not _PLACEHOLDER.search(token)


# request headers whose values are generated but not credentials (ids, hashes, versions, dates)
_NOT_CREDENTIALS = re.compile(
    r"^(content-|accept|user-agent$|host$|connection$|x-stainless-|anthropic-(version|beta)$|openai-beta$"
    r"|x-amz-(date|content-sha256|target|user-agent)$|amz-sdk-|x-goog-api-client$|api-version$"
    r"|(x-)?(client-)?request-id$|x-ms-client-request-id$|idempotency-key$|traceparent$|tracestate$)",
    re.I,
)


def secret_findings(ix: Interaction) -> list[str]:
    """`verify`: what in an interaction's headers, URL and reassembled reply looks like a credential."""
    found = []
    for k, vals in ix.request.raw_headers.items():
        if is_secret_header(k) and any(looks_unredacted(v) for v in vals):
            found.append(f"request header {k!r} holds an unredacted value")
        elif not _NOT_CREDENTIALS.match(k) and any(high_entropy_tokens(v) for v in vals):
            found.append(f"request header {k!r} holds a high-entropy token")
    for k, vals in ix.response.raw_headers.items():
        if k.lower() in SECRET_HEADERS and any(looks_unredacted(v) for v in vals):
            found.append(f"response header {k!r} holds an unredacted value")
    parts = urlsplit(ix.request.uri)
    if parts.password and looks_unredacted(unquote(parts.password)):
        found.append("the URL's userinfo holds a password")
    for k, v in parse_qsl(parts.query):
        if is_secret_query(k) and looks_unredacted(v):
            found.append(f"query parameter {k!r} holds an unredacted value")
        elif not is_secret_query(k) and high_entropy_tokens(v):
            found.append(f"query parameter {k!r} holds a high-entropy token")
    if ix.streamed and KEY_SHAPES.search(reassembled_reply(ix)):
        found.append("the streamed reply, reassembled, holds text shaped like a credential")
    return found
