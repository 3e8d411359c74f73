"""Request rate limiting (token bucket), shared by threads and asyncio tasks in one process."""

from __future__ import annotations

import asyncio
import threading
import time


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
