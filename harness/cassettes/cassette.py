"""`use_cassette`: a cassette as a context manager (sync and async) and a decorator (sync and async).

Entering installs the cassette with `harness.http.intercept`, so every ChatModel call made in the
context — including by code that builds its own models, tasks it starts, and `batch` threads — is
recorded or replayed, and (`clients`) so is every call of any httpx / httpx2 client, the SDKs' included;
a miss (or refused write) raised inside one of those leaves it as `CassetteSignal` and is re-raised
here as the `CassetteMissError` (`SecretLeakError`) itself. Leaving writes this session's recordings when the block completed (an exception or interrupt leaves
the file as it was), reports interactions that were never played
(raising CassetteUnusedError when `strict`), and logs usage for `harness cassettes prune`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import json
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from harness.cassettes import clients
from harness.cassettes.inspect import adapter_class
from harness.cassettes.interceptor import CassetteInterceptor
from harness.cassettes.matching import summarize
from harness.cassettes.store import CassetteFile
from harness.errors import CassetteUnusedError
from harness.http import intercept

log = logging.getLogger("harness.cassettes")
F = TypeVar("F", bound=Callable[..., Any])
USAGE_ENV = "HARNESS_CASSETTE_USAGE"


class Cassette(CassetteInterceptor):
    """A cassette file and what this session did with it.

    `.path`, `.record_mode`, `.interactions`, `.play_counts` (file index -> times played), `.unused()`,
    `.state` ("replayed" | "recorded" | "mixed" | "live" | "unused"), `.replayed_count`,
    `.recorded_count`, `.misses`.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, usage_log: str | os.PathLike[str] | None = None, **options: Any
    ) -> None:
        super().__init__(path, **options)
        self._options = {**options, "usage_log": usage_log}
        log_path = usage_log or os.environ.get(USAGE_ENV)
        self.usage_log = Path(log_path) if log_path else None
        self._entered: list[contextlib.AbstractContextManager[None]] = []

    def __repr__(self) -> str:
        return f"Cassette({str(self.path)!r}, record_mode={self.record_mode!r}, state={self.state!r})"

    # --- context manager -----------------------------------------------------------------------------

    def __enter__(self) -> Cassette:
        if self.can_replay_mode:
            # read and index the file now, not on the first call's path (its time to first token);
            # a broken file is reported by the call that needs it, as before
            with contextlib.suppress(Exception):
                self._load()
        cm = intercept(self)
        cm.__enter__()
        self._entered.append(cm)
        clients.acquire()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        cm = self._entered.pop()
        clients.release()
        carried = clients.unwrap(exc)
        if carried is not None:  # raised inside another library's client: the error itself, not its carrier
            exc_type, exc = type(carried), carried
        try:
            self._exit(exc_type)
        finally:
            cm.__exit__(exc_type, exc, tb)
        if carried is not None:
            raise carried.with_traceback(tb) from None

    def _exit(self, exc_type: Any) -> None:
        # KeyboardInterrupt, CancelledError (Ctrl-C in asyncio), SystemExit: cut short, not failed
        interrupted = exc_type is not None and not issubclass(exc_type, Exception)
        try:
            self.close(ok=exc_type is None, interrupted=interrupted)
        except Exception:
            if exc_type is None:
                raise
            # the block already failed: its error is the one to see; the refused write is logged
            log.exception("%s: could not finish the cassette after an error in the block", self.path)

    async def __aenter__(self) -> Cassette:
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.__exit__(exc_type, exc, tb)

    # --- decorator: a fresh cassette per call ------------------------------------------------------

    def fresh(self) -> Cassette:
        return Cassette(self.path, **self._options)

    def __call__(self, func: F) -> F:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def awrapper(*args: Any, **kwargs: Any) -> Any:
                async with self.fresh():
                    return await func(*args, **kwargs)

            return awrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.fresh():
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    # --- end of session ----------------------------------------------------------------------------

    def close(self, *, ok: bool = True, interrupted: bool = False) -> None:
        """Commit this session's recordings when it completed (`ok`, not `interrupted`), else leave the
        file as it was; log usage; report (or with `strict`, refuse) unused interactions."""
        if ok and not interrupted:
            self.commit()
        else:
            self.flush()
            if self.recorded_count:
                log.warning(
                    "%s: the block did not complete; its %d new recordings were not written "
                    "(the cassette is as it was)",
                    self.path,
                    self.recorded_count,
                )
        touched = self._file is not None
        if not touched and not self.strict:
            return
        self._log_usage()
        unused = self.unused_indices()
        if not unused:
            return
        f = self._load()
        lines = []
        for i in unused[:20]:  # only these are parsed: a big cassette stays cheap to close
            ix = f.interaction(i)
            req = ix.request
            adapter = adapter_class(ix.provider, req.uri)
            lines.append(f"  #{i}: {summarize(req.method, req.uri, req.json_or_none(), adapter)}")
        if len(unused) > 20:
            lines.append(f"  ... and {len(unused) - 20} more")
        msg = (
            f"{self.path}: {len(unused)} of {len(f)} recorded interactions were never played:\n"
            + "\n".join(lines)
        )
        if self.strict and ok:
            raise CassetteUnusedError(msg + "\n  (strict=True; run `harness cassettes prune` to remove them)")
        if self.misses:
            return  # the miss error already named the nearest recorded request: don't say it twice
        log.warning("%s", msg)

    def _log_usage(self) -> None:
        """Append which interactions this session used (played or recorded), for `cassettes prune`."""
        if self.usage_log is None or self._file is None:
            return
        frags = self._file.fragments() if self.can_replay_mode else []
        used = [fragment_id(frags[i]) for i in sorted(self.play_counts) if i < len(frags)]
        used += [fragment_id(s.fragment) for s in self._slots if s.fragment is not None]
        line = json.dumps(
            {"cassette": str(self.path.resolve()), "record_mode": self.record_mode, "used": used}
        )
        self.usage_log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.usage_log, "a", encoding="utf-8") as f:
            f.write(line + "\n")


