"""The pytest plugin: model tests that record once, replay offline from cassettes, and produce the report.

Registered through the `pytest11` entry point. User guide: docs/pytest.md. In short:

    def test_capital(chat_model):                       # runs once per model of --models / harness_models
        reply = chat_model.invoke("What is the capital of France?")
        assert_contains(reply, "Paris", ignore_case=True)   # from harness.pytest_plugin

Each test replays `cassettes/<module path>/<test>[<model>].yaml` (record mode `none` by default), and
adds a results record (docs/results-record.md) that `--harness-results` / `--harness-report` write.

May import: `harness.assertions`, `harness.callbacks`, `harness.cassettes`, `harness.errors`,
`harness.files`, `harness.messages`, `harness.models`, `harness.report`, `harness.results`,
`harness.runner`, `harness.suite`, `harness.testing`.
"""

from __future__ import annotations

import concurrent.futures
import importlib.util
import json
import os
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness.cassettes.modes import RECORD_MODES, check_record_mode
from harness.errors import CassetteMissError, ConfigurationError, InputError
from harness.pytest_plugin.support import (
    NetworkBlockedError,
    NetworkBlocker,
    TestCapture,
    case_id,
    error_text,
    jsonable,
    marker_options,
    miss_report,
    new_run_id,
    recording_lock,
    split_models,
    summary_lines,
    utc_now,
    write_outputs,
)

if TYPE_CHECKING:
    from harness.pytest_plugin.asserts import (
        assert_contains,
        assert_matches_schema,
        assert_passes,
        assert_tool_called,
    )

__all__ = [
    "NetworkBlockedError",
    "assert_contains",
    "assert_matches_schema",
    "assert_passes",
    "assert_tool_called",
]


def __getattr__(name: str) -> Any:
    # the helpers import the model layer: loaded on first use, so the plugin itself stays cheap to load
    if name in __all__:
        from harness.pytest_plugin import asserts as _pytest_asserts

        return getattr(_pytest_asserts, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_CAPTURE = pytest.StashKey[TestCapture]()
_STATE = pytest.StashKey["HarnessSession"]()


def _recording_owns_options(pluginmanager: Any) -> bool:
    """pytest-recording registers --record-mode and --block-network itself (same names, same dests)."""
    return importlib.util.find_spec("pytest_recording") is not None and not pluginmanager.is_blocked(
        "recording"
    )


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    group = parser.getgroup("harness", "harness: model tests replayed from cassettes")
    if not _recording_owns_options(pluginmanager):
        group.addoption(
            "--record-mode",
            dest="record_mode",
            default=None,
            choices=RECORD_MODES,
            help="cassette record mode (default: $HARNESS_RECORD_MODE, else none = replay only)",
        )
        group.addoption(
            "--block-network",
            dest="block_network",
            action="store_true",
            default=False,
            help="fail any test that opens a socket outside loopback (while the record mode is none)",
        )
    group.addoption(
        "--models",
        dest="harness_models",
        default=None,
        metavar="A,B",
        help="models the chat_model fixture runs each test with (overrides ini harness_models)",
    )
    group.addoption(
        "--harness-report",
        dest="harness_report",
        default=None,
        metavar="FILE.html",
        help="write the HTML report of every model test at the end of the session",
    )
    group.addoption(
        "--harness-results",
        dest="harness_results",
        default=None,
        metavar="FILE.jsonl",
        help="write one results record per test x model (docs/results-record.md)",
    )
    group.addoption(
        "--replay-speed",
        dest="harness_replay_speed",
        default=None,
        metavar="SPEED",
        help="instant (default), realtime (the recorded pace) or a factor such as 2",
    )
    parser.addini(
        "harness_models", "models for the chat_model fixture (comma- or line-separated)", type="linelist"
    )
    parser.addini("harness_cassette_dir", "cassette directory, relative to the rootdir", default="cassettes")
    parser.addini(
        "harness_secret_headers", "headers scrubbed from cassettes besides the default ones", type="linelist"
    )
    parser.addini("harness_scrub_patterns", "regexes replaced by <REDACTED> in cassettes", type="linelist")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "harness(models=[...], cassette=..., record_mode=..., tags=[...], secret_headers=[...], "
        "scrub_patterns=[...]): this test's models, cassette path, record mode, report tags and what its "
        "cassette scrubs besides the defaults",
    )
    state = HarnessSession(config)
    config.stash[_STATE] = state
    config.pluginmanager.register(state, "harness-session")


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is not None:
        state.blocker.uninstall()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "chat_model" not in metafunc.fixturenames:
        return
    if any("chat_model" in _argnames(m) for m in metafunc.definition.iter_markers("parametrize")):
        return  # the test parametrizes chat_model itself
    state = metafunc.config.stash[_STATE]
    models = marker_options(metafunc.definition).get("models") or state.models
    if models:
        metafunc.parametrize("chat_model", models, indirect=True, ids=models)


