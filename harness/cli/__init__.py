"""The `harness` command: a thin click group; each command lives in its own module.

Exit codes: 0 all passed, 1 some case failed, 2 usage or input error (one clear line).

Commands: `run` (with `run_console`: what it prints, `run_gates`: --fail-under / --max-cost,
`run_resume`: --resume, `run_options`: checks of its other option values and output paths, `run_setup`: the suites parsed into validated runners, worker processes started early), `validate` (and the --dry-run plan), `select` (the cell-selection options
run and validate share), `show`, `report`, `compare`, `cassettes`, `invoke`, `emulate`, `init`,
`suite_schema`.

May import: `harness.cassettes`, `harness.errors`, `harness.files`, `harness.messages`,
`harness.models`, `harness.providers`, `harness.report`, `harness.results`, `harness.runner`,
`harness.suite`, `harness.testing`.
"""

from __future__ import annotations

import sys

import click

from harness.cli.cassettes import cassettes_group
from harness.cli.compare import compare_cmd
from harness.cli.emulate import emulate_cmd
from harness.cli.init import init_cmd
from harness.cli.invoke import invoke_cmd
from harness.cli.merge import merge_cmd
from harness.cli.report import report_cmd
from harness.cli.run import run_cmd
from harness.cli.show import show_cmd
from harness.cli.suite_schema import suite_schema_cmd
from harness.cli.validate import validate_cmd
from harness.errors import ConfigurationError, InputError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="harness")
def cli() -> None:
    """harness: evaluation and replay-testing for chat models.

    \b
    Examples:
      harness run suites/quickstart.yaml            # replay from cassettes/, write a report
      harness invoke openai:gpt-4.1-mini "Hello" --stream
      harness cassettes ls cassettes/
      harness emulate --port 8765
    """


for _command in (
    cassettes_group,
    compare_cmd,
    emulate_cmd,
    init_cmd,
    invoke_cmd,
    merge_cmd,
    report_cmd,
    run_cmd,
    show_cmd,
    suite_schema_cmd,
    validate_cmd,
):
    cli.add_command(_command)


def _warning_line(message: Warning | str, category: type[Warning], *_: object, **__: object) -> str:
    """A warning on the command line is one line for a user ("warning: ..."), not Python's
    "file.py:82: UserWarning: ...\n  source line"."""
    return f"warning: {message}\n"


def main(argv: list[str] | None = None) -> None:
    import warnings

    warnings.formatwarning = _warning_line
    try:
        cli.main(args=argv, prog_name="harness", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(2 if e.exit_code in (1, 2) else e.exit_code)
    except (ConfigurationError, InputError) as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(2)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    sys.exit(0)
