"""Backtest reports: metrics from a :class:`~bots.backtest.engine.BacktestResult`, a ``key=value``
text summary (after a five-line one for humans, :func:`format_headline`), a JSON file and (optionally)
charts: a PNG (:mod:`bots.backtest.report_png`) and an interactive HTML page
(:mod:`bots.backtest.report_html`), both drawn from :mod:`bots.backtest.chart_data`.

Money figures (PnL, fees, funding, equity) are exact Decimals rounded to 1e-6 for display.
Path statistics (drawdown, Sharpe, Sortino, Calmar, exposure, time at the cap) are computed on an
equity curve sampled at bar closes (every bar for runs up to ``max_samples`` bars, evenly thinned
beyond that), equity being ``capital + realized + unrealized - fees + funding`` at the close.

Definitions
-----------
* ``round_trips``: fills that reduced the position (each closes earlier entries, FIFO);
  ``win_rate``: share of those whose realized PnL (FIFO lots, before fees) was > 0.
* ``sharpe`` / ``sortino``: mean / sd (downside sd) of per-sample returns, annualised with
  365-day years, risk-free rate 0. ``calmar``: annualised return / max drawdown.
* ``time_at_cap``: share of samples where the strategy's inventory cap stops further entries on
  the growing side (for the grid: ``|position| + unit > cap`` in base units, evaluated when the
  position changes); for a strategy without a cap of its own, where one more ``order_usd`` entry
  would exceed ``cap_usd`` at the close.
* ``exposure``: share of samples with a non-zero position; ``avg_notional``: mean ``|position| * close``.
* ``fill_ratio`` per level: fills / orders that reached the venue at that level.
* ``unit``, ``unit_usd``, ``cap_base``, ``cap_usd``: what the strategy really traded (for the grid:
  the per-level size after rounding to the market's step and raising to its minimums, and the
  inventory cap it enforced on that size) at its first centring, in base units and in USD at the
  reference price. When the requested ``order_usd`` had to be raised, a ``warning:`` line says so.

Nothing is cut: ``fills.csv`` holds every fill (streamed to disk while the run goes, see
:class:`FillsWriter`). Only the path statistics sample the equity curve (``max_samples`` closes) and
the charts thin their points, both documented above and in docs/backtesting.md.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

from bots.backtest.engine import BacktestResult, FillRecord
from lighter_sync.errors import ConfigError

__all__ = ["FillsWriter", "TIMING_KEYS", "compute_metrics", "equity_curve", "format_headline", "format_summary",
           "require_matplotlib", "write_report", "write_plots"]

_MS_PER_YEAR = 365 * 86_400_000
_Q = Decimal("0.000001")


def equity_curve(result: BacktestResult, max_samples: int = 200_000) -> tuple[list[int], list[float], list[float]]:
    """``(ts, equity, position)`` sampled at bar closes from the run's state log."""
    ts, eq, pos, _ = _samples(result, max_samples)
    return ts, eq, pos


def _samples(result: BacktestResult, max_samples: int) -> tuple[list[int], list[float], list[float], list[bool | None]]:
    b = result.bars
    start, stop = result.start, max(result.stop, result.start + 1)
    n = stop - start
    step = max(1, math.ceil(n / max_samples))
    log = result.state_log
    ts_out: list[int] = []
    eq: list[float] = []
    pos: list[float] = []
    caps: list[bool | None] = []
    k_i = 0
    interval = b.interval_ms
    idx = list(range(start, stop, step))
    if idx[-1] != stop - 1:
        idx.append(stop - 1)
    for j in idx:
        t = b.ts[j] + interval - 1
        while k_i + 1 < len(log) and log[k_i + 1][0] <= t:
            k_i += 1
        _, p, k, cap = log[k_i]
        ts_out.append(t)
        eq.append(k + p * b.close[j])
        pos.append(p)
        caps.append(cap)
    if result.liquidated and log:
        ts_out.append(log[-1][0])
        eq.append(log[-1][2])
        pos.append(0.0)
        caps.append(False)
    return ts_out, eq, pos, caps


