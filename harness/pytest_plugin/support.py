"""What harness.pytest_plugin builds on: capturing a test's model calls into results records, and the
small pieces of the plugin (marker options, case ids, the recording lock). Blocking the network is in
`network`, the end-of-session files and summary in `outputs`.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

from harness.errors import CassetteMissError
from harness.redaction import environment_secrets, mask_text, redact_params

# Only the standard library and harness.errors at import time: pytest loads this plugin in every run of
# every project that has harness installed. Model, cassette and report code is imported when used.

# the capture of the test running in this context (assertion helpers add their outcomes to it)
_current: contextvars.ContextVar[TestCapture | None] = contextvars.ContextVar(
    "harness_pytest_capture", default=None
)


def utc_now(at: float | None = None) -> str:
    when = datetime.now(timezone.utc) if at is None else datetime.fromtimestamp(at, timezone.utc)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(2)


@dataclass
class Call:
    model: str
    provider: str
    name: str
    messages: list[Any]
    output: Any = None  # the AIMessage
    error: BaseException | None = None


@dataclass
class TestCapture:
    """Every chat-model call made while one test runs (a context callback handler, duck-typed as
    harness.callbacks.BaseCallbackHandler), what the assertion helpers concluded, and the records of
    suites run with `harness_run`."""

    __test__ = False  # not a test class, whatever its name
    raise_error = False
    param_model: str | None = None  # the model `chat_model` was parametrized with
    used: bool = False  # a model fixture was requested: the test gets a record even with no call
    calls: dict[UUID, Call] = field(default_factory=dict)
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    suite_records: list[dict[str, Any]] = field(default_factory=list)
    cassette: Any = None
    cassette_path: str | None = None
    started: float = field(default_factory=time.time)  # formatted only for a full record
    status: str | None = None
    error: str | None = None
    failure: str | None = None  # the assertion message of a failed test
    pricing: Any = None
    _other: list[dict[str, Any]] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def on_chat_model_start(
        self, serialized: Any, messages: Any, *, run_id: UUID, metadata: Any = None, **kwargs: Any
    ) -> None:
        md = metadata or {}
        provider, name = str(md.get("ls_provider") or ""), str(md.get("ls_model_name") or "")
        model = str(md.get("harness_model") or (f"{provider}:{name}" if provider else name))
        with self._lock:
            self.calls[run_id] = Call(model, provider, name, list(messages[0]) if messages else [])

    def on_llm_new_token(self, token: Any, **kwargs: Any) -> None:
        return None

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        call = self.calls.get(run_id)
        if call is not None and response.generations and response.generations[0]:
            call.output = response.generations[0][0].message

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        call = self.calls.get(run_id)
        if call is not None:
            call.error = error

    def other_calls(self) -> list[dict[str, Any]]:
        """The model calls of this test's cassette traffic that no harness chat model sent (a plain
        httpx client, an SDK), parsed by the provider adapters and priced; computed once."""
        if self._other is None:
            self._other = []
            if self.cassette is not None:
                entries = self.cassette.traffic(others=True)  # a harness model's calls: not parsed
                if entries:
                    from harness.cassettes.inspect import traffic_calls
                    from harness.results.build import priced_calls

                    self._other = [dict(c) for c in priced_calls(traffic_calls(entries), self.pricing)]
        return self._other

    def call_for(self, message: Any) -> Call | None:
        return next((c for c in list(self.calls.values()) if c.output is message), None)

    @contextlib.contextmanager
    def active(self) -> Iterator[TestCapture]:
        """Receive every model call made in this context (and the tasks and threads it starts)."""
        from harness import callbacks as cb

        current = _current.set(self)
        try:
            with cb.callbacks_context(self):
                yield self
        finally:
            _current.reset(current)

    # --- the results records --------------------------------------------------------------------

    def records(
        self,
        *,
        run_id: str,
        case_id: str,
        nodeid: str,
        vars: dict[str, Any],
        tags: list[str],
        pricing: Any,
        full: bool = True,
    ) -> list[dict[str, Any]]:
        """One record per model this test used (docs/results-record.md), then its suite runs' records.
        Not `full` (no results file or report was asked for): a harness model's record holds only what
        the terminal summary and the JUnit properties read, with the values of the full record."""
        groups: dict[str, list[Call]] = {}
        if self.used and self.param_model:
            groups[self.param_model] = []
        for call in list(self.calls.values()):
            groups.setdefault(call.model, []).append(call)
        out = [
            self._record(model, calls, run_id, case_id, nodeid, vars, tags, pricing, full)
            for model, calls in groups.items()
        ]
        others: dict[str, list[dict[str, Any]]] = {}
        for c in self.other_calls():  # one record per model the test's other clients called
            name = str(c.get("model") or "unknown")
            others.setdefault(f"{c['provider']}:{name}" if c.get("provider") else name, []).append(c)
        for model, traffic in others.items():
            rec = self._traffic_record(model, traffic, run_id, case_id, nodeid, vars, tags)
            if model in groups:  # beside a harness model's record of the same model: one cell each
                rec["model_id"] = f"{model} (other client)"
            out.append(rec)
        if out and self.cassette is not None:  # the file's unused interactions, counted once per test
            with contextlib.suppress(Exception):
                out[0]["cassette"]["unused"] = len(self.cassette.unused_indices())
        for rec in self.suite_records:  # "smoke::capital": a suite's case beside the tests' node ids
            out.append(
                {
                    **rec,
                    "case_id": f"{rec.get('suite')}::{rec.get('case_id')}",
                    "run_id": run_id,
                    "nodeid": nodeid,
                }
            )
        return out

    def _record(
        self,
        model: str,
        calls: list[Call],
        run_id: str,
        case_id: str,
        nodeid: str,
        vars: dict[str, Any],
        tags: list[str],
        pricing: Any,
        full: bool = True,
    ) -> dict[str, Any]:
        from harness.messages.convert import message_to_dict
        from harness.models.init import parse_model_string
        from harness.results.build import CallFigures, build_record, cassette_state, message_call, timing_of

        ai = [c.output for c in calls if c.output is not None]
        provider = calls[0].provider if calls else ""
        name = calls[0].name if calls else model
        if not provider:
            with contextlib.suppress(Exception):
                name, provider = parse_model_string(model)
        sources = [str(timing_of(m).get("source") or "live") for m in ai]
        misses = sum(isinstance(c.error, CassetteMissError) for c in calls)
        status = self.status or "passed"
        figures = CallFigures.of(ai, pricing, provider, name)
        cassette = {
            "path": self.cassette_path,
            "state": cassette_state(sources, misses),  # "unused" when no call finished
            "replayed": sources.count("replayed"),
            "recorded": sources.count("recorded"),
            "misses": misses,
            "unused": 0,
        }
        if not full:  # the full record's values, only those the summary and user_properties read
            return {
                "case_id": case_id,
                "model": model,
                "model_id": model,
                "provider": provider,
                "repeat": 0,
                "status": status,
                "usage": figures.usage,
                "cost_usd": figures.cost_usd,
                "cost_avoided_usd": figures.cost_avoided_usd,
                "timing": figures.timing,
                "cassette": cassette,
                "error": self.error,
                "nodeid": nodeid,
            }
        record: dict[str, Any] = dict(
            build_record(
                run_id=run_id,
                suite="pytest",
                case_id=case_id,
                model=model,
                model_id=model,
                provider=provider,
                repeat=0,
                vars=vars,
                tags=tags,
                status=status,  # type: ignore[arg-type]
                assertions=self._outcomes(status),  # type: ignore[arg-type]
                input=[message_to_dict(m) for m in calls[0].messages] if calls else [],
                final=ai[-1] if ai else None,
                structured=None,
                transcript=_transcript(calls),
                figures=figures,
                cassette=cassette,  # type: ignore[arg-type]
                error=self.error,
                started_at=utc_now(self.started),
                calls=[message_call(m, pricing, provider, name) for m in ai],
            )
        )
        record["nodeid"] = nodeid
        return record

    def _traffic_record(
        self,
        model: str,
        calls: list[dict[str, Any]],
        run_id: str,
        case_id: str,
        nodeid: str,
        vars: dict[str, Any],
        tags: list[str],
    ) -> dict[str, Any]:
        """The record of calls another client made, built from their traffic (docs/results-record.md)."""
        from harness.messages.core import AIMessage
        from harness.results.build import CallFigures, build_record, cassette_state

        last = calls[-1]
        final = AIMessage(
            content=last["text"],
            tool_calls=[{**tc, "type": "tool_call"} for tc in last["tool_calls"] if tc.get("name")],
            response_metadata={"finish_reason": last["finish_reason"]},
        )
        sources = [str(c["source"]) for c in calls]
        status = self.status or "passed"
        record: dict[str, Any] = dict(
            build_record(
                run_id=run_id,
                suite="pytest",
                case_id=case_id,
                model=model,
                model_id=model,
                provider=str(last.get("provider") or ""),
                repeat=0,
                vars=vars,
                tags=tags,
                status=status,  # type: ignore[arg-type]
                assertions=self._outcomes(status),  # type: ignore[arg-type]
                input=[],
                final=final,
                structured=None,
                transcript=[],
                figures=CallFigures.of_calls(calls),  # type: ignore[arg-type]
                cassette={
                    "path": self.cassette_path,
                    "state": cassette_state(sources, 0),
                    "replayed": sources.count("replayed"),
                    "recorded": sources.count("recorded"),
                    "misses": 0,
                    "unused": 0,
                },
                error=self.error,
                started_at=utc_now(self.started),
                calls=calls,  # type: ignore[arg-type]
            )
        )
        record["nodeid"] = nodeid
        return record

    def _outcomes(self, status: str) -> list[dict[str, Any]]:
        """What the assertion helpers concluded; a test failed by a plain `assert` adds that failure."""
        outcomes = list(self.outcomes)
        if status == "failed" and not any(o.get("passed") is False for o in outcomes):
            outcomes.append(
                {
                    "type": "assert",
                    "passed": False,
                    "reason": self.failure or "the test failed",
                    "score": None,
                }
            )
        return outcomes


def _transcript(calls: list[Call]) -> list[dict[str, Any]]:
    """Every message of the exchange: a call that continues the previous one (a tool loop) adds only
    its new messages; an unrelated call adds all of its own."""
    from harness.results.build import transcript_entry

    out: list[dict[str, Any]] = []
    for call in calls:
        sent = [transcript_entry(m) for m in call.messages]
        prefix = [{k: v for k, v in d.items() if k not in ("usage", "timing")} for d in out]
        same = [{k: v for k, v in d.items() if k not in ("usage", "timing")} for d in sent[: len(out)]]
        out.extend(sent[len(out) :] if out and same == prefix else sent)
        if call.output is not None:
            out.append(transcript_entry(call.output))
    return out


# --- small pieces of the plugin -------------------------------------------------------------------

MARKER_KEYS = ("models", "cassette", "record_mode", "tags", "secret_headers", "scrub_patterns", "match_host")


def split_models(values: list[str]) -> list[str]:
    return [m.strip() for v in values for m in v.split(",") if m.strip()]


def marker_options(node: Any) -> dict[str, Any]:
    """@pytest.mark.harness(...) merged from module to function (the closest wins; tags add up)."""
    out: dict[str, Any] = {}
    tags: list[str] = []
    for mark in reversed(list(node.iter_markers("harness"))):
        unknown = sorted(set(mark.kwargs) - set(MARKER_KEYS))
        if unknown or mark.args:
            raise ValueError(
                f"{node.nodeid}: @pytest.mark.harness takes keywords {', '.join(MARKER_KEYS)}; "
                f"received {', '.join(unknown) or repr(mark.args)}"
            )
        out.update(mark.kwargs)
        tags += [t for t in mark.kwargs.get("tags") or () if t not in tags]
    if isinstance(out.get("models"), str):
        out["models"] = split_models([out["models"]])
    out["tags"] = tags
    return out


def case_id(nodeid: str, model: str | None) -> str:
    """The node id without the model parameter, so each model's record lines up under the same case."""
    if not model or not nodeid.endswith("]"):
        return nodeid
    base, _, params = nodeid[:-1].partition("[")
    parts = params.replace(f"-{model}-", "-", 1) if f"-{model}-" in params else params
    parts = "" if parts == model else parts.removeprefix(f"{model}-").removesuffix(f"-{model}")
    return f"{base}[{parts}]" if parts else base


