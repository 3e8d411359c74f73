"""Install the previous major releases of the openai and anthropic SDKs beside the current ones, for
tests/test_cassettes_sdk_majors.py (each in its own folder under .sdk-previous/, gitignored; their
dependencies are the project environment's). `.ci/run` calls it; run it once locally:

    python scripts/install_previous_sdks.py

openai 2.x sends through httpx, anthropic 1.x through httpx2 (the current majors: openai 3.x and
anthropic 2.x, both on httpx2).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TARGET = Path(__file__).resolve().parent.parent / ".sdk-previous"
PREVIOUS = {"openai2": "openai>=2,<3", "anthropic1": "anthropic>=1,<2"}


def main() -> int:
    for folder, requirement in PREVIOUS.items():
        where = TARGET / folder
        if where.is_dir() and any(where.glob("*.dist-info")):
            continue
        cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(where), requirement]
        if subprocess.run(cmd).returncode != 0:
            print(f"could not install {requirement} into {where}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