def _argnames(mark: pytest.Mark) -> list[str]:
    names = mark.args[0] if mark.args else mark.kwargs.get("argnames", "")
    return [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)


class HarnessSession:
    """The session's settings and the results records of every model test (merged from xdist workers)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.owns_options = not _recording_owns_options(config.pluginmanager)
        cli = config.getoption("harness_models")
        self.models = split_models([cli]) if cli else split_models(config.getini("harness_models"))
        self.models_from_cli = bool(cli)
        self.replay_speed = config.getoption("harness_replay_speed") or "instant"
        try:
            self.record_mode = self._record_mode()
            if self.models:
                from harness.models.init import parse_model_string

                for m in self.models:
                    parse_model_string(m)
            if self.replay_speed != "instant":
                from harness.cassettes.interceptor import parse_replay_speed

                parse_replay_speed(self.replay_speed)
        except ConfigurationError as e:
            raise pytest.UsageError(f"harness: {e}") from None
        self.cassette_dir = Path(config.rootpath, config.getini("harness_cassette_dir") or "cassettes")
        worker_input = getattr(config, "workerinput", None)
        self.is_worker = worker_input is not None
        self.run_id = (worker_input or {}).get("harness_run_id") or new_run_id()
        self.started_at = (worker_input or {}).get("harness_started_at") or utc_now()
        self.records: list[dict[str, Any]] = []
        self.written: list[tuple[str, Path]] = []
        self.blocker = NetworkBlocker()
        if config.getoption("block_network", False) and self.record_mode == "none":
            self.blocker.install()
        self._pricing: Any = None

    def _record_mode(self) -> str:
        cli = self.config.getoption("record_mode", None)
        if cli == "none" and not self.owns_options:
            cli = None  # pytest-recording's default: an explicit --record-mode=none is indistinguishable
        if cli:
            return check_record_mode(cli, "--record-mode")
        env = os.environ.get("HARNESS_RECORD_MODE")
        return check_record_mode(env, "HARNESS_RECORD_MODE") if env else "none"

    @property
    def pricing(self) -> Any:
        if self._pricing is None:
            from harness.results.build import Pricing

            try:
                self._pricing = Pricing.load()
            except InputError as e:  # a broken price file must not fail model tests: costs become unknown
                warnings.warn(pytest.PytestWarning(f"harness: costs are unknown: {e}"), stacklevel=2)
                self._pricing = Pricing(None)
        return self._pricing

    def cassette_path(self, item: Any, override: str | os.PathLike[str] | None) -> Path:
        if override:
            return self.cassette_dir / Path(override)  # an absolute override stays absolute
        try:
            module = Path(item.path).relative_to(self.config.rootpath).with_suffix("")
        except ValueError:
            module = Path(Path(item.path).stem)
        name = (f"{item.cls.__name__}." if getattr(item, "cls", None) else "") + item.name
        return self.cassette_dir / module / (re.sub(r'[<>:"/\\|?*\x00-\x1f]', "-", name) + ".yaml")

    def relative(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.config.rootpath.resolve()).as_posix()
        except ValueError:
            return path.as_posix()

    # --- per test ----------------------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        capture = item.stash.get(_CAPTURE, None)
        if capture is not None and call.when == "teardown":
            if call.excinfo is not None and capture.status in (None, "passed"):
                capture.status, capture.error = "error", error_text(call.excinfo)
            self._finish(item, capture)  # before the teardown report: JUnit reads its user_properties
        report = yield
        if capture is not None and call.when in ("setup", "call"):
            self._note(item, capture, call, report)
        return report

    def _note(self, item: pytest.Item, capture: TestCapture, call: Any, report: Any) -> None:
        if report.skipped and not hasattr(report, "wasxfail"):
            capture.status = "skipped"
        elif report.passed:  # an unexpected pass of an xfail test included
            capture.status = "passed" if call.when == "call" else capture.status
        else:  # failed, or failed as expected (xfail)
            excinfo = call.excinfo
            if excinfo is not None and excinfo.errisinstance(AssertionError) and call.when == "call":
                capture.status, capture.failure = "failed", str(excinfo.value).strip()[:2000] or None
            else:
                capture.status = "error"
                capture.error = error_text(excinfo) if excinfo is not None else "error"
            if excinfo is not None and excinfo.errisinstance(CassetteMissError):
                report.longrepr = miss_report(item, excinfo)

    def _finish(self, item: pytest.Item, capture: TestCapture) -> None:
        if capture.status in (None, "skipped") or not (
            capture.used or capture.calls or capture.suite_records
        ):
            return
        params = dict(getattr(getattr(item, "callspec", None), "params", {}))
        params.pop("chat_model", None)
        records = capture.records(
            run_id=self.run_id,
            case_id=case_id(item.nodeid, capture.param_model),
            nodeid=item.nodeid,
            vars=jsonable(params),
            tags=marker_options(item).get("tags", []),
            pricing=self.pricing,
        )
        self.records.extend(records)
        for rec in records:
            suffix = f"[{rec['model']}]" if len(records) > 1 else ""
            timing, usage = rec.get("timing") or {}, rec.get("usage") or {}
            for key, value in (
                ("model", rec["model"]),
                ("latency_ms", timing.get("total_ms")),
                ("ttft_ms", timing.get("ttft_ms")),
                ("input_tokens", usage.get("input_tokens")),
                ("output_tokens", usage.get("output_tokens")),
                ("cost_usd", rec.get("cost_usd")),
                ("cassette_state", rec["cassette"]["state"]),
            ):
                if value is not None:
                    item.user_properties.append((f"harness_{key}{suffix}", value))

    # --- xdist: workers send their records to the controller ---------------------------------------

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["harness_run_id"] = self.run_id
        node.workerinput["harness_started_at"] = self.started_at

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        lines = (getattr(node, "workeroutput", None) or {}).get("harness_records") or ""
        self.records.extend(json.loads(line) for line in lines.splitlines() if line.strip())

    # --- end of session ----------------------------------------------------------------------------

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.is_worker:
            self.config.workeroutput["harness_records"] = "".join(  # type: ignore[attr-defined]
                json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in self.records
            )
            return
        self.written = write_outputs(self)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_worker or not self.records:
            return
        terminalreporter.section("harness")
        for line in summary_lines(self):
            terminalreporter.write_line(line)

    def pytest_report_header(self, config: pytest.Config) -> str:
        models = ", ".join(self.models) or "none selected (--models or ini harness_models)"
        blocked = ", network blocked" if self.blocker.installed else ""
        return (
            f"harness: models {models}; record mode {self.record_mode}; "
            f"cassettes {self.relative(self.cassette_dir)}/{blocked}"
        )


# --- fixtures ---------------------------------------------------------------------------------------


def _capture(item: Any) -> TestCapture:
    if _CAPTURE not in item.stash:
        item.stash[_CAPTURE] = TestCapture(pricing=item.config.stash[_STATE].pricing)
    return item.stash[_CAPTURE]


@pytest.fixture
def cassette(request: pytest.FixtureRequest) -> Any:
    """This test's Cassette (cassettes/<module>/<test>[<model>].yaml), recording or replaying every model call."""
    from harness.cassettes import use_cassette

    state = request.config.stash[_STATE]
    opts = marker_options(request.node)
    path = state.cassette_path(request.node, opts.get("cassette"))
    mode = check_record_mode(
        opts.get("record_mode") or state.record_mode, "@pytest.mark.harness(record_mode=...)"
    )
    capture = _capture(request.node)
    capture.cassette_path = state.relative(path)
    with (
        recording_lock(path, mode),
        use_cassette(
            path,
            record_mode=mode,
            replay_speed=state.replay_speed,
            secret_headers=[
                *request.config.getini("harness_secret_headers"),
                *opts.get("secret_headers", ()),
            ],
            scrub_patterns=[
                *request.config.getini("harness_scrub_patterns"),
                *opts.get("scrub_patterns", ()),
            ],
        ) as cas,
    ):
        capture.cassette = cas
        with capture.active():
            yield cas


