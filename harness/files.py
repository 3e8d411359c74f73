"""Files harness writes on the user's behalf: the one atomic write of the package (no reader ever sees
half a file), a private lock directory no other user can squat, and paths read from a file kept
inside the directory they belong to.

Cassettes, run.json, results.jsonl rewrites, reports and the suite cache all go through
`write_atomic`. The data goes to a temporary file in the target's folder (same file system, so the
rename is atomic), is flushed to disk, and then replaces the target in one `os.replace`.

Temporary names start with "." and end with ".tmp" (`.results.jsonl.1a2b3c4d.tmp`), so one ignore
pattern (`.*.tmp`) keeps an interrupted write out of version control.

May import: `harness.errors`.
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import stat
import tempfile
from pathlib import Path

from harness.errors import CassetteError, InputError

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
            # no fsync: the rename is what keeps a killed process from leaving half a file, and the
            # kernel holds the data across a kill; an fsync per cassette cost ~5 ms (x thousands of cells)
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


def remove_stale_temporaries(target: str | os.PathLike[str]) -> int:
    """Remove temporaries of `target` left by a killed writer. Only safe while holding the lock every
    writer of `target` takes (a temporary seen then belongs to no live write). Returns how many."""
    path = Path(target)
    removed = 0
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
            removed += 1
    return removed


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


def confined(
    path: str | os.PathLike[str],
    root: str | os.PathLike[str],
    *,
    what: str,
    source: str,
    hidden: bool = True,
) -> Path:
    """`path` resolved, when it lies inside `root`; else an InputError naming `source` (the file that
    gave the path) and what is allowed. `hidden=False` also refuses a hidden name on the way, as
    given or after symlinks (`.env`, `.aws/credentials`, `.git/config`: see `hidden_name`)."""
    resolved = Path(root, path).resolve()
    base = Path(root).resolve()
    if resolved != base and base not in resolved.parents:
        raise InputError(
            f"{what} must lie inside {base}; received {str(path)!r} (resolves to {resolved})", path=source
        )
    name = None if hidden else hidden_name(path, resolved, base)
    if name is not None:
        raise InputError(f"{what} {hidden_refusal(name)}; received {str(path)!r}", path=source)
    return resolved


def hidden_refusal(name: str) -> str:
    return (
        f"may not name a hidden file or folder ({name!r}), where credentials live (.env, .aws, .git, .netrc)"
    )


def hidden_name(path: str | os.PathLike[str], resolved: Path, base: Path) -> str | None:
    """The first name starting with "." in `path` as given or in `resolved` (below `base`), else None:
    what a suite may not read, so a suite from someone else cannot send your `.env` to a model and
    into cassettes, results and reports."""
    for part in (*Path(path).parts, *resolved.relative_to(base).parts):
        if part.startswith(".") and part not in (".", ".."):
            return part
    return None


def unwritable(path: str | os.PathLike[str], *, directory: bool = False) -> str | None:
    """Why harness could not create `path` (a file, or with `directory` a folder) and its missing
    parents, or None when it can: checked before a run, so a typo'd output path is one line, not a
    traceback after the last cell."""
    target = Path(path)
    if target.exists():
        if target.is_dir() != directory:
            return f"{str(target)!r} is {'a file' if directory else 'a directory'}"
        return None if os.access(target, os.W_OK) else f"no permission to write {str(target)!r}"
    parent = target.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"{str(parent)!r} is a file, not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"no permission to create files in {str(parent)!r}"
    return None
