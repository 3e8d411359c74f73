"""The pytest plugin: model tests that record once, replay offline from cassettes, and produce the report.

Registered through the `pytest11` entry point. User guide: docs/pytest.md. In short:

    def test_capital(chat_model):                       # runs once per model of --models / harness_models
        reply = chat_model.invoke("What is the capital of France?")
        assert_contains(reply, "Paris", ignore_case=True)   # from harness.pytest_plugin

Each test replays `cassettes/<module path>/<test>[<model>].yaml` (record mode `none` by default), and
adds a results record (docs/results-record.md) that `--harness-results` / `--harness-report` write;
traffic of other clients (plain httpx, SDKs) gets records built from it. `harness_target` runs a suite
target in a test (`targets`).

May import: `harness.assertions`, `harness.callbacks`, `harness.cassettes`, `harness.errors`,
`harness.files`, `harness.messages`, `harness.models`, `harness.providers` (other libraries' replies),
`harness.redaction`, `harness.report`, `harness.results`, `harness.runner`, `harness.suite`, `harness.testing`.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import os
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness.cassettes.modes import RECORD_MODES, check_record_mode
from harness.errors import NetworkBlockedError
from harness.pytest_plugin.session import CAPTURE, HarnessSession, recording_owns_options
from harness.pytest_plugin.support import (
    TestCapture,
    marker_options,
    recording_lock,
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


_STATE = pytest.StashKey[HarnessSession]()


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    group = parser.getgroup("harness", "harness: model tests replayed from cassettes")
    if not recording_owns_options(pluginmanager):
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
    group.addoption(
        "--harness-match-host",
        dest="harness_match_host",
        action="store_true",
        default=None,
        help="cassettes replay only what was recorded against the same host (overrides ini harness_match_host)",
    )
    parser.addini(
        "harness_match_host",
        "cassettes also match the host of provider requests (default: false, the endpoint path matches)",
        type="bool",
        default=False,
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
        "scrub_patterns=[...], match_host=bool): this test's models, cassette path, record mode, report "
        "tags, what its cassette scrubs besides the defaults, and whether it matches the host",
    )
    state = HarnessSession(config)
    config.stash[_STATE] = state
    config.pluginmanager.register(state, "harness-session")


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is not None:
        state.blocker.uninstall()
        state.let_go_of_clients()


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


# --- fixtures ---------------------------------------------------------------------------------------

# The test being run. The fixtures read it here rather than ask for `request`: pytest builds a new
# FixtureDef (inspect.signature included) for every fixture that asks for `request`, about 0.08 ms a
# fixture and a test, a fifth of what a replayed call costs.
_running: contextvars.ContextVar[pytest.Item | None] = contextvars.ContextVar("harness_item", default=None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    token = _running.set(item)
    try:
        return (yield)
    finally:
        _running.reset(token)


def _item() -> pytest.Item:
    item = _running.get()
    if item is None:  # only pytest's own run of a test (runtest protocol) sets up these fixtures
        raise RuntimeError("harness fixtures are set up by pytest while it runs a test")
    return item


def _capture(item: Any) -> TestCapture:
    if CAPTURE not in item.stash:
        item.stash[CAPTURE] = TestCapture(pricing=item.config.stash[_STATE].pricing)
    return item.stash[CAPTURE]


@pytest.fixture
def cassette() -> Any:
    """This test's Cassette (cassettes/<module>/<test>[<model>].yaml), recording or replaying every model call."""
    from harness.cassettes import use_cassette

    node = _item()
    config = node.config
    state = config.stash[_STATE]
    opts = marker_options(node)
    path, shown = state.cassette_path(node, opts.get("cassette"))
    mode = check_record_mode(
        opts.get("record_mode") or state.record_mode, "@pytest.mark.harness(record_mode=...)"
    )
    capture = _capture(node)
    capture.cassette_path = shown
    state.hold_clients()
    with (
        recording_lock(path, mode),
        use_cassette(
            path,
            record_mode=mode,
            replay_speed=state.replay_speed,
            secret_headers=[
                *config.getini("harness_secret_headers"),
                *opts.get("secret_headers", ()),
            ],
            scrub_patterns=[
                *config.getini("harness_scrub_patterns"),
                *opts.get("scrub_patterns", ()),
            ],
            match_host=bool(
                opts["match_host"]
                if "match_host" in opts
                else config.getoption("harness_match_host", None) or config.getini("harness_match_host")
            ),
        ) as cas,
    ):
        capture.cassette = cas
        with capture.active():
            yield cas


