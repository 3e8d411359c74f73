"""Python objects named in suite files: the one `import_object` of the package.

Suites name functions and classes (a `python` check, a `pydantic` class, a `similar` embedder, a
tool's `function:`, a structured-output schema) in one of two forms:

- `package.module:name` — importable from the environment; the working directory is importable too,
  as it would be under `python -m`, because `harness run` is a console script and would not see
  `checks.py` next to the user otherwise;
- `path/to/file.py:name` (a `file://` prefix is allowed) — relative to the suite's folder when the
  name comes from a suite file and the file is there, else relative to the working directory.

`name` may be dotted (`Outer.Inner`). Every failure is an `ImportPathError` with one line: what named
the object, the path, what failed and the allowed forms.

May import: `harness.errors`.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from harness.errors import ImportPathError

IMPORT_FORM = "'package.module:name' or 'path/to/file.py:name'"
_IMPORT_RE = re.compile(r"^(?:file://)?[^:\s]+:[A-Za-z_][A-Za-z0-9_.]*$")


def check_import_form(path: str, what: str) -> str:
    """Check only the *form* of an import path (when a suite loads); returns it stripped."""
    if not isinstance(path, str) or not _IMPORT_RE.match(path.strip()):
        raise ValueError(f"{what} must look like {IMPORT_FORM}; got {path!r}")
    return path.strip()


def import_object(
    path: str, what: str = "import path", *, base_dir: str | os.PathLike[str] | None = None
) -> Any:
    """The object `path` names. `base_dir` is the folder of the suite that named it (None: the
    working directory only). Raises ImportPathError."""
    try:
        target = check_import_form(path, what).removeprefix("file://")
    except ValueError as e:
        raise ImportPathError(str(e)) from None
    module_part, attr = target.rsplit(":", 1)
    try:
        if module_part.endswith(".py"):
            module = _load_file(_find_file(module_part, base_dir))
        else:
            _working_directory_importable()
            module = importlib.import_module(module_part)
    except Exception as e:  # user code ran: whatever it raised is reported on the one line
        raise ImportPathError(
            f"{what} {path!r}: cannot import {module_part!r} ({type(e).__name__}: {e}); expected {IMPORT_FORM}"
        ) from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ImportPathError(
                f"{what} {path!r}: module {module_part!r} has no attribute {attr!r}; expected {IMPORT_FORM}"
            )
        obj = getattr(obj, part)
    return obj


def _working_directory_importable() -> None:
    # Appended, not prepended: an installed package of the same name still wins.
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.append(cwd)


def _find_file(name: str, base_dir: str | os.PathLike[str] | None) -> Path:
    given = Path(name)
    folders = [Path(base_dir)] if base_dir is not None and not given.is_absolute() else []
    folders.append(Path.cwd())
    for folder in folders:
        candidate = (folder / given).resolve()
        if candidate.is_file():
            return candidate
    looked = " or ".join(repr(str(f)) for f in dict.fromkeys(folders))
    raise FileNotFoundError(f"no such file {name!r} (looked in {looked})")


def _load_file(file: Path) -> ModuleType:
    """Import a .py file once per process (several paths may name objects in the same file)."""
    name = "_harness_user_" + re.sub(r"\W", "_", str(file))
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise ImportError(f"{str(file)!r} cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
