"""The record/replay logic behind a cassette: the `harness.http.Interceptor` protocol.

`handle(request, inner)` answers one HTTP request: from the cassette when a recorded interaction
matches (never touching `inner`, so no socket is opened), or by sending it through `inner` and
recording the answer as it streams past. Which of the two is allowed is the record mode's business,
with vcrpy's semantics: none / once / new_episodes / all / rewrite.

Recorded interactions are serialised off the caller's thread and written once, atomically, by
`commit()` (`writer.SessionWriter`, which this class inherits); a miss's message is built by
`misses.miss_error`. Answers a retry could change (429, 408, 409, 5xx) are not recorded unless
`record_errors`: an outage must not be replayed forever.
"""

from __future__ import annotations

import collections
import functools
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx

from harness.cassettes import scrub
from harness.cassettes.inspect import request_adapter
from harness.cassettes.interaction import (
    Interaction,
)
from harness.cassettes.matching import Index, Matcher, RequestKey
from harness.cassettes.misses import miss_error
from harness.cassettes.modes import (  # noqa: F401  (re-exported)
    RECORD_MODES,
    check_record_mode,
    default_record_mode,
    parse_replay_speed,
)
from harness.cassettes.store import CassetteFile, read_cassette_file, stat_key
from harness.cassettes.streams import (
    AsyncRecordingStream,
    RecordingStream,
    Tape,
    recorded_interaction,
    replay_response,
)
from harness.cassettes.writer import SessionWriter, Slot
from harness.errors import CassetteFormatError, CassetteMissError, SecretLeakError
from harness.http import live_send
from harness.redaction import MIN_SECRET_LEN
from harness.request_order import in_input_order

_DEFAULT_MATCHER = Matcher()
# statuses the chat layer retries: a later attempt may answer differently, so they are not recorded
_RETRYABLE_STATUSES = frozenset({408, 409, 429})


class _Pending:
    """A request being recorded, as its stream's close callback sees it (its repr shows no URL)."""

    __slots__ = ("request", "response", "slot")

    def __init__(self, slot: Slot, request: httpx.Request, response: httpx.Response) -> None:
        self.slot, self.request, self.response = slot, request, response


