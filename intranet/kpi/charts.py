"""12-month trend charts, drawn by matplotlib (Agg, object API: no pyplot global state, safe in
threads) to PNG files served by a route as <img>, never inline SVG (the CSP forbids inline styles).

Charts are cached by content: the file name is a hash of exactly what is drawn (values, target,
labels), so a chart is drawn once per distinct picture and a changed figure can never show a stale
image. Every chart has a text alternative: the page's alt text summarises it and a visually hidden
table beside it gives every value.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

from flask import current_app

from .engine import KpiResult, Month

_STATUS_COLOURS = {"green": "#00703c", "amber": "#b58800", "red": "#d4351c"}
CHART_VERSION = "1"


def series_of(trend: list[tuple[Month, KpiResult | None]]) -> list[tuple[str, float | None, str]]:
    return [(m.first.strftime("%b %y"), r.value if r else None, r.status if r else "no data") for m, r in trend]


def chart_key(name: str, series, target: float, direction: str) -> str:
    payload = json.dumps([CHART_VERSION, name, series, target, direction], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def draw_png(title: str, series, target: float, direction: str) -> bytes:
    """A line of the monthly values with the target dashed; months without data leave a gap."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 2.6), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    labels = [s[0] for s in series]
    xs = list(range(len(series)))
    values = [s[1] for s in series]
    ax.plot(xs, [v if v is not None else float("nan") for v in values], color="#1d70b8", linewidth=2,
            marker="o", markersize=4, label="Measured")
    for x, (_, v, status) in zip(xs, series):
        if v is not None:
            ax.plot([x], [v], marker="o", markersize=6, color=_STATUS_COLOURS.get(status, "#505a5f"))
    ax.axhline(target, color="#0b0c0c", linestyle="--", linewidth=1,
               label=f"Target ({'at least' if direction == 'at_least' else 'at most'} {target:g}%)")
    known = [v for v in values if v is not None] + [target]
    low, high = min(known), max(known)
    pad = max(2.0, (high - low) * 0.15)
    ax.set_ylim(max(0.0, low - pad), min(100.0, high + pad) if high + pad > 100 or high <= 100 else high + pad)
    ax.set_xticks(xs)
    ax.set_xticklabels(labels, fontsize=7)
    ax.tick_params(axis="y", labelsize=7)
    ax.set_ylabel("%", fontsize=8)
    ax.grid(axis="y", color="#b1b4b6", linewidth=0.5)
    ax.legend(fontsize=7, loc="best", frameon=False)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def cache_dir() -> Path:
    folder = Path(current_app.instance_path) / "kpi_charts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def chart_png(name: str, title: str, series, target: float, direction: str) -> tuple[bytes, str]:
    """(PNG bytes, content key): from the cache when this exact picture was drawn before."""
    key = chart_key(name, series, target, direction)
    path = cache_dir() / f"{key}.png"
    if path.is_file():
        return path.read_bytes(), key
    png = draw_png(title, series, target, direction)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(png)
    os.replace(tmp, path)  # atomic: a concurrent reader never sees half a file
    return png, key


def alt_text(title: str, series, target: float, direction: str) -> str:
    """One sentence a screen reader can use; the hidden table beside the chart has every value."""
    known = [(label, v) for label, v, _ in series if v is not None]
    words = "at least" if direction == "at_least" else "at most"
    if not known:
        return f"Trend of {title} over 12 months: no data yet. Target {words} {target:g}%."
    first, last = known[0], known[-1]
    best = max(known, key=lambda lv: lv[1]) if direction == "at_least" else min(known, key=lambda lv: lv[1])
    worst = min(known, key=lambda lv: lv[1]) if direction == "at_least" else max(known, key=lambda lv: lv[1])
    return (f"Trend of {title} over 12 months, target {words} {target:g}%: {first[1]:.1f}% in {first[0]}, "
            f"{last[1]:.1f}% in {last[0]}; best {best[1]:.1f}% in {best[0]}, worst {worst[1]:.1f}% in {worst[0]}.")