def _d(x: Decimal) -> str:
    return str(x.quantize(_Q))


def _f(x: float, digits: int = 6) -> str:
    if x is None or (isinstance(x, float) and (math.isnan(x) or math.isinf(x))):
        return "nan" if x is None or math.isnan(x) else ("inf" if x > 0 else "-inf")
    return f"{x:.{digits}g}"


def compute_metrics(
    result: BacktestResult,
    *,
    cap_usd: Decimal | None = None,
    order_usd: Decimal | None = None,
    max_samples: int = 200_000,
) -> dict[str, Any]:
    """All report figures as a flat dict (Decimals for money, floats for ratios)."""
    b = result.bars
    ts, eq, pos, caps = _samples(result, max_samples)
    capital = result.capital
    net = result.equity - capital
    start_ms = b.ts[result.start]
    end_ms = b.ts[max(result.stop, result.start + 1) - 1] + b.interval_ms
    years = max(end_ms - start_ms, 1) / _MS_PER_YEAR
    ret = float(net / capital)
    try:
        ann = math.exp(math.log1p(ret) / years) - 1 if ret > -1 and years > 0 else -1.0
    except OverflowError:  # a big return over a short run: not a number worth printing
        ann = math.inf
    # drawdown
    peak = -math.inf
    mdd = 0.0
    for e in eq:
        if e > peak:
            peak = e
        if peak > 0:
            dd = (peak - e) / peak
            if dd > mdd:
                mdd = dd
    # per-sample returns
    rets = [(eq[i] / eq[i - 1] - 1) for i in range(1, len(eq)) if eq[i - 1] > 0]
    per_year = len(rets) / years if years > 0 else 0.0
    sharpe = sortino = float("nan")
    if len(rets) > 1:
        mean = sum(rets) / len(rets)
        var = sum((r - mean) ** 2 for r in rets) / (len(rets) - 1)
        sd = math.sqrt(var)
        down = math.sqrt(sum(min(r, 0.0) ** 2 for r in rets) / len(rets))
        sharpe = mean / sd * math.sqrt(per_year) if sd > 0 else float("nan")
        sortino = mean / down * math.sqrt(per_year) if down > 0 else float("nan")
    calmar = ann / mdd if mdd > 0 else float("nan")
    # fills
    fills = result.fills
    closing = [f for f in fills if f.kind == "order" and _reduces(f)]
    wins = sum(1 for f in closing if f.realized > 0)
    maker = sum(1 for f in fills if f.is_maker)
    # exposure and cap, on the samples
    closes = _closes_at(result, ts)
    notional = [abs(p) * c for p, c in zip(pos, closes, strict=False)]
    exposure = sum(1 for p in pos if p != 0) / len(pos) if pos else 0.0
    avg_notional = sum(notional) / len(notional) if notional else 0.0
    at_cap = float("nan")
    if any(c is not None for c in caps):  # the strategy's own cap rule (None before it had a cap: not at it)
        at_cap = sum(1 for c in caps if c) / len(caps)
    elif cap_usd is not None and order_usd is not None:
        step = float(order_usd)
        at_cap = sum(1 for x in notional if x + step > float(cap_usd) + 1e-9) / len(notional) if notional else 0.0
    max_pos_usd = max((abs(f.position) * f.price for f in fills), default=Decimal(0))
    sizing = _sizing(result, order_usd)
    levels = {
        key: {
            "placed": v["placed"],
            "filled": v["filled"],
            "rejected": v["rejected"],
            "fill_ratio": round(v["filled"] / v["placed"], 6) if v["placed"] else 0.0,
        }
        for key, v in sorted(result.levels.items(), key=lambda kv: _level_sort(kv[0]))
    }
    c = result.counters
    unreal = result.unrealized
    elapsed = max(result.elapsed_s, 1e-9)
    return {
        "bars": result.stop - result.start,
        "start_ms": start_ms,
        "end_ms": end_ms,
        "days": round((end_ms - start_ms) / 86_400_000, 6),
        "capital": capital,
        "final_equity": result.equity,
        "net_pnl": net,
        "return": ret,
        "annual_return": ann,
        "max_drawdown": mdd,
        "sharpe": sharpe,
        "sortino": sortino,
        "calmar": calmar,
        "realized_pnl": result.realized,
        "unrealized_pnl": unreal,
        "fees": result.fees,
        "funding": result.funding,
        "fills": len(fills),
        "maker_fills": maker,
        "taker_fills": len(fills) - maker,
        "partial_fills": c.get("partial_fills", 0),
        "round_trips": len(closing),
        "win_rate": wins / len(closing) if closing else float("nan"),
        "orders_sent": c.get("orders_sent", 0),
        "orders_arrived": c.get("orders_arrived", 0),
        "modifies": c.get("modifies", 0),
        "cancels": c.get("cancels", 0),
        "rejected_post_only": c.get("rejected_post_only", 0),
        "rejected_margin": c.get("rejected_margin", 0),
        "rejected_min_size": c.get("rejected_min_size", 0),
        "rejected_reduce_only": c.get("rejected_reduce_only", 0),
        "requests": c.get("requests", 0),
        "budget_waits": c.get("budget_waits", 0),
        "funding_events": c.get("funding_events", 0),
        **sizing,
        "final_position": result.position,
        "max_position": result.max_position,
        "max_position_usd": max_pos_usd,
        "time_at_cap": at_cap,
        "exposure": exposure,
        "avg_notional": avg_notional,
        "liquidated": result.liquidated,
        "fill_ratio": {k: v["fill_ratio"] for k, v in levels.items()},
        "levels": levels,
        "bars_processed": result.bars_processed,
        "bars_skipped": result.bars_skipped,
        "elapsed_s": result.elapsed_s,
        "bars_per_s": (result.stop - result.start) / elapsed,
        "strategy": dict(result.strategy_summary),
    }


