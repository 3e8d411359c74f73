"""Case expansion: one `ExpandedCase` per vars row x matrix combination, its messages rendered once.

Located template errors name the file, the line of the field (or of its case), the case and the field;
`line_in` finds a location's line in the suite's line table.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.errors import TemplateError
from harness.suite.templates import render_tree

if TYPE_CHECKING:
    from harness.suite.models import Case, Suite


@dataclass
class ExpandedCase:
    """One case with one set of variables: what a cell runs."""

    id: str
    case: Case
    vars: dict[str, Any]
    index: int  # position of the case in the suite file
    system: str | None = None
    suite_path: str | None = None
    line: int | None = None
    suite_lines: dict[tuple[Any, ...], int] | None = field(default=None, repr=False)
    target: str | None = None  # the import path of the function this cell runs (case's, else suite's)
    _messages: list[dict[str, Any]] | None = field(default=None, repr=False)
    _slug: str | None = field(default=None, repr=False)

    @property
    def slug(self) -> str:
        if self._slug is None:
            self._slug = slugify(self.id)
        return self._slug

    def messages(self) -> list[dict[str, Any]]:
        """The first turn's messages, templates rendered (cached: the same for every model)."""
        if self._messages is None:
            self._messages = _render_messages(self)
        return self._messages


def slugify(text: str) -> str:
    """A file-name-safe form of an id ("openai:gpt-4.1" -> "openai-gpt-4.1")."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "_"


def _variants(case: Case) -> list[dict[str, Any]]:
    rows = case.vars if isinstance(case.vars, list) else [case.vars]
    keys = list(case.matrix)
    combos = (
        [dict(zip(keys, values, strict=True)) for values in itertools.product(*case.matrix.values())]
        if keys
        else [{}]
    )
    return [{**row, **combo} for row in rows for combo in combos]


def _label(variant: dict[str, Any], case: Case) -> str:
    varying = set(case.matrix)
    if isinstance(case.vars, list):
        varying |= {k for row in case.vars for k in row}
    parts = [
        str(v) if isinstance(v, (str, int, float, bool)) else "" for k, v in variant.items() if k in varying
    ]
    return "-".join(p for p in parts if p)


def expand_case(suite: Suite, index: int, case: Case) -> list[ExpandedCase]:
    variants = _variants(case)
    out: list[ExpandedCase] = []
    seen: set[str] = set()
    for n, variant in enumerate(variants):
        cid = case.id
        if len(variants) > 1:
            label = _label(variant, case) or str(n)
            cid = f"{case.id}[{label}]"
            if cid in seen:
                cid = f"{case.id}[{label}-{n}]"
        seen.add(cid)
        out.append(
            ExpandedCase(
                cid,
                case,
                {**suite.vars, **variant},
                index,
                case.system or suite.system,
                suite.path,
                suite.line_of("cases", index),
                suite.line_table,
                case.target or suite.target,
            )
        )
    return out


def _render_messages(ec: ExpandedCase) -> list[dict[str, Any]]:
    case = ec.case
    msgs: list[dict[str, Any]] = []
    if ec.system is not None and not (case.messages and case.messages[0].role in ("system", "developer")):
        field = ("cases", ec.index, "system") if case.system is not None else ("system",)
        msgs.append({"role": "system", "content": _render_field(ec, ec.system, field)})
    if case.messages is not None:
        for i, m in enumerate(case.messages):
            d = m.model_dump(exclude_none=True)
            d["content"] = _render_field(
                ec, d.get("content", ""), ("cases", ec.index, "messages", i, "content")
            )
            msgs.append(d)
    elif case.prompt is not None:  # a target's case may have no input of its own
        msgs.append(
            {"role": "user", "content": _render_field(ec, case.prompt, ("cases", ec.index, "prompt"))}
        )
    return msgs


def _render_field(ec: ExpandedCase, source: Any, where: tuple[str | int, ...]) -> Any:
    """One templated field of a case rendered; a failure names the file, line, case and field."""
    folder = os.path.dirname(os.path.abspath(ec.suite_path)) if ec.suite_path else None
    try:
        return render_tree(source, ec.vars, base_dir=folder if folder and os.path.isdir(folder) else None)
    except TemplateError as e:
        raise TemplateError(
            f"{dotted(where)} (case {ec.id!r}): template error: {e}; "
            f"variables: {', '.join(sorted(ec.vars)) or 'none'}",
            path=ec.suite_path,
            line=line_in(ec.suite_lines, where) or ec.line,
        ) from None


def line_in(lines: dict[tuple[Any, ...], int] | None, loc: tuple[Any, ...]) -> int | None:
    """The line of `loc`, or of the nearest enclosing location the line table holds."""
    if not lines:
        return None
    for n in range(len(loc), 0, -1):
        line = lines.get(tuple(loc[:n]))
        if line:
            return int(line)
    return None


def dotted(loc: Sequence[Any]) -> str:
    """A location as the messages write it: `cases[0].assert[1]`."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
