"""`harness_target`: run a suite target (the user's app function) in a test, under the test's cassette.

    def test_agent(harness_target):
        run = harness_target("app/agent.py:answer", "Weather in Paris?", model="openai:gpt-4.1-mini")
        assert_passes(run, "tool_called", name="get_weather")   # judged over every model call
        run.calls, run.usage, run.cost_usd, run.tool_trajectory

The target gets the same `TargetInput` a suite cell gives it (docs/targets.md); its model calls are
read from the test's cassette traffic, whatever client made them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.cassettes.inspect import traffic_calls
from harness.results.build import priced_calls
from harness.runner.target import TargetInput, TargetRun, call_target, load_target, target_input


class TargetCaller:
    """The callable the `harness_target` fixture returns (`await harness_target.arun(...)` in async tests)."""

    def __init__(
        self, capture: Any, cassette: Any, make_model: Callable[..., Any], base_dir: Path, case_id: str
    ) -> None:
        self.capture, self.cassette, self.make_model = capture, cassette, make_model
        self.base_dir, self.case_id = base_dir, case_id

    def __call__(
        self,
        target: str | Callable[..., Any],
        prompt: str | None = None,
        *,
        messages: list[Any] | None = None,
        vars: dict[str, Any] | None = None,
        model: str | None = None,
    ) -> TargetRun:
        fn, inp = self._prepare(target, prompt, messages, vars, model)
        before = len(self.cassette.traffic())
        context = contextvars.copy_context()  # the test's cassette and capture, in a thread of its own
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            out = pool.submit(context.run, asyncio.run, call_target(fn, inp)).result()
        return self._run(out, before)

    async def arun(
        self,
        target: str | Callable[..., Any],
        prompt: str | None = None,
        *,
        messages: list[Any] | None = None,
        vars: dict[str, Any] | None = None,
        model: str | None = None,
    ) -> TargetRun:
        fn, inp = self._prepare(target, prompt, messages, vars, model)
        before = len(self.cassette.traffic())
        return self._run(await call_target(fn, inp), before)

    def _prepare(
        self,
        target: str | Callable[..., Any],
        prompt: str | None,
        messages: list[Any] | None,
        vars: dict[str, Any] | None,
        model: str | None,
    ) -> tuple[Callable[..., Any], TargetInput]:
        fn = load_target(target, self.base_dir) if isinstance(target, str) else target
        model = model or self.capture.param_model
        if not model:
            raise ValueError(
                "harness_target: no model for TargetInput.model; pass model='provider:name' or use the "
                "chat_model fixture's parametrization (--models / @pytest.mark.harness(models=[...]))"
            )
        if messages is None:
            messages = [{"role": "user", "content": prompt}] if prompt is not None else []
        inp = target_input(
            prompt, messages, vars or {}, self.case_id, self.make_model(model), model, model, 0
        )
        return fn, inp

    def _run(self, out: Any, before: int) -> TargetRun:
        calls = priced_calls(traffic_calls(self.cassette.traffic()[before:]), self.capture.pricing)
        return TargetRun(out.final, calls, out.structured, out.metadata)