class CassetteInterceptor(SessionWriter):
    def __init__(
        self,
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
        record_errors: bool = False,
        match_host: bool = False,
    ) -> None:
        self.path = path if isinstance(path, Path) else Path(path)  # Path(a Path) parses it again
        self.record_errors = record_errors
        self.record_mode = check_record_mode(record_mode) if record_mode else default_record_mode()
        self.replay_speed = parse_replay_speed(replay_speed)
        self.matcher = Matcher(match_ignore, match_host=match_host)
        self.patterns = scrub.compile_patterns(scrub_patterns)
        self.secret_headers = tuple(h.lower() for h in secret_headers)
        self.strict = strict
        self.allow_playback_repeats = allow_playback_repeats
        self.ignore_hosts = frozenset(h.lower() for h in ignore_hosts)
        self._secrets: set[str] = {s for s in secrets if s}
        super().__init__()
        self._lock = threading.Lock()
        self._file: CassetteFile | None = None
        self._index: Index | None = None
        self._stored_keys = False
        self._slots: list[Slot] = []
        self.play_counts: collections.Counter[int] = collections.Counter()
        self.replayed_count = 0
        self.recorded_count = 0
        self.live_count = 0
        self.misses = 0
        self.truncated = 0  # recorded up to where the caller closed them: their end was never read
        self.unrecorded_errors = 0  # retryable error answers passed to the caller but not recorded
        self.miss_errors: list[CassetteMissError] = []
        # every exchange this session answered, in the order answered: (file index of a replayed one,
        # or the recorded interaction; "replayed" | "recorded"; whether a harness chat model sent it)
        self._traffic: list[tuple[int | Interaction, str, bool]] = []

    # --- what the cassette holds ------------------------------------------------------------------

    def _load(self) -> CassetteFile:
        if self._file is None:
            with self._lock:
                if self._file is None:
                    f = self._read()
                    if self.can_replay_mode:
                        current = f"{Matcher.VERSION}-"  # a digest of an older normalisation is hashed afresh
                        stored = [
                            d if d is not None and d.startswith(current) else None
                            for d in (f.stored_keys() if self.matcher.is_default else [None] * len(f))
                        ]
                        self._stored_keys = all(stored)
                        digests = [d or _key_at(self.matcher, f, i).digest for i, d in enumerate(stored)]
                        self._index = Index(digests, functools.partial(_key_at, self.matcher, f))
                    self._file = f
        return self._file

    def _read(self) -> CassetteFile:
        try:
            return read_cassette_file(self.path)
        except CassetteFormatError:
            if self.can_replay_mode or not self.path.is_file():
                raise
            # all/rewrite replace the file and play nothing from it: an unreadable one is simply replaced
            return CassetteFile(self.path, exists=True, stat=stat_key(self.path))

    def _reindex(self) -> bool:
        """After a miss against digests stored in the file, hash every request afresh (normalisation
        may have changed since, e.g. a provider adapter gained a URL hook) and keep what was played."""
        if not self._stored_keys or self._file is None:
            return False
        f = self._file
        self._stored_keys = False
        digests = [_key_at(self.matcher, f, i).digest for i in range(len(f))]
        self._index = Index(digests, functools.partial(_key_at, self.matcher, f), played=self.play_counts)
        return True

    @property
    def can_replay_mode(self) -> bool:
        return self.record_mode not in ("all", "rewrite")

    def _can_record(self) -> bool:
        if self.record_mode in ("new_episodes", "all", "rewrite"):
            return True
        return self.record_mode == "once" and not self._load().exists

    @property
    def interactions(self) -> list[Interaction]:
        """Recorded interactions loaded from the file, then those recorded in this session."""
        loaded = self._load().interactions if self.can_replay_mode else []
        return [*loaded, *(s.interaction for s in self._slots if s.interaction is not None)]

    def traffic(self, *, others: bool = False) -> list[tuple[Interaction, str, bool]]:
        """Every exchange this session answered, in order: (interaction, "replayed" | "recorded", whether
        a harness chat model sent it); with `others`, only those no harness chat model sent (the others
        are not parsed). `harness.cassettes.inspect.traffic_calls` summarises them."""
        with self._lock:
            entries = [e for e in self._traffic if not (others and e[2])]
        out: list[tuple[Interaction, str, bool]] = []
        for ref, source, by_model in entries:
            # a replay holds only the response half: the whole interaction is parsed now, once
            ix = self._load().interaction(ref) if isinstance(ref, int) else ref
            out.append((ix, source, by_model))
        return out

    def unused_indices(self) -> list[int]:
        """File positions of interactions never played (none in all/rewrite mode)."""
        if not self.can_replay_mode:
            return []
        return [i for i in range(len(self._load())) if not self.play_counts[i]]

    def unused(self) -> list[Interaction]:
        """Interactions of the file that were never played (none in all/rewrite mode)."""
        f = self._load()
        return [f.interaction(i) for i in self.unused_indices()]

    @property
    def state(self) -> str:
        if self.replayed_count and self.recorded_count:
            return "mixed"
        if self.recorded_count:
            return "recorded"
        if self.replayed_count:
            return "replayed"
        return "live" if self.live_count else "unused"

    # --- the Interceptor protocol ------------------------------------------------------------------

    def handle(self, request: httpx.Request, inner: httpx.BaseTransport) -> httpx.Response:
        if request.url.host in self.ignore_hosts:
            self.live_count += 1
            with live_send():
                return inner.handle_request(request)
        with in_input_order():  # a sync batch's threads: slots and replays follow input order
            ix, slot = self._plan(request, request.read())
        if ix is not None:
            return self._replay(ix, request)
        assert slot is not None
        t0 = time.perf_counter()
        try:
            with live_send():
                response = inner.handle_request(request)
        except BaseException:
            self._release(slot)
            raise
        tape = Tape(t0, functools.partial(self._finish, _Pending(slot, request, response)))
        return self._recording(response, RecordingStream(response.stream, tape), request)  # type: ignore[arg-type]

    async def ahandle(self, request: httpx.Request, inner: httpx.AsyncBaseTransport) -> httpx.Response:
        if request.url.host in self.ignore_hosts:
            self.live_count += 1
            with live_send():
                return await inner.handle_async_request(request)
        ix, slot = self._plan(request, await request.aread())
        if ix is not None:
            return self._replay(ix, request)
        assert slot is not None
        t0 = time.perf_counter()
        try:
            with live_send():
                response = await inner.handle_async_request(request)
        except BaseException:
            self._release(slot)
            raise
        tape = Tape(t0, functools.partial(self._finish, _Pending(slot, request, response)))
        return self._recording(response, AsyncRecordingStream(response.stream, tape), request)  # type: ignore[arg-type]

    def _release(self, slot: Slot) -> None:
        with self._lock:
            self._slots.remove(slot)

    def _plan(self, request: httpx.Request, body: bytes) -> tuple[Interaction | None, Slot | None]:
        """Replay (the interaction) or record (a slot reserved in request order), or raise a miss."""
        cf = self._load()
        key: RequestKey | None = None
        if self.can_replay_mode:
            url = str(request.url)
            if self.patterns:  # the stored request was scrubbed: match it against the live one scrubbed alike
                url, body = scrub.scrub_url(url, self.patterns), scrub.scrub_bytes(body, self.patterns)
            key = self.matcher.key(request.method, url, body, request_adapter(request))
            with self._lock:
                assert self._index is not None
                i = self._index.take(key.digest, repeat=self.allow_playback_repeats)
                if i is None and self._reindex():
                    i = self._index.take(key.digest, repeat=self.allow_playback_repeats)
                if i is not None:
                    self.play_counts[i] += 1
                    self.replayed_count += 1
                    self._traffic.append((i, "replayed", request_adapter(request) is not None))
                    return cf.reply(i), None
        if not self._can_record():
            assert key is not None
            err = self._miss(key, self._request_secrets(request))
            with self._lock:
                self.misses += 1
                self.miss_errors.append(err)
            raise err
        slot = Slot()
        found = self._request_secrets(request)
        with self._lock:
            self._slots.append(slot)
            self._secrets |= found
        return None, slot

    def _request_secrets(self, request: httpx.Request) -> set[str]:
        found = scrub.live_secrets(request.headers.multi_items(), str(request.url), self.secret_headers)
        # a caller may name further live values (e.g. the chat layer's `adapter.secrets()`)
        found.update(
            s for s in request.extensions.get("harness_secrets") or () if len(s or "") >= MIN_SECRET_LEN
        )
        return found

    # --- replay ------------------------------------------------------------------------------------

    def _replay(self, ix: Interaction, request: httpx.Request) -> httpx.Response:
        return replay_response(ix, request, str(self.path), self.replay_speed)

    def _miss(self, key: RequestKey, secrets: set[str]) -> CassetteMissError:
        """The miss report (`misses.miss_error`), masking the request's and the session's secrets."""
        cf = self._load()
        return miss_error(
            self.path, self.record_mode, cf, self._index, self.matcher, key, secrets | self._secrets
        )

    # --- record ------------------------------------------------------------------------------------

    def _recording(self, response: httpx.Response, stream: Any, request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=stream,
            extensions={**response.extensions, "harness": {"state": "recorded", "cassette": str(self.path)}},
            request=request,
        )

    def _finish(self, pending: _Pending, tape: Tape) -> None:
        """Called when the recorded response's stream closes: build, scrub, vet and keep the interaction.
        Raises SecretLeakError from this frame, whose locals hold no secret (pytest shows them)."""
        problem = self._keep(pending, tape)
        if problem is not None:
            raise SecretLeakError(problem)

    def _keep(self, pending: _Pending, tape: Tape) -> str | None:
        slot, request, response = pending.slot, pending.request, pending.response
        if not self.record_errors and _retryable(response.status_code):
            self._release(slot)
            with self._lock:
                self.unrecorded_errors += 1
            return None
        # read the request's live values now that it has left: live auth (SigV4) signed it on the way out
        found = self._request_secrets(request)
        with self._lock:
            self._secrets |= found
        ix = self._interaction(request, response, tape)
        problem = scrub.leak_report(scrub.interaction_bytes(ix), self._secrets, str(self.path))
        if problem is not None:
            self._release(slot)
            return problem
        with self._lock:
            slot.interaction = ix
            self.recorded_count += 1
            self._traffic.append((ix, "recorded", request_adapter(request) is not None))
            self.truncated += tape.truncated
        self._schedule_save()
        return None

    def _interaction(self, request: httpx.Request, response: httpx.Response, tape: Tape) -> Interaction:
        """The exchange as it will be stored: scrubbed, with the digest of the stored request."""
        ix = recorded_interaction(request, response, tape, self.patterns)
        ix = scrub.scrub_interaction(
            ix, self.patterns, secret_headers=self.secret_headers, secrets=self._secrets
        )
        # the digest of the request as stored: loading the cassette later needs no re-hashing
        ix.match_key = _DEFAULT_MATCHER.key(
            ix.request.method, ix.request.uri, ix.request.body, request_adapter(request)
        ).digest
        return ix


def _retryable(status: int) -> bool:
    return status in _RETRYABLE_STATUSES or status >= 500


def _key_at(matcher: Matcher, f: CassetteFile, i: int) -> RequestKey:
    """The key of interaction i of `f`. A function of the matcher and the file, not a bound method: an
    Index holding the cassette would make a reference cycle, freed only by the cyclic collector (a
    cassette per test makes that a cost per test)."""
    return matcher.key_of(f.interaction(i))