@pytest.fixture(scope="session")
def harness_model_kwargs() -> Any:
    """Extra init_chat_model kwargs for fixture-built models: a dict, or a callable(model) -> dict (override it,
    at any scope). This default is empty, read-only and made once: a function-scoped fixture costs
    pytest its setup and teardown on every test."""
    return types.MappingProxyType({})


def _build(model: str | None, extra: Any, **kwargs: Any) -> Any:
    from harness.models.init import init_chat_model

    params = {**(extra(model) if callable(extra) else dict(extra or {})), **kwargs}
    params["metadata"] = {**(params.get("metadata") or {}), "harness_model": model}
    return init_chat_model(model, **params)


@pytest.fixture
def make_chat_model(cassette: Any, harness_model_kwargs: Any) -> Any:
    """Factory like init_chat_model("provider:model", **kwargs) for tests that build several models;
    the models it built are closed when the test ends."""
    _capture(_item()).used = True
    built: list[Any] = []

    def make(model: str | None = None, **kwargs: Any) -> Any:
        built.append(_build(model, harness_model_kwargs, **kwargs))
        return built[-1]

    yield make
    for model in built:
        model.close()


@pytest.fixture
def chat_model(cassette: Any, harness_model_kwargs: Any) -> Any:
    """The chat model under test, parametrized over --models / ini harness_models / the harness marker."""
    node = _item()
    callspec = getattr(node, "callspec", None)
    model = callspec.params.get("chat_model") if callspec is not None else None
    if not model:
        pytest.fail(
            "harness: no models selected for chat_model; pass --models openai:gpt-4.1-mini,... , set "
            "harness_models in the ini file, or mark the test @pytest.mark.harness(models=[...])",
            pytrace=False,
        )
    capture = _capture(node)
    capture.used, capture.param_model = True, model
    # built as make_chat_model builds, without that fixture in between: one fixture less per test
    built = _build(model, harness_model_kwargs)
    yield built
    built.close()


@pytest.fixture
def harness_target(cassette: Any, make_chat_model: Any) -> Any:
    """Run a target under this test's cassette: harness_target("app.py:answer", "prompt", model=...)
    -> TargetRun (output, calls, usage, cost_usd, tool_trajectory), which assert_passes judges whole."""
    from harness.pytest_plugin.support import case_id
    from harness.pytest_plugin.targets import TargetCaller

    node = _item()
    capture = _capture(node)
    return TargetCaller(
        capture,
        cassette,
        make_chat_model,
        Path(node.path).parent,
        case_id(node.nodeid, capture.param_model),
    )


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
def harness_run(harness_model_kwargs: Any, tmp_path_factory: Any) -> Any:
    """Run a suite file in this test: harness_run("suite.yaml", models=None) -> RunResult; its records join the report."""
    from harness.runner.runner import Runner, RunOptions
    from harness.suite.spec import ModelEntry, load_suite, slugify

    node = _item()
    state = node.config.stash[_STATE]
    opts = marker_options(node)
    capture = _capture(node)

    def run(suite: str | os.PathLike[str], *, models: list[Any] | None = None, **options: Any) -> Any:
        path = next(
            (p for p in (Path(node.path).parent / suite, state.config.rootpath / suite) if p.is_file()),
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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test marked @pytest.mark.harness gets its cassette even when it builds models itself: the
    fixture is added to that test alone at collection (an autouse fixture would cost every test of the
    session a fixture setup)."""
    for item in items:
        names = getattr(item, "fixturenames", None)
        if names is not None and "cassette" not in names and item.get_closest_marker("harness") is not None:
            names.append("cassette")
