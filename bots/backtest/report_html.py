"""The interactive backtest report: one self-contained HTML file (``--report html``; extra ``report``).

The page holds the five-line summary, linked and zoomable panels on a real date axis (UTC) and the
metrics as a table. Panels (Plotly, its JavaScript inlined, so the file opens without a network):

1. **price**: candles (reduced to at most ``max_bars`` round-sized buckets, see
   :mod:`bots.backtest.chart_data`), the grid band shaded behind them and the fills per side and per
   bucket at their volume-weighted price, drawn *under* the candles so they never hide the price. Zoomed
   out the fills are grouped in coarse buckets; zoomed in (few enough markers in view) per candle bucket.
2. **equity** with its running peak; the gap between the two (the drawdown) is shaded red and the deepest
   drawdown is marked.
3. **position** as a step line (the value at each bucket's end), the range it moved through shaded.

Zooming any panel zooms all three (one shared time axis) and fits each panel's price axis to what is in
view (a few lines of script in the page, :data:`_ZOOM_SCRIPT`).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from bots.backtest.chart_data import ChartData, FillBuckets, PositionBuckets, bucket_label, chart_data
from bots.backtest.engine import BacktestResult
from bots.backtest.report import format_headline
from lighter_sync.errors import ConfigError

__all__ = ["PANELS", "require_plotly", "render_html", "write_html_report"]

#: The plot panels of the page, top to bottom (the browser test counts them).
PANELS = ("price", "fills", "equity", "position")

#: Zoomed in to at most this many candles, the fills and the position are drawn per candle bucket
#: (fill markers on the price appear) instead of per coarse bucket.
FINE_CANDLES_IN_VIEW = 400

_BUY, _SELL = "#1a9850", "#d73027"
_BAND = "rgba(66, 133, 244, 0.16)"
_CANDLE = "#3c4043"


def require_plotly() -> Any:
    """The ``plotly`` module, or a :class:`ConfigError` that says how to install it."""
    try:
        import plotly  # noqa: PLC0415 - optional extra, imported only for the HTML report
        import plotly.graph_objects  # noqa: F401, PLC0415
        import plotly.io  # noqa: F401, PLC0415
    except ImportError:
        raise ConfigError(
            "--report html needs plotly: pip install 'lighter-sync[report]' (or pip install plotly)"
        ) from None
    return plotly


def write_html_report(result: BacktestResult, metrics: Mapping[str, Any], path: str | Path, *,
                      title: str = "Backtest", params: Mapping[str, Any] | None = None,
                      max_bars: int = 5_000) -> Path:
    """Write the report page to ``path`` (a file) and return it."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(result, metrics, title=title, params=params, max_bars=max_bars), encoding="utf-8")
    return out


def render_html(result: BacktestResult, metrics: Mapping[str, Any], *, title: str = "Backtest",
                params: Mapping[str, Any] | None = None, max_bars: int = 5_000) -> str:
    """The report page as one HTML string (plotly.js inlined)."""
    require_plotly()
    import plotly.io as pio  # noqa: PLC0415

    data = chart_data(result, max_bars=max_bars)
    fig = _figure(data)
    chart = pio.to_html(fig, full_html=False, include_plotlyjs=True, div_id="backtest-chart",
                        default_height="1000px",
                        config={"displaylogo": False, "scrollZoom": True, "responsive": True,
                                "modeBarButtonsToRemove": ["select2d", "lasso2d"]},
                        post_script=_ZOOM_SCRIPT.replace("FINE_LIMIT", str(FINE_CANDLES_IN_VIEW)))
    span = f"{_date(data.start_ms)} to {_date(data.end_ms)} UTC"
    notes = [*data.description(interactive=True),
             "Drag to zoom (all panels follow), double-click to zoom out; the price axes fit what is in view."]
    return _PAGE.format(
        title=html.escape(title),
        span=html.escape(span),
        headline=html.escape(format_headline(metrics).rstrip("\n")),
        notes="".join(f"<li>{html.escape(n)}</li>" for n in notes),
        chart=chart,
        metrics=_metrics_table(metrics),
        params=_params_table(params or {}),
    )


# -- the figure -------------------------------------------------------------------------------


