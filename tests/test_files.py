"""Files harness writes (cassettes, run.json, reports) are replaced atomically and take the user's
umask; an interrupted write leaves the old file and no temporary file."""

from __future__ import annotations

import os
import stat

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.files import write_atomic
from harness.testing import ProviderEmulator

SUITE = "name: perms\nmodels: [openai:gpt-4.1-mini]\ncases: [{id: a, prompt: hi}]\n"


@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(old)


def test_written_files_follow_the_umask_and_leave_no_temporary_files(tmp_path, monkeypatch, umask_027):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "perms.yaml").write_text(SUITE, encoding="utf-8")
    with ProviderEmulator() as emu:
        env = {"OPENAI_BASE_URL": emu.base_url("openai"), "OPENAI_API_KEY": "sk-test", "CI": ""}
        result = CliRunner().invoke(
            cli,
            ["run", "perms.yaml", "--record-mode", "all", "--out", "run", "--report", "report.html"],
            env=env,
            catch_exceptions=False,
        )
    assert result.exit_code == 0, result.output + result.stderr
    written = [
        tmp_path / "run" / "run.json",
        tmp_path / "report.html",
        tmp_path / "cassettes" / "perms" / "a" / "openai-gpt-4.1-mini.yaml",
    ]
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path
    assert [p for p in tmp_path.rglob("*.tmp")] == []


def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary_file(tmp_path):
    target = tmp_path / "run.json"
    write_atomic(target, '{"old": true}\n')
    with pytest.raises(TypeError):
        write_atomic(target, 42)  # type: ignore[arg-type]
    assert target.read_text() == '{"old": true}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]
