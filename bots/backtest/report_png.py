"""The headless backtest chart: one PNG with four panels on one date axis (matplotlib, extra ``plot``).

The same reduction as the HTML report (:mod:`bots.backtest.chart_data`), at one level a still image can
show: at most ``max_bars`` candles (400 by default), the grid band shaded behind them, the fills per bucket
in a panel of their own (buys up, sells down; on the price too, under the candles, only when few enough to
see), equity with the drawdown below its running peak shaded and the deepest one marked, and the position's
mean per bucket as a step line over the range it moved through. Times are UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bots.backtest.chart_data import TITLES, ChartData, Level, bucket_label, chart_data
from bots.backtest.engine import BacktestResult
from bots.backtest.report import format_headline

__all__ = ["build_figure", "write_png", "MARKERS_UP_TO"]

#: Fill markers go on the price panel only when each side has at most this many buckets.
MARKERS_UP_TO = 150

_BUY, _SELL, _CANDLE, _BAND = "#1a9850", "#d73027", "#3c4043", "#4285f4"


def write_png(result: BacktestResult, path: Path, *, metrics: Mapping[str, Any] | None = None,
              title: str = "Backtest", max_bars: int = 400) -> Path:
    """Draw ``result`` into ``path`` (PNG) and return it."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig = build_figure(result, metrics=metrics, title=title, max_bars=max_bars)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
    return path


def build_figure(result: BacktestResult, *, metrics: Mapping[str, Any] | None = None, title: str = "Backtest",
                 max_bars: int = 400) -> Any:
    """The matplotlib figure :func:`write_png` saves (the caller closes it)."""
    import matplotlib  # noqa: PLC0415 - optional extra

    matplotlib.use("Agg")
    import matplotlib.dates as mdates  # noqa: PLC0415
    import matplotlib.pyplot as plt  # noqa: PLC0415

    d = chart_data(result, max_bars=max_bars, overview_bars=max_bars)
    lv = d.level(max_bars)
    markers = max(len(lv.fills["buy"].t), len(lv.fills["sell"].t)) <= MARKERS_UP_TO
    size = bucket_label(lv.bucket_ms)
    titles = [t.format(size=size, fills=", fills (triangles)" if markers else "") for t in TITLES]
    fig, axes = plt.subplots(4, 1, figsize=(14, 11), sharex=True,
                             gridspec_kw={"height_ratios": [3.2, 1.1, 1.5, 1.2], "hspace": 0.28})
    ax_p, ax_f, ax_e, ax_q = axes
    day = _Days(mdates)
    _price(ax_p, lv, day, markers)
    _fills(ax_f, lv, day)
    _equity(ax_e, d, lv, day)
    _position(ax_q, lv, d.end_ms, day)
    for ax, text in zip(axes, titles, strict=True):
        ax.set_title(text, fontsize=10, loc="left")
        ax.grid(True, color="#e8eaed", linewidth=0.7)
        ax.tick_params(labelbottom=True, labelsize=8)
        if d.liquidation_t is not None:
            ax.axvline(day(d.liquidation_t), color="#d93025", linestyle="--", linewidth=1.5)
    locator = mdates.AutoDateLocator(tz=timezone.utc)
    ax_q.xaxis.set_major_locator(locator)
    ax_q.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=timezone.utc))
    ax_q.set_xlabel("time (UTC)")
    ax_q.set_xlim(day(d.start_ms), day(d.end_ms))
    head = format_headline(metrics).rstrip("\n") if metrics else ""
    fig.suptitle(title, x=0.06, y=0.995, ha="left", fontsize=13, fontweight="bold")
    fig.text(0.06, 0.968, head, ha="left", va="top", family="monospace", fontsize=8.5)
    fig.text(0.52, 0.968, "\n".join(d.description(shown=lv)), ha="left", va="top", fontsize=8, color="#5f6368",
             wrap=True)
    fig.subplots_adjust(left=0.06, right=0.985, top=0.86 if head else 0.93, bottom=0.05)
    return fig


