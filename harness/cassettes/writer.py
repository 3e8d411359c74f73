"""The writing half of a cassette session: serialising recorded interactions off the caller's thread
and committing them to the file.

Recorded interactions are serialised by one background thread per cassette, so neither
time-to-first-token nor the end of a call waits for it; the file is written once, atomically under a
lock, by `commit()` when the session completes, so a session killed or failed part-way never leaves a
partial cassette. `CassetteInterceptor` (in `interceptor`) inherits this from `SessionWriter`.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from harness.cassettes import scrub
from harness.cassettes.interaction import Interaction
from harness.cassettes.store import CassetteFile, CassetteWriter, dump_fragment
from harness.errors import SecretLeakError

_WRITE_DELAY_S = 0.02


class Slot:
    """One request this session records, kept in request order (so replay order matches)."""

    __slots__ = ("fragment", "interaction")

    def __init__(self) -> None:
        self.fragment: str | None = None
        self.interaction: Interaction | None = None


class SessionWriter:
    """A background thread per cassette, so the caller never waits for the disk. The interceptor that
    inherits this owns the shared state below and `_load()` (the file as the session began)."""

    path: Path
    recorded_count: int
    _lock: threading.Lock
    _secrets: set[str]
    _slots: list[Slot]

    def __init__(self) -> None:
        self._save_lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._pending: list[Future[list[Slot]]] = []
        self._save_queued = False
        self._write_error: BaseException | None = None
        self._flushing = threading.Event()

    @property
    def can_replay_mode(self) -> bool:
        raise NotImplementedError

    def _load(self) -> CassetteFile:
        raise NotImplementedError

    def _schedule_save(self) -> None:
        with self._lock:
            if self._save_queued:
                return  # the queued dump will include this interaction
            self._save_queued = True
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="harness-cassette-writer")
            try:
                self._pending.append(self._executor.submit(self._dump, _WRITE_DELAY_S))
                return
            except RuntimeError:  # interpreter shutting down: dump in this thread
                pass
        self._dump()

    def _dump(self, delay: float = 0.0) -> list[Slot]:
        """Serialise each new interaction once; returns this session's recorded slots in request order."""
        if delay:
            # let the caller's next request get under way (it then waits on the network, not on us),
            # and gather the interactions that finish meanwhile into one pass; flush() cuts it short
            self._flushing.wait(delay)
        with self._save_lock:
            with self._lock:
                self._save_queued = False
                slots = [s for s in self._slots if s.interaction is not None]
            try:
                for s in slots:
                    if s.fragment is None:
                        s.fragment = dump_fragment(s.interaction)  # type: ignore[arg-type]
            except BaseException as e:
                self._write_error = e
                raise
        return slots

    def commit(self) -> None:
        """Write this session's recordings into the file (atomic, locked): others' interactions are kept,
        and with all/rewrite those the file held when the session began are replaced. Raises the write's
        error (e.g. SecretLeakError) from flush(), whose frame holds none of the refused bytes."""
        self.flush()
        self._write_file()
        self.flush()

    def _write_file(self) -> None:
        slots = self._dump()
        if not slots:
            return
        writer = CassetteWriter(self.path, self._load(), replace=not self.can_replay_mode)
        try:
            problem = writer.save(
                [s.fragment for s in slots],  # type: ignore[misc]
                lambda data: scrub.leak_report(data, self._secrets, str(self.path)),
            )
        except BaseException as e:
            self._drop_leaking(slots)
            self._write_error = e
            return
        if problem is not None:
            self._drop_leaking(slots)
            # no traceback: the frames that built the refused file hold its bytes
            self._write_error = SecretLeakError(problem)

    def _drop_leaking(self, slots: list[Slot]) -> None:
        with self._lock:
            for s in slots:
                if s.fragment is not None and scrub.leaked(s.fragment.encode("utf-8"), self._secrets):
                    self._slots.remove(s)
                    self.recorded_count -= 1

    def flush(self) -> None:
        """Wait for pending serialisation; raise its first error if one happened."""
        self._flushing.set()
        try:
            self._drain()
        finally:
            self._flushing.clear()
        err, self._write_error = self._write_error, None
        if err is not None:
            raise err

    def _drain(self) -> None:
        while True:
            with self._lock:
                pending, self._pending = self._pending, []
            if not pending:
                break
            for f in pending:
                f.exception()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
