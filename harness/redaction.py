"""What counts as a secret, and how one is shown when it must be mentioned at all.

Shared by the cassette scrubber (what is written), the chat layer (error messages) and the cassette
miss report: a header or query parameter is secret by its name, a URL's userinfo always is, and a
known live value is masked in every form it may take in a message (raw, url-encoded, base64, hex).

May import: nothing from harness.
"""

from __future__ import annotations

import base64
import math
import os
import re
from collections import Counter
from collections.abc import Iterable
from urllib.parse import quote, urlsplit, urlunsplit

REDACTED = "<REDACTED>"
MIN_SECRET_LEN = 8

# words that make a header or query parameter a credential (x-api-token, x-ollama-key, proxy-authorization,
# x-amz-signature ...); header names are compared lowercased
SECRET_NAME = re.compile(r"key|token|auth|secret|passw|signature|cookie|credential", re.I)
# query parameter names that are secret although no word above says so (Azure SAS `sig`, `code`)
SECRET_QUERY_NAMES = frozenset({"sig", "code", "x-amz-credential"})
# organisation/project ids: not credentials, but they identify the account
ACCOUNT_HEADERS = frozenset(
    {"openai-organization", "openai-project", "anthropic-organization-id", "x-goog-user-project"}
)
# model parameters that hold credentials (api_key, aws_secret_access_key, azure_ad_token; not max_tokens)
_SECRET_PARAM = re.compile(r"key$|key_id$|token$|secret|passw|credential|auth", re.I)
# credential shapes (OpenAI, Anthropic, AWS, Google, Groq, xAI, Hugging Face, bearer tokens, JWTs): what
# `cassettes verify` flags in any file and what text shown to a user never holds, whoever's key it is
_SHAPES = (
    r"(?:sk-ant-[A-Za-z0-9_\-]{20,}|sk-(?:proj-|svcacct-)?[A-Za-z0-9_\-]{32,}"
    r"|(?:AKIA|ASIA)[0-9A-Z]{16}|AIza[0-9A-Za-z_\-]{35}|gsk_[A-Za-z0-9]{40,}|xai-[A-Za-z0-9]{40,}"
    r"|hf_[A-Za-z0-9]{30,}|Bearer\s+[A-Za-z0-9._\-]{30,}"
    r"|eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})(?![A-Za-z0-9_\-/+=])"
)
KEY_SHAPES = r"(?<![A-Za-z0-9_\-/+=])" + _SHAPES
# in a message a key often follows `=` (`key=sk-...`)
_KEY_SHAPE = re.compile(r"(?<![A-Za-z0-9_\-/+])" + _SHAPES)
# environment variables that hold credentials by their name (OPENAI_API_KEY, AWS_SECRET_ACCESS_KEY,
# AWS_SESSION_TOKEN, HF_TOKEN, DB_PASSWORD ...), whether set by the shell or a `.env` file
_SECRET_ENV = re.compile(r"key|token|secret|passw|credential|auth", re.I)
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s'\"<>`]+")
_TOKEN = re.compile(r"[A-Za-z0-9_\-.+/=~]{20,}")
_JWT = re.compile(r"^eyJ[A-Za-z0-9_\-]+\.eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*$")


def is_secret_header(name: str, extra: Iterable[str] = ()) -> bool:
    n = name.lower()
    return bool(SECRET_NAME.search(n)) or n in ACCOUNT_HEADERS or n in {e.lower() for e in extra}


def is_secret_query(name: str) -> bool:
    n = name.lower()
    return bool(SECRET_NAME.search(n)) or n in SECRET_QUERY_NAMES


def mask(secret: str) -> str:
    """How a live secret is named in a message: enough to recognise it, never enough to use it."""
    return f"{secret[:3]}…{secret[-2:]} ({len(secret)} chars)"


def encoded_forms(secret: str) -> list[str]:
    """The forms a value takes in text: raw, url-encoded, base64 and hex."""
    raw = secret.encode("utf-8", "surrogateescape")
    forms = [secret, quote(secret, safe=""), base64.b64encode(raw).decode(), raw.hex()]
    return list(dict.fromkeys(forms))