@pytest.fixture
def harness_model_kwargs() -> Any:
    """Extra init_chat_model kwargs for fixture-built models: a dict, or a callable(model) -> dict (override it)."""
    return {}


def _build(model: str | None, extra: Any, **kwargs: Any) -> Any:
    from harness.models.init import init_chat_model

    params = {**(extra(model) if callable(extra) else dict(extra or {})), **kwargs}
    params["metadata"] = {**(params.get("metadata") or {}), "harness_model": model}
    return init_chat_model(model, **params)


@pytest.fixture
def make_chat_model(request: pytest.FixtureRequest, cassette: Any, harness_model_kwargs: Any) -> Any:
    """Factory like init_chat_model("provider:model", **kwargs) for tests that build several models;
    the models it built are closed when the test ends."""
    _capture(request.node).used = True
    built: list[Any] = []

    def make(model: str | None = None, **kwargs: Any) -> Any:
        built.append(_build(model, harness_model_kwargs, **kwargs))
        return built[-1]

    yield make
    for model in built:
        model.close()


@pytest.fixture
def chat_model(request: pytest.FixtureRequest, make_chat_model: Any) -> Any:
    """The chat model under test, parametrized over --models / ini harness_models / the harness marker."""
    model = getattr(request, "param", None)
    if not model:
        pytest.fail(
            "harness: no models selected for chat_model; pass --models openai:gpt-4.1-mini,... , set "
            "harness_models in the ini file, or mark the test @pytest.mark.harness(models=[...])",
            pytrace=False,
        )
    _capture(request.node).param_model = model
    return make_chat_model(model)


