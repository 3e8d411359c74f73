"""The Runnable surface shared by chat models, bindings, structured-output and configurable models.

Subclasses implement `invoke` and `ainvoke` (and `stream`/`astream` where streaming means something);
this module derives `batch`, `abatch`, `batch_as_completed`, `abatch_as_completed` and config handling.

May import: `harness.request_order`.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

from typing_extensions import Self

from harness.request_order import InputTurns

_CONFIG_KEYS = {
    "tags",
    "metadata",
    "callbacks",
    "run_name",
    "max_concurrency",
    "recursion_limit",
    "configurable",
    "run_id",
}


def ensure_config(config: dict[str, Any] | None) -> dict[str, Any]:
    """Fill the RunnableConfig defaults; unknown top-level keys move into `configurable`."""
    out: dict[str, Any] = {
        "tags": [],
        "metadata": {},
        "callbacks": None,
        "recursion_limit": 25,
        "configurable": {},
    }
    if not config:
        return out
    for k, v in config.items():
        if v is None:
            continue
        if k in _CONFIG_KEYS:
            out[k] = v
        else:
            out["configurable"] = {**out["configurable"], k: v}
    model = out["configurable"].get("model")
    if isinstance(model, str) and "model" not in out["metadata"]:
        out["metadata"] = {**out["metadata"], "model": model}
    return out


def merge_configs(*configs: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for c in configs:
        if not c:
            continue
        for k, v in c.items():
            if k == "metadata" or k == "configurable":
                out[k] = {**out.get(k, {}), **(v or {})}
            elif k == "tags":
                out[k] = sorted(set(out.get(k, [])) | set(v or []))
            elif k == "callbacks":
                out[k] = [*(out.get(k) or []), *(v or [])]
            elif v is not None:
                out[k] = v
    return out


def _configs_for(config: Any, n: int) -> list[dict[str, Any] | None]:
    if isinstance(config, list):
        if len(config) != n:
            raise ValueError(
                f"config must be one dict or a list of {n} dicts (one per input), got {len(config)}"
            )
        return config
    return [config] * n


EVENT_FILTERS = (
    "include_names",
    "include_types",
    "include_tags",
    "exclude_names",
    "exclude_types",
    "exclude_tags",
)


def event_included(event: dict[str, Any], run_type: str, filters: dict[str, Any]) -> bool:
    """`astream_events`' filters, as LangChain applies them: with no include_* filter every event is
    in, else those matching any include_*; then any exclude_* match takes it out."""
    tags = event.get("tags") or []
    names, types, tagged = (filters.get(k) for k in ("include_names", "include_types", "include_tags"))
    included = names is None and types is None and tagged is None
    included = included or (names is not None and event["name"] in names)
    included = included or (types is not None and run_type in types)
    included = included or (tagged is not None and any(t in tagged for t in tags))
    if filters.get("exclude_names") is not None and event["name"] in filters["exclude_names"]:
        return False
    if filters.get("exclude_types") is not None and run_type in filters["exclude_types"]:
        return False
    if filters.get("exclude_tags") is not None and any(t in filters["exclude_tags"] for t in tags):
        return False
    return included


class Runnable:
    """Base of everything with invoke/ainvoke. Not meant to be instantiated directly."""

    def invoke(self, input: Any, config: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def ainvoke(self, input: Any, config: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        ctx = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(
            None, lambda: ctx.run(self.invoke, input, config, **kwargs)
        )

    def stream(self, input: Any, config: dict[str, Any] | None = None, **kwargs: Any) -> Iterator[Any]:
        yield self.invoke(input, config, **kwargs)

    async def astream(
        self, input: Any, config: dict[str, Any] | None = None, **kwargs: Any
    ) -> AsyncIterator[Any]:
        yield await self.ainvoke(input, config, **kwargs)

    # --- closing --------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP clients underneath (never ones passed in); the runnable stays usable.

        This base opens nothing; models and everything wrapping one override it."""

    async def aclose(self) -> None:
        """Like `close`, and also the async clients of the running event loop."""
        self.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- batch ----------------------------------------------------------------------------------

    def batch(
        self,
        inputs: Sequence[Any],
        config: dict[str, Any] | list[dict[str, Any]] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[Any]:
        if not inputs:
            return []
        configs = _configs_for(config, len(inputs))
        out: list[Any] = [None] * len(inputs)
        for i, res in self.batch_as_completed(inputs, configs, return_exceptions=return_exceptions, **kwargs):
            out[i] = res
        return out

    def batch_as_completed(
        self,
        inputs: Sequence[Any],
        config: Any = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> Iterator[tuple[int, Any]]:
        if not inputs:
            return
        configs = _configs_for(config, len(inputs))
        max_conc = (configs[0] or {}).get("max_concurrency")

        def one(i: int) -> Any:
            try:
                return self.invoke(inputs[i], configs[i], **kwargs)
            except Exception as e:
                if return_exceptions:
                    return e
                raise

        if len(inputs) == 1:
            yield 0, one(0)
            return
        turns = InputTurns(len(inputs))  # identical inputs record and replay in input order
        with ThreadPoolExecutor(max_workers=max_conc) as pool:
            # copy_context: each thread sees the caller's cassette and usage callbacks
            futures = {
                pool.submit(contextvars.copy_context().run, turns.run, i, one, i): i
                for i in range(len(inputs))
            }
            try:
                for fut in as_completed(futures):
                    yield futures[fut], fut.result()
            finally:
                for fut in futures:
                    fut.cancel()

    async def abatch(
        self,
        inputs: Sequence[Any],
        config: dict[str, Any] | list[dict[str, Any]] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[Any]:
        out: list[Any] = [None] * len(inputs)
        async for i, res in self.abatch_as_completed(
            inputs, config, return_exceptions=return_exceptions, **kwargs
        ):
            out[i] = res
        return out

    async def abatch_as_completed(
        self,
        inputs: Sequence[Any],
        config: dict[str, Any] | list[dict[str, Any]] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> AsyncIterator[tuple[int, Any]]:
        if not inputs:
            return
        configs = _configs_for(config, len(inputs))
        max_conc = (configs[0] or {}).get("max_concurrency")
        sem = asyncio.Semaphore(max_conc) if max_conc else None

        async def one(i: int) -> tuple[int, Any]:
            try:
                if sem is None:
                    return i, await self.ainvoke(inputs[i], configs[i], **kwargs)
                async with sem:
                    return i, await self.ainvoke(inputs[i], configs[i], **kwargs)
            except Exception as e:
                if return_exceptions:
                    return i, e
                raise

        tasks = [asyncio.ensure_future(one(i)) for i in range(len(inputs))]
        try:
            for fut in asyncio.as_completed(tasks):
                yield await fut
        finally:
            for t in tasks:
                t.cancel()

    def with_config(self, config: dict[str, Any] | None = None, **kwargs: Any) -> RunnableWithConfig:
        return RunnableWithConfig(self, merge_configs(config, kwargs))


class RunnableWithConfig(Runnable):
    """A runnable with a default config merged under each call's config."""

    def __init__(self, bound: Runnable, config: dict[str, Any]) -> None:
        self.bound = bound
        self.config = config

    def invoke(self, input: Any, config: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self.bound.invoke(input, merge_configs(self.config, config), **kwargs)

    async def ainvoke(self, input: Any, config: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return await self.bound.ainvoke(input, merge_configs(self.config, config), **kwargs)

    def stream(self, input: Any, config: dict[str, Any] | None = None, **kwargs: Any) -> Iterator[Any]:
        return self.bound.stream(input, merge_configs(self.config, config), **kwargs)

    def astream(self, input: Any, config: dict[str, Any] | None = None, **kwargs: Any) -> AsyncIterator[Any]:
        return self.bound.astream(input, merge_configs(self.config, config), **kwargs)

    def astream_events(
        self, input: Any, config: dict[str, Any] | None = None, **kwargs: Any
    ) -> AsyncIterator[Any]:
        return self.bound.astream_events(input, merge_configs(self.config, config), **kwargs)  # type: ignore[attr-defined,no-any-return]

    # the declarative methods keep this config (LangChain: `model.with_config(configurable=...)
    # .bind_tools(...)` still runs the configured model)
    def bind_tools(self, *args: Any, **kwargs: Any) -> RunnableWithConfig:
        return RunnableWithConfig(self.bound.bind_tools(*args, **kwargs), self.config)  # type: ignore[attr-defined]

    def with_structured_output(self, *args: Any, **kwargs: Any) -> RunnableWithConfig:
        return RunnableWithConfig(self.bound.with_structured_output(*args, **kwargs), self.config)  # type: ignore[attr-defined]

    def bind(self, **kwargs: Any) -> RunnableWithConfig:
        return RunnableWithConfig(self.bound.bind(**kwargs), self.config)  # type: ignore[attr-defined]

    def close(self) -> None:
        self.bound.close()

    async def aclose(self) -> None:
        await self.bound.aclose()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.bound, name)
