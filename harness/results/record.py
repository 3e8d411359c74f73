"""The results record's type (docs/results-record.md): one per case × model × repeat.

A TypedDict rather than a validating model: the runner writes thousands of records a second and the
report reads hundreds of thousands at once, so a record stays the plain dict that orjson writes and
reads, and the type costs nothing at run time. Readers still get records from files written by other
versions, so everything that consumes a record reads it through the tolerant accessors below.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any, Literal, TypedDict

from typing_extensions import NotRequired

RECORD_VERSION = 2
"""Written into every record as `version`; a record without one predates the field (same shape as 1).
Version 2 added `calls` and `tool_trajectory` (absent from version 1 records: read them with `calls_of`)."""

# "skipped": the cell did not run (harness run --max-cost was spent); `error` holds the reason
Status = Literal["passed", "failed", "error", "skipped"]
CassetteState = Literal["replayed", "recorded", "live", "miss", "mixed", "unused"]
CASSETTE_STATES: tuple[CassetteState, ...] = ("replayed", "recorded", "live", "miss", "mixed", "unused")

CellKey = tuple[str, str, int]


def new_run_id() -> str:
    """A run's id: its start time and a random suffix, e.g. 20261124T063000-3f2a."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(2)


class Usage(TypedDict):
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cache_read_tokens: int
    cache_creation_tokens: int
    reasoning_tokens: int


class Timing(TypedDict):
    ttft_ms: float | None
    total_ms: float | None
    replayed: bool
    emulated: NotRequired[bool]  # the answers came from harness's provider emulator (live or recorded)


class Output(TypedDict):
    text: str
    tool_calls: list[dict[str, Any]]
    structured: Any
    reasoning: Any
    finish_reason: str | None
    metadata: NotRequired[dict[str, Any]]  # a target's `metadata`, when it returned some


class ModelCall(TypedDict):
    """One model call of a cell or a test, built from its HTTP traffic (any client) or its message."""

    provider: str | None
    model: str | None
    source: str  # "replayed" | "recorded" | "live"
    client: str  # "harness" (a harness chat model) | "other" (any other client on the HTTP path)
    streamed: bool | None  # None when unknown (a call read from its reply, not its traffic)
    status: int | None
    latency_ms: float | None
    ttft_ms: float | None
    usage: Usage | None
    cost_usd: float | None
    tool_calls: list[dict[str, Any]]
    text: str
    finish_reason: str | None
    error: str | None
    emulated: NotRequired[bool]  # answered by harness's provider emulator (live or recorded from it)


class AssertionOutcome(TypedDict):
    type: str
    passed: bool
    reason: str | None
    score: float | None


class Cassette(TypedDict):
    path: str | None
    state: str
    # the pytest plugin counts a test's calls by kind (a test may make several)
    replayed: NotRequired[int]
    recorded: NotRequired[int]
    misses: NotRequired[int]
    unused: NotRequired[int]


class ResultRecord(TypedDict):
    version: int
    run_id: str
    suite: str
    case_id: str
    model: str
    model_id: str
    provider: str
    repeat: int
    vars: dict[str, Any]
    tags: list[str]
    status: Status
    assertions: list[AssertionOutcome]
    input: list[dict[str, Any]]
    output: Output | None
    transcript: list[dict[str, Any]]
    calls: list[ModelCall]  # version 2: each model call (target cells and tests; [] for prompt cells)
    tool_trajectory: list[dict[str, Any]]  # version 2: every tool call across the calls, in order
    usage: Usage
    cost_usd: float | None
    cost_avoided_usd: float
    judge_usage: Usage  # the llm_judge calls of the cell, apart from the model's
    judge_cost_usd: float | None  # None: no judge call, or the judge model has no price
    timing: Timing
    cassette: Cassette
    error: str | None
    started_at: str
    finished_at: str
    nodeid: NotRequired[str]  # the pytest plugin: the test's node id