def _figure(d: ChartData) -> Any:
    import plotly.graph_objects as go  # noqa: PLC0415
    from plotly.subplots import make_subplots  # noqa: PLC0415

    c = d.candles
    fine_ms = c.bucket_ms
    coarse_ms = d.position_coarse.bucket_ms
    two = coarse_ms != fine_ms  # short runs: one level, always shown
    fig = make_subplots(rows=4, cols=1, shared_xaxes=True, vertical_spacing=0.065,
                        row_heights=[0.46, 0.14, 0.22, 0.18], subplot_titles=d.titles(interactive=True))
    half = fine_ms // 2
    mid = [t + half for t in c.t]
    # 1. price: the band, then the fills, then the candles on top (so the price is never hidden)
    fig.add_trace(go.Scatter(x=mid, y=_r(c.band_low), mode="lines", line={"width": 0}, hoverinfo="skip",
                             showlegend=False, name="band-low"), row=1, col=1)
    fig.add_trace(go.Scatter(x=mid, y=_r(c.band_high), mode="lines", line={"width": 0}, fill="tonexty",
                             fillcolor=_BAND, name="grid band", hoverinfo="skip"), row=1, col=1)
    for side in ("buy", "sell"):
        fig.add_trace(_fill_markers(go, d.fills_fine[side], "fine" if two else ""), row=1, col=1)
    fig.add_trace(go.Candlestick(
        x=mid, open=_r(c.open), high=_r(c.high), low=_r(c.low), close=_r(c.close), name="price",
        increasing={"line": {"color": _CANDLE, "width": 1}, "fillcolor": "white"},
        decreasing={"line": {"color": _CANDLE, "width": 1}, "fillcolor": _CANDLE},
        whiskerwidth=0, showlegend=False), row=1, col=1)
    # 2. fills per bucket
    levels = (("coarse", d.fills_coarse), ("fine", d.fills_fine)) if two else (("", d.fills_fine),)
    for level, groups in levels:
        for side in ("buy", "sell"):
            fig.add_trace(_fill_bars(go, groups[side], level), row=2, col=1)
    # 3. equity: the peak, then the equity filled up to it (the drawdown)
    fig.add_trace(go.Scatter(x=d.t, y=_r(d.peak), mode="lines", name="peak equity", showlegend=False, meta="nofit",
                             line={"color": "#9aa0a6", "width": 1, "dash": "dot"},
                             hovertemplate="peak %{y:,.2f} USD<extra></extra>"), row=3, col=1)
    dd = [round((p - e) / p * 100, 3) if p > 0 else 0.0 for p, e in zip(d.peak, d.equity, strict=True)]
    fig.add_trace(go.Scatter(x=d.t, y=_r(d.equity), mode="lines", name="equity", fill="tonexty", showlegend=False,
                             fillcolor="rgba(215, 48, 39, 0.28)", line={"color": "#1a73e8", "width": 1.4},
                             customdata=dd,
                             hovertemplate="equity %{y:,.2f} USD, drawdown %{customdata:.2f} %<extra></extra>"),
                  row=3, col=1)
    if d.max_drawdown_t is not None and d.max_drawdown > 0:
        i = min(range(len(d.t)), key=lambda k: abs(d.t[k] - d.max_drawdown_t))
        right = d.t[i] - d.start_ms > 0.75 * (d.end_ms - d.start_ms)  # near the right edge: label to the left
        fig.add_annotation(x=d.t[i], y=d.equity_low[i], text=f"max drawdown {d.max_drawdown * 100:.2f} %",
                           showarrow=True, arrowhead=2, ax=-70 if right else 70, ay=-6, font={"size": 11},
                           bgcolor="rgba(255,255,255,0.8)", row=3, col=1)
    # 4. position: the range, then the mean as a step line
    pos_levels = ((("coarse", d.position_coarse), ("fine", d.position_fine)) if two
                  else (("", d.position_fine),))
    for level, pb in pos_levels:
        for trace in _position_traces(go, pb, level, d.end_ms):
            fig.add_trace(trace, row=4, col=1)
    if d.liquidation_t is not None:
        for row in range(1, 5):
            fig.add_vline(x=d.liquidation_t, line={"color": "#d93025", "width": 2, "dash": "dash"}, row=row, col=1)
    fig.update_xaxes(type="date", showspikes=True, spikemode="across", spikethickness=1, spikecolor="#9aa0a6",
                     rangeslider={"visible": False}, showticklabels=True)
    fig.update_xaxes(title_text="time (UTC)", row=4, col=1)
    fig.update_xaxes(rangeselector={"x": 0, "y": 1.07, "buttons": [
        {"count": 1, "label": "1 day", "step": "day", "stepmode": "backward"},
        {"count": 7, "label": "1 week", "step": "day", "stepmode": "backward"},
        {"step": "all", "label": "all"}]}, row=1, col=1)
    fig.update_yaxes(title_text="price", row=1, col=1)
    fig.update_yaxes(title_text="fills", zeroline=True, zerolinecolor="#5f6368", row=2, col=1)
    fig.update_yaxes(title_text="USD", row=3, col=1)
    fig.update_yaxes(title_text="base", zeroline=True, zerolinecolor="#5f6368", row=4, col=1)
    fig.update_layout(template="plotly_white", hovermode="x", dragmode="zoom", bargap=0.1, barmode="relative",
                      margin={"l": 60, "r": 20, "t": 60, "b": 40}, showlegend=False, uirevision="keep")
    return fig


