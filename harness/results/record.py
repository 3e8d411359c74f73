"""The results record's type (docs/results-record.md): one per case × model × repeat.

A TypedDict rather than a validating model: the runner writes thousands of records a second and the
report reads hundreds of thousands at once, so a record stays the plain dict that orjson writes and
reads, and the type costs nothing at run time. Readers still get records from files written by other
versions, so everything that consumes a record reads it through the tolerant accessors below.
"""

from __future__ import annotations

import math
import secrets
from datetime import datetime, timezone
from typing import Any, Literal, TypedDict

from typing_extensions import NotRequired

RECORD_VERSION = 1
"""Written into every record as `version`; a record without one predates the field (same shape)."""

Status = Literal["passed", "failed", "error"]
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


class Output(TypedDict):
    text: str
    tool_calls: list[dict[str, Any]]
    structured: Any
    reasoning: Any
    finish_reason: str | None


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
    usage: Usage
    cost_usd: float | None
    cost_avoided_usd: float
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
    return "error" if status == "error" or record.get("error") else "failed"


def model_key(record: dict[str, Any]) -> str:
    return str(record.get("model_id") or record.get("model") or "unknown")


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


def tokens(record: dict[str, Any]) -> tuple[int, int, int, int]:
    """(input, output, cache_read, reasoning) tokens of a record."""
    u = part(record, "usage")
    return (
        intval(u.get("input_tokens")),
        intval(u.get("output_tokens")),
        intval(u.get("cache_read_tokens")),
        intval(u.get("reasoning_tokens")),
    )
