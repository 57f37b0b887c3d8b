"""The portrait page: self-contained HTML whose charts and tables show the run's numbers, drawn by Chromium."""
from __future__ import annotations

import re

import pytest

from pipeline.portrait.render import render
from pipeline.portrait.screenshot import chromium, drawn_share, screenshot
from pipeline.portrait.svg import bars, histogram

DATA = {
    "run": "file:///tmp/run",
    "funnel": [
        {"name": "ingest", "rows_in": 100, "kept": 80, "rejected": 20, "mb_in": 5.0, "mb_kept": 4.0,
         "rejected_by_reason": {"binary": 15, "empty": 5}, "rejected_mb_by_reason": {"binary": 0.9, "empty": 0.0}},
        {"name": "quality", "rows_in": 80, "kept": 70, "rejected": 10, "mb_in": 4.0, "mb_kept": 3.5,
         "rejected_by_reason": {"syntax_error": 10}, "rejected_mb_by_reason": {"syntax_error": 0.5}},
    ],
    "languages": {"Python": {"files": 50, "mb": 2.5, "mean_quality": 0.91, "syntax_error_rate": 0.05,
                             "duplicate_rate": 0.1, "pii": {"email": 3, "key": 1}},
                  "Go": {"files": 20, "mb": 1.0}},
    "quality_histograms": {"Python": [0, 0, 0, 1, 2, 3, 5, 10, 20, 9]},
    "resampling": {"distribution_before": {"Python": {"files": 50, "mb": 2.5, "tokens_m": 0.7}},
                   "distribution_after": {"Python": {"files": 60, "mb": 3.0, "tokens_m": 0.85}}},
}


def test_page_holds_every_section_and_loads_nothing_from_outside():
    html = render(DATA)
    for heading in ("Funnel", "Removed, by reason", "Languages (final table)", "Quality score distribution",
                    "Resampling"):
        assert f"<h2>{heading}</h2>" in html
    assert "<td>syntax_error</td><td>10</td><td>0.5</td>" in html
    assert "<td>Python</td><td>50</td><td>2.5</td><td>0.91</td><td>0.05</td><td>0.1</td><td>4</td>" in html
    urls = set(re.findall(r"(?:src|href)=[\"']?([^\"' >]+)", html)) | set(re.findall(r"url\(([^)]*)\)", html))
    assert urls == set()  # no scripts, images, fonts or styles from anywhere
    assert "<script" not in html


def test_charts_scale_bars_to_the_largest_value():
    svg = bars([("a", 10), ("b", 5)], "T", width=300)
    widths = [float(w) for w in re.findall(r'<rect x="170" y="[\d.]+" width="([\d.]+)"', svg)]
    assert widths == [40.0, 20.0]  # (300 - 170 - 90) wide at the peak, half for half the value
    assert histogram([0, 5, 10], "h").count("<rect") == 3


@pytest.mark.skipif(chromium() is None, reason="needs Chromium (.ci/run installs it)")
def test_chromium_draws_the_page(tmp_path):
    page = tmp_path / "report.html"
    page.write_text(render(DATA), encoding="utf-8")
    png = screenshot(page, tmp_path / "report.png")
    assert drawn_share(png) > 0.01  # bars, text and tables on the white page
    blank = tmp_path / "blank.html"
    blank.write_text("<html><body></body></html>")
    assert drawn_share(screenshot(blank, tmp_path / "blank.png")) < 0.001
