"""Inline SVG plots: escaped text, expected marks, no scripts."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from evalkit.report import plots

SVG = "{http://www.w3.org/2000/svg}"
EVIL = '<script>alert("x")</script>&'


def _parse(markup) -> ET.Element:
    return ET.fromstring(str(markup))        # well-formed XML: every text node was escaped


def test_line_chart_escapes_and_draws_each_series():
    svg = _parse(plots.line_chart([{"name": EVIL, "values": [1.0, 0.5, 0.25]},
                                   {"name": "val", "values": [1.0, 0.8, float("nan")], "dashed": True}],
                                  title=EVIL, y_label="loss"))
    assert svg.find(f"{SVG}title").text == EVIL
    assert not list(svg.iter(f"{SVG}script"))
    lines = svg.findall(f"{SVG}polyline")
    assert len(lines) == 2 and len(lines[0].get("points").split()) == 3 and len(lines[1].get("points").split()) == 2
    assert lines[1].get("stroke-dasharray") == "5 3"


def test_interval_plot_marks_value_and_ci():
    svg = _parse(plots.interval_plot([{"label": EVIL, "value": 0.5, "lo": 0.25, "hi": 0.75}], title="t"))
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "50.0%" in texts and any(t.startswith("<script>") for t in texts)
    circle = svg.find(f"{SVG}circle")
    x0, x1 = 150, 520 - 76
    assert float(circle.get("cx")) == x0 + (x1 - x0) * 0.5


def test_heatmap_counts_and_escaped_labels():
    svg = _parse(plots.heatmap([[3, 1], [0, 2]], ["a<b", EVIL], title="cm"))
    titles = [t.text for t in svg.iter(f"{SVG}title")]
    assert "true a<b, predicted a<b: 3" in titles and f"true {EVIL}, predicted a<b: 0" in titles
    assert [t.text for t in svg.iter(f"{SVG}text") if t.text in ("3", "1", "2")] == ["3", "1", "2"]
