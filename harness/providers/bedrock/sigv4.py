"""AWS Signature Version 4 for one request, plus where AWS credentials and the region come from.

The signer is pure (time is a parameter) so it can be checked against the verified test vector in
../shared/docs/wire-formats.md §7.6 and against botocore's own signer. botocore is only needed to
find credentials and a region that are not given directly or in the environment (profiles, SSO,
container and instance roles); it is the optional extra `harness[bedrock]`, imported lazily.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from harness.errors import ConfigurationError

ALGORITHM = "AWS4-HMAC-SHA256"
INSTALL_HINT = "pip install 'harness[bedrock]'"
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class AWSCredentials:
    access_key: str
    secret_key: str
    token: str | None = None


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def host_header(url: str) -> str:
    """The Host value an HTTP client sends for this URL (default ports left out)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return host if parts.port in (None, default) else f"{host}:{parts.port}"


def canonical_request(method: str, url: str, headers: dict[str, str], body: bytes) -> tuple[str, str]:
    """(canonical request, signed header names). `headers` must already hold every header to sign."""
    parts = urlsplit(url)
    # non-S3 services sign the path percent-encoded a second time (so %3A becomes %253A)
    path = quote(parts.path or "/", safe="/~")
    query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
        for k, v in sorted(parse_qsl(parts.query, keep_blank_values=True))
    )
    canon = {k.lower(): _SPACES.sub(" ", str(v).strip()) for k, v in headers.items()}
    names = sorted(canon)
    signed = ";".join(names)
    lines = [
        method.upper(),
        path,
        query,
        "".join(f"{n}:{canon[n]}\n" for n in names),
        signed,
        hashlib.sha256(body).hexdigest(),
    ]
    return "\n".join(lines), signed


def sign(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    credentials: AWSCredentials,
    region: str,
    service: str = "bedrock",
    now: datetime | None = None,
) -> dict[str, str]:
    """Return `headers` plus Host, X-Amz-Date, X-Amz-Security-Token (temporary credentials) and
    Authorization. Only the given headers and those added here are signed (never User-Agent etc.)."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    date = amz_date[:8]
    out = {
        k: v
        for k, v in headers.items()
        if k.lower() not in ("authorization", "x-amz-date", "x-amz-security-token")
    }
    out["X-Amz-Date"] = amz_date
    if credentials.token:
        out["X-Amz-Security-Token"] = credentials.token
    to_sign = {**out, "host": host_header(url)}
    canon, signed = canonical_request(method, url, to_sign, body)
    scope = f"{date}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        [ALGORITHM, amz_date, scope, hashlib.sha256(canon.encode("utf-8")).hexdigest()]
    )
    key = _hmac(("AWS4" + credentials.secret_key).encode("utf-8"), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    out["Authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key}/{scope}, SignedHeaders={signed}, Signature={signature}"
    )
    return out


# --- credentials and region ------------------------------------------------------------------

_lock = threading.Lock()
_sessions: dict[str | None, Any] = {}
_chain: dict[str | None, Any] = {}


def _botocore_session(profile: str | None) -> Any:
    try:
        import botocore.session
    except ImportError as e:
        raise ConfigurationError(
            f"bedrock_converse: reading AWS credentials or region from a profile needs botocore: {INSTALL_HINT} "
            "(or pass aws_access_key_id/aws_secret_access_key and region_name, or set AWS_ACCESS_KEY_ID, "
            "AWS_SECRET_ACCESS_KEY and AWS_REGION)"
        ) from e
    with _lock:
        if profile not in _sessions:
            _sessions[profile] = botocore.session.Session(profile=profile)
        return _sessions[profile]


def region_from_config(profile: str | None) -> str | None:
    """The region of the AWS config (profile), or None when botocore is missing or none is set."""
    try:
        session = _botocore_session(profile)
    except ConfigurationError:
        if profile:
            raise
        return None
    return session.get_config_variable("region")


def env_credentials() -> AWSCredentials | None:
    key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if key and secret:
        return AWSCredentials(key, secret, os.environ.get("AWS_SESSION_TOKEN") or None)
    return None


def chain_credentials(profile: str | None) -> Any:
    """botocore's credential chain (shared files, SSO, container/instance roles), resolved once per
    process and profile; the returned object refreshes temporary credentials itself. None if none."""
    with _lock:
        if profile in _chain:
            return _chain[profile]
    try:
        session = _botocore_session(profile)
    except ConfigurationError:
        if profile:
            raise
        found = None
    else:
        found = session.get_credentials()
    with _lock:
        _chain[profile] = found
    return found


def frozen(credentials: Any) -> AWSCredentials:
    """A botocore Credentials object (possibly refreshing) as plain values for one signature."""
    if isinstance(credentials, AWSCredentials):
        return credentials
    f = credentials.get_frozen_credentials()
    return AWSCredentials(f.access_key, f.secret_key, f.token or None)
