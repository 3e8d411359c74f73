"""Usage in the flat shape results and assertions judge: one int per key, summed over calls."""

from __future__ import annotations

from collections.abc import Iterable

from harness.messages.core import AIMessage

USAGE_KEYS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cache_read_tokens",
    "cache_creation_tokens",
    "reasoning_tokens",
)


def flat_usage(message: AIMessage) -> dict[str, int]:
    """A message's `usage_metadata` as the flat keys (cache and reasoning details lifted up)."""
    u = message.usage_metadata or {}
    itd = u.get("input_token_details") or {}
    otd = u.get("output_token_details") or {}
    inp, out = int(u.get("input_tokens") or 0), int(u.get("output_tokens") or 0)
    return {
        "input_tokens": inp,
        "output_tokens": out,
        "total_tokens": int(u.get("total_tokens") or inp + out),
        "cache_read_tokens": int(itd.get("cache_read") or 0),
        "cache_creation_tokens": int(itd.get("cache_creation") or 0),
        "reasoning_tokens": int(otd.get("reasoning") or 0),
    }


def sum_flat_usage(usages: Iterable[dict[str, int]]) -> dict[str, int]:
    total = dict.fromkeys(USAGE_KEYS, 0)
    for u in usages:
        for key in USAGE_KEYS:
            total[key] += int(u.get(key, 0))
    return total
