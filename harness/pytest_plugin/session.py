"""The plugin's session: its settings, the results records of every model test, the hooks that collect
them (merged from xdist workers over `workeroutput`) and write the outputs at the end.

May import: `harness.cassettes`, `harness.errors`, `harness.models`, `harness.results`.
"""

from __future__ import annotations

import importlib.util
import os
import re
import warnings
from pathlib import Path
from typing import Any

import pytest

from harness.cassettes.modes import check_record_mode
from harness.errors import CassetteMissError, CassetteSignal, ConfigurationError, InputError
from harness.pytest_plugin.network import NetworkBlocker
from harness.pytest_plugin.outputs import summary_lines, write_outputs
from harness.pytest_plugin.support import (
    TestCapture,
    case_id,
    error_text,
    jsonable,
    marker_options,
    miss_report,
    new_run_id,
    split_models,
    utc_now,
)

CAPTURE = pytest.StashKey[TestCapture]()


def recording_owns_options(pluginmanager: Any) -> bool:
    """pytest-recording registers --record-mode and --block-network itself (same names, same dests)."""
    return importlib.util.find_spec("pytest_recording") is not None and not pluginmanager.is_blocked(
        "recording"
    )


_UNSAFE_IN_FILE_NAME = re.compile(r'[<>:"/\\|?*\x00-\x1f]')  # in a test id, not in a file name


