"""Writing a file so that no reader ever sees half of it: the one atomic write of the package.

Cassettes, run.json, results.jsonl rewrites, reports and the suite cache all go through
`write_atomic`. The data goes to a temporary file in the target's folder (same file system, so the
rename is atomic), is flushed to disk, and then replaces the target in one `os.replace`.

Temporary names start with "." and end with ".tmp" (`.results.jsonl.1a2b3c4d.tmp`), so one ignore
pattern (`.*.tmp`) keeps an interrupted write out of version control.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

# Created with these permission bits and the process's umask applied by the OS, exactly like
# `open(path, "w")`: a shared project (umask 002) gets group-writable files, a private one does not.
_NEW_FILE_MODE = 0o666


def write_atomic(path: str | os.PathLike[str], data: bytes | str) -> Path:
    """Replace `path` with `data` (a str is written as UTF-8, newlines untouched) in one step.

    Creates missing parent folders. On any failure the target is left as it was and the temporary
    file is removed. Returns the path written.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = _create_temporary(target)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())  # the rename must never publish a file whose data is not on disk
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target


def _create_temporary(target: Path) -> tuple[int, Path]:
    """A new, exclusively created file next to `target`; `tempfile.mkstemp` would force mode 0600."""
    while True:
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _NEW_FILE_MODE), tmp
        except FileExistsError:
            continue
