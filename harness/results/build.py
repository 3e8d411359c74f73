"""The one builder of the results record (docs/results-record.md), used by the runner and the pytest
plugin alike, with the pieces it is built from, and the evaluation of assertions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, cast

from harness.messages.convert import message_to_dict
from harness.messages.core import AIMessage, BaseMessage
from harness.messages.usage import flat_usage, sum_flat_usage
from harness.pricing import PriceTable, load_prices
from harness.results.record import (
    RECORD_VERSION,
    AssertionOutcome,
    Cassette,
    ModelCall,
    Output,
    ResultRecord,
    Status,
    Timing,
    Usage,
)


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def usage_of(message: AIMessage) -> Usage:
    """A message's usage_metadata in the record's flat shape."""
    return cast(Usage, flat_usage(message))


def sum_usage(usages: list[Usage]) -> Usage:
    return cast(Usage, sum_flat_usage(cast("list[dict[str, int]]", usages)))


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
    pricing: Pricing, provider: str, model: str, ai: list[AIMessage], usages: list[Usage]
) -> tuple[float | None, float]:
    """(cost of every call or None when unpriced, cost of the replayed calls)."""
    total: float | None = 0.0
    avoided = 0.0
    for m, u in zip(ai, usages, strict=False):
        c = pricing.cost(provider, model, cast("dict[str, int]", u))
        if c is None:
            total = None
            continue
        if total is not None:
            total += c
        if timing_of(m).get("replayed"):
            avoided += c
    return (round(total, 10) if total is not None else None), round(avoided, 10)


@dataclass(frozen=True)
class CallFigures:
    """What a cell's model calls add up to: tokens, cost and timing (also what assertions judge)."""

    usage: Usage
    cost_usd: float | None
    cost_avoided_usd: float
    timing: Timing

    @classmethod
    def of(cls, ai: list[AIMessage], pricing: Pricing, provider: str, model_name: str) -> CallFigures:
        usages = [usage_of(m) for m in ai]
        timings = [timing_of(m) for m in ai]
        cost, avoided = costs(pricing, provider, model_name, ai, usages)
        totals = [float(t["total_ms"]) for t in timings if t.get("total_ms") is not None]
        timing = Timing(
            ttft_ms=timings[0].get("ttft_ms") if timings else None,
            total_ms=round(sum(totals), 3) if totals else None,
            replayed=bool(timings) and all(t.get("replayed") for t in timings),
        )
        if any(
            t.get("emulated") for t in timings
        ):  # answered by the provider emulator (or a recording of it)
            timing["emulated"] = True
        return cls(usage=sum_usage(usages), cost_usd=cost, cost_avoided_usd=avoided, timing=timing)

    @classmethod
    def of_calls(cls, calls: list[ModelCall]) -> CallFigures:
        """The figures of calls built from traffic (`priced_calls`): usage summed, latency summed, the
        first call's time to first token; cost None when a call that reported usage has no price."""
        used = [c for c in calls if c["usage"] is not None]
        cost: float | None = None
        if used and all(c["cost_usd"] is not None for c in used):
            cost = round(sum(c["cost_usd"] or 0.0 for c in used), 10)
        avoided = sum(c["cost_usd"] or 0.0 for c in used if c["source"] == "replayed")
        totals = [c["latency_ms"] for c in calls if c["latency_ms"] is not None]
        timing = Timing(
            ttft_ms=calls[0]["ttft_ms"] if calls else None,
            total_ms=round(sum(totals), 3) if totals else None,
            replayed=bool(calls) and all(c["source"] == "replayed" for c in calls),
        )
        if any(c.get("emulated") for c in calls):  # as `of` marks a prompt cell's: the report's banner
            timing["emulated"] = True
        return cls(
            usage=sum_usage([c["usage"] for c in used if c["usage"] is not None]),
            cost_usd=cost,
            cost_avoided_usd=round(avoided, 10),
            timing=timing,
        )


def priced_calls(calls: list[dict[str, Any]], pricing: Pricing) -> list[ModelCall]:
    """Model calls parsed from traffic (`harness.cassettes.inspect.model_call`) with their cost."""
    out: list[ModelCall] = []
    for c in calls:
        usage = c.get("usage")
        cost = pricing.cost(str(c.get("provider") or ""), str(c.get("model") or ""), usage) if usage else None
        call = ModelCall(
            provider=c.get("provider"),
            model=c.get("model"),
            source=str(c.get("source") or "live"),
            client=str(c.get("client") or "other"),
            streamed=bool(c.get("streamed")),
            status=c.get("status"),
            latency_ms=c.get("latency_ms"),
            ttft_ms=c.get("ttft_ms"),
            usage=cast(Usage, usage) if usage else None,
            cost_usd=round(cost, 10) if cost is not None else None,
            tool_calls=list(c.get("tool_calls") or []),
            text=str(c.get("text") or ""),
            finish_reason=c.get("finish_reason"),
            error=c.get("error"),
        )
        if c.get("emulated"):
            call["emulated"] = True
        out.append(call)
    return out


