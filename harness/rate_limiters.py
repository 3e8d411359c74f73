"""Rate limiting: a token bucket for a model's requests, and the runner's adaptive concurrency limit.

`InMemoryRateLimiter` paces one model's calls (LangChain's `rate_limiter=`), shared by threads and
asyncio tasks in one process. `AdaptiveLimiter` caps the calls in flight to one provider and adapts
the cap to the provider's 429s (AIMD); the runner keeps one per provider.

May import: nothing from harness.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator


class BaseRateLimiter:
    def acquire(self, *, blocking: bool = True) -> bool:
        raise NotImplementedError

    async def aacquire(self, *, blocking: bool = True) -> bool:
        raise NotImplementedError


class InMemoryRateLimiter(BaseRateLimiter):
    """Token bucket counting requests. The bucket starts empty, so the first request waits about
    1/requests_per_second; bursts are capped at `max_bucket_size`. A threading lock guards the
    state, so one limiter can pace sync threads and async tasks together."""

    def __init__(
        self,
        *,
        requests_per_second: float = 1,
        check_every_n_seconds: float = 0.1,
        max_bucket_size: float = 1,
    ) -> None:
        if requests_per_second <= 0:
            raise ValueError(f"requests_per_second must be > 0, got {requests_per_second!r}")
        self.requests_per_second = requests_per_second
        self.check_every_n_seconds = check_every_n_seconds
        self.max_bucket_size = max_bucket_size
        self.available_tokens = 0.0
        self.last: float | None = None
        self._lock = threading.Lock()

    def _consume(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if self.last is None:
                self.last = now
            elapsed = now - self.last
            if elapsed * self.requests_per_second >= 1:
                self.available_tokens += elapsed * self.requests_per_second
                self.last = now
            self.available_tokens = min(self.available_tokens, self.max_bucket_size)
            if self.available_tokens >= 1:
                self.available_tokens -= 1
                return True
            return False

    def acquire(self, *, blocking: bool = True) -> bool:
        if not blocking:
            return self._consume()
        while not self._consume():
            time.sleep(self.check_every_n_seconds)
        return True

    async def aacquire(self, *, blocking: bool = True) -> bool:
        if not blocking:
            return self._consume()
        while not self._consume():
            await asyncio.sleep(self.check_every_n_seconds)
        return True


class AdaptiveLimiter:
    """At most `limit` calls in flight; the limit adapts between 1 and `max_limit`.

    On a rate limit the limit is halved (once per burst: the calls in flight when the first 429 came
    back) and every call waits until the pause has passed; the limit grows back by about one slot
    per window of successful calls.
    """

    def __init__(self, max_limit: int) -> None:
        self.max_limit = max(1, int(max_limit))
        self.limit = float(self.max_limit)
        self.active = 0
        self.resume_at = 0.0
        self.rate_limited = 0  # 429s seen
        self._last_cut = 0.0
        self._cond: asyncio.Condition | None = None

    def _condition(self) -> asyncio.Condition:
        # made on first use: the limiter is built before the event loop that runs the calls
        if self._cond is None:
            self._cond = asyncio.Condition()
        return self._cond

    async def acquire(self) -> None:
        cond = self._condition()
        async with cond:
            while True:
                pause = self.resume_at - time.monotonic()
                if pause > 0:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(cond.wait(), pause)
                    continue
                if self.active < max(1, int(self.limit)):
                    self.active += 1
                    return
                await cond.wait()

    async def release(self, ok: bool) -> None:
        cond = self._condition()
        async with cond:
            self.active -= 1
            if ok and self.limit < self.max_limit:
                self.limit = min(self.max_limit, self.limit + 1.0 / max(1.0, self.limit))
            if self.resume_at:
                cond.notify_all()
            else:
                cond.notify(1)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the slots for a call; a call that raises does not grow the limit."""
        await self.acquire()
        ok = False
        try:
            yield
            ok = True
        finally:
            await self.release(ok)

    def on_rate_limit(self, pause: float) -> None:
        """A 429 came back: cut the limit (once per burst) and pause every call for `pause` seconds."""
        now = time.monotonic()
        self.rate_limited += 1
        if now - self._last_cut > 0.05:
            self.limit = max(1.0, self.limit / 2)
            self._last_cut = now
        self.resume_at = max(self.resume_at, now + max(0.0, pause))