def jsonable(params: dict[str, Any]) -> dict[str, Any]:
    """A test's parameters as its record's `vars`: credential-named ones <REDACTED> (as in run.json)."""
    plain: dict[str, object] = {
        k: v if isinstance(v, (str, int, float, bool, type(None))) else repr(v) for k, v in params.items()
    }
    return dict(redact_params(plain))


def error_text(excinfo: Any) -> str:
    """A test's exception as its record stores it: credential env variables and key-shaped text masked."""
    return mask_text(f"{excinfo.typename}: {str(excinfo.value).strip()}", environment_secrets())[:4000]


def miss_report(item: Any, excinfo: Any) -> str:
    """A cassette miss fails with the cassette's diff and the line of the test that made the call."""
    here = [e for e in excinfo.traceback if str(e.path) == str(item.path)]
    where = f"{item.location[0]}:{here[-1].lineno + 1}: " if here else ""
    message = "\n".join(
        line
        for line in str(excinfo.value).splitlines()
        if not line.startswith("  To record it, use record_mode=")
    )  # the API's advice
    if getattr(excinfo.value, "only_base_url", False):
        return f"{where}cassette miss\n{message}"
    return (
        f"{where}cassette miss\n{message}\n  Record what is missing: pytest '{item.nodeid}' "
        "--record-mode=new_episodes (or --record-mode=rewrite to record this test's cassette afresh)."
    )


@contextlib.contextmanager
def recording_lock(path: Path, mode: str) -> Iterator[None]:
    """Serialise recording into one cassette (or suite folder) across xdist workers; replay needs no lock."""
    if mode == "none":
        yield
        return
    from filelock import FileLock

    from harness.files import private_dir

    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:16]
    with FileLock(str(private_dir("harness-cassette-locks") / f"{digest}.plugin.lock")):
        yield