def mask_url(url: str) -> str:
    """The URL with its userinfo password and credential query values replaced by <REDACTED>."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.partition(":")[0]
        netloc = f"{user}:{REDACTED}@{host}" if user else f"{REDACTED}@{host}"
    query = parts.query
    if query:
        pieces = []
        for piece in query.split("&"):
            k, eq, _v = piece.partition("=")
            # an empty value has nothing to hide (and is what `?key=<REDACTED>` looks like in text,
            # where the URL pattern stops at "<")
            pieces.append(f"{k}={REDACTED}" if eq and _v and is_secret_query(k) else piece)
        query = "&".join(pieces)
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def environment_secrets(environ: dict[str, str] | None = None) -> set[str]:
    """Values of the environment variables whose names say they are credentials (a `.env` file's
    included, once loaded): what user code may put in an exception message harness stores or prints.
    Paths (SSH_AUTH_SOCK) and short values are not secrets."""
    env = os.environ if environ is None else environ
    return {
        v
        for k, v in env.items()
        if _SECRET_ENV.search(k) and len(v) >= MIN_SECRET_LEN and not v.startswith(("/", "~"))
    }


def mask_text(text: str, secrets: Iterable[str] = ()) -> str:
    """A message made safe to store or print: known secrets (any form) masked, URL credentials removed,
    text shaped like a provider's key masked whoever's it is."""
    text = _URL.sub(lambda m: mask_url(m.group()), text)
    text = _KEY_SHAPE.sub(lambda m: mask(m.group()), text)
    for secret in sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LEN}, key=len, reverse=True):
        for form in encoded_forms(secret):
            text = text.replace(form, mask(secret))
    return text


def mask_data(value: object, secrets: Iterable[str]) -> object:
    """`mask_text` over every string of a JSON-like value (an error body)."""
    secrets = tuple(secrets)
    if isinstance(value, str):
        return mask_text(value, secrets)
    if isinstance(value, bytes):
        return mask_text(value.decode("utf-8", "replace"), secrets)
    if isinstance(value, dict):
        return {k: mask_data(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_data(v, secrets) for v in value]
    return value


def redact_params(params: dict[str, object]) -> dict[str, object]:
    """Model parameters as they may be stored (run.json): credentials <REDACTED> at any depth (a
    credential-named parameter; in a `...headers` mapping a secret header or one holding a generated
    token), URL credentials masked."""
    return _redacted(params, headers=False)[0]  # type: ignore[return-value]


def param_secrets(params: dict[str, object]) -> set[str]:
    """The values `redact_params` hides: what an error of that model must not show either."""
    return {s for s in _redacted(params, headers=False)[1] if len(s) >= MIN_SECRET_LEN}


def _redacted(value: object, *, headers: bool, depth: int = 0) -> tuple[object, set[str]]:
    """(value with its credentials <REDACTED>, the values hidden)."""
    if not isinstance(value, dict) or depth > 20:
        return (mask_url(value) if isinstance(value, str) and "://" in value else value), set()
    out: dict[str, object] = {}
    hidden: set[str] = set()
    for k, v in value.items():
        name = str(k)
        if headers:
            secret = is_secret_header(name) or (isinstance(v, str) and bool(high_entropy_tokens(v)))
        else:
            secret = bool(_SECRET_PARAM.search(name))
        if secret and v is not None and not isinstance(v, bool):
            out[k] = REDACTED  # a credential-named mapping is hidden whole
            hidden |= _leaves(v)
        else:
            out[k], found = _redacted(v, headers=name.lower().endswith("headers"), depth=depth + 1)
            hidden |= found
    return out, hidden


def _leaves(value: object) -> set[str]:
    if isinstance(value, dict):
        return {s for v in value.values() for s in _leaves(v)}
    if isinstance(value, list):
        return {s for v in value for s in _leaves(v)}
    return {str(value), *str(value).split()}  # "Bearer TOKEN": the token alone too


def entropy_bits(token: str) -> float:
    """Shannon entropy per character."""
    counts = Counter(token)
    n = len(token)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def high_entropy_tokens(value: str) -> list[str]:
    """Substrings shaped like generated credentials: JWTs, UUIDs, long hex or base64 runs."""
    found = []
    for token in _TOKEN.findall(value):
        mixed = bool(re.search(r"[0-9]", token)) and bool(re.search(r"[A-Za-z]", token))
        if _JWT.match(token) or (mixed and entropy_bits(token) >= 3.0):
            found.append(token)
    return found
