"""Inline SVG charts for the report summary (server-side; no JavaScript or chart library needed).

Every chart has a <title>/<desc>, labelled axes with units, and values written next to the marks, so
colour is never the only signal.
"""

from __future__ import annotations

import math
from typing import Any

from markupsafe import Markup, escape

from harness.report.fmt import fmt_ms, fmt_tokens, fmt_usd

W = 520
LABEL_W = 120
PLOT_L = LABEL_W + 8
PLOT_R = W - 70
ROW_H = 30
TOP = 34


def nice_ticks(vmax: float, n: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``vmax``."""
    if vmax <= 0:
        return [0.0, 1.0]
    raw = vmax / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    count = math.ceil(vmax / step - 1e-9)
    return [round(i * step, 10) for i in range(count + 1)]


def _x(v: float, vmax: float) -> float:
    return PLOT_L + (PLOT_R - PLOT_L) * (v / vmax if vmax else 0)


def _text(x: float, y: float, s: Any, *, cls: str = "", anchor: str = "start") -> str:
    c = f' class="{cls}"' if cls else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{c}>{escape(str(s))}</text>'


def _frame(
    cid: str,
    title: str,
    desc: str,
    height: float,
    body: list[str],
    names: list[str] | None = None,
    right: float = W,
) -> Markup:
    # model labels end at LABEL_W and are never cut: a longer one widens the chart to its left; a value
    # written after a bar that reaches past W (`right`, its estimated end) widens it to its right
    extra = round(max([0.0, *(label_width(n) - LABEL_W + 4 for n in names or [])]))
    wide = W + extra + max(0, math.ceil(right - W))
    head = (
        f'<svg class="chart" id="{cid}" viewBox="{-extra:.0f} 0 {wide:.0f} {height:.0f}" role="img" '
        f'aria-labelledby="{cid}-t {cid}-d" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{cid}-t">{escape(title)}</title><desc id="{cid}-d">{escape(desc)}</desc>'
    )
    return Markup(head + "".join(body) + "</svg>")


LABEL_CHAR_W = 8.0  # an upper bound of one character's width at the label font (12px bold)
MINI_CHAR_W = 6.4  # the same at the value font (10px: a digit of DejaVu Sans is 6.36px)


def mini_end(x: float, text: str) -> float:
    """Where a value label written at `x` ends, at most."""
    return x + MINI_CHAR_W * len(text)


def label_width(name: str) -> float:
    return LABEL_CHAR_W * len(name)


def _label(y: float, name: str) -> str:
    return (
        f'<text x="{LABEL_W:.1f}" y="{y:.1f}" text-anchor="end" class="lbl">'
        f"<title>{escape(name)}</title>{escape(name)}</text>"
    )


def _axis(vmax_ticks: list[float], y0: float, y1: float, fmt, unit: str) -> list[str]:
    vmax = vmax_ticks[-1]
    out = []
    for t in vmax_ticks:
        x = _x(t, vmax)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y0:.1f}" y2="{y1:.1f}" class="grid"/>')
        out.append(_text(x, y1 + 14, fmt(t), cls="tick", anchor="middle"))
    out.append(_text((PLOT_L + PLOT_R) / 2, y1 + 28, unit, cls="unit", anchor="middle"))
    return out


def _legend(items: list[tuple[str, str]], y: float = 14) -> list[str]:
    out: list[str] = []
    x: float = PLOT_L
    for cls, label in items:
        out.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="11" height="11" rx="2" class="{cls}"/>')
        out.append(_text(x + 15, y, label, cls="legend"))
        x += 24 + 6.6 * len(label)
    return out


def pass_rate_chart(summary: list[dict[str, Any]]) -> Markup:
    rows = len(summary)
    h = TOP + rows * ROW_H + 40
    body = _legend([("s-pass", "✓ passed"), ("s-fail", "✗ failed"), ("s-err", "⚠ error")])
    body += _axis([0, 25, 50, 75, 100], TOP - 6, TOP + rows * ROW_H, lambda v: f"{v:g}", "share of cells (%)")
    for i, s in enumerate(summary):
        y = TOP + i * ROW_H
        body.append(_label(y + 15, s["model_id"]))
        cells = s["cells"] or 1
        x = PLOT_L
        for key, cls, icon in (
            ("passed", "s-pass", "✓"),
            ("failed", "s-fail", "✗"),
            ("errors", "s-err", "⚠"),
        ):
            n = s[key]
            if not n:
                continue
            w = (PLOT_R - PLOT_L) * n / cells
            body.append(
                f'<rect x="{x:.1f}" y="{y + 4:.1f}" width="{w:.1f}" height="{ROW_H - 10}" class="{cls}">'
                f"<title>{escape(s['model_id'])}: {n} {key}</title></rect>"
            )
            label = f"{icon}{n}"
            if w > 7 * len(label) + 8:
                body.append(_text(x + w / 2, y + 19, label, cls="in-bar", anchor="middle"))
            x += w
        rate = s["pass_rate"]
        body.append(_text(PLOT_R + 6, y + 19, "–" if rate is None else f"{rate * 100:.1f}%", cls="val"))
    return _frame(
        "chart-pass",
        "Pass rate per model",
        "Stacked bars of passed, failed and errored cells per model, as a percentage of cells.",
        h,
        body,
        [str(s["model_id"]) for s in summary],
    )


def latency_chart(summary: list[dict[str, Any]]) -> Markup:
    rows = len(summary)
    h = TOP + rows * ROW_H + 40
    boxes = [s.get("latency_box") for s in summary]
    vmax = max((b["p95"] for b in boxes if b), default=0.0)
    ticks = nice_ticks(vmax)
    seconds = ticks[-1] >= 5000
    fmt = (lambda v: f"{v / 1000:g}") if seconds else (lambda v: f"{v:g}")
    body = _legend([("box", "p25–p75 box · median line · whiskers p5–p95")])
    body += _axis(
        ticks,
        TOP - 6,
        TOP + rows * ROW_H,
        fmt,
        "latency per cell (s)" if seconds else "latency per cell (ms)",
    )
    top = ticks[-1]
    for i, (s, b) in enumerate(zip(summary, boxes, strict=True)):
        y = TOP + i * ROW_H
        mid = y + ROW_H / 2
        body.append(_label(mid + 4, s["model_id"]))
        if not b:
            body.append(_text(PLOT_L + 4, mid + 4, "no timings", cls="muted"))
            continue
        x5, x25, x50, x75, x95 = (_x(b[k], top) for k in ("p5", "p25", "p50", "p75", "p95"))
        tip = (
            f"{s['model_id']}: p5 {fmt_ms(b['p5'])}, p25 {fmt_ms(b['p25'])}, median {fmt_ms(b['p50'])}, "
            f"p75 {fmt_ms(b['p75'])}, p95 {fmt_ms(b['p95'])}"
        )
        body.append(
            f"<g><title>{escape(tip)}</title>"
            f'<line x1="{x5:.1f}" x2="{x95:.1f}" y1="{mid:.1f}" y2="{mid:.1f}" class="whisker"/>'
            f'<line x1="{x5:.1f}" x2="{x5:.1f}" y1="{mid - 6:.1f}" y2="{mid + 6:.1f}" class="whisker"/>'
            f'<line x1="{x95:.1f}" x2="{x95:.1f}" y1="{mid - 6:.1f}" y2="{mid + 6:.1f}" class="whisker"/>'
            f'<rect x="{x25:.1f}" y="{y + 6:.1f}" width="{max(x75 - x25, 1.5):.1f}" height="{ROW_H - 12}" '
            f'class="box"/><line x1="{x50:.1f}" x2="{x50:.1f}" y1="{y + 4:.1f}" y2="{y + ROW_H - 4:.1f}" '
            f'class="median"/></g>'
        )
        body.append(_text(PLOT_R + 6, mid + 4, fmt_ms(b["p50"]), cls="val"))
    return _frame(
        "chart-latency",
        "Latency distribution per model",
        "Box plots of total model-call latency per cell; value at right is the median.",
        h,
        body,
        [str(s["model_id"]) for s in summary],
    )


def _bar(
    y: float, value: float, top: float, height: int, cls: str, title: str, label: str, label_dy: float
) -> tuple[list[str], float]:
    """One horizontal bar of a grouped bar chart (`title`: its tooltip, already escaped) and its label;
    with the x where the label ends, so the chart can widen to show it whole."""
    w = max(_x(value, top) - PLOT_L, 0 if not value else 1.5)
    parts = [
        f'<rect x="{PLOT_L}" y="{y:.1f}" width="{w:.1f}" height="{height}" class="{cls}">'
        f"<title>{title}</title></rect>",
        _text(PLOT_L + w + 4, y + label_dy, label, cls="mini"),
    ]
    return parts, mini_end(PLOT_L + w + 4, label)


TOKEN_SERIES = (
    ("input_tokens", "t-in", "input"),
    ("output_tokens", "t-out", "output"),
    ("cached_tokens", "t-cache", "cached"),
    ("reasoning_tokens", "t-reason", "reasoning"),
)


def tokens_chart(summary: list[dict[str, Any]]) -> Markup:
    bar = 9
    group = bar * len(TOKEN_SERIES) + 12
    h = TOP + len(summary) * group + 40
    vmax = max((s[k] for s in summary for k, _, _ in TOKEN_SERIES), default=0)
    ticks = nice_ticks(vmax)
    body = _legend([(cls, label) for _, cls, label in TOKEN_SERIES])
    body += _axis(ticks, TOP - 6, TOP + len(summary) * group, fmt_tokens, "tokens (sum over cells)")
    right = float(W)
    for i, s in enumerate(summary):
        y = TOP + i * group
        body.append(_label(y + group / 2, s["model_id"]))
        for j, (key, cls, label) in enumerate(TOKEN_SERIES):
            by = y + 4 + j * bar
            title = f"{escape(s['model_id'])} {label}: {s[key]:,} tokens"
            parts, end = _bar(by, s[key], ticks[-1], bar - 2, cls, title, f"{label} {fmt_tokens(s[key])}", 7)
            body += parts
            right = max(right, end)
    return _frame(
        "chart-tokens",
        "Tokens per model",
        "Input, output, cached and reasoning tokens summed over every cell of each model.",
        h,
        body,
        [str(s["model_id"]) for s in summary],
        right,
    )


def cost_chart(summary: list[dict[str, Any]]) -> Markup:
    bar = 11
    group = bar * 2 + 12
    h = TOP + len(summary) * group + 40
    vmax = max((v for s in summary for v in ((s["cost_usd"] or 0), s["cost_avoided_usd"] or 0)), default=0)
    ticks = nice_ticks(vmax)
    body = _legend([("c-paid", "cost (incl. replayed)"), ("c-avoid", "avoided by replay")])
    body += _axis(ticks, TOP - 6, TOP + len(summary) * group, _plain, "cost (USD)")
    right = float(W)
    for i, s in enumerate(summary):
        y = TOP + i * group
        body.append(_label(y + group / 2, s["model_id"]))
        for j, (value, cls, what) in enumerate(
            ((s["cost_usd"], "c-paid", "cost"), (s["cost_avoided_usd"], "c-avoid", "avoided"))
        ):
            by = y + 4 + j * bar
            if value is None:
                body.append(_text(PLOT_L + 4, by + 9, "no price", cls="mini"))
                continue
            title = f"{escape(s['model_id'])} {what}: {fmt_usd(value)}"
            parts, end = _bar(by, value, ticks[-1], bar - 2, cls, title, f"{what} {fmt_usd(value)}", 8)
            body += parts
            right = max(right, end)
    return _frame(
        "chart-cost",
        "Cost per model",
        "Cost in US dollars per model, and the part avoided because calls were replayed.",
        h,
        body,
        [str(s["model_id"]) for s in summary],
        right,
    )


def _plain(v: float) -> str:
    """A tick value as people write it: 0.00002, not Python's 2e-05."""
    return f"{v:.10f}".rstrip("0").rstrip(".") if v else "0"


def all_charts(summary: list[dict[str, Any]]) -> list[tuple[str, Markup]]:
    if not summary:
        return []
    return [
        ("Pass rate", pass_rate_chart(summary)),
        ("Latency", latency_chart(summary)),
        ("Tokens", tokens_chart(summary)),
        ("Cost", cost_chart(summary)),
    ]
