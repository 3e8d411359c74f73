"""`harness cassettes verify`'s checks: secrets (in text and binary bodies), schema problems (statuses,
stream timing), and recorded replies their provider adapter cannot parse (a truncated or edited file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.cassettes import scrub
from harness.cassettes.inspect import adapter_for, parse_reply, request_is_stream
from harness.cassettes.store import read_cassette_file
from harness.errors import InputError, ModelError


def verify_file(f: Path) -> list[dict[str, Any]]:
    """The findings in one cassette file: secrets, schema problems, replies its adapter cannot parse.

    Each is `{"cassette", "interaction" (index or None), "kind" ("secret" | "schema" | "reply"), "message"}`.
    """
    found: list[dict[str, Any]] = []

    def add(kind: str, message: str, index: int | None = None) -> None:
        found.append({"cassette": str(f), "interaction": index, "kind": kind, "message": message})

    try:
        cf = read_cassette_file(f)
    except InputError as e:
        add("schema", str(e))
        return found
    for m in scrub.KEY_SHAPES.finditer(cf.text.encode("utf-8")):
        line = cf.text.encode("utf-8").count(b"\n", 0, m.start()) + 1
        add(
            "secret",
            f"line {line}: text shaped like a credential ({m.group()[:6].decode(errors='replace')}…)",
        )
    for ix in cf.interactions:
        for message in scrub.secret_findings(ix):
            add("secret", message, ix.index)
        for blob in (ix.request.body, ix.response.body):
            # binary bodies are stored base64-encoded, out of reach of the text scan above
            if not _is_text(blob) and scrub.KEY_SHAPES.search(blob):
                add("secret", "a binary body holds bytes shaped like a credential", ix.index)
        if not 100 <= ix.response.status <= 599:
            add("schema", f"status {ix.response.status} is not an HTTP status", ix.index)
        unreadable = _unreadable_reply(ix)
        if unreadable:
            add("reply", unreadable, ix.index)
        for message in _chunk_problems(ix):
            add("schema", message, ix.index)
    return found


def _chunk_problems(ix: Any) -> list[str]:
    """What is wrong with a recorded stream's `timing.chunks` (offsets and lengths of its body)."""
    chunks = (ix.timing or {}).get("chunks")
    if not chunks:
        return []
    try:
        lengths = [int(c[1]) for c in chunks]
        offsets = [float(c[0]) for c in chunks]
    except (TypeError, ValueError, IndexError):
        return ["timing.chunks must be a list of [offset_ms, byte_length]"]
    problems = []
    if sum(lengths) != len(ix.response.body):
        problems.append(
            f"timing.chunks lengths sum to {sum(lengths)} but the body has {len(ix.response.body)} bytes"
        )
    if any(b < a for a, b in zip(offsets, offsets[1:], strict=False)) or (offsets and offsets[0] < 0):
        problems.append("timing.chunks offsets must be non-negative and non-decreasing")
    return problems


def _unreadable_reply(ix: Any) -> str | None:
    """Why the adapter cannot parse this recorded reply (a truncated or edited file), or None. Error
    answers, endpoints no adapter knows and streams recorded only up to where the caller stopped
    reading (`timing.truncated`, replayed the same way) are not parsed."""
    if ix.response.status >= 400 or (ix.timing or {}).get("truncated"):
        return None
    adapter = adapter_for(ix.request.uri, ix.provider)
    if adapter is None:
        return None
    streamed = ix.streamed or request_is_stream(ix.request.uri, ix.request.body, ix.provider)
    try:
        parse_reply(ix, adapter, streamed)
    except ModelError as e:
        if e.body is not None:  # read whole: the provider answered with an error event mid-stream
            return None
        return _why(adapter, e)
    except Exception as e:
        return _why(adapter, e)
    return None


def _why(adapter: Any, e: Exception) -> str:
    detail = " ".join(f"{type(e).__name__}: {e}".split())
    return f"the {adapter.name} adapter cannot parse the recorded reply: {detail[:300]}"


def _is_text(blob: bytes) -> bool:
    try:
        blob.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
