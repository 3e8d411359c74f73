"""``harness suite-schema`` — print (or write) the JSON schema of suite files."""

from __future__ import annotations

from pathlib import Path

import click

from harness.files import write_atomic


@click.command(
    "suite-schema",
    short_help="Print the JSON schema of suite files.",
    epilog="""\b
Examples:
  harness suite-schema > suite.schema.json
  harness suite-schema -o harness/suite.schema.json     # regenerate the committed copy
\b
Editors pick it up from the first line of a suite file:
  # yaml-language-server: $schema=../harness/suite.schema.json
""",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the schema to this file instead of printing it.",
)
def suite_schema_cmd(output: Path | None) -> None:
    """Print the JSON schema that suite files (YAML) are validated against."""
    from harness.suite.schema import schema_text

    text = schema_text()
    if output is None:
        click.echo(text, nl=False)
    else:
        write_atomic(output, text)
        click.echo(f"wrote {output}", err=True)
