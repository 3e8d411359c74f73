"""Concurrency for the runner: an adaptive per-provider limiter (AIMD on 429) and retries.

On a rate-limit error the provider's limit is halved (once per burst), every call to that provider
waits until the retry-after has passed, and the limit grows back by about one slot per window of
successful calls. Transient errors (5xx, dropped connections, timeouts) are retried with jittered
exponential backoff. Errors replayed from a cassette are retried without sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from harness.errors import ModelError, ModelRateLimitError
from harness.http import response_info

T = TypeVar("T")


@dataclass
class RetryPolicy:
    max_attempts: int = 4  # per model call for transient errors, the first attempt included
    max_rate_limit_attempts: int = 25  # rate limits pass: a storm gets a bigger budget than a failure
    base_delay: float = 0.25
    max_delay: float = 20.0
    max_retry_after: float = 120.0

    def backoff(self, attempt: int) -> float:
        return min(self.base_delay * 2**attempt, self.max_delay) * (0.75 + 0.25 * random.random())


class AdaptiveLimiter:
    """At most `limit` calls in flight; the limit adapts between 1 and `max_limit`."""

    def __init__(self, max_limit: int) -> None:
        self.max_limit = max(1, int(max_limit))
        self.limit = float(self.max_limit)
        self.active = 0
        self.resume_at = 0.0
        self.rate_limited = 0  # 429s seen
        self._last_cut = 0.0
        self._cond: asyncio.Condition | None = None

    def _condition(self) -> asyncio.Condition:
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

    def on_rate_limit(self, retry_after: float | None, fallback: float) -> float:
        """Cut the limit (once per burst: a burst is the calls in flight when the first 429 came back)
        and pause the provider; returns the pause in seconds."""
        now = time.monotonic()
        self.rate_limited += 1
        if now - self._last_cut > 0.05:
            self.limit = max(1.0, self.limit / 2)
            self._last_cut = now
        delay = retry_after if retry_after is not None and retry_after >= 0 else fallback
        self.resume_at = max(self.resume_at, now + delay)
        return delay

    @property
    def fast_path(self) -> bool:
        """True when the limiter cannot make a call wait (skip the lock: replay runs stay fast)."""
        return self.active < int(self.limit) and self.resume_at <= time.monotonic()


def _replayed(err: ModelError) -> bool:
    return err.response is not None and response_info(err.response).get("state") == "replayed"


async def call_with_retries(
    fn: Callable[[], Awaitable[T]],
    limiter: AdaptiveLimiter | None,
    policy: RetryPolicy,
    on_retry: Callable[[ModelError, int], Any] | None = None,
) -> T:
    """Run one model call under the provider's limiter, retrying rate limits and transient errors."""
    attempt = limited = 0
    while True:
        if limiter is not None:
            await limiter.acquire()
        ok = False
        try:
            result = await fn()
            ok = True
            return result
        except ModelError as err:
            rate_limited = isinstance(err, ModelRateLimitError)
            if rate_limited:
                limited += 1
            else:
                attempt += 1
            if (
                not err.is_retryable
                or attempt >= policy.max_attempts
                or limited >= policy.max_rate_limit_attempts
            ):
                raise
            replayed = _replayed(err)
            if rate_limited:
                ra = (
                    err.retry_after
                    if err.retry_after is None or err.retry_after <= policy.max_retry_after
                    else None
                )
                delay = 0.0 if replayed else policy.backoff(min(limited - 1, 5))
                if limiter is not None and not replayed:
                    delay = limiter.on_rate_limit(ra, delay)
                elif ra is not None and not replayed:
                    delay = ra
            else:
                delay = 0.0 if replayed else policy.backoff(attempt - 1)
            if on_retry is not None:
                on_retry(err, attempt + limited)
        finally:
            if limiter is not None:
                await limiter.release(ok)
        if delay > 0:
            await asyncio.sleep(delay)
