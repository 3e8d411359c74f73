"""``harness emulate`` — start the provider emulator on loopback and print its base URLs."""

from __future__ import annotations

import threading

import click


@click.command(
    "emulate",
    short_help="Start the local provider emulator and print its base URLs.",
    epilog="""\b
Examples:
  harness emulate --port 8765
  harness emulate --latency 0.1 --ttft 0.05 --chunk-delay 0.01
\b
Then, in another shell:
  export OPENAI_BASE_URL=http://127.0.0.1:8765/v1 OPENAI_API_KEY=sk-test
  harness invoke openai:gpt-4.1-mini "Hello" --stream
""",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port to listen on (0: any free port).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option(
    "--latency", type=click.FloatRange(min=0), default=0.0, help="Seconds before each whole response."
)
@click.option(
    "--ttft", type=click.FloatRange(min=0), default=0.0, help="Seconds before the first streamed chunk."
)
@click.option(
    "--chunk-delay", type=click.FloatRange(min=0), default=0.0, help="Seconds between streamed chunks."
)
@click.option(
    "--lenient",
    is_flag=True,
    help="Accept requests the real APIs refuse (unknown fields, a server's own extensions); "
    "by default they are refused with the provider's error, as the real API does.",
)
def emulate_cmd(port: int, host: str, latency: float, ttft: float, chunk_delay: float, lenient: bool) -> None:
    """Serve every provider's wire format on one local port until Ctrl-C.

    Replies are deterministic: an echo of the last user message, a call of the first tool when tools
    are offered, and an example instance when a JSON schema is requested.
    """
    from harness.providers import get_adapter_class
    from harness.testing import ProviderEmulator

    emu = ProviderEmulator(
        host=host, port=port, latency=latency, ttft=ttft, chunk_delay=chunk_delay, strict=not lenient
    )
    try:
        emu.start()
    except OSError as e:
        raise click.UsageError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    click.echo(f"harness provider emulator listening on {emu.url}")
    for provider, url in sorted(emu.base_urls.items()):
        env = None
        try:  # the environment variable the provider's adapter reads its base URL from
            names = get_adapter_class(provider).base_url_env
            env = names[0] if names else None
        except Exception:  # an adapter that is not installed: print the URL anyway
            pass
        click.echo(f"  {provider:<18} {url}" + (f"    export {env}={url}" if env else ""))
    click.echo("Any API key is accepted. Press Ctrl-C to stop.", err=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
        click.echo("stopped", err=True)
