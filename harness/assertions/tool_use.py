"""Assertions on tool calls (which, with what arguments, in what order) and on the cell's
latency, tokens and cost."""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.assertions.base import AssertionContext, Outcome, SpecBase

# --- matching -----------------------------------------------------------------------------------


def args_match(expected: Any, actual: Any) -> bool:
    """Subset match: every key of an expected mapping must be in the actual one and match
    (recursively); lists match element by element with the same length; other values are equal."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and args_match(v, actual[k]) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(args_match(e, a) for e, a in zip(expected, actual, strict=True))
        )
    return bool(expected == actual)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def show_call(call: dict[str, Any], limit: int = 80) -> str:
    args = _dumps(call.get("args") or {})
    if len(args) > limit:
        args = args[:limit] + "…"
    return f"{call.get('name')}({args})"


def show_calls(calls: list[dict[str, Any]], limit: int = 8) -> str:
    if not calls:
        return "no tool calls were made"
    shown = ", ".join(show_call(c) for c in calls[:limit])
    more = f", … (+{len(calls) - limit} more)" if len(calls) > limit else ""
    return f"calls made: {shown}{more}"


class ToolRef(BaseModel):
    """One expected call in a trajectory: a name, optionally with an argument subset."""

    model_config = ConfigDict(extra="forbid")
    name: str
    args: dict[str, Any] | None = None

    def matches(self, call: dict[str, Any]) -> bool:
        return call.get("name") == self.name and (
            self.args is None or args_match(self.args, call.get("args") or {})
        )

    def show(self) -> str:
        return self.name if self.args is None else f"{self.name}(⊇ {_dumps(self.args)})"


# --- tool assertions ----------------------------------------------------------------------------


class ToolCalled(SpecBase):
    """The model called tool `name` (with arguments containing `args`, when given) at least once,
    or exactly `times` times."""

    type: Literal["tool_called"]
    name: str
    args: dict[str, Any] | None = None
    times: int | None = Field(default=None, ge=0)

    def check(self, ctx: AssertionContext) -> Outcome:
        ref = ToolRef(name=self.name, args=self.args)
        n = sum(1 for c in ctx.tool_calls if ref.matches(c))
        want = ref.show()
        if self.times is None:
            if n:
                return self.outcome(True, f"{want} was called ({n} time{'s' * (n != 1)})")
            return self.outcome(False, f"expected a call to {want}; {show_calls(ctx.tool_calls)}")
        if n == self.times:
            return self.outcome(True, f"{want} was called exactly {n} time{'s' * (n != 1)}")
        return self.outcome(
            False,
            f"expected {want} to be called exactly {self.times} time"
            f"{'s' * (self.times != 1)}; it was called {n}; {show_calls(ctx.tool_calls)}",
        )


class ToolTrajectory(SpecBase):
    """The sequence of tool calls matches `tools` (names, or {name, args} with an argument subset).

    order: strict — exactly this sequence; unordered — the same calls in any order, nothing else;
    subset — these calls appear in this relative order, other calls may come between them.
    """

    type: Literal["tool_trajectory"]
    tools: list[str | ToolRef]
    order: Literal["strict", "unordered", "subset"] = "strict"

    def refs(self) -> list[ToolRef]:
        return [ToolRef(name=t) if isinstance(t, str) else t for t in self.tools]

    def check(self, ctx: AssertionContext) -> Outcome:
        refs, calls = self.refs(), ctx.tool_calls
        if self.order == "strict":
            ok = len(refs) == len(calls) and all(r.matches(c) for r, c in zip(refs, calls, strict=True))
        elif self.order == "unordered":
            ok = len(refs) == len(calls) and _perfect_matching(refs, calls)
        else:
            ok = _is_subsequence(refs, calls)
        want = "[" + ", ".join(r.show() for r in refs) + "]"
        got = "[" + ", ".join(show_call(c, 60) for c in calls) + "]"
        if ok:
            return self.outcome(True, f"tool trajectory matches {want} ({self.order}); got {got}")
        return self.outcome(False, f"expected tool trajectory {want} ({self.order}); got {got}")


def _is_subsequence(refs: list[ToolRef], calls: list[dict[str, Any]]) -> bool:
    # Greedy earliest match is enough: taking a later call for a ref never helps the refs after it.
    i = 0
    for call in calls:
        if i < len(refs) and refs[i].matches(call):
            i += 1
    return i == len(refs)


def _perfect_matching(refs: list[ToolRef], calls: list[dict[str, Any]]) -> bool:
    """Each ref paired with a distinct call it matches (bipartite matching by augmenting paths:
    argument subsets mean a greedy pairing could take a call another ref needed)."""
    owner: dict[int, int] = {}  # call index -> ref index

    def place(r: int, seen: set[int]) -> bool:
        for c, call in enumerate(calls):
            if c in seen or not refs[r].matches(call):
                continue
            seen.add(c)
            if c not in owner or place(owner[c], seen):
                owner[c] = r
                return True
        return False

    return all(place(r, set()) for r in range(len(refs)))


class NoToolCalls(SpecBase):
    """The model made no tool calls at all."""

    type: Literal["no_tool_calls"]

    def check(self, ctx: AssertionContext) -> Outcome:
        if not ctx.tool_calls:
            return self.outcome(True, "no tool calls were made")
        return self.outcome(False, f"expected no tool calls; {show_calls(ctx.tool_calls)}")


# --- latency, tokens, cost ----------------------------------------------------------------------


class _MaxMs(SpecBase):
    max_ms: float = Field(gt=0)
    key: ClassVar[str] = "total_ms"
    label: ClassVar[str] = "latency"

    def check(self, ctx: AssertionContext) -> Outcome:
        value = (ctx.timing or {}).get(self.key)
        if value is None:
            return self.outcome(
                False,
                f"{self.label} is unknown for this cell (no timing.{self.key} recorded); "
                f"cannot check it against {self.max_ms:g} ms",
            )
        if value <= self.max_ms:
            return self.outcome(True, f"{self.label} {value:.0f} ms <= {self.max_ms:g} ms")
        return self.outcome(False, f"{self.label} {value:.0f} ms exceeds the maximum {self.max_ms:g} ms")


class Latency(_MaxMs):
    """Total time of the cell's model calls (`timing.total_ms`) is at most `max_ms`."""

    type: Literal["latency"]