def _fill_markers(go: Any, fb: FillBuckets, level: str) -> Any:
    buy = fb.side == "buy"
    top = max(fb.count, default=1)
    half = fb.bucket_ms // 2
    return go.Scatter(
        x=[t + half for t in fb.t], y=_r(fb.vwap), mode="markers", name=f"{fb.side} fills", meta=level,
        visible=level != "fine",
        marker={"symbol": "triangle-up" if buy else "triangle-down", "size": [round(6 + 8 * math.sqrt(n / top), 1)
                                                                            for n in fb.count],
                "color": _BUY if buy else _SELL, "opacity": 0.75, "line": {"width": 0}},
        customdata=[[n, round(s, 6), lo, hi] for n, s, lo, hi in zip(fb.count, fb.size, fb.low, fb.high, strict=True)],
        hovertemplate=(f"%{{customdata[0]}} {fb.side}(s), size %{{customdata[1]}}, avg price %{{y}}"
                       "<br>range %{customdata[2]} .. %{customdata[3]}<extra></extra>"),
    )


def _fill_bars(go: Any, fb: FillBuckets, level: str) -> Any:
    buy = fb.side == "buy"
    half = fb.bucket_ms // 2
    return go.Bar(
        x=[t + half for t in fb.t], y=[n if buy else -n for n in fb.count], width=fb.bucket_ms * 0.9,
        name=f"{fb.side}s per {bucket_label(fb.bucket_ms)}", meta=level, visible=level != "fine",
        marker={"color": _BUY if buy else _SELL, "line": {"width": 0}},
        customdata=[[n, round(s, 6), float(f"{v:.8g}")] for n, s, v in zip(fb.count, fb.size, fb.vwap, strict=True)],
        hovertemplate=(f"%{{customdata[0]}} {fb.side}(s), size %{{customdata[1]}}, avg price %{{customdata[2]}}"
                       "<extra></extra>"),
    )


def _position_traces(go: Any, pb: PositionBuckets, level: str, end_ms: int) -> list[Any]:
    x = [*pb.t, end_ms]  # the last step runs to the end of the run
    shown = level != "fine"
    return [
        go.Scatter(x=x, y=_r([*pb.low, pb.low[-1]]), mode="lines", line={"width": 0, "shape": "hv"}, meta=level,
                   visible=shown, hoverinfo="skip", name="position low"),
        go.Scatter(x=x, y=_r([*pb.high, pb.high[-1]]), mode="lines", line={"width": 0, "shape": "hv"}, meta=level,
                   visible=shown, fill="tonexty", fillcolor="rgba(123, 31, 162, 0.12)", hoverinfo="skip",
                   name="position range"),
        go.Scatter(x=x, y=_r([*pb.mean, pb.mean[-1]]), mode="lines", meta=level, visible=shown,
                   name=f"mean position per {bucket_label(pb.bucket_ms)}",
                   line={"color": "#7b1fa2", "width": 1.4, "shape": "hv"},
                   customdata=[[lo, hi] for lo, hi in zip([*pb.low, pb.low[-1]], [*pb.high, pb.high[-1]],
                                                          strict=True)],
                   hovertemplate="position: mean %{y:.4g}, range %{customdata[0]} .. %{customdata[1]}<extra></extra>"),
    ]


def _r(xs: Sequence[float]) -> list[float | None]:
    """Floats rounded to 8 significant digits (a smaller file); NaN becomes a gap."""
    return [None if x is None or math.isnan(x) else float(f"{x:.8g}") for x in xs]


def _date(ms: int) -> str:
    from datetime import datetime, timezone  # noqa: PLC0415

    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")


# -- tables -----------------------------------------------------------------------------------