# --- tolerant accessors: a record read from a file may lack any field, or hold a wrong type -------------


def num(value: Any) -> float | None:
    """A finite float, or None for missing / non-numeric / NaN / infinite values."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def intval(value: Any) -> int:
    f = num(value)
    return int(f) if f is not None else 0


def part(record: dict[str, Any], key: str) -> dict[str, Any]:
    """``record[key]`` when it is an object (usage, timing, cassette, output), else an empty dict."""
    value = record.get(key)
    return value if isinstance(value, dict) else {}


def status_of(record: dict[str, Any]) -> Status:
    status = record.get("status")
    if status == "passed":
        return "passed"
    if status == "failed":
        return "failed"
    if status == "skipped":
        return "skipped"
    return "error" if status == "error" or record.get("error") else "failed"


def model_key(record: dict[str, Any]) -> str:
    return str(record.get("model_id") or record.get("model") or "unknown")


def repeat_label(repeat: Any) -> str:
    """How a repeat is shown beside its case: nothing for the first, " #2" for the second."""
    n = intval(repeat)
    return f" #{n + 1}" if n else ""


def model_order(meta: dict[str, Any]) -> list[str]:
    """The model ids of a run in the suite's order, from its run.json (`models`)."""
    out: list[str] = []
    for m in meta.get("models") or []:
        mid = m if isinstance(m, str) else (m.get("id") or m.get("model") if isinstance(m, dict) else None)
        if isinstance(mid, str) and mid not in out:
            out.append(mid)
    return out


def case_order(meta: dict[str, Any], case_ids: Iterable[str]) -> list[str]:
    """Case (variant) ids in the suite's order from run.json `cases`; variants of one case and cases
    the run.json does not list keep the order they come in."""
    rank = {str(c.get("id")): i for i, c in enumerate(meta.get("cases") or []) if isinstance(c, dict)}
    ids = list(dict.fromkeys(case_ids))
    first = {cid: n for n, cid in enumerate(ids)}
    return sorted(ids, key=lambda cid: (rank.get(cid.split("[", 1)[0], len(rank)), first[cid]))


def case_descriptions(meta: dict[str, Any]) -> dict[str, str]:
    """{case id: description} from run.json `cases` (a variant `x[...]` shares its case's)."""
    return {
        str(c.get("id")): str(c["description"])
        for c in meta.get("cases") or []
        if isinstance(c, dict) and c.get("description")
    }


def cell_key(record: dict[str, Any]) -> CellKey:
    """(case, model, repeat): the cell a record belongs to; a later record of a cell replaces an earlier."""
    return (str(record.get("case_id")), model_key(record), intval(record.get("repeat")))


def state_of(record: dict[str, Any]) -> str:
    state = part(record, "cassette").get("state")
    return state if isinstance(state, str) else ""


def latency_ms(record: dict[str, Any]) -> float | None:
    return num(part(record, "timing").get("total_ms"))


def ttft_ms(record: dict[str, Any]) -> float | None:
    return num(part(record, "timing").get("ttft_ms"))


def judge_tokens(record: dict[str, Any]) -> tuple[int, int]:
    """(input, output) tokens of the cell's judge calls (0, 0 in records written before the field)."""
    u = part(record, "judge_usage")
    return intval(u.get("input_tokens")), intval(u.get("output_tokens"))


def tokens(record: dict[str, Any]) -> tuple[int, int, int, int]:
    """(input, output, cache_read, reasoning) tokens of a record."""
    u = part(record, "usage")
    return (
        intval(u.get("input_tokens")),
        intval(u.get("output_tokens")),
        intval(u.get("cache_read_tokens")),
        intval(u.get("reasoning_tokens")),
    )


def calls_of(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The record's model calls (`calls`), each an object; [] for records before version 2."""
    value = record.get("calls")
    return [c for c in value if isinstance(c, dict)] if isinstance(value, list) else []
