"""The cell-selection options `harness run` and `harness validate` share: --case, --tag,
--filter-pattern, --filter-failing, and --models resolved against the suite's model ids."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from harness.errors import InputError
from harness.suite.spec import Suite

SELECTION_KEYS = ("case_patterns", "tags", "filter_pattern", "filter_failing")


def selection_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the selection options to a click command (they arrive as keyword arguments)."""
    options = [
        click.option(
            "--case",
            "case_patterns",
            multiple=True,
            metavar="ID",
            help="Run only this case (or variant) id; globs such as 'capital*' (repeatable).",
        ),
        click.option(
            "--filter-pattern",
            metavar="REGEX",
            help="Run only cases whose id or description matches this regular expression.",
        ),
        click.option("--tag", "tags", multiple=True, help="Run only cases with this tag (repeatable)."),
        click.option(
            "--filter-failing",
            type=click.Path(path_type=Path, file_okay=False, exists=True),
            metavar="RUN_DIR",
            help="Run only the cells that failed or errored in that run.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def load_env_files(suites: tuple[Path, ...]) -> list[Path]:
    """`.env` beside each suite, then in the working directory, read with python-dotenv; a variable
    already set (in the environment or an earlier file) is never overridden. Returns the files read."""
    from dotenv import load_dotenv

    read: list[Path] = []
    for folder in [*(p.resolve().parent for p in suites), Path.cwd().resolve()]:
        env = folder / ".env"
        if env.is_file() and env not in read:
            load_dotenv(env, override=False)
            read.append(env)
    return read


def split_models(value: str | None) -> list[str] | None:
    """--models a,b as a list; None when not given. Given but empty is refused (exit 2)."""
    if value is None:
        return None
    models = [m.strip() for m in value.split(",") if m.strip()]
    if not models:
        raise InputError(
            f"--models {value!r} names no model; give model ids of the suite or model strings, "
            "e.g. openai:gpt-4.1-mini,haiku"
        )
    return models


def selected(suite: Suite, models: list[str] | None, selection: dict[str, Any]) -> dict[str, Any]:
    """RunOptions keyword arguments for the chosen models, cases and cells."""
    from harness.runner.selection import failing_cells, select_cases, select_models

    out: dict[str, Any] = {}
    if models is not None:
        out["models"] = select_models(suite, models)
    out["cases"] = select_cases(
        suite,
        patterns=selection.get("case_patterns") or (),
        regex_pattern=selection.get("filter_pattern"),
        tags=selection.get("tags") or (),
    )
    failing = selection.get("filter_failing")
    if failing is not None:
        out["cells"] = failing_cells(failing)
        ids = {case for case, _, _ in out["cells"]}
        out["cases"] = [c for c in out["cases"] if c in ids] if out["cases"] is not None else sorted(ids)
    return out
