"""`harness run --fail-under RATE|MODEL=RATE` and `--max-cost USD`: the gates a CI run is held to.

Exit codes of `harness run` (docs/cli.md): 0 every cell passed (with --fail-under: every gate held),
1 a cell failed or errored (with --fail-under: a gate was missed), 2 usage or input error, 3 the run
is otherwise fine but --max-cost stopped cells from starting (they are `skipped`; a resume runs them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import click

from harness.errors import ConfigurationError

EXIT_OK, EXIT_FAILED, EXIT_BUDGET = 0, 1, 3
_RATE = re.compile(r"^(?:(?P<model>.+)=)?(?P<rate>[0-9]*\.?[0-9]+)(?P<pct>%?)$")


@dataclass(frozen=True)
class Gate:
    """A minimum pass rate: over every cell that ran (`model` None), or over one model's cells."""

    model: str | None
    rate: float

    @property
    def label(self) -> str:
        return f"{self.model}={self.rate:g}" if self.model else f"{self.rate:g}"


def parse_gates(values: tuple[str, ...] | list[str]) -> list[Gate]:
    """`0.9`, `90%`, `gpt-mini=0.8` (a model id or model string of the run) -> gates; else one clear line."""
    gates = []
    for value in values:
        m = _RATE.match(value.strip())
        rate = float(m.group("rate")) / (100 if m and m.group("pct") else 1) if m else -1.0
        if m is None or not 0 <= rate <= 1:
            raise click.BadParameter(
                f"{value!r}: allowed: a pass rate from 0 to 1 (0.9) or a percentage (90%), "
                "for the whole run or for one model as MODEL=RATE (gpt-mini=0.8)",
                param_hint="--fail-under",
            )
        gates.append(Gate(m.group("model").strip() if m.group("model") else None, rate))
    return gates


def resolve_gates(gates: list[Gate], models: list[Any], suite: str) -> list[Gate]:
    """Per-model gates named by id or model string, checked against the run's models before it starts."""
    out = []
    for gate in gates:
        if gate.model is None:
            out.append(gate)
            continue
        match = next((m.id for m in models if gate.model in (m.id, m.model)), None)
        if match is None:
            known = ", ".join(m.id for m in models)
            raise ConfigurationError(
                f"--fail-under {gate.label}: suite {suite!r} has no model {gate.model!r}; its models: {known}"
            )
        out.append(Gate(match, gate.rate))
    return out


def held(result: Any, gates: list[Gate], console: Any) -> bool:
    """Print each gate's verdict; True when all hold. Rates count the cells that ran (not skipped)."""
    ok = True
    for gate in gates:
        if gate.model is None:
            passed = sum(s["passed"] for s in result.summary.values())
            ran = sum(s["cells"] - s.get("skipped", 0) for s in result.summary.values())
            rate, what = (passed / ran if ran else None), "overall"
        else:
            s = result.summary.get(gate.model) or {}
            rate, what = s.get("pass_rate"), gate.model
        good = rate is not None and rate >= gate.rate
        ok = ok and good
        shown = "–" if rate is None else f"{rate * 100:.2f}".rstrip("0").rstrip(".") + "%"
        mark = "[green]✓ held[/]" if good else "[red]✗ missed[/]"
        console.print(f"Gate --fail-under {gate.label}: pass rate {shown} ({what}) {mark}")
    return ok


def exit_code(result: Any, gates: list[Gate], max_cost: float | None, console: Any) -> int:
    """This run's exit code: 1 on failed quality, else 3 when the budget skipped cells, else 0."""
    quality = held(result, gates, console) if gates else result.ok
    skipped = result.counts.get("skipped", 0)
    if skipped:
        console.print(
            f"[yellow]{skipped} cell(s) skipped:[/] --max-cost ${max_cost:g} was spent on live calls; "
            f"resume with a higher --max-cost to run them: harness run --resume {result.run_dir} --max-cost USD"
        )
    if not quality:
        return EXIT_FAILED
    return EXIT_BUDGET if skipped else EXIT_OK


def combine(codes: list[int]) -> int:
    """Several suites: a failure wins over a spent budget, which wins over success."""
    return next((c for c in (EXIT_FAILED, EXIT_BUDGET) if c in codes), EXIT_OK)
