"""The miss report: a request no recorded interaction answers, next to its nearest recorded
neighbour, with every credential the request carried masked (the message reaches results, reports,
JUnit and CI summaries)."""

from __future__ import annotations

from pathlib import Path

import httpx

from harness.cassettes.matching import Index, Matcher, RequestKey, body_diff, summarize
from harness.cassettes.store import CassetteFile
from harness.errors import CassetteMissError
from harness.redaction import mask_text


def miss_error(
    path: Path,
    record_mode: str,
    cf: CassetteFile,
    index: Index | None,
    matcher: Matcher,
    key: RequestKey,
    secrets: set[str],
) -> CassetteMissError:
    """The CassetteMissError for `key` against the cassette `cf` at `path` (`secrets` are masked)."""
    lines = [
        f"{path}: no recorded response matches this request (record_mode={record_mode}).",
        f"  request: {summarize(key.method, key.raw_url, key.body, key.adapter)}",
    ]
    only_base_url = False
    if not cf.exists:
        lines.append("  the cassette file does not exist.")
    elif not len(cf):
        lines.append("  the cassette holds no interactions.")
    else:
        assert index is not None
        n = index.nearest(key)
        if n is not None:
            near = index.key_at(n)
            if near.digest == key.digest:
                lines.append(
                    f"  all {index.recorded(key.digest)} recorded answers to this request "
                    "were already played (pass allow_playback_repeats=True to replay the last)."
                )
            elif matcher.same_but_host(near, key):
                lines.extend(_host_hint(matcher, n, near, key))
                only_base_url = True
            else:
                lines.append(
                    f"  nearest recorded (#{n}): {summarize(near.method, near.raw_url, near.body, near.adapter)}"
                )
                lines.append("  " + body_diff(near, key).replace("\n", "\n  "))
    if not only_base_url:
        lines.append(
            '  To record it, use record_mode="new_episodes" (or set HARNESS_RECORD_MODE=new_episodes).'
        )
    message = mask_text("\n".join(lines), secrets)
    return CassetteMissError(message, cassette=str(path), request=key, only_base_url=only_base_url)


def _host_hint(matcher: Matcher, n: int, near: RequestKey, key: RequestKey) -> list[str]:
    """A miss only the base URL explains: recording it again would be the wrong fix."""
    why = (
        "host matching is strict (match_host=True: `harness run --match-host`, pytest "
        "`--harness-match-host` / ini `harness_match_host`); without it this request replays"
        if matcher.match_host
        else "no provider adapter recognises this endpoint, so its whole URL is matched"
    )
    return [
        f"  recorded #{n} is this same request sent to another base URL: recorded "
        f"{_base_of(near.raw_url)}, this request {_base_of(key.raw_url)}.",
        f"  Only the base URL differs; {why}.",
    ]


def _base_of(url: str) -> str:
    """scheme://host[:port] of a URL, for a miss message (credentials in the query never shown)."""
    parts = httpx.URL(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.host}{port}"
