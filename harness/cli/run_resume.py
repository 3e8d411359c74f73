"""`harness run --resume RUN_DIR` keeps every option of the run it continues.

A run writes the options given on its command line (or through the environment) to RUN_DIR/cli.json.
A resume reads them back and uses each one its own command line does not give, so a resumed CI run
still writes its JUnit file, its exports, compares with its baseline, prices with its price file, runs
the same models and filters with the same workers; it prints which options it reused. Options given
on the resume command win (and `--report FILE` or `--cassettes DIR` there drop a reused `--no-report`
or `--no-cassettes`). Paths read back must lie inside the working directory: cli.json is a file anyone
may hand over.

This happens as the command line is parsed (`ResumingCommand`), so the command itself receives the
options it runs with, whichever option a later version adds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from harness.errors import InputError

CLI_FILE = "cli.json"
_REUSED = "harness.resume.reused"  # ctx.meta key: the options a resume took from cli.json
# what says which run this is, or only how this invocation displays it: never reused
NOT_REUSED = frozenset({"suites", "resume", "retry_errors", "out", "dry_run", "progress", "show"})
# an option given on the resume command drops these reused ones (they would contradict it)
DROPS = {
    "report_path": ("no_report",),
    "cassettes_dir": ("no_cassettes",),
    "record_mode": ("no_cassettes",),
    "no_cassettes": ("cassettes_dir", "record_mode"),
}


class ResumingCommand(click.Command):
    """A command whose `--resume RUN_DIR` fills in, once the command line is parsed, every option of
    that run the command line does not give; it says which."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rest = super().parse_args(ctx, args)
        run_dir = ctx.params.get("resume")
        if run_dir is not None:
            try:
                reused = reuse(ctx, ctx.params, Path(run_dir))
            except InputError as e:
                click.echo(f"error: {e}", err=True)
                ctx.exit(2)
            ctx.meta[_REUSED] = reused
            if reused:
                click.echo(
                    f"Resuming {run_dir}: reusing {'; '.join(as_flags(ctx, reused))} (from its {CLI_FILE})"
                )
        return rest


def given(ctx: click.Context) -> dict[str, Any]:
    """The options of this invocation that were given (not defaults), as JSON data."""
    out: dict[str, Any] = {}
    for name, value in ctx.params.items():
        if name in NOT_REUSED or ctx.get_parameter_source(name) in (None, ParameterSource.DEFAULT):
            continue
        out[name] = [str(v) for v in value] if isinstance(value, (tuple, list)) else _plain(value)
    return out


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Path) else value


def remember(run_dirs: list[Path]) -> None:
    """Write the options this run goes with (given, and reused by a resume) into each run directory."""
    from harness.results.io import write_json_atomic

    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return
    options = {**ctx.meta.get(_REUSED, {}), **given(ctx)}
    for run_dir in run_dirs:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(run_dir / CLI_FILE, {"options": options})


def reuse(ctx: click.Context, params: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """Fill `params` with the options of the run in `run_dir` this command line does not give;
    returns those reused, as stored (the resumed run stores them again, with its own)."""
    stored = _stored(run_dir)
    explicit = {n for n in params if ctx.get_parameter_source(n) not in (None, ParameterSource.DEFAULT)}
    dropped = {d for n in explicit for d in DROPS.get(n, ())}
    by_name = {p.name: p for p in ctx.command.params if isinstance(p, click.Option)}
    reused: dict[str, Any] = {}
    for name, value in stored.items():
        param = by_name.get(name)
        if param is None or name in NOT_REUSED or name in explicit or name in dropped:
            continue  # an option this version no longer has, or one the resume command decides
        _check_paths(param, value, run_dir)
        params[name] = param.type_cast_value(ctx, value)
        reused[name] = value
    return reused


def _stored(run_dir: Path) -> dict[str, Any]:
    path = run_dir / CLI_FILE
    if not path.is_file():
        return {}  # a run made before cli.json, or through the Python API: run.json's config still applies
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InputError(f"not a JSON object of options: {e}", path=str(path)) from None
    options = data.get("options") if isinstance(data, dict) else None
    if not isinstance(options, dict):
        raise InputError('expected {"options": {...}}', path=str(path))
    return options


def _check_paths(param: click.Option, value: Any, run_dir: Path) -> None:
    if not isinstance(param.type, click.Path):
        return
    from harness.files import confined

    for v in value if isinstance(value, list) else [value]:
        confined(str(v), Path.cwd(), what=f"{param.opts[0]}", source=str(run_dir / CLI_FILE))


def as_flags(ctx: click.Context, values: dict[str, Any]) -> list[str]:
    """`--junit out.xml`, `--no-report`: options as they would be typed, in --help order."""
    out = []
    for param in ctx.command.params:
        if param.name in values and isinstance(param, click.Option):
            value = values[param.name]
            items = value if isinstance(value, list) else [value]
            out.append(param.opts[0] if param.is_flag else " ".join(f"{param.opts[0]} {v}" for v in items))
    return out
