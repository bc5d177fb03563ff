"""The backtest's HTML report in a real browser (headless Chromium over the DevTools protocol).

A real backtest (three days of simulated 1m candles) writes report.html; Chromium opens it from disk
with background networking off and the test checks: no console error, no request but the file itself,
the four panels drawn (candles, fill bars, equity and position lines as non-empty SVG), real dates on the
time axis, and that zooming in switches to per-candle detail and fits the price axis to the view. The
screenshot is saved in the test's tmp dir (``report.png``, and ``report-zoomed.png``).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from bots.backtest.__main__ import main
from bots.backtest.report_html import FINE_CANDLES_IN_VIEW, PANELS
from tests.cdp import Chromium, find_chromium

CHROMIUM = find_chromium()

pytestmark = [
    pytest.mark.slow,
    pytest.mark.needs_tool("chromium"),  # .ci/run installs it; tests/conftest.py allows this skip only off CI
    pytest.mark.skipif(CHROMIUM is None, reason="needs optional system tool: chromium (apt-get install chromium)"),
]

GD = "document.getElementById('backtest-chart')"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    assert main(["--symbol", "TON", "--days", "3", "--seed", "7", "--out", str(out), "--no-progress",
                 "--report", "html"]) == 0
    return out / "report.html"


def test_the_report_renders_in_chromium_without_errors_or_network(report, tmp_path):
    with Chromium(CHROMIUM, tmp_path / "profile", width=1400, height=1000) as page:
        page.navigate(report.as_uri())
        page.until(f"{GD} && {GD}.querySelectorAll('.cartesianlayer .subplot').length === {len(PANELS)}",
                   what="the four panels")
        drawn = page.evaluate(f"""(() => {{
            const gd = {GD};
            const nonEmpty = sel => Array.from(gd.querySelectorAll(sel))
                .filter(p => (p.getAttribute('d') || '').length > 20).length;
            return {{
                subplots: Array.from(gd.querySelectorAll('.cartesianlayer .subplot')).map(s => s.classList[1]),
                candles: nonEmpty('.boxlayer .trace.boxes path'),
                candleData: gd.data.find(t => t.type === 'candlestick').x.length,
                bars: nonEmpty('.barlayer .point path'),
                lines: Array.from(gd.querySelectorAll('.scatterlayer .trace')).filter(t =>
                    Array.from(t.querySelectorAll('path.js-line')).some(p => (p.getAttribute('d') || '').length > 20)
                ).length,
                xType: gd._fullLayout.xaxis4.type,
                ticks: Array.from(gd.querySelectorAll('.xaxislayer-above .xtick text')).map(t => t.textContent),
            }};
        }})()""")
        page.screenshot(tmp_path / "report.png")
        assert page.console_errors() == []
        # the page loaded nothing but itself (data: URLs are inline bytes, e.g. plotly's image-format probe)
        assert [u for u in page.requested_urls() if not u.startswith("data:")] == [report.as_uri()]
    assert drawn["subplots"] == ["xy", "x2y2", "x3y3", "x4y4"]
    assert drawn["candles"] == drawn["candleData"] > 0  # every candle drawn
    assert drawn["bars"] > 0 and drawn["lines"] >= 3  # fill bars; peak, equity, position lines
    assert drawn["xType"] == "date"
    start = datetime.fromtimestamp(1_767_225_600, tz=timezone.utc)  # the simulated candles' first day
    assert any(start.strftime("%b") in t and str(start.year) in t for t in drawn["ticks"]), drawn["ticks"]
    png = (tmp_path / "report.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(png[16:20], "big") == 1400
    import matplotlib.pyplot as plt

    pixels = plt.imread(tmp_path / "report.png")
    assert pixels.std() > 0.05  # a page with charts on it, not a blank one


def test_zooming_in_shows_detail_and_fits_the_price_axis(report, tmp_path):
    with Chromium(CHROMIUM, tmp_path / "profile", width=1400, height=1000) as page:
        page.navigate(report.as_uri())
        page.until(f"{GD} && {GD}.getAttribute('data-fitted')", what="the first fit")
        before = page.evaluate(f"JSON.stringify({GD}.layout.yaxis.range)")
        shown = f"JSON.stringify({GD}.data.filter(t => t.meta === 'fine').map(t => t.visible))"
        assert set(json.loads(page.evaluate(shown))) == {False}  # zoomed out: per coarse bucket
        # zoom to 100 candles through the time axis of the bottom panel, as a drag there would
        page.evaluate(f"""(() => {{
            const gd = {GD}, x = gd.data.find(t => t.type === 'candlestick').x;
            return Plotly.relayout(gd, {{'xaxis4.range': [x[40], x[140]]}}).then(() => true);
        }})()""")
        page.until(f"{GD}.getAttribute('data-fitted') !== '-Infinity,Infinity'", what="the fit after zooming")
        assert set(json.loads(page.evaluate(shown))) == {True}
        view = json.loads(page.evaluate(f"""JSON.stringify((() => {{
            const gd = {GD}, c = gd.data.find(t => t.type === 'candlestick');
            const inView = c.x.map((x, i) => i).filter(i => c.x[i] >= c.x[40] && c.x[i] <= c.x[140]);
            return {{range: gd.layout.yaxis.range, x: gd.layout.xaxis.range,
                     low: Math.min(...inView.map(i => c.low[i])), high: Math.max(...inView.map(i => c.high[i])),
                     n: inView.length}};
        }})())"""))
        page.screenshot(tmp_path / "report-zoomed.png")
        assert page.console_errors() == []
    assert view["n"] <= FINE_CANDLES_IN_VIEW
    lo, hi = view["range"]
    assert lo <= view["low"] and view["high"] <= hi  # every candle in view fits
    full_lo, full_hi = json.loads(before)
    assert hi - lo < full_hi - full_lo  # ... in a tighter range than the whole run's
