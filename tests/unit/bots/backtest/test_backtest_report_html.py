"""The HTML report as a file: one page, nothing loaded from elsewhere, four panels on a date axis, the
summary and the metrics; a clear error without plotly; a reasonable size for a year of minutes.
(tests/integration/test_backtest_report_browser.py opens it in a real browser.)"""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from backtest_helpers import RULES, T0, ChartRun, FixedOrders, buy, sell, walk_bars, without_module

from bots.backtest.chart_data import bucket_label, chart_data
from bots.backtest.data import Bars
from bots.backtest.engine import BacktestConfig, BacktestEngine, FillRecord
from bots.backtest.report import compute_metrics, format_headline
from bots.backtest.report_html import (
    MAX_IN_VIEW,
    OVERVIEW_BARS,
    PANELS,
    render_html,
    require_plotly,
    write_html_report,
)
from bots.strategy import Side
from lighter_sync.errors import ConfigError

MIN = 60_000


def small_run():
    bars = walk_bars(6 * 60, seed=3, price=100.0, decimals=2)
    orders = [buy("b1", "99.80"), buy("b2", "99.50"), sell("s1", "100.20"), sell("s2", "100.50")]
    return BacktestEngine(FixedOrders(orders, once=False), RULES, bars, BacktestConfig()).run()


def test_the_report_is_one_page_that_needs_nothing_else(tmp_path):
    r = small_run()
    m = compute_metrics(r)
    path = write_html_report(r, m, tmp_path / "sub" / "report.html", title="TEST <grid>",
                             params={"spacing": Decimal("0.003")})
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    # nothing fetched: no external script, stylesheet, image or frame
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)\s*=", text, re.I)
    assert "plotly.js" in text and "Plotly.newPlot" in text  # the library itself is inside
    assert "<title>TEST &lt;grid&gt;</title>" in text  # escaped
    for line in format_headline(m).splitlines():
        assert line.replace(">", "&gt;") in text
    assert "<caption>Performance</caption>" in text and "<th>max drawdown</th>" in text
    assert "<th>spacing</th><td>0.003</td>" in text


def test_the_figure_has_four_linked_panels_on_a_date_axis():
    import plotly.graph_objects as go

    from bots.backtest.report_html import _figure

    d = chart_data(small_run(), max_bars=400, overview_bars=50)
    fig = _figure(go, d)
    layout = fig.layout
    axes = [f"xaxis{n if n > 1 else ''}" for n in range(1, len(PANELS) + 1)]
    assert all(layout[a].type == "date" for a in axes)
    assert {layout[a].matches for a in axes[:-1]} == {"x4"}  # one zoom moves all four
    assert {t.yaxis for t in fig.data} == {"y", "y2", "y3", "y4"}
    candles = [t for t in fig.data if t.type == "candlestick"]
    overview = d.levels[-1]
    assert len(candles) == 1 and len(candles[0].x) == len(overview.candles.t) <= 50  # the whole run, coarsest
    assert candles[0].x[0] == overview.candles.t[0] + overview.bucket_ms // 2  # ms since the epoch, mid-candle
    assert any(t.type == "scatter" and t.line.shape == "hv" and t.name == "position" for t in fig.data)


def test_the_page_holds_every_level_with_the_figures_traces(tmp_path):
    r = small_run()
    page = render_html(r, compute_metrics(r), max_bars=400)
    store = json.loads(re.search(r"var S = (\{.*?\});\n", page).group(1))
    d = chart_data(r, max_bars=400, overview_bars=OVERVIEW_BARS)
    assert [lv["label"] for lv in store["levels"]] == [bucket_label(lv.bucket_ms) for lv in d.levels]
    figure = json.loads(re.search(r"Plotly\.newPlot\(\s*\"backtest-chart\",\s*(\[.*?\]),\s*\{\"", page,
                                  re.S).group(1))
    for lv, stored in zip(d.levels, store["levels"], strict=True):
        assert len(stored["traces"]) == len(figure)  # the page swaps arrays trace by trace
        (candles,) = [t for t, f in zip(stored["traces"], figure, strict=True) if f["type"] == "candlestick"]
        assert candles["high"] == [float(f"{x:.8g}") for x in lv.candles.high]
    assert store["maxInView"] == MAX_IN_VIEW


def test_a_clear_error_without_plotly(monkeypatch):
    without_module(monkeypatch, "plotly")
    with pytest.raises(ConfigError, match=r"--report html needs plotly: pip install 'lighter-sync\[report\]'"):
        require_plotly()


@pytest.mark.slow
def test_a_year_of_minutes_and_300k_fills_fits_in_a_few_megabytes():
    n = 365 * 1440
    bars = Bars(list(range(T0, T0 + n * MIN, MIN)), [2.0] * n, [2.01] * n, [1.99] * n, [2.0] * n, [1.0] * n, MIN)
    fills = [FillRecord(T0 + i * 105_000, 0, "L+1", Side.BUY if i % 2 else Side.SELL, Decimal("2.0"),
                        Decimal(5), Decimal(0), True, Decimal(0), Decimal(5 * (i % 2))) for i in range(300_000)]
    state = [(f.ts_ms, float(f.position), 1000.0 - 2 * float(f.position), None) for f in fills]
    run = ChartRun(bars, fills=fills, state_log=state)
    metrics = {"capital": Decimal(1000), "final_equity": Decimal(1000), "net_pnl": Decimal(0), "return": 0.0,
               "annual_return": 0.0, "max_drawdown": 0.0, "fills": len(fills), "round_trips": 0,
               "fees": Decimal(0), "funding": Decimal(0), "days": 365.0}
    page = render_html(run, metrics)
    assert len(page.encode()) < 9_000_000
    assert "525,600 1 min candles, drawn as 1 day candles for the whole run (365)" in page
