"""``harness invoke MODEL PROMPT`` — send one prompt, print the reply (optionally streamed, recorded or replayed)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

import click

from harness.cassettes.modes import RECORD_MODES
from harness.errors import CassetteError, ConfigurationError, InputError, ModelError


def _param(values: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(
                f"{item!r}: expected KEY=VALUE, e.g. temperature=0", param_hint="--param"
            )
        try:
            out[key] = json.loads(raw)
        except ValueError:
            out[key] = raw
    return out


@click.command(
    "invoke",
    short_help="Send one prompt to a model and print the reply.",
    epilog="""\b
Examples:
  harness invoke openai:gpt-4.1-mini "What is the capital of France?"
  harness invoke anthropic:claude-haiku-4-5 "Write a haiku" --stream
  harness invoke openai:gpt-4.1-mini "Hello" --cassette cassettes/hello.yaml   # record once, then replay
  harness invoke openai:gpt-4.1-mini "Hello" -p temperature=0 -p max_tokens=50 --json
""",
)
@click.argument("model")
@click.argument("prompt")
@click.option("--stream", is_flag=True, help="Print the reply as it streams.")
@click.option("--system", default=None, help="A system message sent before the prompt.")
@click.option(
    "-p", "--param", "params", multiple=True, help="Model parameter KEY=VALUE (JSON values), repeatable."
)
@click.option(
    "--base-url",
    default=None,
    help="Send to this endpoint (e.g. a local emulator or OpenAI-compatible server).",
)
@click.option(
    "--cassette",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Record the call to this cassette, or replay it from there.",
)
@click.option("--record-mode", type=click.Choice(RECORD_MODES), default=None, help="Cassette record mode.")
@click.option("--json", "as_json", is_flag=True, help="Print the reply as a JSON message record.")
def invoke_cmd(
    model: str,
    prompt: str,
    stream: bool,
    system: str | None,
    params: tuple[str, ...],
    base_url: str | None,
    cassette: Path | None,
    record_mode: str | None,
    as_json: bool,
) -> None:
    """Send PROMPT to MODEL ("provider:name") and print the reply; timing and tokens go to stderr."""
    from harness.models.init import init_chat_model

    kwargs = _param(params)
    if base_url:
        kwargs["base_url"] = base_url
    try:
        chat = init_chat_model(model, **kwargs)
    except (ConfigurationError, InputError, TypeError) as e:
        click.echo(f"error: {e}", err=True)
        raise SystemExit(2) from None
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": prompt})
    try:
        message = asyncio.run(_invoke(chat, messages, stream and not as_json, cassette, record_mode))
    except (ModelError, CassetteError) as e:
        click.echo(f"\nerror: {type(e).__name__}: {e}", err=True)
        raise SystemExit(1) from None
    except (ConfigurationError, InputError) as e:
        click.echo(f"error: {e}", err=True)
        raise SystemExit(2) from None
    if as_json:
        from harness.results.build import transcript_entry

        entry = transcript_entry(message)
        entry["finish_reason"] = message.response_metadata.get("finish_reason")
        click.echo(json.dumps(entry, ensure_ascii=False, indent=2, default=str))
    elif not stream:
        click.echo(message.text)
    else:
        click.echo()
    _footer(model, message)


async def _invoke(
    chat: Any, messages: list[dict[str, Any]], stream: bool, cassette: Path | None, record_mode: str | None
) -> Any:
    from harness.messages.core import message_chunk_to_message
    from harness.models.chat import sum_chunks

    ctx: Any = contextlib.nullcontext()
    if cassette is not None:
        from harness.cassettes import use_cassette  # type: ignore[attr-defined,unused-ignore]

        ctx = use_cassette(cassette, record_mode=record_mode)
    async with ctx:
        if not stream:
            return await chat.ainvoke(messages)
        chunks = []
        async for chunk in chat.astream(messages):
            chunks.append(chunk)
            if isinstance(chunk.content, str) and chunk.content:
                sys.stdout.write(chunk.content)
                sys.stdout.flush()
        return message_chunk_to_message(sum_chunks(chunks))


def _footer(model: str, message: Any) -> None:
    from harness.results.build import timing_of, usage_of

    t = timing_of(message)
    u = usage_of(message)
    parts = [model]
    if t.get("total_ms") is not None:
        parts.append(f"{t['total_ms']:.0f} ms")
    if t.get("ttft_ms") is not None:
        parts.append(f"ttft {t['ttft_ms']:.0f} ms")
    parts.append(f"{u['input_tokens']}→{u['output_tokens']} tokens")
    if message.tool_calls:
        parts.append(
            "tool calls: "
            + ", ".join(f"{c['name']}({json.dumps(c.get('args'))})" for c in message.tool_calls)
        )
    parts.append(t.get("source") or ("replayed" if t.get("replayed") else "live"))
    click.echo(" · ".join(parts), err=True)
