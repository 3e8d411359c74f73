"""Secrets never reach disk: scrub every auth scheme before writing, refuse a write that still leaks.

Scrubbed: Authorization (bearer, basic, AWS SigV4), x-api-key, api-key, x-goog-api-key, APIM keys,
x-amz-security-token, cookies and set-cookie, organisation/project ids, auth query parameters (`?key=`
...), and every user pattern. Independently, the live values a request carried (its auth headers and
query, plus `secrets=`) are looked for in every byte about to be written; finding one refuses the write.
"""

from __future__ import annotations

import base64
import contextlib
import re
from collections.abc import Iterable
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from harness.cassettes.interaction import Interaction
from harness.errors import SecretLeakError

REDACTED = "<REDACTED>"
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
        "openai-organization",
        "openai-project",
        "anthropic-organization-id",
        "x-goog-user-project",
    }
)
SECRET_QUERY = frozenset(
    {
        "key",
        "api_key",
        "api-key",
        "apikey",
        "access_token",
        "token",
        "sig",
        "signature",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
    }
)
MIN_SECRET_LEN = 8
NEWLINE = b"\n"
# credential shapes `verify` looks for in files written by any tool
KEY_SHAPES = re.compile(
    rb"(?<![A-Za-z0-9_\-/+=])(?:sk-ant-[A-Za-z0-9_\-]{20,}|sk-(?:proj-|svcacct-)?[A-Za-z0-9_\-]{32,}"
    rb"|(?:AKIA|ASIA)[0-9A-Z]{16}|AIza[0-9A-Za-z_\-]{35}|gsk_[A-Za-z0-9]{40,}|xai-[A-Za-z0-9]{40,}"
    rb"|hf_[A-Za-z0-9]{30,}|Bearer\s+[A-Za-z0-9._\-]{30,})(?![A-Za-z0-9_\-/+=])"
)
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


def live_secrets(headers: Iterable[tuple[str, str]], url: str) -> set[str]:
    """The secret values a live request carried, to be searched for in what is written."""
    found: set[str] = set()
    for name, value in headers:
        n = name.lower()
        if n not in SECRET_HEADERS or n.startswith(("openai-", "anthropic-", "x-goog-user")):
            continue
        found.add(value)
        scheme, _, token = value.partition(" ")
        if token and scheme.isalpha():
            found.add(token.strip())
            if scheme.lower() == "basic":
                with contextlib.suppress(ValueError):
                    found.update(base64.b64decode(token).decode().split(":", 1))
        for cred, sig in _SIGV4.findall(value):
            found.add(cred or sig)
        if n == "cookie":
            for part in value.split(";"):
                found.add(part.partition("=")[2].strip())
    for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if k.lower() in SECRET_QUERY:
            found.add(v)
    return {s for s in found if len(s) >= MIN_SECRET_LEN}


# --- scrubbing ---------------------------------------------------------------------------------------


def scrub_url(url: str, patterns: list[re.Pattern[bytes]]) -> str:
    parts = urlsplit(url)
    if parts.query:
        pairs = []
        for piece in parts.query.split("&"):
            k, eq, _v = piece.partition("=")
            pairs.append(f"{k}={REDACTED}" if eq and k.lower() in SECRET_QUERY else piece)
        url = urlunsplit(parts._replace(query="&".join(pairs)))
    return scrub_text(url, patterns)


def scrub_text(text: str, patterns: list[re.Pattern[bytes]]) -> str:
    if not patterns:
        return text
    return scrub_bytes(text.encode("utf-8", "surrogateescape"), patterns).decode("utf-8", "surrogateescape")


def scrub_bytes(data: bytes, patterns: list[re.Pattern[bytes]]) -> bytes:
    for p in patterns:
        data = p.sub(REDACTED.encode(), data)
    return data


def scrub_headers(raw: dict[str, list[str]], patterns: list[re.Pattern[bytes]]) -> dict[str, list[str]]:
    out = {}
    for k, vals in raw.items():
        if k.lower() in SECRET_HEADERS:
            out[k] = [REDACTED for _ in vals]
        else:
            out[k] = [scrub_text(v, patterns) for v in vals]
    return out


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


def scrub_interaction(ix: Interaction, patterns: list[re.Pattern[bytes]]) -> Interaction:
    """Headers, URL and non-streamed bodies (a streamed response body is scrubbed by the recorder)."""
    req = replace(
        ix.request,
        uri=scrub_url(ix.request.uri, patterns),
        raw_headers=scrub_headers(ix.request.raw_headers, patterns),
        body=scrub_bytes(ix.request.body, patterns),
    )
    resp = replace(ix.response, raw_headers=scrub_headers(ix.response.raw_headers, patterns))
    if not ix.streamed:
        resp = replace(resp, body=scrub_bytes(resp.body, patterns))
    return replace(ix, request=req, response=resp)


# --- refusing leaks ----------------------------------------------------------------------------------


def _mask(secret: str) -> str:
    return f"{secret[:3]}…{secret[-2:]} ({len(secret)} chars)"


def leaked(data: bytes, secrets: Iterable[str]) -> list[str]:
    return [s for s in secrets if s and s.encode("utf-8", "surrogateescape") in data]


def interaction_bytes(ix: Interaction) -> list[bytes]:
    """Every value of an interaction as bytes, before serialisation (catches bodies stored as base64)."""
    parts = [ix.request.uri.encode(), ix.request.body, ix.response.body]
    for raw in (ix.request.raw_headers, ix.response.raw_headers):
        for k, vals in raw.items():
            parts.append(k.encode("utf-8", "replace"))
            parts.extend(v.encode("utf-8", "replace") for v in vals)
    return parts


def refuse_leaks(data: bytes | list[bytes], secrets: Iterable[str], where: str) -> None:
    blobs = data if isinstance(data, list) else [data]
    hits = sorted({s for b in blobs for s in leaked(b, secrets)})
    if hits:
        line = ""
        if isinstance(data, bytes):
            pos = data.find(hits[0].encode("utf-8", "surrogateescape"))
            line = f" at line {data.count(NEWLINE, 0, pos) + 1}"
        raise SecretLeakError(
            f"refusing to write {where}: it would contain a live secret ({', '.join(map(_mask, hits))}){line}. "
            "It is not in a header harness scrubs; add a pattern that matches it to scrub_patterns=[...] "
            "or keep it out of the request."
        )


def looks_unredacted(value: str) -> bool:
    """`verify`: does a secret header/query value look like a real credential?"""
    token = value.split(" ", 1)[-1].strip()
    return len(token) >= 12 and not _PLACEHOLDER.search(token)
