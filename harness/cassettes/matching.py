"""Which recorded interaction answers a request: a hash of method + URL + normalised JSON body.

For a request a provider adapter recognises, the URL is matched from its endpoint path on (the part
of the path the adapter's `url_pattern` finds, e.g. `/chat/completions`, `/v1/messages`): the scheme,
host and any path prefix of the base URL are left out, so a cassette recorded through a gateway, a
proxy or the emulator replays against the default URL. `Matcher(match_host=True)` keeps the whole
URL (host and port, loopback ports excepted). A request no adapter recognises is always matched on
its whole URL.

Normalising makes a replay match what was recorded even when incidental details differ: JSON key order,
ids the provider generated in earlier turns (tool-call ids, previous response ids: replaced by
placeholders in order of first appearance), auth query parameters, the port of a loopback server, and
whatever the user lists in `match_ignore`. Provider differences come from the adapter's
`normalize_url_for_match` hook (Bedrock drops the region), never from a branch on a provider's name:
the adapter the chat layer built the request with, or the one a cassette names for a recorded request.
"""

from __future__ import annotations

import collections
import difflib
import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from harness.cassettes.inspect import adapter_class
from harness.cassettes.interaction import Interaction
from harness.redaction import is_secret_query

if TYPE_CHECKING:
    from harness.providers.base import ProviderAdapter

VOLATILE_ID_KEYS = frozenset(
    {"id", "tool_call_id", "tool_use_id", "call_id", "toolUseId", "toolCallId", "previous_response_id"}
)
AUTH_QUERY_PARAMS = frozenset(
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
        "x-amz-date",
    }
)
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0"})


# json.dumps with options builds an encoder per call; every request matched is encoded here
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class RequestKey:
    """What a request is matched on: `digest` indexes, `url` and `canonical` explain a miss."""

    digest: str
    method: str
    url: str
    canonical: str  # normalised body: canonical JSON, or the raw text when not JSON
    body: Any  # the parsed JSON body (not normalised), None when not JSON
    raw_url: str = ""
    adapter: type[ProviderAdapter] | None = None  # the adapter class that reads it, when known


