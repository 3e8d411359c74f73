"""Number formatting shared by the charts and the template (the page's JS mirrors these)."""

from __future__ import annotations

import math
from typing import Any


def fmt_ms(v: Any) -> str:
    if v is None:
        return "–"
    v = float(v)
    if v >= 10_000:
        return f"{v / 1000:.1f} s"
    if v >= 1000:
        return f"{v / 1000:.2f} s"
    return f"{v:.0f} ms"


def fmt_tokens(v: Any) -> str:
    if v is None:
        return "–"
    v = float(v)
    if v >= 1e6:
        return f"{v / 1e6:.1f}M"
    if v >= 1e4:
        return f"{v / 1e3:.0f}k"
    if v >= 1e3:
        return f"{v / 1e3:.1f}k"
    return f"{v:.0f}"


def fmt_usd(v: Any) -> str:
    if v is None:
        return "–"
    v = float(v)
    if v == 0:
        return "$0"
    if abs(v) >= 100:
        return f"${v:,.0f}"
    if abs(v) >= 1:
        return f"${v:,.2f}"
    if abs(v) >= 0.01:
        return f"${v:.3f}"
    if abs(v) < 1e-7:
        return "<$0.0000001" if v > 0 else "-<$0.0000001"
    digits = -math.floor(math.log10(abs(v))) + 1
    return f"${v:.{digits}f}"


def fmt_pct(v: Any) -> str:
    return "–" if v is None else f"{float(v) * 100:.1f}%"


def fmt_int(v: Any) -> str:
    return "–" if v is None else f"{int(v):,}"
