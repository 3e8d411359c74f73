"""Where AWS credentials (and a profile's region) come from, consulted only when a request goes live.

The Bedrock adapter (`harness.providers.bedrock`) is a pure translator: it builds an unsigned request
and describes its signature (`signing()`: a pure `sign(method, url, body, credentials)`). `SigV4Auth` is the seam between the two:
the live transport (`harness.http`) applies it just before a request leaves, so a replayed or
inspected request never looks for credentials — no environment lookup, no botocore chain, no
instance-metadata call. Credentials are taken from the environment, else botocore's chain (shared
files, SSO, container and instance roles); botocore is the optional extra `harness[bedrock]`,
imported only when needed.

May import: `harness.errors`, `harness.http`, `harness.providers`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Generator
from typing import Any

import httpx

from harness.errors import ConfigurationError, MissingAPIKeyError
from harness.http import LiveAuth
from harness.providers.base import Signing
from harness.providers.bedrock.sigv4 import AWSCredentials

INSTALL_HINT = "pip install 'harness[bedrock]'"
_WHERE_CREDENTIALS_COME_FROM = [
    "AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY",
    "AWS_BEARER_TOKEN_BEDROCK",
    f"an AWS profile (credentials_profile_name=..., needs {INSTALL_HINT})",
]

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


def env_credentials() -> AWSCredentials | None:
    key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if key and secret:
        return AWSCredentials(key, secret, os.environ.get("AWS_SESSION_TOKEN") or None)
    return None


def chain_credentials(profile: str | None) -> Any:
    """botocore's credential chain, resolved once per process and profile; the returned object
    refreshes temporary credentials itself. None if the chain finds none."""
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


class SigV4Auth(LiveAuth):
    """Signs a request as it goes live. `explicit` credentials are used as given; otherwise the
    environment's, else those of botocore's chain for `profile` (looked up on the first live request)."""

    requires_request_body = True  # the signature covers the exact body bytes

    def __init__(self, provider: str, signing: Signing) -> None:
        self.provider = provider
        self._sign = signing.sign
        self._profile = signing.profile
        self._credentials: Any = signing.given
        self._resolved = signing.given is not None

    def _lookup(self) -> Any:
        with _lock:
            if self._resolved:
                return self._credentials
        found = (None if self._profile else env_credentials()) or chain_credentials(self._profile)
        with _lock:
            self._credentials, self._resolved = found, True
        return found

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        credentials = self._lookup()
        if credentials is None:
            raise MissingAPIKeyError(self.provider, _WHERE_CREDENTIALS_COME_FROM)
        request.headers.update(
            self._sign(request.method, str(request.url), request.content, frozen(credentials))
        )
        yield request

    def secrets(self) -> tuple[str, ...]:
        if not self._resolved or self._credentials is None:
            return ()
        values = frozen(self._credentials)
        return tuple(s for s in (values.secret_key, values.token) if s)
