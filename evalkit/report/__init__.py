"""Stage 8: the HTML report (jinja2, inline SVG plots), report.json and CSV exports."""
from .collect import ReportData, collect_report_data
from .stage import render_report

__all__ = ["ReportData", "collect_report_data", "render_report"]
