"""The checks and parsers behind `harness run`'s options: each refuses a bad value with one line naming
the option and what is allowed, before any cell runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from harness.cassettes.modes import RECORD_MODES

F = TypeVar("F", bound=Callable[..., Any])

_PLAN_OPTIONS = (
    click.option(
        "--models",
        help="Comma-separated model ids of the suite or model strings, e.g. haiku,openai:gpt-4.1-mini",
    ),
    click.option(
        "--record-mode",
        type=click.Choice(RECORD_MODES),
        default=None,
        help="Cassette record mode (default: $HARNESS_RECORD_MODE, else none in CI or when a cassette exists).",
    ),
    click.option(
        "--cassettes",
        "cassettes_dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=None,
        help="Cassette directory (default: cassettes/); files are <suite>/<case>/<model>.yaml.",
    ),
    click.option("--no-cassettes", is_flag=True, help="Call every model live; record and replay nothing."),
    click.option(
        "--prices",
        type=click.Path(path_type=Path, dir_okay=False, exists=True),
        help="A price file overriding the built-in prices.",
    ),
    click.option("--repeat", type=click.IntRange(min=1), help="Run every case N times per model."),
)


def plan_options(func: F) -> F:
    """The options `harness run` and `harness validate` share: which models, which cassettes (and so
    which cells replay, record or go live), the prices and the repeats."""
    for option in reversed(_PLAN_OPTIONS):
        func = option(func)
    return func


def cassettes_value(
    no_cassettes: bool, record_mode: str | None, cassettes_dir: Path | None, default: str | Path
) -> str | Path | None:
    """The cassette directory a run uses (None: --no-cassettes, every call live)."""
    if no_cassettes and (record_mode or cassettes_dir):
        raise click.UsageError("--no-cassettes cannot be combined with --record-mode or --cassettes")
    return None if no_cassettes else (cassettes_dir or default)


def replay_speed_value(value: str | None) -> str | float | None:
    if value is None or value in ("instant", "realtime"):
        return value
    try:
        speed = float(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r}: allowed: instant, realtime, or a speed factor such as 2.0",
            param_hint="--replay-speed",
        ) from None
    if speed <= 0:
        raise click.BadParameter(
            f"{value!r}: a speed factor must be greater than 0", param_hint="--replay-speed"
        )
    return speed


EXPORT_FORMATS = ("csv", "json", "parquet")


def check_exports(paths: tuple[Path, ...]) -> None:
    """Refuse an export the run could not write, before any cell runs (not after a long run)."""
    for path in paths:
        fmt = path.suffix.lstrip(".").lower()
        if fmt not in EXPORT_FORMATS:
            raise click.BadParameter(
                f"{str(path)!r}: unknown export format {fmt or '(no suffix)'!r}; "
                f"allowed suffixes: .csv, .json, .parquet",
                param_hint="--export",
            )
        if fmt == "parquet":
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                raise click.BadParameter(
                    f"{str(path)!r}: Parquet export needs pyarrow: pip install 'harness[parquet]'",
                    param_hint="--export",
                ) from None


def shard_value(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    k, sep, n = value.partition("/")
    if sep and k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n):
        return int(k), int(n)
    raise click.BadParameter(f"{value!r}: allowed: K/N with 1 <= K <= N, e.g. 1/4", param_hint="--shard")


def check_writable(
    out: Path | None, report: Path | None, junit: Path | None, exports: tuple[Path, ...]
) -> None:
    """Refuse an output path that cannot be written (a file where a folder must be, no permission)."""
    from harness.files import unwritable

    wanted = [("--out", out, True), ("--report", report, False), ("--junit", junit, False)]
    for hint, path, folder in [*wanted, *(("--export", p, False) for p in exports)]:
        if path is not None and (why := unwritable(path, directory=folder)):
            raise click.BadParameter(f"{str(path)!r}: cannot write it: {why}", param_hint=hint)


def workers_value(value: str) -> int | None:
    if value == "auto":
        return None
    if value.isdigit() and int(value) >= 1:
        return int(value)
    raise click.BadParameter(
        f"{value!r}: allowed: a number of processes (1, 2, ...) or auto", param_hint="--workers"
    )


def trusted_paths(meta: dict[str, Any], run_dir: Path, *, cassettes_given: bool) -> dict[str, Any]:
    """The config of a run being resumed, its paths confined to the working directory: run.json is a
    file anyone may hand over, and a crafted one must not send cassettes or suites elsewhere."""
    from harness.files import confined

    source = str(run_dir / "run.json")
    config = dict(meta.get("config") or {})
    cwd = Path.cwd()
    if meta.get("suite_path"):
        meta["suite_path"] = str(confined(meta["suite_path"], cwd, what="suite_path", source=source))
    if config.get("cassettes_dir") is not None and not cassettes_given:
        what = "config.cassettes_dir (pass --cassettes DIR to choose another)"
        config["cassettes_dir"] = str(confined(config["cassettes_dir"], cwd, what=what, source=source))
    return config