class _Days:
    """ms since the epoch (UTC) -> matplotlib date numbers."""

    def __init__(self, mdates: Any) -> None:
        self.mdates = mdates

    def __call__(self, ms: float) -> float:
        return self.mdates.date2num(datetime.fromtimestamp(ms / 1000, tz=timezone.utc))

    def many(self, ms: list[int], shift_ms: float = 0) -> list[float]:
        return [self(t + shift_ms) for t in ms]


def _price(ax: Any, lv: Level, day: _Days, markers: bool) -> None:
    c = lv.candles
    width = lv.bucket_ms / 86_400_000
    x = day.many(c.t, lv.bucket_ms / 2)
    ax.fill_between(x, c.band_low, c.band_high, color=_BAND, alpha=0.25, linewidth=0, step="mid",
                    label="grid band")
    if markers:
        for side, marker, colour in (("buy", "^", _BUY), ("sell", "v", _SELL)):
            fb = lv.fills[side]
            top = max(fb.count, default=1)
            ax.scatter(day.many(fb.t, lv.bucket_ms / 2), fb.vwap, marker=marker, color=colour,
                       s=[14 + 40 * (n / top) for n in fb.count], alpha=0.75, linewidths=0, zorder=2,
                       label=f"{side} fills")
    ax.vlines(x, c.low, c.high, color=_CANDLE, linewidth=0.6, zorder=3)
    up = [o <= cl for o, cl in zip(c.open, c.close, strict=True)]
    body_lo = [min(o, cl) for o, cl in zip(c.open, c.close, strict=True)]
    body_h = [max(abs(cl - o), 1e-12) for o, cl in zip(c.open, c.close, strict=True)]
    ax.bar(x, body_h, bottom=body_lo, width=width * 0.7, color=["white" if u else _CANDLE for u in up],
           edgecolor=_CANDLE, linewidth=0.6, zorder=4)
    ax.set_ylabel("price")
    ax.legend(loc="upper left", fontsize=8, frameon=False)


def _fills(ax: Any, lv: Level, day: _Days) -> None:
    width = lv.bucket_ms / 86_400_000
    for side, colour, sign in (("buy", _BUY, 1), ("sell", _SELL, -1)):
        fb = lv.fills[side]
        ax.bar(day.many(fb.t, lv.bucket_ms / 2), [sign * n for n in fb.count], width=width * 0.9, color=colour,
               linewidth=0, label=f"{side}s")
    ax.axhline(0, color="#5f6368", linewidth=0.8)
    ax.set_ylabel("fills")


def _equity(ax: Any, d: ChartData, lv: Level, day: _Days) -> None:
    e = lv.equity
    x = day.many(e.t)
    ax.fill_between(x, e.close, e.peak, color="#d73027", alpha=0.28, linewidth=0, label="drawdown")
    ax.plot(x, e.peak, color="#9aa0a6", linewidth=0.8, linestyle=":", label="peak")
    ax.plot(x, e.close, color="#1a73e8", linewidth=1.2, label="equity")
    ax.plot(x, e.low, linewidth=0)  # not drawn: keeps every trough (and the deepest one's mark) in the axis
    if d.max_drawdown_t is not None and d.max_drawdown > 0:
        right = d.max_drawdown_t - d.start_ms > 0.75 * (d.end_ms - d.start_ms)  # near the right edge: text left
        ax.annotate(f"max drawdown {d.max_drawdown * 100:.2f} %", (day(d.max_drawdown_t), d.max_drawdown_equity),
                    xytext=(-12 if right else 12, 4), ha="right" if right else "left", textcoords="offset points",
                    fontsize=8, arrowprops={"arrowstyle": "-", "color": "#5f6368"})
    ax.set_ylabel("USD")


def _position(ax: Any, lv: Level, end_ms: int, day: _Days) -> None:
    p = lv.position
    x = day.many([*p.t, end_ms])
    ax.fill_between(x, [*p.low, p.low[-1]], [*p.high, p.high[-1]], step="post", color="#7b1fa2", alpha=0.12,
                    linewidth=0, label="range")
    ax.step(x, [*p.mean, p.mean[-1]], where="post", color="#7b1fa2", linewidth=1.2, label="mean")
    ax.axhline(0, color="#5f6368", linewidth=0.8)
    ax.set_ylabel("base")