class TrafficLog(CassetteInterceptor):
    """No file: every call goes live and is only noted, in memory, so a run without cassettes still
    knows each model call a target made (`traffic()`, every source "live"). Nothing is written."""

    def __init__(self) -> None:
        super().__init__("<live traffic>", record_mode="all")
        self._entered: list[contextlib.AbstractContextManager[None]] = []

    def _read(self) -> CassetteFile:
        return CassetteFile(self.path)  # never a file on disk

    def _schedule_save(self) -> None:
        return None  # nothing is written: no serialising

    def _finish(self, pending: Any, tape: Any) -> None:
        self._keep(pending, tape)  # nothing is written, so there is no leak to refuse

    def _recording(self, response: Any, stream: Any, request: Any) -> Any:
        marked = super()._recording(response, stream, request)
        marked.extensions["harness"] = {"state": "live", "cassette": None}
        return marked

    def traffic(self, *, others: bool = False) -> list[tuple[Any, str, bool]]:
        return [(ix, "live", by_model) for ix, _, by_model in super().traffic(others=others)]

    async def __aenter__(self) -> TrafficLog:
        cm = intercept(self)
        cm.__enter__()
        self._entered.append(cm)
        clients.acquire()  # other libraries' httpx / httpx2 clients send through it too
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        clients.release()
        self._entered.pop().__exit__(exc_type, exc, tb)
        self._drain()


def fragment_id(fragment: str) -> str:
    return hashlib.sha1(fragment.encode("utf-8")).hexdigest()[:16]


def use_cassette(
    path: str | os.PathLike[str],
    *,
    record_mode: str | None = None,
    replay_speed: str | float | None = "instant",
    match_ignore: Iterable[str] = (),
    scrub_patterns: Iterable[Any] = (),
    secret_headers: Iterable[str] = (),
    strict: bool = False,
    secrets: Iterable[str] = (),
    allow_playback_repeats: bool = False,
    ignore_hosts: Iterable[str] = (),
    usage_log: str | os.PathLike[str] | None = None,
    record_errors: bool = False,
    match_host: bool = False,
) -> Cassette:
    """Record or replay every model call made inside `with use_cassette(path):` (or `async with`, or
    as a decorator).

    record_mode: none | once | new_episodes | all | rewrite (default: $HARNESS_RECORD_MODE, else
        "none" when $CI is set, else "once").
    replay_speed: "instant" (default), "realtime" (recorded pace) or a factor (2.0 = twice as fast).
    match_ignore: JSON body keys (any depth) or dotted paths, and query parameters, left out of matching.
    scrub_patterns: regexes replaced by <REDACTED> everywhere before writing.
    secret_headers: header names scrubbed besides those harness scrubs by default (any name saying key,
        token, auth, secret, password, signature, cookie or credential).
    strict: raise CassetteUnusedError on leaving when recorded interactions were never played.
    secrets: extra values that must never be written (a write containing one is refused).
    record_errors: also record answers a retry could change (408, 409, 429, 5xx); by default they reach
        the caller but not the file. The file is written when the block completes without an exception.
    match_host: also match the host (and base path) of requests a provider adapter recognises. By
        default they match on their endpoint path (`/chat/completions`, `/v1/messages`, ...), so a
        cassette recorded through a gateway, proxy or the emulator replays against any base URL.
    """
    return Cassette(
        path,
        record_mode=record_mode,
        replay_speed=replay_speed,
        match_ignore=tuple(match_ignore),
        scrub_patterns=tuple(scrub_patterns),
        secret_headers=tuple(secret_headers),
        strict=strict,
        secrets=tuple(secrets),
        allow_playback_repeats=allow_playback_repeats,
        ignore_hosts=tuple(ignore_hosts),
        usage_log=usage_log,
        record_errors=record_errors,
        match_host=match_host,
    )
