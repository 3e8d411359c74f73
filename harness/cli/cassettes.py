"""`harness cassettes ls|show|verify|prune PATH [--json]`.

ls      cassettes under PATH with interaction counts and recorded dates
show    a cassette as a conversation (or, with --json, each interaction parsed by its provider adapter)
verify  scan for secrets and schema problems, and parse every reply with its adapter; exit 1 on a finding
prune   remove interactions no run used (needs the usage log written with HARNESS_CASSETTE_USAGE)
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import Any

import click

from harness.errors import InputError

_SUFFIXES = (".yaml", ".yml")


def _cassette_files(path: str) -> list[Path]:
    p = Path(path)
    if p.is_file():
        return [p]
    if p.is_dir():
        return sorted(
            f for f in p.rglob("*") if f.suffix in _SUFFIXES and f.is_file() and not f.name.startswith(".")
        )
    raise InputError(
        "no such file or directory (expected a cassette .yaml or a directory of them)", path=path
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


# terminal controls a recorded reply may carry: C0/C1 controls, DEL and bidirectional overrides. Shown
# as escapes, so a cassette cannot move the cursor, retitle the terminal or reorder what is displayed
_CONTROLS = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape_controls(text: str) -> str:
    return _CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _echo(text: str) -> None:
    click.echo(_escape_controls(text))


def _echo_json(data: Any) -> None:
    # the escapes are valid JSON string escapes: the output still parses to the same data
    _echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


GROUP_EXAMPLES = """\b
Examples:
  harness cassettes ls                                  # everything under cassettes/
  harness cassettes show cassettes/quickstart/capital/gpt-4.1-mini.yaml
  harness cassettes verify cassettes/                   # exit 1 on a secret or a broken file
  harness cassettes prune cassettes/ --usage usage.jsonl --dry-run
"""


@click.group("cassettes", epilog=GROUP_EXAMPLES, short_help="List, show, verify and prune cassettes.")
def cassettes_group() -> None:
    """List, show, verify and prune cassettes."""


# --- ls ------------------------------------------------------------------------------------------------


def _ls_row(f: Path) -> dict[str, Any]:
    from harness.cassettes.inspect import adapter_for
    from harness.cassettes.store import read_cassette_file

    row: dict[str, Any] = {
        "path": str(f),
        "interactions": None,
        "recorded_first": None,
        "recorded_last": None,
        "providers": [],
        "streamed": 0,
        "bytes": f.stat().st_size,
        "error": None,
    }
    try:
        ixs = read_cassette_file(f).interactions
    except InputError as e:
        row["error"] = str(e)
        return row
    dates = sorted(ix.recorded_at for ix in ixs if ix.recorded_at)
    if not dates:
        dates = [dt.datetime.fromtimestamp(f.stat().st_mtime, dt.timezone.utc).isoformat(timespec="seconds")]
    row.update(
        interactions=len(ixs),
        recorded_first=dates[0],
        recorded_last=dates[-1],
        streamed=sum(ix.streamed for ix in ixs),
    )
    names = {getattr(adapter_for(ix.request.uri, ix.provider), "name", None) for ix in ixs}
    row["providers"] = sorted(n for n in names if n)
    return row


@cassettes_group.command(
    "ls",
    epilog="""\b
Examples:
  harness cassettes ls                        # cassettes/, the directory harness run uses
  harness cassettes ls cassettes/quickstart --json""",
)
@click.argument("path", default="cassettes")
@click.option("--json", "as_json", is_flag=True, help="Print JSON rows.")
def ls_cmd(path: str, as_json: bool) -> None:
    """List cassettes under PATH (default: cassettes/) with interaction counts and recorded dates."""
    rows = [_ls_row(f) for f in _cassette_files(path)]
    if as_json:
        _echo_json(rows)
        return
    if not rows:
        _echo(f"no cassettes under {path}")
        return
    width = max(len(r["path"]) for r in rows)
    for r in rows:
        if r["error"]:
            _echo(f"{r['path']:<{width}}  ERROR {r['error']}")
            continue
        when = str(r["recorded_last"])[:19].replace("T", " ")
        _echo(
            f"{r['path']:<{width}}  {_plural(r['interactions'], 'interaction'):>16}  {r['streamed']:>3} streamed  "
            f"recorded {when}  {', '.join(r['providers']) or '-'}"
        )


# --- show ----------------------------------------------------------------------------------------------


def _show_text(f: Path) -> None:
    from harness.cassettes.inspect import describe, request_messages
    from harness.cassettes.store import load_cassette

    ixs = load_cassette(f)
    _echo(f"{f}  ({_plural(len(ixs), 'interaction')})")
    previous: list[tuple[str, str]] = []
    for ix in ixs:
        d = describe(ix)
        timing = ix.timing or {}
        ttft = (timing.get("chunks") or [[timing.get("ttfb_ms")]])[0][0]
        head = [
            f"#{ix.index}",
            ix.request.method,
            d["endpoint"],
            d["provider"] or "?",
            str(d["model"] or "?"),
            "stream" if d["streamed"] else "",
            str(ix.response.status),
        ]
        if timing.get("total_ms") is not None:
            shown = f"{ttft:.0f}" if isinstance(ttft, (int, float)) else "?"
            head.append(f"ttft {shown} ms  total {float(timing['total_ms']):.0f} ms")
        _echo("\n" + "  ".join(h for h in head if h))
        messages = request_messages(ix.request.json_or_none())
        new = messages[len(previous) :] if messages[: len(previous)] == previous else messages
        for role, text in new:
            _echo(f"    {role}: {_one_line(text)}")
        previous = messages
        reply = d["reply"]
        if reply is None:
            _echo(f"    ! {d['error']}")
            continue
        if reply["text"]:
            _echo(f"    → ai: {_one_line(reply['text'])}")
        for tc in reply["tool_calls"]:
            _echo(
                f"    → tool call {tc['name']}({json.dumps(tc['args'], ensure_ascii=False)})  id={tc['id']}"
            )
        usage = reply["usage_metadata"] or {}
        if usage or reply["finish_reason"]:
            _echo(
                f"      usage in {usage.get('input_tokens', '?')} / out {usage.get('output_tokens', '?')}"
                f"  finish {reply['finish_reason'] or '?'}"
            )


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@cassettes_group.command(
    "show",
    epilog="""\b