_SECTIONS: tuple[tuple[str, tuple[tuple[str, str, str], ...]], ...] = (
    ("Performance", (
        ("capital", "capital", "usd"), ("final_equity", "final equity", "usd"), ("net_pnl", "net PnL", "usd"),
        ("return", "return", "pct"), ("annual_return", "annualised return", "pct"),
        ("max_drawdown", "max drawdown", "pct"), ("sharpe", "Sharpe", "num"), ("sortino", "Sortino", "num"),
        ("calmar", "Calmar", "num"), ("realized_pnl", "realized PnL", "usd"),
        ("unrealized_pnl", "unrealized PnL", "usd"), ("fees", "fees paid", "usd"),
        ("funding", "funding received", "usd"), ("liquidated", "liquidated", "bool"))),
    ("Trading", (
        ("fills", "fills", "int"), ("maker_fills", "maker fills", "int"), ("taker_fills", "taker fills", "int"),
        ("partial_fills", "partial fills", "int"), ("round_trips", "round trips", "int"),
        ("win_rate", "win rate", "pct"), ("orders_sent", "orders sent", "int"), ("cancels", "cancels", "int"),
        ("modifies", "modifies", "int"), ("requests", "requests", "int"), ("budget_waits", "budget waits", "int"),
        ("rejected_post_only", "rejected post-only", "int"), ("rejected_margin", "rejected margin", "int"),
        ("rejected_min_size", "rejected min size", "int"),
        ("rejected_reduce_only", "rejected reduce-only", "int"))),
    ("Exposure and sizing", (
        ("order_size_usd", "order size asked (USD)", "usd"), ("unit", "unit per level (base)", "dec"),
        ("unit_usd", "unit per level (USD)", "usd"), ("cap_base", "inventory cap (base)", "dec"),
        ("cap_usd", "inventory cap (USD)", "usd"), ("final_position", "final position", "dec"),
        ("max_position", "max position", "dec"), ("max_position_usd", "max position (USD)", "usd"),
        ("time_at_cap", "time at the cap", "pct"), ("exposure", "time with a position", "pct"),
        ("avg_notional", "average notional (USD)", "usd"), ("bars", "bars", "int"), ("days", "days", "num"),
        ("funding_events", "funding payments", "int"))),
)


def _metrics_table(m: Mapping[str, Any]) -> str:
    cols = []
    for name, rows in _SECTIONS:
        body = "".join(f"<tr><th>{html.escape(label)}</th><td>{html.escape(_cell(m.get(key), kind))}</td></tr>"
                       for key, label, kind in rows)
        cols.append(f'<table class="metrics"><caption>{name}</caption>{body}</table>')
    extra = [f"<li>{html.escape(w)}</li>" for w in (*m.get("warnings", ()), *m.get("notes", ()))]
    return "".join(cols) + (f'<ul class="warnings">{"".join(extra)}</ul>' if extra else "")


def _params_table(params: Mapping[str, Any]) -> str:
    if not params:
        return ""
    body = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_cell(v, 'raw'))}</td></tr>"
                   for k, v in params.items())
    return f'<table class="metrics"><caption>Settings</caption>{body}</table>'


def _cell(v: Any, kind: str) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool) or kind == "bool":
        return "yes" if v else "no"
    if isinstance(v, float) and math.isnan(v):
        return "-"
    if kind == "usd":
        q = Decimal(str(v)).quantize(Decimal("0.01"))
        return f"{abs(q) if q == 0 else q:,.2f}"  # no "-0.00"
    if kind == "pct":
        return f"{float(v) * 100:,.2f} %" if math.isfinite(float(v)) else str(v)
    if kind == "int":
        return f"{int(v):,}"
    if kind == "num":
        return f"{float(v):,.3g}" if math.isfinite(float(v)) else str(v)
    if isinstance(v, Decimal):
        return f"{v.normalize():f}"
    return str(v)


