"""Record modes (vcrpy / pytest-recording names and semantics) and replay speeds."""

from __future__ import annotations

import os

from harness.errors import ConfigurationError

RECORD_MODES = ("none", "once", "new_episodes", "all", "rewrite")


def default_record_mode() -> str:
    env = os.environ.get("HARNESS_RECORD_MODE")
    if env:
        return check_record_mode(env, "HARNESS_RECORD_MODE")
    return "none" if os.environ.get("CI") else "once"


def check_record_mode(mode: str, where: str = "record_mode") -> str:
    m = mode.strip().lower().replace("-", "_")
    if m not in RECORD_MODES:
        raise ConfigurationError(f"{where}: unknown record mode {mode!r}; allowed: {', '.join(RECORD_MODES)}")
    return m


def parse_replay_speed(speed: str | float | None) -> float | None:
    """None = instant; 1.0 = recorded pace; 2.0 = twice as fast."""
    if speed is None or speed == "instant":
        return None
    if speed == "realtime":
        return 1.0
    if isinstance(speed, (int, float)) and not isinstance(speed, bool) and speed > 0:
        return float(speed)
    if isinstance(speed, str):
        try:
            value = float(speed)
        except ValueError:
            value = 0.0
        if value > 0:
            return value
    raise ConfigurationError(
        f"replay_speed: expected 'instant', 'realtime' or a factor > 0, received {speed!r}"
    )
