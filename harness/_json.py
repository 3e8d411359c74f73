"""JSON helpers shared by the chat layer, cassettes and the emulator."""

from __future__ import annotations

import json
from typing import Any


def loads_or_text(body: bytes | str) -> Any:
    """Parse JSON; fall back to the decoded text when the body is not JSON (error pages)."""
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            return body
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body