_ZOOM_SCRIPT = """
(function () {
  var gd = document.getElementById('{plot_id}');
  var busy = false;
  var hasFine = gd.data.some(function (tr) { return tr.meta === 'fine'; });
  var candles = gd.data.filter(function (tr) { return tr.type === 'candlestick'; })[0];
  function drawn(tr, useFine) {
    if (tr.visible === 'legendonly') { return false; }
    if (tr.meta === 'fine') { return useFine; }
    if (tr.meta === 'coarse') { return !useFine; }
    return true;
  }
  // Zoomed in to few candles: fills and position per candle bucket; then fit every y axis to the view.
  function fit(x0, x1) {
    var inView = 0, lo = {}, hi = {}, idx = [], vis = [], i, k;
    for (i = 0; i < candles.x.length; i++) { if (candles.x[i] >= x0 && candles.x[i] <= x1) { inView++; } }
    var useFine = hasFine && inView <= FINE_LIMIT;
    gd.data.forEach(function (tr, n) {
      if (hasFine && (tr.meta === 'fine' || tr.meta === 'coarse')) { idx.push(n); vis.push(drawn(tr, useFine)); }
      if (!drawn(tr, useFine) || !tr.x || tr.meta === 'nofit') { return; }  // (the peak may lie above the view)
      var ax = tr.yaxis || 'y', lows = tr.low || tr.y, highs = tr.high || tr.y;
      if (tr.type === 'bar') { lo[ax] = Math.min(lo[ax] === undefined ? 0 : lo[ax], 0); hi[ax] = Math.max(hi[ax] || 0, 0); }
      for (i = 0; i < tr.x.length; i++) {
        if (tr.x[i] < x0 || tr.x[i] > x1 || lows[i] === null || highs[i] === null) { continue; }
        if (!(lo[ax] <= lows[i])) { lo[ax] = lows[i]; }
        if (!(hi[ax] >= highs[i])) { hi[ax] = highs[i]; }
      }
    });
    var update = {};
    for (k in lo) {
      var pad = (hi[k] - lo[k]) * 0.06 || Math.abs(hi[k]) * 0.01 || 1;
      update[(k === 'y' ? 'yaxis' : 'yaxis' + k.slice(1)) + '.range'] = [lo[k] - pad, hi[k] + pad];
    }
    Object.keys(gd.layout).forEach(function (key) {  // every time axis (they match each other)
      if (!/^xaxis[0-9]*$/.test(key)) { return; }
      if (isFinite(x0) && isFinite(x1)) { update[key + '.range'] = [x0, x1]; } else { update[key + '.autorange'] = true; }
    });
    busy = true;
    var done = function () { busy = false; gd.setAttribute('data-fitted', String(x0) + ',' + String(x1)); };
    Plotly.update(gd, idx.length ? {visible: vis} : {}, update, idx.length ? idx : undefined).then(done, done);
  }
  function ms(v) { return typeof v === 'number' ? v : Date.parse(String(v).replace(' ', 'T') + 'Z'); }
  gd.on('plotly_relayout', function (ev) {
    if (busy) { return; }
    var x0, x1, reset = false;  // any panel's time axis: they all move together
    Object.keys(ev).forEach(function (key) {
      var m = /^xaxis[0-9]*\\.(range\\[0\\]|range\\[1\\]|range|autorange)$/.exec(key);
      if (!m) { return; }
      if (m[1] === 'range[0]') { x0 = ev[key]; } else if (m[1] === 'range[1]') { x1 = ev[key]; }
      else if (m[1] === 'range') { x0 = ev[key][0]; x1 = ev[key][1]; } else if (ev[key]) { reset = true; }
    });
    if (x0 !== undefined && x1 !== undefined) { fit(ms(x0), ms(x1)); } else if (reset) { fit(-Infinity, Infinity); }
  });
  fit(-Infinity, Infinity);
})();
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 16px 24px; color: #202124; }}
h1 {{ font-size: 20px; margin: 0 0 2px 0; }}
.span {{ color: #5f6368; margin: 0 0 10px 0; }}
pre.headline {{ font-size: 14px; background: #f8f9fa; border: 1px solid #dadce0; border-radius: 6px;
  padding: 10px 14px; display: inline-block; margin: 0 0 6px 0; }}
ul.notes {{ color: #5f6368; font-size: 13px; margin: 4px 0 8px 0; }}
#tables {{ display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }}
table.metrics {{ border-collapse: collapse; font-size: 13px; }}
table.metrics caption {{ text-align: left; font-weight: 600; padding: 4px 0; }}
table.metrics th {{ text-align: left; font-weight: normal; color: #5f6368; padding: 2px 16px 2px 0; }}
table.metrics td {{ text-align: right; font-variant-numeric: tabular-nums; padding: 2px 0; }}
ul.warnings {{ color: #b06000; font-size: 13px; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p class="span">{span}</p>
<pre class="headline">{headline}</pre>
<ul class="notes">{notes}</ul>
{chart}
<div id="tables">{metrics}{params}</div>
</body>
</html>
"""