Examples:
  harness cassettes show cassettes/quickstart/weather/gpt-4.1-mini.yaml
  harness cassettes show cassettes/ --json > interactions.json""",
)
@click.argument("path")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Per interaction: provider, endpoint, model, streamed, reply parsed by the provider's adapter.",
)
def show_cmd(path: str, as_json: bool) -> None:
    """Show cassettes as conversations: messages sent, replies, tool calls, usage, timing."""
    from harness.cassettes.inspect import describe
    from harness.cassettes.store import load_cassette

    files = _cassette_files(path)
    if as_json:
        _echo_json([{"cassette": str(f), **describe(ix)} for f in files for ix in load_cassette(f)])
        return
    for f in files:
        _show_text(f)


# --- verify --------------------------------------------------------------------------------------------


@cassettes_group.command(
    "verify",
    epilog="""\b
Examples:
  harness cassettes verify cassettes/        # in CI, before committing new cassettes
  harness cassettes verify cassettes/ --json""",
)
@click.argument("path")
@click.option("--json", "as_json", is_flag=True, help="Print findings as JSON.")
def verify_cmd(path: str, as_json: bool) -> None:
    """Scan cassettes for secrets and schema problems, and parse every recorded reply with its provider
    adapter (a truncated or edited reply is a finding); exit 1 when anything is found."""
    from harness.cassettes.verify import verify_file

    files = _cassette_files(path)
    findings = [x for f in files for x in verify_file(f)]
    if as_json:
        _echo_json({"files": len(files), "findings": findings})
    else:
        for x in findings:
            where = f" interaction #{x['interaction']}" if x["interaction"] is not None else ""
            _echo(f"{x['cassette']}:{where} {x['kind']}: {x['message']}")
        _echo(f"{len(files)} cassettes checked, {len(findings)} problems")
    if findings:
        raise SystemExit(1)


# --- prune ---------------------------------------------------------------------------------------------


def _usage(log: Path) -> dict[str, set[str]]:
    used: dict[str, set[str]] = {}
    for n, line in enumerate(log.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            used.setdefault(entry["cassette"], set()).update(entry["used"])
        except (ValueError, KeyError, TypeError):
            raise InputError(
                "not a usage log line (expected JSON with cassette and used)", path=str(log), line=n
            ) from None
    return used


@cassettes_group.command(
    "prune",
    epilog="""\b
Examples:
  HARNESS_CASSETTE_USAGE=usage.jsonl harness run suites/quickstart.yaml   # log what a run used
  harness cassettes prune cassettes/ --usage usage.jsonl --dry-run        # see what would go
  harness cassettes prune cassettes/ --usage usage.jsonl""",
)
@click.argument("path")
@click.option(
    "--usage",
    "usage_log",
    type=click.Path(dir_okay=False),
    help="Usage log written by runs (default: $HARNESS_CASSETTE_USAGE).",
)
@click.option("--dry-run", is_flag=True, help="Report what would be removed; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
def prune_cmd(path: str, usage_log: str | None, dry_run: bool, as_json: bool) -> None:
    """Remove interactions that no logged run used."""
    from harness.cassettes.cassette import USAGE_ENV, fragment_id
    from harness.cassettes.store import read_cassette_file, rewrite

    log = usage_log or os.environ.get(USAGE_ENV)
    if not log or not Path(log).is_file():
        raise InputError(
            f"no usage log{f' at {log}' if log else ''}: run with {USAGE_ENV}=FILE "
            "(or use_cassette(..., usage_log=FILE)), then prune with --usage FILE"
        )
    used = _usage(Path(log))
    results = []
    for f in _cassette_files(path):
        ids = used.get(str(f.resolve()))
        if ids is None:
            results.append(
                {"cassette": str(f), "kept": None, "removed": 0, "note": "no run used it; left alone"}
            )
            continue
        if dry_run:
            frags = read_cassette_file(f).fragments()
            kept = sum(fragment_id(fr) in ids for fr in frags)
            removed = len(frags) - kept
        else:

            def keep(fr: str, ids: set[str] = ids) -> bool:
                return fragment_id(fr) in ids

            kept, removed = rewrite(f, keep)
        results.append({"cassette": str(f), "kept": kept, "removed": removed, "note": None})
    if as_json:
        _echo_json(results)
        return
    for r in results:
        what = r["note"] or f"kept {r['kept']}, {'would remove' if dry_run else 'removed'} {r['removed']}"
        _echo(f"{r['cassette']}: {what}")