def _sizing(result: BacktestResult, order_usd: Decimal | None) -> dict[str, Any]:
    """The per-level size and the cap as the strategy traded them (first centring), and warnings."""
    out: dict[str, Any] = {"order_size_usd": order_usd, "unit": None, "unit_usd": None, "cap_base": None,
                           "cap_usd": None, "warnings": [], "notes": []}
    if not result.sizing:
        return out
    _, ref, unit, cap = result.sizing[0]
    out.update(unit=unit, unit_usd=unit * ref, cap_base=cap, cap_usd=cap * ref)
    step = result.step_size
    if order_usd is not None and step > 0:
        raised = []
        for _, ref_k, unit_k, cap_k in result.sizing:
            asked = (order_usd / ref_k / step).to_integral_value(rounding=ROUND_FLOOR) * step if ref_k > 0 else unit_k
            if unit_k > asked:
                raised.append((ref_k, unit_k, cap_k, asked))
        if raised:
            ref_k, unit_k, cap_k, asked = raised[0]
            where = "" if len(result.sizing) == 1 else f" ({len(raised)} of {len(result.sizing)} centrings)"
            out["warnings"] = [
                f"order size {order_usd} USD is {asked:f} base at {ref_k}, below the market's minimum: each level "
                f"trades {unit_k:f} ({_d(unit_k * ref_k)} USD); the cap is {cap_k:f} base "
                f"({_d(cap_k * ref_k)} USD){where}"]
    units = sorted({u for _, _, u, _ in result.sizing})
    if len(units) > 1:
        lo, hi = (u.quantize(step) if step > 0 else u for u in (units[0], units[-1]))
        out["notes"] = [f"re-centring changed the per-level size: {lo:f} .. {hi:f} base "
                        f"({len(result.sizing)} centrings)"]
    return out


def _reduces(f: Any) -> bool:
    before = f.position - f.side.sign * f.size
    return before != 0 and abs(f.position) < abs(before) or (before != 0 and (before > 0) != (f.position > 0))


def _level_sort(key: str) -> tuple[int, str]:
    try:
        return (int(key[1:]), key)
    except ValueError:
        return (10**9, key)


