"""The backtest's HTML report in a real browser (headless Chromium over the DevTools protocol).

A real backtest (three days of simulated 1m candles) writes report.html; Chromium opens it from disk
with background networking off and the test checks: no console error, no request but the file itself,
the four panels drawn (candles, fill bars, equity and position lines as non-empty SVG), real dates on the
time axis, and that zooming in draws the finest level of detail, only the part in view, with the fills on
the price and the price axis fitted to the view. The screenshots are saved in the test's tmp dir
(``report.png``, and ``report-zoomed.png``).
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bots.backtest.__main__ import main
from bots.backtest.report_html import MARKERS_IN_VIEW, MAX_IN_VIEW, PANELS
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


def test_zooming_in_draws_the_finest_level_in_view_and_fits_the_axes(report, tmp_path):
    shown = f"JSON.parse({GD}.getAttribute('data-shown'))"
    with Chromium(CHROMIUM, tmp_path / "profile", width=1400, height=1000) as page:
        page.navigate(report.as_uri())
        page.until(f"{GD} && {GD}.getAttribute('data-shown')", what="the first drawing")
        whole = page.evaluate(shown)
        store = page.evaluate(f"""(() => {{
            const gd = {GD}, i = gd.data.findIndex(t => t.type === 'candlestick');
            return {{candles: gd.data[i].x.length, markers: gd.data.filter(t => t.meta === 'markers')
                     .map(t => t.visible), yrange: gd.layout.yaxis.range}};
        }})()""")
        # zoom to 100 candles of the finest level through the bottom panel's time axis, as a drag there would
        finest = page.evaluate(f"""(() => {{
            const gd = {GD}, i = gd.data.findIndex(t => t.type === 'candlestick');
            const lv = gd.backtestLevels[0], x = lv.traces[i].x;
            window.__want = x[40];
            return Plotly.relayout(gd, {{'xaxis4.range': [x[40], x[140]]}}).then(() => ({{
                label: lv.label, x0: x[40], x1: x[140],
                low: Math.min(...lv.traces[i].low.slice(40, 141)), high: Math.max(...lv.traces[i].high.slice(40, 141)),
            }}));
        }})()""")
        page.until(f"{shown}.x0 === window.__want", what="the drawing after zooming")
        zoomed = page.evaluate(shown)
        drawn = page.evaluate(f"""(() => {{
            const gd = {GD}, c = gd.data.find(t => t.type === 'candlestick');
            return {{candles: c.x.length, first: c.x[0], last: c.x[c.x.length - 1], yrange: gd.layout.yaxis.range,
                     markers: gd.data.filter(t => t.meta === 'markers').map(t => t.visible),
                     triangles: gd.querySelectorAll('.scatterlayer .trace .points path').length}};
        }})()""")
        page.screenshot(tmp_path / "report-zoomed.png")
        assert page.console_errors() == []
    assert whole["x0"] is None and whole["inView"] == store["candles"] <= MAX_IN_VIEW  # the whole run, coarsest
    assert store["markers"] == [False, False]  # too many candles for fills on the price
    assert zoomed == {"level": finest["label"], "inView": 100, "markers": 100 <= MARKERS_IN_VIEW,
                      "x0": finest["x0"], "x1": finest["x1"]}
    assert drawn["candles"] <= 101 + 2 and drawn["first"] <= finest["x0"] and drawn["last"] >= finest["x1"]
    assert drawn["markers"] == [True, True] and drawn["triangles"] > 0
    lo, hi = drawn["yrange"]
    assert lo <= finest["low"] and finest["high"] <= hi  # every candle in view fits ...
    assert hi - lo < store["yrange"][1] - store["yrange"][0]  # ... in a tighter range than the whole run's
