"""Choosing which cells run: cases by id glob, regex or tag; models by id; the cells that failed before.

    ids = select_cases(suite, patterns=["capital*"], regex_pattern=None, tags=["smoke"])
    RunOptions(cases=ids, models=select_models(suite, ["haiku", "openai:gpt-4.1-mini"]))
    RunOptions(cells=failing_cells(Path("runs/demo-...")))

A case id, or a glob (`fnmatch`, case-sensitive), matches a case's id or one of its variants' ids
(`capital[France]`); the regex is searched in the id, the variant id and the description, run by the
`regex` package with a time limit; a tag matches the case's or the suite's `tags`. Filters combine
with AND; repeating `--case` or `--tag` is OR. Every refusal is an InputError of one line.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import regex

from harness.errors import InputError
from harness.models import infer_provider
from harness.results.io import iter_records, latest
from harness.suite.spec import ExpandedCase, ModelEntry, Suite

PATTERN_TIME_LIMIT_S = 1.0


def select_cases(
    suite: Suite,
    *,
    patterns: Sequence[str] = (),
    regex_pattern: str | None = None,
    tags: Sequence[str] = (),
) -> list[str] | None:
    """The expanded case ids chosen (None: no filter given, every case runs)."""
    if not patterns and regex_pattern is None and not tags:
        return None
    compiled = _compile(regex_pattern) if regex_pattern is not None else None
    chosen = [
        ec.id
        for ec in suite.expand()
        if _by_id(ec, patterns) and _by_tag(suite, ec, tags) and _by_regex(ec, compiled)
    ]
    if not chosen:
        given = [f"--case {p}" for p in patterns] + [f"--tag {t}" for t in tags]
        if regex_pattern is not None:
            given.append(f"--filter-pattern {regex_pattern}")
        known = ", ".join(c.id for c in suite.cases[:10]) + (", ..." if len(suite.cases) > 10 else "")
        if tags:  # name the tags there are, not only the ids
            all_tags = sorted({*suite.tags, *(t for c in suite.cases for t in c.tags)})
            known += "; tags: " + (", ".join(all_tags) if all_tags else "none (give a case `tags: [...]`)")
        raise InputError(f"{suite.path or suite.name}: no case matches {' '.join(given)}; case ids: {known}")
    return chosen


def selected_cases(cases: list[ExpandedCase], ids: Sequence[str] | None) -> list[ExpandedCase]:
    """The expanded cases whose ids were chosen, in suite order (all of them when `ids` is None)."""
    if ids is None:
        return cases
    keep = set(ids)
    return [ec for ec in cases if ec.id in keep]


def _compile(pattern: str) -> Any:
    try:
        return regex.compile(pattern)
    except regex.error as e:
        raise InputError(f"--filter-pattern {pattern!r} is not a regular expression: {e}") from None


def _by_id(ec: ExpandedCase, patterns: Sequence[str]) -> bool:
    return not patterns or any(
        p in (ec.case.id, ec.id) or fnmatch.fnmatchcase(ec.case.id, p) or fnmatch.fnmatchcase(ec.id, p)
        for p in patterns
    )


def _by_tag(suite: Suite, ec: ExpandedCase, tags: Sequence[str]) -> bool:
    return not tags or bool(set(tags) & {*ec.case.tags, *suite.tags})


def _by_regex(ec: ExpandedCase, compiled: Any) -> bool:
    if compiled is None:
        return True
    texts = dict.fromkeys(filter(None, (ec.case.id, ec.id, ec.case.description)))
    try:
        return any(compiled.search(text, timeout=PATTERN_TIME_LIMIT_S) is not None for text in texts)
    except TimeoutError:
        raise InputError(
            f"--filter-pattern {compiled.pattern!r} found no answer within {PATTERN_TIME_LIMIT_S:g} s on "
            f"case {ec.id!r}; a nested repeat such as (a+)+ can take forever: simplify the pattern"
        ) from None


def select_models(suite: Suite, given: Sequence[str]) -> list[str | ModelEntry]:
    """`--models` items: a suite model's id (or its model string) picks that entry with its params;
    anything else is a model string. An empty list is refused."""
    if not given:
        raise InputError(
            "--models is empty; give model ids of the suite or model strings, e.g. openai:gpt-4.1-mini"
        )
    by_id: dict[str, ModelEntry] = {}
    for entry in suite.model_entries:
        by_id.setdefault(entry.display_id, entry)
        by_id.setdefault(entry.model, entry)
    for item in given:  # neither an id of the suite nor a model string a provider can be read from
        if item not in by_id and ":" not in item and infer_provider(item) is None:
            ids = [e.display_id for e in suite.model_entries]
            close = difflib.get_close_matches(item, ids, n=1, cutoff=0.5) or [i for i in ids if item in i][:1]
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise InputError(
                f"--models {item}: not a model id of the suite ({hint}its ids: {', '.join(ids) or 'none'}) nor "
                "a model string with its provider, e.g. anthropic:claude-haiku-4-5"
            )
    return [by_id.get(item, item) for item in given]


def failing_cells(run_dir: Path) -> list[tuple[str, str, int]]:
    """The cells of a previous run whose last record failed or errored."""
    if not (run_dir / "results.jsonl").is_file():
        raise InputError(f"--filter-failing {run_dir}: no results.jsonl there; give a run directory")
    cells = latest(list(iter_records(run_dir)))
    failing = [key for key, rec in cells.items() if rec.get("status") in ("failed", "error")]
    if not failing:
        raise InputError(f"--filter-failing {run_dir}: no cell failed or errored there; nothing to rerun")
    return failing