def _closes_at(result: BacktestResult, ts: list[int]) -> list[float]:
    b = result.bars
    from bisect import bisect_right

    out = []
    for t in ts:
        j = bisect_right(b.ts, t) - 1
        out.append(b.close[max(j, 0)])
    return out


#: Keys of the ``key=value`` summary, in order (the golden test pins these lines).
SUMMARY_KEYS = (
    "bars", "days", "capital", "final_equity", "net_pnl", "return", "annual_return", "max_drawdown", "sharpe",
    "sortino", "calmar", "realized_pnl", "unrealized_pnl", "fees", "funding", "fills", "maker_fills",
    "taker_fills", "partial_fills", "round_trips", "win_rate", "orders_sent", "cancels", "modifies", "requests",
    "budget_waits", "rejected_post_only", "rejected_margin", "rejected_min_size", "rejected_reduce_only",
    "funding_events", "order_size_usd", "unit", "unit_usd", "cap_base", "cap_usd", "final_position",
    "max_position", "max_position_usd", "time_at_cap", "exposure", "avg_notional", "liquidated",
)

#: Keys that measure the run, not its answer: printed, written to ``timing.txt``, never to the report.
TIMING_KEYS = ("bars_processed", "bars_skipped", "elapsed_s", "bars_per_s")


def format_summary(metrics: Mapping[str, Any], *, timing: bool = False) -> str:
    """``key=value`` lines (stable order and formatting), the fill ratio per level, ``warning:`` and
    ``note:`` lines.

    Without ``timing`` the text depends only on the run's answer (the fast path and ``--no-fast``
    write the same bytes)."""
    lines = []
    for key in SUMMARY_KEYS:
        lines.append(f"{key}={_fmt(metrics.get(key))}")
    for key, ratio in metrics.get("fill_ratio", {}).items():
        lv = metrics["levels"][key]
        lines.append(f"fill_ratio.{key}={_f(ratio)} ({lv['filled']}/{lv['placed']})")
    for warning in metrics.get("warnings", ()):
        lines.append(f"warning: {warning}")
    for note in metrics.get("notes", ()):
        lines.append(f"note: {note}")
    if timing:
        lines.append(format_timing(metrics).rstrip("\n"))
    return "\n".join(lines) + "\n"


def format_headline(metrics: Mapping[str, Any]) -> str:
    """Five lines for a human, printed before the ``key=value`` lines: net PnL, return, max drawdown,
    fills, fees and funding (money to the cent, ratios in percent)."""
    net = metrics["net_pnl"]
    liquidated = " - LIQUIDATED, the run stopped there" if metrics.get("liquidated") else ""
    ann = metrics.get("annual_return")
    annual = f", {_pct(ann)} a year" if isinstance(ann, float) and math.isfinite(ann) else ""
    days = float(metrics.get("days") or 0)
    trips = metrics.get("round_trips", 0)
    win = metrics.get("win_rate")
    won = f", {_pct(win, sign=False)} of them won" if isinstance(win, float) and math.isfinite(win) else ""
    fees, funding = metrics["fees"], metrics["funding"]
    fee_text = f"fees paid {_usd(fees, sign=False)}" if fees >= 0 else f"fee rebates {_usd(-fees, sign=False)}"
    fund_text = (f"funding received {_usd(funding, sign=False)}" if funding >= 0
                 else f"funding paid {_usd(-funding, sign=False)}")
    lines = [
        f"Net PnL       {_usd(net)} ({_usd(metrics['capital'], sign=False)} -> "
        f"{_usd(metrics['final_equity'], sign=False)}){liquidated}",
        f"Return        {_pct(metrics['return'])} in {days:g} days{annual}",
        f"Max drawdown  {_pct(metrics['max_drawdown'], sign=False)} below the peak equity",
        f"Fills         {metrics['fills']:,} ({metrics.get('maker_fills', 0):,} maker, "
        f"{metrics.get('taker_fills', 0):,} taker), {trips:,} round trips{won}",
        f"Fees/funding  {fee_text}, {fund_text}",
    ]
    return "\n".join(lines) + "\n"


