"""The one retry policy, built on tenacity: the chat layer and the runner both retry through it.

Retryable means `ModelError.is_retryable` (rate limits, 5xx, dropped connections, timeouts). The wait
is the provider's `retry-after` when it gives one (up to `max_retry_after`), otherwise exponential
backoff with jitter; an error replayed from a cassette is retried at once, since nothing live is
waiting for the provider to recover. Rate limits and other failures have separate budgets, so the
runner can ride out a 429 storm without retrying a broken provider for minutes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from harness.errors import CassetteReplyError, ModelError, ModelRateLimitError
from harness.http import response_info

if TYPE_CHECKING:
    import tenacity

T = TypeVar("T")


def is_replayed(err: BaseException) -> bool:
    """True when the error's response came from a cassette rather than the provider."""
    response = getattr(err, "response", None)
    return response is not None and response_info(response).get("state") == "replayed"


def raise_if_replay_unreadable(response: httpx.Response, err: Exception, provider: str) -> None:
    """Raise CassetteReplyError when `err` (raised reading `response`) concerns a reply a cassette
    replayed: the recorded bytes are damaged, and retrying would only find the answer already played."""
    info = response_info(response)
    if info.get("state") != "replayed":
        return
    raise CassetteReplyError(
        f"{info.get('cassette')}: interaction #{info.get('index')}: the recorded reply cannot be read by "
        f"the {provider} adapter ({type(err).__name__}: {err}); the cassette looks truncated or edited: "
        'check it with `harness cassettes verify`, then record it again (record_mode="rewrite")'
    ) from err


def _retryable(err: BaseException) -> bool:
    return isinstance(err, ModelError) and err.is_retryable


@dataclass(frozen=True)
class RetryPolicy:
    """How often to retry a model call and how long to wait before each retry.

    `max_retries` counts retries after the first attempt (LangChain's meaning: 2 is three attempts);
    `max_rate_limit_retries` is the separate budget for 429s (None: the same as `max_retries`).
    """

    max_retries: int = 2
    max_rate_limit_retries: int | None = None
    initial_delay: float = 0.5  # the first backoff; each further one doubles, up to max_delay
    max_delay: float = 8.0
    jitter: float = 0.5  # up to this many seconds added at random, so clients spread out
    max_retry_after: float = 120.0  # a longer retry-after is treated as absent

    def __post_init__(self) -> None:
        for name in ("max_retries", "max_rate_limit_retries"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")

    @property
    def rate_limit_retries(self) -> int:
        return self.max_retries if self.max_rate_limit_retries is None else self.max_rate_limit_retries

    def wait(self, state: tenacity.RetryCallState) -> float:
        """Seconds to wait after the failed attempt `state` describes (a tenacity wait strategy)."""
        err = _exception(state)
        if is_replayed(err):
            return 0.0
        retry_after = getattr(err, "retry_after", None)
        if retry_after is not None and 0 <= retry_after <= self.max_retry_after:
            return float(retry_after)
        import tenacity

        backoff = tenacity.wait_exponential(multiplier=self.initial_delay, max=self.max_delay)
        return float((backoff + tenacity.wait_random(0, self.jitter))(state))

    def retrying(self) -> tenacity.Retrying:
        """A tenacity controller for one sync call: `policy.retrying()(fn, *args)`."""
        import tenacity  # imported when a call first fails: `call` tries once without it

        return tenacity.Retrying(**self._options(None))

    def aretrying(self, on_rate_limit: Callable[[float], Any] | None = None) -> tenacity.AsyncRetrying:
        """A tenacity controller for one async call; `on_rate_limit(pause_s)` hears of each live 429
        before the wait (the runner's adaptive limiter pauses the whole provider with it)."""
        import tenacity

        return tenacity.AsyncRetrying(**self._options(on_rate_limit))

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)`, retried under this policy. The first attempt runs without tenacity, which costs
        a replayed call a tenth of its time (it inspects its callbacks on every call); only a failed
        attempt starts the controller, handed that failure as its first attempt."""
        try:
            return fn(*args)
        except Exception as e:
            if not _retryable(e):
                raise
            first = [e]

        def attempt(*a: Any) -> T:
            if first:
                raise first.pop()
            return fn(*a)

        return self.retrying()(attempt, *args)

    async def acall(
        self, fn: Callable[..., Awaitable[T]], *args: Any, on_rate_limit: Callable[[float], Any] | None = None
    ) -> T:
        """The async `call`; `on_rate_limit` as in `aretrying`."""
        try:
            return await fn(*args)
        except Exception as e:
            if not _retryable(e):
                raise
            first = [e]

        async def attempt(*a: Any) -> T:
            if first:
                raise first.pop()
            return await fn(*a)

        return await self.aretrying(on_rate_limit)(attempt, *args)

    def _options(self, on_rate_limit: Callable[[float], Any] | None) -> dict[str, Any]:
        def before_sleep(state: tenacity.RetryCallState) -> None:
            err = _exception(state)
            if on_rate_limit is not None and isinstance(err, ModelRateLimitError) and not is_replayed(err):
                on_rate_limit(state.upcoming_sleep)

        return {
            "retry": _retry_if_retryable,
            "stop": _Budget(self),
            "wait": self.wait,
            "before_sleep": before_sleep,
            "reraise": True,
        }


def _retry_if_retryable(state: tenacity.RetryCallState) -> bool:
    assert state.outcome is not None
    return state.outcome.failed and _retryable(_exception(state))


class _Budget:
    """Stops when either budget is spent; one per call, since it counts that call's failures."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.rate_limited = 0
        self.failed = 0

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        if isinstance(_exception(retry_state), ModelRateLimitError):
            self.rate_limited += 1
            return self.rate_limited > self.policy.rate_limit_retries
        self.failed += 1
        return self.failed > self.policy.max_retries


def _exception(state: tenacity.RetryCallState) -> BaseException:
    assert state.outcome is not None  # tenacity asks about waits and stops only after an attempt
    err = state.outcome.exception()
    assert err is not None  # only failed attempts are retried
    return err