def message_call(message: AIMessage, pricing: Pricing, provider: str, model: str) -> ModelCall:
    """A harness model's call as a model call, from its reply (usage, timing, tool calls)."""
    usage = usage_of(message)
    t = timing_of(message)
    cost = pricing.cost(provider, model, cast("dict[str, int]", usage)) if message.usage_metadata else None
    return ModelCall(
        provider=provider or None,
        model=model or None,
        source=str(t.get("source") or "live"),
        client="harness",
        streamed=None,
        status=None,
        latency_ms=t.get("total_ms"),
        ttft_ms=t.get("ttft_ms"),
        usage=usage if message.usage_metadata else None,
        cost_usd=round(cost, 10) if cost is not None else None,
        tool_calls=[
            {"name": c.get("name"), "args": c.get("args"), "id": c.get("id")} for c in message.tool_calls
        ],
        text=text_of(message),
        finish_reason=message.response_metadata.get("finish_reason"),
        error=None,
    )


def tool_trajectory(calls: list[ModelCall], transcript: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every tool call in order: across the model calls, or (a prompt cell) the transcript's turns."""
    if calls:
        return [tc for c in calls for tc in c["tool_calls"]]
    return [tc for m in transcript if m.get("role") == "assistant" for tc in m.get("tool_calls") or []]


NO_CALLS = CallFigures(
    usage=sum_usage([]),
    cost_usd=None,
    cost_avoided_usd=0.0,
    timing=Timing(ttft_ms=None, total_ms=None, replayed=False),
)


def cassette_state(sources: list[str], misses: int) -> str:
    """A cell's cassette state from where each of its calls' responses came ("replayed", "recorded",
    "live"); "unused" when no call finished, "miss" when one was not in the cassette."""
    if misses:
        return "miss"
    kinds = set(sources)
    if not kinds:
        return "unused"
    return kinds.pop() if len(kinds) == 1 else "mixed"


def output_of(final: AIMessage | None, structured: Any) -> Output | None:
    if final is None:
        return None
    d = message_to_dict(final)
    return Output(
        text=text_of(final),
        tool_calls=d.get("tool_calls", []),
        structured=structured,
        reasoning=d.get("reasoning"),
        finish_reason=final.response_metadata.get("finish_reason"),
    )


def build_record(
    *,
    run_id: str,
    suite: str,
    case_id: str,
    model: str,
    model_id: str,
    provider: str,
    repeat: int,
    vars: dict[str, Any],
    tags: list[str],
    status: Status,
    assertions: list[AssertionOutcome],
    input: list[dict[str, Any]],
    final: AIMessage | None,
    structured: Any,
    transcript: list[dict[str, Any]],
    figures: CallFigures,
    cassette: Cassette,
    error: str | None,
    started_at: str,
    calls: list[ModelCall] | None = None,
    metadata: dict[str, Any] | None = None,
    judge_figures: CallFigures = NO_CALLS,
) -> ResultRecord:
    """The results record of one cell (the runner) or one test × model (the pytest plugin).
    `judge_figures`: the cell's llm_judge calls, counted apart from the model's."""
    output = output_of(final, structured)
    if output is not None and metadata:
        output["metadata"] = metadata
    return ResultRecord(
        version=RECORD_VERSION,
        run_id=run_id,
        suite=suite,
        case_id=case_id,
        model=model,
        model_id=model_id,
        provider=provider,
        repeat=repeat,
        vars=vars,
        tags=tags,
        status=status,
        assertions=assertions,
        input=input,
        output=output,
        transcript=transcript,
        calls=calls or [],
        tool_trajectory=tool_trajectory(calls or [], transcript),
        usage=figures.usage,
        cost_usd=figures.cost_usd,
        cost_avoided_usd=figures.cost_avoided_usd,
        judge_usage=judge_figures.usage,
        judge_cost_usd=judge_figures.cost_usd,
        timing=figures.timing,
        cassette=cassette,
        error=error,
        started_at=started_at,
        finished_at=utc_now(),
    )


# --- assertions -------------------------------------------------------------------------------------


def make_context(**kw: Any) -> Any:
    from harness.assertions.registry import AssertionContext

    return AssertionContext(**kw)


async def evaluate(specs: list[Any], ctx: Any) -> list[AssertionOutcome]:
    if not specs:
        return []
    from harness.assertions.registry import evaluate as _evaluate

    return [
        AssertionOutcome(type=o.type, passed=o.passed, reason=o.reason, score=o.score)
        for o in await _evaluate(specs, ctx)
    ]