def _usd(x: Decimal, *, sign: bool = True) -> str:
    q = Decimal(x).quantize(Decimal("0.01"))
    if q == 0:
        q = abs(q)  # no "-0.00"
    return f"{q:+,.2f} USD" if sign else f"{q:,.2f} USD"


def _pct(x: float, *, sign: bool = True) -> str:
    if not math.isfinite(x):
        return _f(x)
    v = round(x * 100, 2) or 0.0  # no "-0.00"
    return f"{v:+.2f} %" if sign else f"{v:.2f} %"


def format_timing(metrics: Mapping[str, Any]) -> str:
    """The run's speed: bars walked in detail, seconds, bars per second."""
    return (f"bars_processed={metrics['bars_processed']}\nelapsed_s={metrics['elapsed_s']:.3f}\n"
            f"bars_per_s={metrics['bars_per_s']:.0f}\n")


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Decimal):
        return _d(v)
    if isinstance(v, float):
        return _f(v)
    return str(v)


def _jsonable(v: Any) -> Any:
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v


class FillsWriter:
    """Streams ``fills.csv`` while a run goes: pass it as the engine's ``on_fill``; every fill, no limit."""

    HEADER = "ts_ms,bar,key,side,price,size,fee,maker,realized,position,kind\n"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.path.open("w")
        self._fh.write(self.HEADER)
        self.rows = 0

    def __call__(self, f: FillRecord) -> None:
        self._fh.write(f"{f.ts_ms},{f.bar},{f.key or ''},{f.side.value},{f.price},{f.size},{f.fee},"
                       f"{int(f.is_maker)},{f.realized},{f.position},{f.kind}\n")
        self.rows += 1

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> FillsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_report(result: BacktestResult, metrics: Mapping[str, Any], out_dir: str | Path,
                 *, params: Mapping[str, Any] | None = None, fills_streamed: bool = False) -> dict[str, Path]:
    """Write ``summary.txt``, ``report.json``, ``fills.csv`` (unless ``fills_streamed``: a
    :class:`FillsWriter` wrote it during the run) and ``timing.txt`` into ``out_dir``.

    The first three depend only on the run's answer; the run's speed goes to ``timing.txt``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"summary": out / "summary.txt", "json": out / "report.json", "fills": out / "fills.csv",
             "timing": out / "timing.txt"}
    paths["summary"].write_text(format_summary(metrics))
    answer = {k: v for k, v in metrics.items() if k not in TIMING_KEYS}
    doc = {"params": _jsonable(dict(params or {})), "metrics": _jsonable(answer)}
    paths["json"].write_text(json.dumps(doc, indent=2, sort_keys=False))
    paths["timing"].write_text(format_timing(metrics))
    if not fills_streamed:
        with FillsWriter(paths["fills"]) as writer:
            for f in result.fills:
                writer(f)
    return paths


def require_matplotlib() -> None:
    """Check the ``plot`` extra is installed (a :class:`ConfigError` saying how to get it otherwise)."""
    try:
        import matplotlib  # noqa: F401, PLC0415 - optional extra, imported only when plotting
    except ImportError:
        raise ConfigError(
            "--plot needs matplotlib: pip install 'lighter-sync[plot]' (or pip install matplotlib)"
        ) from None


def write_plots(result: BacktestResult, out_dir: str | Path, *, metrics: Mapping[str, Any] | None = None,
                title: str = "Backtest", max_bars: int = 400) -> list[Path]:
    """``backtest.png``: price with the grid band and fills, fills per bucket, equity with drawdown and
    position, aligned on one date axis (matplotlib, extra ``plot``; see :mod:`bots.backtest.report_png`)."""
    require_matplotlib()
    from bots.backtest.report_png import write_png  # noqa: PLC0415

    return [write_png(result, Path(out_dir) / "backtest.png", metrics=metrics, title=title, max_bars=max_bars)]
