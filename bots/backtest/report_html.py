"""The interactive backtest report: one self-contained HTML file (``--report html``; extra ``report``).

The page holds the five-line summary, linked and zoomable panels on a real date axis (UTC) and the
metrics as a table. Panels (Plotly, its JavaScript inlined, so the file opens without a network):

1. **price**: candles, the grid band shaded behind them and, zoomed in, the fills per side and candle at
   their volume-weighted price, drawn *under* the candles so they never hide the price;
2. **fills** per candle: buys up, sells down;
3. **equity** with its running peak; the gap between the two (the drawdown) is shaded red and the deepest
   drawdown is marked;
4. **position**: its mean per candle as a step line over the range it moved through.

Zooming any panel zooms all four (one shared time axis). The page holds the run at several levels of
detail (:mod:`bots.backtest.chart_data`: from at most ``max_bars`` candles down to at most
:data:`OVERVIEW_BARS` for the whole run) and draws, for the time in view, the finest level with at most
:data:`MAX_IN_VIEW` candles, only the part in view, with each panel's value axis fitted to it (a few
lines of script, :data:`_ZOOM_SCRIPT`). So the overview and every zoom draw a few hundred candles, never
thousands.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from bots.backtest.chart_data import TITLES, ChartData, FillBuckets, Level, bucket_label, chart_data
from bots.backtest.engine import BacktestResult
from bots.backtest.report import format_headline
from lighter_sync.errors import ConfigError

__all__ = ["PANELS", "MAX_IN_VIEW", "MARKERS_IN_VIEW", "OVERVIEW_BARS", "require_plotly", "render_html",
           "write_html_report"]

#: The plot panels of the page, top to bottom (the browser test counts them).
PANELS = ("price", "fills", "equity", "position")
#: The coarsest level (the whole run) has at most this many candles.
OVERVIEW_BARS = 600
#: The page draws the finest level with at most this many candles in view.
MAX_IN_VIEW = 600
#: Fills are drawn on the price once at most this many candles are in view.
MARKERS_IN_VIEW = 250

_BUY, _SELL = "#1a9850", "#d73027"
_BAND = "rgba(66, 133, 244, 0.16)"
_CANDLE = "#3c4043"
#: Array attributes of a trace that the page swaps per level (``marker.size`` nested, ``width`` a number).
_SWAPPED = ("x", "y", "open", "high", "low", "close", "customdata", "width")


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
    import plotly.graph_objects as go  # noqa: PLC0415
    import plotly.io as pio  # noqa: PLC0415

    data = chart_data(result, max_bars=max_bars, overview_bars=OVERVIEW_BARS)
    fig = _figure(go, data)
    store = {
        "levels": [{"label": bucket_label(lv.bucket_ms), "traces": [_arrays(t) for _, t in _traces(go, data, lv)]}
                   for lv in data.levels],
        "titles": list(TITLES), "maxInView": MAX_IN_VIEW, "markersInView": MARKERS_IN_VIEW,
    }
    script = _ZOOM_SCRIPT.replace("STORE", json.dumps(store, separators=(",", ":"), allow_nan=False))
    chart = pio.to_html(fig, full_html=False, include_plotlyjs=True, div_id="backtest-chart",
                        default_height="1000px", post_script=script,
                        config={"displaylogo": False, "scrollZoom": True, "responsive": True,
                                "modeBarButtonsToRemove": ["select2d", "lasso2d"]})
    span = f"{_date(data.start_ms)} to {_date(data.end_ms)} UTC"
    notes = [*data.description(),
             "Drag to zoom (all panels follow), double-click to zoom out; each panel's axis fits what is in view."]
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


def _figure(go: Any, d: ChartData) -> Any:
    """The figure as first shown: the whole run at the coarsest level."""
    from plotly.subplots import make_subplots  # noqa: PLC0415

    lv = d.levels[-1]
    markers = len(lv.candles.t) <= MARKERS_IN_VIEW
    size = bucket_label(lv.bucket_ms)
    titles = [t.format(size=size, fills=", fills (triangles)" if markers else ", fills (zoom in to see them)")
              for t in TITLES]
    fig = make_subplots(rows=4, cols=1, shared_xaxes=True, vertical_spacing=0.065,
                        row_heights=[0.46, 0.14, 0.22, 0.18], subplot_titles=titles)
    for row, trace in _traces(go, d, lv):
        if trace.meta == "markers":
            trace.visible = markers
        fig.add_trace(trace, row=row, col=1)
    if d.max_drawdown_t is not None and d.max_drawdown > 0:
        right = d.max_drawdown_t - d.start_ms > 0.75 * (d.end_ms - d.start_ms)  # near the right edge: text left
        fig.add_annotation(x=d.max_drawdown_t, y=d.max_drawdown_equity, showarrow=True, arrowhead=2,
                           text=f"max drawdown {d.max_drawdown * 100:.2f} %", ax=-70 if right else 70, ay=-6,
                           font={"size": 11}, bgcolor="rgba(255,255,255,0.8)", row=3, col=1)
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
                      margin={"l": 60, "r": 20, "t": 60, "b": 40}, showlegend=False)
    return fig


def _traces(go: Any, d: ChartData, lv: Level) -> list[tuple[int, Any]]:
    """``(panel row, trace)`` for one level, always the same traces in the same order (the page swaps
    their arrays when it changes level)."""
    c = lv.candles
    half = lv.bucket_ms // 2
    mid = [t + half for t in c.t]
    e, p = lv.equity, lv.position
    pos_x = [*p.t, d.end_ms]  # the last step runs to the end of the run
    last = (lambda xs: [*xs, xs[-1]]) if p.t else (lambda xs: list(xs))
    dd = [round((k - q) / k * 100, 3) if k > 0 else 0.0 for k, q in zip(e.peak, e.close, strict=True)]
    return [
        # 1. price: the band, then the fills, then the candles on top (so the price is never hidden)
        (1, go.Scatter(x=mid, y=_r(c.band_low), mode="lines", line={"width": 0}, hoverinfo="skip",
                       name="band low")),
        (1, go.Scatter(x=mid, y=_r(c.band_high), mode="lines", line={"width": 0}, fill="tonexty", fillcolor=_BAND,
                       name="grid band", hoverinfo="skip")),
        (1, _markers(go, lv.fills["buy"], half)),
        (1, _markers(go, lv.fills["sell"], half)),
        (1, go.Candlestick(x=mid, open=_r(c.open), high=_r(c.high), low=_r(c.low), close=_r(c.close), name="price",
                           increasing={"line": {"color": _CANDLE, "width": 1}, "fillcolor": "white"},
                           decreasing={"line": {"color": _CANDLE, "width": 1}, "fillcolor": _CANDLE},
                           whiskerwidth=0)),
        # 2. fills per candle
        (2, _bars(go, lv.fills["buy"], lv.bucket_ms)),
        (2, _bars(go, lv.fills["sell"], lv.bucket_ms)),
        # 3. equity: its lowest close per candle (drawn invisibly, so the fitted axis shows every trough),
        # the peak, then the equity filled up to the peak (the drawdown)
        (3, go.Scatter(x=e.t, y=_r(e.low), mode="lines", line={"width": 0}, hoverinfo="skip", name="equity low")),
        (3, go.Scatter(x=e.t, y=_r(e.peak), mode="lines", name="peak equity", meta="nofit",
                       line={"color": "#9aa0a6", "width": 1, "dash": "dot"},
                       hovertemplate="peak %{y:,.2f} USD<extra></extra>")),
        (3, go.Scatter(x=e.t, y=_r(e.close), mode="lines", name="equity", fill="tonexty",
                       fillcolor="rgba(215, 48, 39, 0.28)", line={"color": "#1a73e8", "width": 1.4}, customdata=dd,
                       hovertemplate="equity %{y:,.2f} USD, drawdown %{customdata:.2f} %<extra></extra>")),
        # 4. position: the range, then the mean as a step line
        (4, go.Scatter(x=pos_x, y=_r(last(p.low)), mode="lines", line={"width": 0, "shape": "hv"},
                       hoverinfo="skip", name="position low")),
        (4, go.Scatter(x=pos_x, y=_r(last(p.high)), mode="lines", line={"width": 0, "shape": "hv"}, fill="tonexty",
                       fillcolor="rgba(123, 31, 162, 0.12)", hoverinfo="skip", name="position range")),
        (4, go.Scatter(x=pos_x, y=_r(last(p.mean)), mode="lines", name="position",
                       line={"color": "#7b1fa2", "width": 1.4, "shape": "hv"},
                       customdata=[[a, b] for a, b in zip(last(p.low), last(p.high), strict=True)],
                       hovertemplate="position: mean %{y:.4g}, range %{customdata[0]} .. %{customdata[1]}"
                                     "<extra></extra>")),
    ]


def _markers(go: Any, fb: FillBuckets, half: int) -> Any:
    buy = fb.side == "buy"
    top = max(fb.count, default=1)
    return go.Scatter(
        x=[t + half for t in fb.t], y=_r(fb.vwap), mode="markers", name=f"{fb.side} fills", meta="markers",
        marker={"symbol": "triangle-up" if buy else "triangle-down", "color": _BUY if buy else _SELL,
                "size": [round(6 + 8 * math.sqrt(n / top), 1) for n in fb.count], "opacity": 0.75,
                "line": {"width": 0}},
        customdata=[[n, round(s, 6), lo, hi] for n, s, lo, hi in zip(fb.count, fb.size, fb.low, fb.high, strict=True)],
        hovertemplate=(f"%{{customdata[0]}} {fb.side}(s), size %{{customdata[1]}}, avg price %{{y}}"
                       "<br>range %{customdata[2]} .. %{customdata[3]}<extra></extra>"),
    )


def _bars(go: Any, fb: FillBuckets, bucket_ms: int) -> Any:
    buy = fb.side == "buy"
    return go.Bar(
        x=[t + bucket_ms // 2 for t in fb.t], y=[n if buy else -n for n in fb.count], width=bucket_ms * 0.9,
        name=f"{fb.side}s", marker={"color": _BUY if buy else _SELL, "line": {"width": 0}},
        customdata=[[n, round(s, 6), float(f"{v:.8g}")] for n, s, v in zip(fb.count, fb.size, fb.vwap, strict=True)],
        hovertemplate=(f"%{{customdata[0]}} {fb.side}(s), size %{{customdata[1]}}, avg price %{{customdata[2]}}"
                       "<extra></extra>"),
    )


def _arrays(trace: Any) -> dict[str, Any]:
    """The attributes of ``trace`` the page swaps when it changes level."""
    j = trace.to_plotly_json()
    out = {k: _plain(j[k]) for k in _SWAPPED if k in j}
    size = j.get("marker", {}).get("size")
    if isinstance(size, (list, tuple)):
        out["marker.size"] = list(size)
    return out


def _plain(v: Any) -> Any:
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


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
  var S = STORE;
  gd.backtestLevels = S.levels;  // (for a look from the console, and the browser test)
  var busy = false, pending = null;
  var candleAt = gd.data.findIndex(function (tr) { return tr.type === 'candlestick'; });
  function lowerBound(a, v) {  // first index with a[i] >= v (a sorted)
    var lo = 0, hi = a.length;
    while (lo < hi) { var m = (lo + hi) >> 1; if (a[m] < v) { lo = m + 1; } else { hi = m; } }
    return lo;
  }
  function levelFor(x0, x1) {  // the finest level with few enough candles in view, and how many
    for (var k = 0; k < S.levels.length; k++) {
      var cx = S.levels[k].traces[candleAt].x, n = lowerBound(cx, x1) - lowerBound(cx, x0);
      if (n <= S.maxInView || k === S.levels.length - 1) { return [k, n]; }
    }
  }
  function sliced(arrays, x0, x1) {  // the part in view, one point more on each side
    var xs = arrays.x, a = Math.max(0, lowerBound(xs, x0) - 1), z = Math.min(xs.length, lowerBound(xs, x1) + 1);
    var out = {};
    Object.keys(arrays).forEach(function (key) {
      out[key] = Array.isArray(arrays[key]) ? arrays[key].slice(a, z) : arrays[key];
    });
    return out;
  }
  function fitted(data, x0, x1) {  // each panel's value axis over what is drawn in view
    var lo = {}, hi = {}, i;
    data.forEach(function (tr) {
      if (tr.visible === false || tr.visible === 'legendonly' || tr.meta === 'nofit' || !tr.x) { return; }
      var ax = tr.yaxis || 'y', lows = tr.low || tr.y, highs = tr.high || tr.y;
      if (tr.type === 'bar') { lo[ax] = Math.min(lo[ax] === undefined ? 0 : lo[ax], 0); hi[ax] = Math.max(hi[ax] || 0, 0); }
      for (i = 0; i < tr.x.length; i++) {
        if (tr.x[i] < x0 || tr.x[i] > x1 || lows[i] === null || highs[i] === null) { continue; }
        if (!(lo[ax] <= lows[i])) { lo[ax] = lows[i]; }
        if (!(hi[ax] >= highs[i])) { hi[ax] = highs[i]; }
      }
    });
    var ranges = {};
    Object.keys(lo).forEach(function (k) {
      var pad = (hi[k] - lo[k]) * 0.06 || Math.abs(hi[k]) * 0.01 || 1;
      ranges[k === 'y' ? 'yaxis' : 'yaxis' + k.slice(1)] = [lo[k] - pad, hi[k] + pad];
    });
    return ranges;
  }
  function show(x0, x1) {
    if (busy) { pending = [x0, x1]; return; }
    var whole = !(isFinite(x0) && isFinite(x1));
    var pick = levelFor(whole ? -Infinity : x0, whole ? Infinity : x1), lv = S.levels[pick[0]];
    var markers = pick[1] <= S.markersInView;
    var data = gd.data.map(function (tr, i) {
      var arrays = whole ? lv.traces[i] : sliced(lv.traces[i], x0, x1), copy = Object.assign({}, tr);
      Object.keys(arrays).forEach(function (key) {
        if (key === 'marker.size') { copy.marker = Object.assign({}, tr.marker, {size: arrays[key]}); }
        else { copy[key] = arrays[key]; }
      });
      if (tr.meta === 'markers') { copy.visible = markers; }
      return copy;
    });
    var layout = Object.assign({}, gd.layout), ranges = fitted(data, x0, x1);
    Object.keys(layout).forEach(function (key) {
      if (/^xaxis[0-9]*$/.test(key)) {
        layout[key] = Object.assign({}, layout[key], whole ? {autorange: true} : {range: [x0, x1], autorange: false});
      }
      if (/^yaxis[0-9]*$/.test(key) && ranges[key]) {
        layout[key] = Object.assign({}, layout[key], {range: ranges[key], autorange: false});
      }
    });
    var fills = markers ? ', fills (triangles)' : ', fills (zoom in to see them)';
    layout.annotations = gd.layout.annotations.map(function (an, k) {
      if (k >= S.titles.length) { return an; }
      return Object.assign({}, an, {text: S.titles[k].replace('{size}', lv.label).replace('{fills}', fills)});
    });
    busy = true;
    var done = function () {
      busy = false;
      gd.setAttribute('data-shown', JSON.stringify({level: lv.label, inView: pick[1], markers: markers,
                                                     x0: whole ? null : x0, x1: whole ? null : x1}));
      if (pending) { var next = pending; pending = null; show(next[0], next[1]); }
    };
    Plotly.react(gd, data, layout).then(done, done);
  }
  function ms(v) { return typeof v === 'number' ? v : Date.parse(String(v).replace(' ', 'T') + 'Z'); }
  gd.on('plotly_relayout', function (ev) {
    var x0, x1, reset = false;  // any panel's time axis: they all move together
    Object.keys(ev).forEach(function (key) {
      var m = /^xaxis[0-9]*\\.(range\\[0\\]|range\\[1\\]|range|autorange)$/.exec(key);
      if (!m) { return; }
      if (m[1] === 'range[0]') { x0 = ev[key]; } else if (m[1] === 'range[1]') { x1 = ev[key]; }
      else if (m[1] === 'range') { x0 = ev[key][0]; x1 = ev[key][1]; } else if (ev[key]) { reset = true; }
    });
    if (x0 !== undefined && x1 !== undefined) { show(ms(x0), ms(x1)); } else if (reset) { show(-Infinity, Infinity); }
  });
  show(-Infinity, Infinity);
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
