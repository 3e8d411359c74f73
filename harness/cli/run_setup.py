"""`harness run`'s set-up: the suites parsed and one validated runner built per suite, with the worker
processes of a multi-process run started as early as their number is known (`harness.runner.workers`):
`--workers N` before the suite is parsed (by `harness.cli.run`), `auto` on a whole suite once it is
parsed and its cells counted, before the runner is imported."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.cli.run_options import shard_value
from harness.cli.select import selected, split_models
from harness.cli.validate import check_selection

if TYPE_CHECKING:
    from harness.runner.runner import Runner
    from harness.runner.workers import EarlyPool


def build_runners(
    suites: tuple[Path, ...],
    config: dict[str, Any],
    early: EarlyPool | None,
    out: Path | None,
    given: dict[str, Any],
    selection: dict[str, Any] | None,
) -> list[Runner]:
    """One validated runner per suite (every suite is parsed and validated before anything runs);
    `given` holds the command's options, and what it left out comes from the resumed run's `config`.
    `early`: worker processes started before the suite was parsed, which the runner takes or stops."""
    from harness.runner.workers import EarlyPool
    from harness.suite.spec import load_suite

    try:
        loaded = [load_suite(p) for p in suites]
        if early is None and len(loaded) == 1 and _whole_auto_run(given, selection):
            # `auto` on a whole suite: started before the runner's imports, like `--workers N`
            models = len(split_models(given["models"]) or []) or len(loaded[0].models)
            early = EarlyPool.after_parse(loaded[0], models, given["repeat"], given["shard"])
        from harness.runner.runner import Runner, RunOptions

        runners = []
        for suite in loaded:
            chosen = selected(suite, split_models(given["models"]), selection or {})
            options = RunOptions(
                **{
                    **given,
                    "models": chosen.pop("models", None) or config.get("models"),
                    "record_mode": given["record_mode"] or config.get("record_mode"),
                    "out": out / suite.name if (out is not None and len(loaded) > 1) else out,
                    "concurrency": given["concurrency"] or config.get("concurrency"),
                    "repeat": given["repeat"] or config.get("repeat"),
                    "replay_speed": given["replay_speed"] or config.get("replay_speed") or "instant",
                    "shard": given["shard"] or shard_value(config.get("shard")),
                    **chosen,
                }
            )
            runners.append(Runner(suite, options, early=early if len(loaded) == 1 else None))
            check_selection(runners[-1])
        return runners
    except BaseException:
        if early is not None:
            early.close()
        raise


def _whole_auto_run(given: dict[str, Any], selection: dict[str, Any] | None) -> bool:
    """`--workers auto` on every cell of a suite: the count of cells is known once the suite is parsed."""
    return (
        given["workers"] is None
        and not given["plan_only"]
        and given["max_cost"] is None
        and given["resume"] is None
        and not any((selection or {}).values())
    )
