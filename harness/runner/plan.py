"""What a run would do before it spends anything: each cell's source (replay / record / live / miss),
the keys the live cells lack, and an estimated cost from the price table.

    plans = plan_cells(runner)               # one CellPlan per cell, in run order
    check_live_keys(runner, plans)           # ConfigurationError: one line naming model and variable
    estimate_cost(runner, plans)             # (USD of the live cells, cells the price table lacks)

A cell replays when its cassette file exists and the record mode keeps it (none, once, new_episodes);
it records when its cassette is missing and the mode records (once, new_episodes) or always records
(all, rewrite); it is live without cassettes; and it misses when its cassette is missing under `none`.
The estimate takes the rendered first turn at 4 characters per token and the output at the cell's
`max_tokens` (else 256 tokens) for each live call (one per turn of a tool loop is not known ahead: one).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from harness.cassettes.modes import default_record_mode
from harness.errors import ConfigurationError

if TYPE_CHECKING:
    from harness.runner.cell import ResolvedModel
    from harness.runner.options import Cell
    from harness.runner.runner import Runner

Source = Literal["replay", "record", "live", "miss"]
ASSUMED_OUTPUT_TOKENS = 256
CHARS_PER_TOKEN = 4


@dataclass(frozen=True)
class CellPlan:
    cell: Cell
    source: Source
    cassette: str | None

    @property
    def spends(self) -> bool:
        return self.source in ("record", "live")


def record_mode_of(runner: Runner) -> str:
    return runner.options.record_mode or default_record_mode()


def plan_cells(runner: Runner) -> list[CellPlan]:
    mode = record_mode_of(runner)
    out: list[CellPlan] = []
    for cell in runner.cells():
        path = runner.cassette_path(cell)
        out.append(CellPlan(cell, _source(path, mode), path))
    return out


def _source(path: str | None, mode: str) -> Source:
    if path is None:
        return "live"
    if mode in ("all", "rewrite"):
        return "record"
    if os.path.isfile(path):
        return "replay"
    return "miss" if mode == "none" else "record"


def may_spend(runner: Runner) -> bool:
    """Whether any cell could go live at all (cheap: no cassette is looked at)."""
    return runner.options.cassettes_dir is None or record_mode_of(runner) != "none"


def missing_keys(runner: Runner, plans: list[CellPlan] | None = None) -> list[tuple[CellPlan, str]]:
    """(cell, one line) for each cell that would go live without its model's or its judge's key."""
    keyless = [m for m in [*runner.models, *runner.judges.values()] if _missing_key(m) is not None]
    if not keyless or not may_spend(runner):
        return []
    out: list[tuple[CellPlan, str]] = []
    for p in plans if plans is not None else plan_cells(runner):
        if not p.spends:
            continue
        model = p.cell.model
        judges = runner.case_judges.get(id(p.cell.case.case)) or {}
        for who in (model, *judges.values()):
            missing = _missing_key(who)
            if missing is not None:
                role = "model" if who is model else "judge"
                doing = "record its cassette live" if p.source == "record" else "call the provider live"
                if p.source == "record" and p.cassette and not os.path.isfile(p.cassette):
                    doing += f": there is no {p.cassette}"  # e.g. run from another folder than usual
                out.append(
                    (
                        p,
                        f"{role} {who.model!r}: {missing} (case {p.cell.case.id!r} "
                        f"would {doing}; replaying a cassette needs no key)",
                    )
                )
                break
    return out


def _missing_key(model: ResolvedModel) -> Exception | None:
    """The error a live call would raise for want of a key; a LangChain model (`langchain:` entry)
    finds its own credentials, so harness knows of none missing."""
    adapter = getattr(model.chat, "adapter", None)
    return getattr(adapter, "missing_key", None)


def check_live_keys(runner: Runner) -> None:
    """A cell that would go live without its model's (or its judge's) key is refused before any runs."""
    missing = missing_keys(runner)
    if missing:
        raise ConfigurationError(missing[0][1])


def estimate_cost(runner: Runner, plans: list[CellPlan]) -> tuple[float, int]:
    """(estimated USD of the cells that go live, how many of them the price table does not price)."""
    total, unpriced = 0.0, 0
    for p in plans:
        if not p.spends:
            continue
        cell = p.cell
        text = json.dumps(cell.case.messages(), ensure_ascii=False)
        params = {**runner.suite.defaults, **cell.model.entry.params, **cell.case.case.params}
        out = params.get("max_tokens") or params.get("max_output_tokens") or ASSUMED_OUTPUT_TOKENS
        usage = {
            "input_tokens": len(text) // CHARS_PER_TOKEN,
            "output_tokens": int(out),
            "total_tokens": 0,
        }
        cost = runner.pricing.cost(cell.model.provider, cell.model.name, usage)
        if cost is None:
            unpriced += 1
        else:
            total += cost
    return total, unpriced