class Ttft(_MaxMs):
    """Time to first token of the first model call (`timing.ttft_ms`) is at most `max_ms`."""

    type: Literal["ttft"]
    key = "ttft_ms"
    label = "time to first token"


class Tokens(SpecBase):
    """Summed token usage stays within the given maxima (at least one is required)."""

    type: Literal["tokens"]
    max_input: int | None = Field(default=None, ge=0)
    max_output: int | None = Field(default=None, ge=0)
    max_total: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one_limit(self) -> Tokens:
        if self.max_input is None and self.max_output is None and self.max_total is None:
            raise ValueError("tokens needs at least one of max_input, max_output, max_total")
        return self

    def check(self, ctx: AssertionContext) -> Outcome:
        usage = ctx.usage or {}
        inp, out = usage.get("input_tokens"), usage.get("output_tokens")
        total = usage.get("total_tokens") or (
            (inp or 0) + (out or 0) if inp is not None or out is not None else None
        )
        parts, failed = [], []
        for label, value, limit in (
            ("input", inp, self.max_input),
            ("output", out, self.max_output),
            ("total", total, self.max_total),
        ):
            if limit is None:
                continue
            if value is None:
                failed.append(f"{label} tokens unknown (limit {limit})")
            elif value > limit:
                failed.append(f"{label} tokens {value} > {limit}")
            else:
                parts.append(f"{label} tokens {value} <= {limit}")
        if failed:
            return self.outcome(False, "token limit exceeded: " + "; ".join(failed + parts))
        return self.outcome(True, "; ".join(parts))


class Cost(SpecBase):
    """The cell's cost in USD (from the price table) is at most `max_usd`."""

    type: Literal["cost"]
    max_usd: float = Field(ge=0)

    def check(self, ctx: AssertionContext) -> Outcome:
        if ctx.cost_usd is None:
            return self.outcome(
                False,
                f"cost is unknown for model {ctx.model!r} (no price in the price table; "
                f"add one with a prices file) — cannot check it against ${self.max_usd:g}",
            )
        if ctx.cost_usd <= self.max_usd:
            return self.outcome(True, f"cost ${ctx.cost_usd:.6f} <= ${self.max_usd:g}")
        return self.outcome(False, f"cost ${ctx.cost_usd:.6f} exceeds the maximum ${self.max_usd:g}")


TOOL_SPECS: tuple[type[SpecBase], ...] = (
    ToolCalled,
    ToolTrajectory,
    NoToolCalls,
    Latency,
    Ttft,
    Tokens,
    Cost,
)
