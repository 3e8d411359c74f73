"""Assertions: what a suite case checks about a cell's output, tool calls, latency, tokens, cost.

Each assertion type is a pydantic model (unknown keys are an error) with a `check(ctx)` that
returns an `Outcome`; `AssertionSpec` is their discriminated union, so a suite's
`assert: [{type: icontains, value: Paris}]` validates into the right model. User documentation
with a YAML example per type: docs/assertions.md.

    from harness.assertions.registry import AssertionContext, evaluate_sync, parse_assertions
    ctx = AssertionContext.from_message(ai_message)
    outcomes = evaluate_sync(parse_assertions([{"type": "icontains", "value": "paris"}]), ctx)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Union

from pydantic import BaseModel, Field, TypeAdapter

from harness.assertions.base import AssertionContext, Outcome, SpecBase, sum_usage
from harness.assertions.model_graded import (
    MODEL_SPECS,
    LlmJudge,
    PythonCheck,
    Similar,
    cosine,
    judge_messages,
    ngram_embed,
    register_embedder,
)
from harness.assertions.text import (
    TEXT_SPECS,
    Contains,
    Equals,
    IContains,
    IsJson,
    JsonSchema,
    NotContains,
    NotIContains,
    PydanticCheck,
    Regex,
    StartsWith,
)
from harness.assertions.tool_use import (
    TOOL_SPECS,
    Cost,
    Latency,
    NoToolCalls,
    Tokens,
    ToolCalled,
    ToolRef,
    ToolTrajectory,
    Ttft,
    args_match,
)
from harness.errors import ImportPathError, JudgeError
from harness.imports import import_object

__all__ = [
    "ASSERTION_TYPES",
    "AssertionContext",
    "AssertionSpec",
    "Contains",
    "Cost",
    "Equals",
    "IContains",
    "ImportPathError",
    "IsJson",
    "JsonSchema",
    "Latency",
    "LlmJudge",
    "NoToolCalls",
    "NotContains",
    "NotIContains",
    "Outcome",
    "PydanticCheck",
    "PythonCheck",
    "Regex",
    "Similar",
    "StartsWith",
    "Tokens",
    "ToolCalled",
    "ToolRef",
    "ToolTrajectory",
    "Ttft",
    "args_match",
    "cosine",
    "evaluate",
    "evaluate_sync",
    "import_object",
    "judge_messages",
    "ngram_embed",
    "parse_assertions",
    "register_embedder",
    "sum_usage",
]

_SPECS: tuple[type[SpecBase], ...] = TEXT_SPECS + TOOL_SPECS + MODEL_SPECS

AssertionSpec = Annotated[Union[_SPECS], Field(discriminator="type")]  # type: ignore[valid-type]


def _type_names(model: type[BaseModel]) -> tuple[str, ...]:
    return tuple(model.model_fields["type"].annotation.__args__)  # type: ignore[union-attr]


# type name (as written in a suite) -> its model; aliases ("json_schema", "llm-rubric") included
ASSERTION_TYPES: dict[str, type[BaseModel]] = {name: m for m in _SPECS for name in _type_names(m)}

_ADAPTER: TypeAdapter[Any] = TypeAdapter(list[AssertionSpec])  # type: ignore[valid-type]


def parse_assertions(items: Iterable[Mapping[str, Any] | BaseModel]) -> list[Any]:
    """Validate raw mappings (as read from YAML) into assertion specs. Raises pydantic's
    ValidationError; the suite loader turns it into a file:line message."""
    return list(
        _ADAPTER.validate_python(
            [i.model_dump(by_alias=True) if isinstance(i, BaseModel) else i for i in items]
        )
    )


async def evaluate(specs: Iterable[Any], ctx: AssertionContext) -> list[Outcome]:
    """Run each assertion in order; one outcome per spec, in the same order. An exception inside an
    assertion becomes a failed Outcome whose reason starts "error: ", except JudgeError: a judge that
    gave no verdict judged nothing, so it propagates (the runner makes the cell `error`).

    Runs one at a time so judge calls happen in a stable order (cassettes replay them in order).
    Plain mappings are accepted and validated first (an invalid one becomes an error outcome).
    """
    out: list[Outcome] = []
    for spec in specs:
        out.append(await _evaluate_one(spec, ctx))
    return out


async def _evaluate_one(spec: Any, ctx: AssertionContext) -> Outcome:
    kind = str(getattr(spec, "type", None) or (spec.get("type") if isinstance(spec, Mapping) else "?"))
    try:
        if not isinstance(spec, SpecBase):
            spec = parse_assertions([spec])[0]
        result = spec.check(ctx)
        if inspect.isawaitable(result):
            result = await result
        return result  # type: ignore[no-any-return]
    except JudgeError:
        raise
    except Exception as e:
        message = str(e).strip().splitlines()[0] if str(e).strip() else ""
        text = message if isinstance(e, ImportPathError) else f"{type(e).__name__}: {message}".rstrip(": ")
        return Outcome(type=kind, passed=False, reason=f"error: {text}")


def evaluate_sync(specs: Iterable[Any], ctx: AssertionContext) -> list[Outcome]:
    """`evaluate` for synchronous callers. Inside a running event loop (e.g. an async test), it
    runs on a worker thread with its own loop instead of failing."""
    specs = list(specs)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(evaluate(specs, ctx))
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, evaluate(specs, ctx)).result()