@pytest.fixture(scope="session")
def _harness_emulator_server() -> Any:
    """The emulator behind harness_emulator, started once per session (per xdist worker)."""
    from harness.testing import ProviderEmulator

    with ProviderEmulator() as emu:
        yield emu


@pytest.fixture
def harness_emulator(_harness_emulator_server: Any) -> Any:
    """The session's ProviderEmulator (every provider's wire format on loopback), its script cleared for this test."""
    from harness.testing import default_reply

    _harness_emulator_server.clear()
    _harness_emulator_server.reply_fn = default_reply
    return _harness_emulator_server


@pytest.fixture
def harness_run(request: pytest.FixtureRequest, harness_model_kwargs: Any, tmp_path_factory: Any) -> Any:
    """Run a suite file in this test: harness_run("suite.yaml", models=None) -> RunResult; its records join the report."""
    from harness.runner.runner import Runner, RunOptions
    from harness.suite.spec import ModelEntry, load_suite, slugify

    state = request.config.stash[_STATE]
    opts = marker_options(request.node)
    capture = _capture(request.node)

    def run(suite: str | os.PathLike[str], *, models: list[Any] | None = None, **options: Any) -> Any:
        path = next(
            (
                p
                for p in (Path(request.node.path).parent / suite, state.config.rootpath / suite)
                if p.is_file()
            ),
            Path(suite),
        )
        loaded = load_suite(path)
        chosen = models or opts.get("models") or (state.models if state.models_from_cli else None)
        entries = [ModelEntry.coerce(m) for m in (chosen or loaded.models)]
        extra = harness_model_kwargs
        run_models = [
            {**(extra(e.model) if callable(extra) else dict(extra or {})), **e.model_dump(exclude_none=True)}
            for e in entries
        ]
        mode = options.pop("record_mode", None) or opts.get("record_mode") or state.record_mode
        run_opts = RunOptions(
            models=run_models,
            record_mode=mode,
            cassettes_dir=state.cassette_dir,
            out=tmp_path_factory.mktemp("harness-run") / "run",
            replay_speed=state.replay_speed,
            on_record=capture.suite_records.append,
            **options,
        )
        # a fresh thread: no cassette or capture of the test leaks in, and it works inside async tests
        with (
            recording_lock(state.cassette_dir / slugify(loaded.name), mode),
            concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool,
        ):
            return pool.submit(lambda: Runner(loaded, run_opts).run()).result()

    return run


@pytest.fixture(autouse=True)
def _harness_marked(request: pytest.FixtureRequest) -> None:
    """A test marked @pytest.mark.harness gets its cassette even when it builds models itself."""
    if request.node.get_closest_marker("harness") is not None and "cassette" not in request.fixturenames:
        request.getfixturevalue("cassette")
