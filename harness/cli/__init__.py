"""The `harness` command: a thin click group; each command lives in its own module.

Commands are imported lazily (only the one being run), so `harness --help` stays fast.
Exit codes: 0 all passed, 1 some case failed, 2 usage or input error (one clear line).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

import click

# command name -> "module:attribute"
COMMANDS: dict[str, str] = {
    "run": "harness.cli.run:run_cmd",
    "report": "harness.cli.report:report_cmd",
    "compare": "harness.cli.compare:compare_cmd",
    "invoke": "harness.cli.invoke:invoke_cmd",
    "cassettes": "harness.cli.cassettes:cassettes_group",
    "emulate": "harness.cli.emulate:emulate_cmd",
    "suite-schema": "harness.cli.suite_schema:suite_schema_cmd",
}

_HELP = {
    "run": "Run suites over models; write results and a report.",
    "report": "Render the HTML report of a run directory.",
    "compare": "Compare two runs: regressions, fixes, latency and cost changes.",
    "invoke": "Send one prompt to a model and print the reply.",
    "cassettes": "List, show, verify and prune cassettes.",
    "emulate": "Start the local provider emulator and print its base URLs.",
    "suite-schema": "Print the JSON schema of suite files.",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(n for n, spec in COMMANDS.items() if importlib.util.find_spec(spec.split(":")[0]))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        spec = COMMANDS.get(name)
        if spec is None:
            return None
        mod, attr = spec.split(":")
        if importlib.util.find_spec(mod) is None:
            return None
        return getattr(importlib.import_module(mod), attr)

    def format_commands(self, ctx: click.Context, formatter: Any) -> None:
        rows = [(n, _HELP.get(n, "")) for n in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
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


def main(argv: list[str] | None = None) -> None:
    from harness.errors import ConfigurationError, InputError

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
