"""Turn a cell's exchange into the results record of docs/results-record.md, and evaluate assertions."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from harness.messages.core import AIMessage, BaseMessage, message_to_dict
from harness.pricing import PriceTable, load_prices

USAGE_KEYS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cache_read_tokens",
    "cache_creation_tokens",
    "reasoning_tokens",
)


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def usage_of(message: AIMessage) -> dict[str, int]:
    """A message's usage_metadata in the record's flat shape."""
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


def sum_usage(usages: list[dict[str, int]]) -> dict[str, int]:
    total = dict.fromkeys(USAGE_KEYS, 0)
    for u in usages:
        for k in USAGE_KEYS:
            total[k] += u.get(k, 0)
    return total


def timing_of(message: AIMessage) -> dict[str, Any]:
    t = message.response_metadata.get("timing") if isinstance(message.response_metadata, dict) else None
    return t if isinstance(t, dict) else {}


def text_of(message: AIMessage | None) -> str:
    if message is None:
        return ""
    if isinstance(message.content, str):
        return message.content
    try:
        return str(message.text)
    except Exception:
        return ""


def transcript_entry(m: BaseMessage) -> dict[str, Any]:
    d = message_to_dict(m)
    if isinstance(m, AIMessage):
        d.setdefault("tool_calls", [])
        d.setdefault("reasoning", None)
        d["usage"] = usage_of(m)
        t = timing_of(m)
        d["timing"] = {"ttft_ms": t.get("ttft_ms"), "total_ms": t.get("total_ms")}
    return d


class Pricing:
    """Cost per model call from the price table (`harness.pricing`); None for a model it does not price.

    `Pricing.load` reads the packaged prices and the user's file: a malformed file is an InputError
    naming the file and line, raised before any cell runs. `Pricing(None)` prices nothing.
    """

    def __init__(self, table: PriceTable | None) -> None:
        self.table = table

    @classmethod
    def load(cls, user_file: str | None = None) -> Pricing:
        return cls(load_prices(user_file))

    def cost(self, provider: str, model: str, usage: dict[str, int]) -> float | None:
        return self.table.cost(provider, model, usage) if self.table is not None else None


def costs(
    pricing: Pricing, provider: str, model: str, ai: list[AIMessage], usages: list[dict[str, int]]
) -> tuple[float | None, float]:
    """(cost of every call or None when unpriced, cost of the replayed calls)."""
    total: float | None = 0.0
    avoided = 0.0
    for m, u in zip(ai, usages, strict=False):
        c = pricing.cost(provider, model, u)
        if c is None:
            total = None
            continue
        if total is not None:
            total += c
        if timing_of(m).get("replayed"):
            avoided += c
    return (round(total, 10) if total is not None else None), round(avoided, 10)


# --- assertions -------------------------------------------------------------------------------------


def make_context(**kw: Any) -> Any:
    from harness.assertions.registry import AssertionContext

    return AssertionContext(**kw)


async def evaluate(specs: list[Any], ctx: Any) -> list[dict[str, Any]]:
    if not specs:
        return []
    from harness.assertions.registry import evaluate as _evaluate

    return [o.to_dict() for o in await _evaluate(specs, ctx)]