class Matcher:
    # bump when normalisation changes: digests stored in cassettes by an older version are then ignored
    VERSION = "v2"

    def __init__(self, ignore: Iterable[str] = (), *, match_host: bool = False) -> None:
        ignore = tuple(ignore)
        self.ignore_names = frozenset(x for x in ignore if "." not in x)
        self.ignore_paths = frozenset(tuple(x.split(".")) for x in ignore if "." in x)
        self.match_host = match_host
        self._settings = (self.ignore_names, self.ignore_paths, match_host)

    def url(self, url: str, adapter: type[ProviderAdapter] | None = None) -> str:
        """The URL as matched. `adapter` built the request; None: the one whose endpoint the URL is.
        A recognised request is matched on its endpoint (no host) unless `match_host`."""
        return _matched_url(self, url, adapter or adapter_class(None, url))  # type: ignore[arg-type]

    def _url(self, url: str, adapter: type[ProviderAdapter] | None) -> str:
        if adapter is not None:
            url = adapter.normalize_url_for_match(url)
            if not self.match_host:
                return self.endpoint(url, adapter)
        return self._whole_url(url)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Matcher) and self._settings == other._settings

    def __hash__(self) -> int:
        return hash(self._settings)

    def endpoint(self, url: str, adapter: type[ProviderAdapter] | None) -> str:
        """The URL without scheme and host: from where the adapter's `url_pattern` matches the path (the
        endpoint, whatever prefix a gateway adds), else the whole path; then the matched query."""
        parts = urlsplit(url)
        path = parts.path or "/"
        if adapter is not None and adapter.url_pattern:
            found = re.search(adapter.url_pattern, path)
            if found is not None:
                path = path[found.start() :]
        return f"{path}{self._query(parts.query)}"

    def same_but_host(self, recorded: RequestKey, request: RequestKey) -> bool:
        """True when two requests differ only in their base URL (scheme, host, port, path prefix)."""
        if recorded.method != request.method or recorded.canonical != request.canonical:
            return False
        adapter = request.adapter or recorded.adapter
        mine = adapter.normalize_url_for_match(request.raw_url) if adapter else request.raw_url
        theirs = adapter.normalize_url_for_match(recorded.raw_url) if adapter else recorded.raw_url
        return self.endpoint(mine, adapter) == self.endpoint(theirs, adapter)

    def _query(self, query: str) -> str:
        kept = sorted(
            (k, v)
            for k, v in parse_qsl(query, keep_blank_values=True)
            if k.lower() not in AUTH_QUERY_PARAMS and not is_secret_query(k) and k not in self.ignore_names
        )
        return f"?{urlencode(kept)}" if kept else ""

    def _whole_url(self, url: str) -> str:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
        # a local server's port is ephemeral (emulators, ollama on another port): match any loopback port
        netloc = (
            "loopback"
            if host in LOOPBACK_HOSTS
            else host + (f":{port}" if port and port not in (80, 443) else "")
        )
        return f"{parts.scheme.lower()}://{netloc}{parts.path or '/'}{self._query(parts.query)}"

    def key(
        self, method: str, url: str, body: bytes, adapter: type[ProviderAdapter] | None = None
    ) -> RequestKey:
        adapter = adapter or adapter_class(None, url)
        norm_url = self.url(url, adapter)
        parsed: Any = None
        canonical = ""
        if body:
            try:
                parsed = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                canonical = body.decode("utf-8", "replace")
            else:
                ids: dict[str, str] = {}
                canonical = _CANONICAL_JSON.encode(self._normalise(parsed, (), ids))
        h = hashlib.blake2b(digest_size=16)
        h.update(f"{method.upper()} {norm_url}\n".encode())
        h.update(canonical.encode("utf-8", "surrogatepass"))
        digest = f"{self.VERSION}-{h.hexdigest()}"
        return RequestKey(digest, method.upper(), norm_url, canonical, parsed, url, adapter)

    @property
    def is_default(self) -> bool:
        """Digests stored in cassettes were computed without an ignore list and without the host; only
        then are they usable."""
        return not self.ignore_names and not self.ignore_paths and not self.match_host

    def key_of(self, ix: Interaction) -> RequestKey:
        adapter = adapter_class(ix.provider, ix.request.uri)
        return self.key(ix.request.method, ix.request.uri, ix.request.body, adapter)

    def _normalise(self, value: Any, path: tuple[str, ...], ids: dict[str, str]) -> Any:
        if isinstance(value, dict):
            out = {}
            for k in sorted(value, key=str):  # sorted: placeholders do not depend on key order
                sub = (*path, str(k))
                if k in self.ignore_names or sub in self.ignore_paths:
                    continue
                v = value[k]
                if k in VOLATILE_ID_KEYS and isinstance(v, (str, int)) and not isinstance(v, bool):
                    out[k] = ids.setdefault(str(v), f"<id:{len(ids)}>")
                else:
                    out[k] = self._normalise(v, sub, ids)
            return out
        if isinstance(value, list):
            return [self._normalise(v, path, ids) for v in value]
        return value


@functools.lru_cache(maxsize=1024)
def _matched_url(matcher: Matcher, url: str, adapter: type[ProviderAdapter] | None) -> str:
    """`Matcher.url`, once per URL and settings: every call of a suite goes to the same few URLs, and
    parsing one (split, endpoint search, query) is a tenth of matching a replayed request."""
    return matcher._url(url, adapter)


