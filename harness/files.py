"""Files harness writes on the user's behalf: atomic replacement that honours the umask, a private lock
directory no other user can squat, and paths read from a file kept inside the directory they belong to.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import tempfile
from pathlib import Path

from harness.errors import CassetteError, InputError


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` in one step. The new file's mode is what the user's umask gives any
    file they create (0o666 & ~umask), not a fixed one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    # O_EXCL: never write through a file or link someone else put there; 0o666 is filtered by the umask
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def private_dir(name: str) -> Path:
    """A directory under the temp dir that only this user can enter (0700), created if needed.

    Refuses one that is a symlink, is not a directory or belongs to someone else (a lock directory another
    user controls would let them block or observe recordings); one of ours open to others is closed."""
    uid = os.getuid() if hasattr(os, "getuid") else None
    path = Path(tempfile.gettempdir()) / (f"{name}-{uid}" if uid is not None else name)
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
    st = os.lstat(path)
    problem = None
    if stat.S_ISLNK(st.st_mode):
        problem = "is a symbolic link"
    elif not stat.S_ISDIR(st.st_mode):
        problem = "is not a directory"
    elif uid is not None and st.st_uid != uid:
        problem = f"belongs to user id {st.st_uid}, not to you ({uid})"
    elif st.st_mode & 0o077:
        os.chmod(path, 0o700)  # ours, made by an older harness with the default mode: close it
    if problem is not None:
        raise CassetteError(
            f"{path}: the private lock directory {problem}; remove it (or set TMPDIR to a directory of "
            "your own) and run again"
        )
    return path


def confined(path: str | os.PathLike[str], root: str | os.PathLike[str], *, what: str, source: str) -> Path:
    """`path` resolved, when it lies inside `root`; else an InputError naming `source` (the file that
    gave the path) and what is allowed."""
    resolved = Path(root, path).resolve()
    base = Path(root).resolve()
    if resolved != base and base not in resolved.parents:
        raise InputError(
            f"{what} must lie inside {base}; received {str(path)!r} (resolves to {resolved})", path=source
        )
    return resolved