class HarnessSession:
    """The session's settings and the results records of every model test (merged from xdist workers)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.owns_options = not recording_owns_options(config.pluginmanager)
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
        # full results records only when a file or report is written (by this process, or by the xdist
        # controller, which says so): else each test keeps just the figures the terminal summary shows
        self.full_records = (worker_input or {}).get("harness_full_records") or bool(
            config.getoption("harness_results") or config.getoption("harness_report")
        )
        # each record kept as its JSON line until the session ends: thousands of nested dicts alive all
        # session would make every full garbage collection slower, test after test
        self._lines: list[bytes] = []
        self._decoded: list[dict[str, Any]] = []
        self.written: list[tuple[str, Path]] = []
        self.blocker = NetworkBlocker()
        # with pytest-recording, its own guard enforces --block-network (per test, loopback included unless
        # --allowed-hosts / --allow-private-ips): a second guard would be undone by its after each test
        self.recording_blocks = bool(config.getoption("block_network", False)) and not self.owns_options
        if config.getoption("block_network", False) and self.record_mode == "none" and self.owns_options:
            self.blocker.install()
        self._pricing: Any = None
        self._holds_clients = False
        self._root: Path | None = None
        self._folders: dict[Any, tuple[Path, str]] = {}

    def _record_mode(self) -> str:
        cli = self.config.getoption("record_mode", None)
        if cli == "none" and not self.owns_options:
            cli = None  # pytest-recording's default: an explicit --record-mode=none is indistinguishable
        if cli:
            return check_record_mode(cli, "--record-mode")
        env = os.environ.get("HARNESS_RECORD_MODE")
        return check_record_mode(env, "HARNESS_RECORD_MODE") if env else "none"

    def hold_clients(self) -> None:
        """Other clients' transports stay patched from the first cassette to the end of the session,
        rather than patched and unpatched around every test (`harness.cassettes.clients.hold`)."""
        if not self._holds_clients:
            from harness.cassettes import clients

            clients.hold()
            self._holds_clients = True

    def let_go_of_clients(self) -> None:
        if self._holds_clients:
            from harness.cassettes import clients

            clients.let_go()
            self._holds_clients = False

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

    def cassette_path(self, item: Any, override: str | os.PathLike[str] | None) -> tuple[Path, str]:
        """This test's cassette, and that path as its record shows it (`relative`)."""
        if override:
            path = self.cassette_dir / Path(override)  # an absolute override stays absolute
            return path, self.relative(path)
        found = self._folders.get(item.path)  # one per test module, computed once
        if found is None:
            try:
                module = Path(item.path).relative_to(self.config.rootpath).with_suffix("")
            except ValueError:
                module = Path(Path(item.path).stem)
            folder = self.cassette_dir / module
            found = self._folders[item.path] = (folder, self.relative(folder))
        name = (f"{item.cls.__name__}." if getattr(item, "cls", None) else "") + item.name
        file = _UNSAFE_IN_FILE_NAME.sub("-", name) + ".yaml"
        return found[0] / file, f"{found[1]}/{file}"  # a file name of no "/" and never ".."

    def relative(self, path: Path) -> str:
        """`path` relative to the rootdir. A cassette path is built under the rootdir, so most are
        relative as they stand; only others are resolved (symlinks), and the rootdir once a session."""
        if ".." not in path.parts:
            try:
                return path.relative_to(self.config.rootpath).as_posix()
            except ValueError:
                pass
        if self._root is None:
            self._root = self.config.rootpath.resolve()
        try:
            return path.resolve().relative_to(self._root).as_posix()
        except ValueError:
            return path.as_posix()

    @property
    def records(self) -> list[dict[str, Any]]:
        """Every results record of the session (from xdist workers too), decoded once when first asked."""
        if len(self._decoded) != len(self._lines):
            from harness.results.io import loads_line

            self._decoded = [loads_line(line) for line in self._lines]
        return self._decoded

    # --- per test ----------------------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Any:
        """A miss (or refused write) inside another library's client (openai, anthropic, ...) left it as
        CassetteSignal, past the SDK's retry loop: the test fails with the CassetteError itself."""
        try:
            return (yield)
        except CassetteSignal as signal:
            raise signal.error.with_traceback(signal.__traceback__) from None

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        capture = item.stash.get(CAPTURE, None)
        if capture is not None and call.when == "teardown":
            if call.excinfo is not None and capture.status in (None, "passed"):
                capture.status, capture.error = "error", error_text(call.excinfo)
            self._finish(item, capture)  # before the teardown report: JUnit reads its user_properties
        report = yield
        if capture is not None and call.when in ("setup", "call"):
            self._note(item, capture, call, report)
        elif capture is not None:
            # its record is made: let the test's cassette, calls and errors (with their frames) go,
            # rather than keep them alive on the item for the rest of the session
            del item.stash[CAPTURE]
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
            capture.used or capture.calls or capture.suite_records or capture.other_calls()
        ):
            return
        params: dict[str, Any] = {}
        if self.full_records:  # vars and tags: only a full record has them
            params = dict(getattr(getattr(item, "callspec", None), "params", {}))
            params.pop("chat_model", None)
        records = capture.records(
            run_id=self.run_id,
            case_id=case_id(item.nodeid, capture.param_model),
            nodeid=item.nodeid,
            vars=jsonable(params),
            tags=marker_options(item).get("tags", []) if self.full_records else [],
            pricing=self.pricing,
            full=self.full_records,
        )
        from harness.results.io import dumps_line  # the plugin's start-up imports no results code

        self._lines.extend(dumps_line(r) for r in records)
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
        node.workerinput["harness_full_records"] = self.full_records

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        lines = (getattr(node, "workeroutput", None) or {}).get("harness_records") or ""
        self._lines.extend(line.encode() + b"\n" for line in lines.splitlines() if line.strip())

    # --- end of session ----------------------------------------------------------------------------

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.is_worker:
            # execnet sends str: the JSON lines as they are
            self.config.workeroutput["harness_records"] = b"".join(self._lines).decode()  # type: ignore[attr-defined]
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
        if self.recording_blocks:
            blocked = ", network blocked by pytest-recording (loopback too, unless --allowed-hosts allows it)"
        return (
            f"harness: models {models}; record mode {self.record_mode}; "
            f"cassettes {self.relative(self.cassette_dir)}/{blocked}"
        )