class Index:
    """digest -> recorded interactions in file order; each play takes the next one (O(1)).

    Built from digests (stored in the file when harness recorded it, else computed); `key_at(i)` gives
    the full key of interaction i, computed only to explain a miss."""

    def __init__(
        self, digests: list[str], key_at: Callable[[int], RequestKey], played: Iterable[int] = ()
    ) -> None:
        self.digests = digests
        self._key_at = key_at
        self._keys: dict[int, RequestKey] = {}  # computed keys (an lru_cache per index costs more to make)
        self._queues: dict[str, collections.deque[int]] = collections.defaultdict(collections.deque)
        self._last: dict[str, int] = {}
        skip = set(played)
        for i, d in enumerate(digests):
            if i not in skip:
                self._queues[d].append(i)
            self._last[d] = i

    def key_at(self, i: int) -> RequestKey:
        key = self._keys.get(i)
        if key is None:
            key = self._keys[i] = self._key_at(i)
        return key

    def take(self, digest: str, *, repeat: bool = False) -> int | None:
        q = self._queues.get(digest)
        if q:
            return q.popleft()
        if repeat and digest in self._last:
            return self._last[digest]
        return None

    def recorded(self, digest: str) -> int:
        return self.digests.count(digest)

    def nearest(self, key: RequestKey, limit: int = 400) -> int | None:
        """The recorded request most like `key`: same method and URL first, then the closest body."""
        if not self.digests:
            return None
        keys = [self.key_at(i) for i in range(len(self.digests))]
        same = [i for i, k in enumerate(keys) if k.method == key.method and k.url == key.url]
        pool = (same or list(range(len(keys))))[-limit:]
        a = key.canonical
        ranked = sorted(
            pool, key=lambda i: -difflib.SequenceMatcher(None, a, keys[i].canonical).quick_ratio()
        )
        return max(ranked[:5], key=lambda i: difflib.SequenceMatcher(None, a, keys[i].canonical).ratio())


# --- explaining a miss ----------------------------------------------------------------------------


def pretty(key: RequestKey) -> list[str]:
    try:
        return json.dumps(
            json.loads(key.canonical), indent=2, sort_keys=True, ensure_ascii=False
        ).splitlines()
    except ValueError:
        return key.canonical.splitlines()


def body_diff(recorded: RequestKey, live: RequestKey, max_lines: int = 60) -> str:
    lines = list(
        difflib.unified_diff(pretty(recorded), pretty(live), "recorded", "this request", n=2, lineterm="")
    )
    if recorded.url != live.url:
        lines = [f"- url {recorded.url}", f"+ url {live.url}", *lines]
    if len(lines) > max_lines:
        lines = [*lines[:max_lines], f"... ({len(lines) - max_lines} more diff lines)"]
    return (
        "\n".join(lines)
        if lines
        else "(bodies are identical once normalised: every recorded answer was played)"
    )


def _first_text(value: Any, depth: int = 0) -> str:
    if depth > 6:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for k in ("text", "content", "parts", "input", "output"):
            if k in value:
                t = _first_text(value[k], depth + 1)
                if t:
                    return t
        return ""
    if isinstance(value, list):
        for v in reversed(value):
            t = _first_text(v, depth + 1)
            if t:
                return t
    return ""


def _tool_names(value: Any, depth: int = 0) -> list[str]:
    if depth > 5:
        return []
    if isinstance(value, list):
        return [n for v in value for n in _tool_names(v, depth + 1)]
    if isinstance(value, dict):
        names = [value["name"]] if isinstance(value.get("name"), str) else []
        return names + [n for k, v in value.items() if k != "name" for n in _tool_names(v, depth + 1)]
    return []


def summarize(method: str, url: str, body: Any, adapter: type[ProviderAdapter] | None = None) -> str:
    """One readable line: endpoint, model, last message, tools. `adapter`: as for `Matcher.url`."""
    parts = [f"{method} {url}"]
    model = None
    try:
        cls = adapter or adapter_class(None, url)
        if cls is not None:
            model = cls.for_recorded(url).model_from_request(url, body)
    except Exception:  # summarising must never mask the miss itself
        model = None
    if model is None and isinstance(body, dict):
        model = body.get("model") or body.get("modelId")
    if model:
        parts.append(f"model={model}")
    if isinstance(body, dict):
        for k in ("messages", "contents", "input", "prompt"):
            v = body.get(k)
            if isinstance(v, list) and v:
                last = v[-1]
                role = last.get("role", "?") if isinstance(last, dict) else "?"
                text = " ".join(_first_text(last).split())
                parts.append(f"last message {role}: {text[:100]!r}")
                break
            if isinstance(v, str) and v:
                parts.append(f"{k}: {' '.join(v.split())[:100]!r}")
                break
        tools = sorted(set(_tool_names(body.get("tools")) + _tool_names(body.get("toolConfig"))))
        if tools:
            parts.append(f"tools: {', '.join(tools)}")
    return "  ".join(parts)
