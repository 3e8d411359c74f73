"""Input order for the requests of a sync `batch`: its threads reach the cassette in input order.

Threads race: without this, identical inputs of a batch reserve their cassette slots (recording) and
take recorded answers (replay) in whatever order the threads happen to run, so a replay hands input 3
the answer recorded for input 1. asyncio tasks start in creation order, so `abatch` needs none of this.
Each batch thread holds a turn; the cassette plans the thread's first request only once the previous
input's first request was planned (`in_input_order`). A thread that sends no request passes its turn
on when it ends, so no thread waits for one that never comes.

May import: nothing
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


class InputTurns:
    """The turns of one batch of `n` inputs."""

    def __init__(self, n: int) -> None:
        self._passed = [threading.Event() for _ in range(n)]

    def run(self, index: int, func: Callable[..., T], *args: Any) -> T:
        """Call `func(*args)` as input `index`'s thread (in that thread: the turn is a context variable)."""
        token = _CURRENT.set(_Turn(self, index))
        try:
            return func(*args)
        finally:
            self._passed[index].set()
            _CURRENT.reset(token)


class _Turn:
    __slots__ = ("index", "taken", "turns")

    def __init__(self, turns: InputTurns, index: int) -> None:
        self.turns, self.index, self.taken = turns, index, False


_CURRENT: contextvars.ContextVar[_Turn | None] = contextvars.ContextVar("harness_input_turn", default=None)


@contextlib.contextmanager
def in_input_order() -> Iterator[None]:
    """Around the planning of a request: in a batch thread's first request, wait for the previous input's."""
    turn = _CURRENT.get()
    if turn is None or turn.taken:
        yield
        return
    turn.taken = True
    passed = turn.turns._passed
    if turn.index:
        passed[turn.index - 1].wait()
    try:
        yield
    finally:
        passed[turn.index].set()
