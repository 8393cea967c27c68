"""One renderer per format, serving every report: terminal table, JSON, CSV, HTML, PNG."""

from __future__ import annotations

import csv
import io
from enum import StrEnum

import orjson
from jinja2 import Environment
from markupsafe import Markup
from rich.console import Console
from rich.table import Table as RichTable

from patron.analytics.cells import column_heading, display_value, plain_value
from patron.analytics.charts import draw_chart, draw_report
from patron.analytics.contract import Report, Table, Unit


class ReportFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    HTML = "html"
    PNG = "png"


MEDIA_TYPES = {
    ReportFormat.TABLE: "text/plain; charset=utf-8",
    ReportFormat.JSON: "application/json",
    ReportFormat.CSV: "text/csv; charset=utf-8",
    ReportFormat.HTML: "text/html; charset=utf-8",
    ReportFormat.PNG: "image/png",
}


def _formatted(table: Table) -> list[list[str]]:
    return [
        [display_value(column, cell) for column, cell in zip(table.columns, row, strict=True)]
        for row in table.rows
    ]


def _period_line(report: Report) -> str:
    period = str(report.period) if report.period else "all data"
    line = f"Period: {period} ({report.timezone})"
    if report.comparison_period:
        line += f" · compared with {report.comparison_period}"
    filters = report.filters.describe()
    if filters:
        line += " · " + "; ".join(f"{key} = {', '.join(values)}" for key, values in filters.items())
    if report.data_as_of:
        line += f" · data as of {report.data_as_of:%Y-%m-%d %H:%M} UTC"
    return line


def render_table(report: Report, width: int = 160) -> bytes:
    """The report as text tables for a terminal (rich), with its notes."""
    console = Console(record=True, width=width, file=io.StringIO(), force_terminal=False)
    console.print(f"[bold]{report.title}[/bold]")
    console.print(_period_line(report), highlight=False)
    for note in report.notes:
        console.print(f"• {note}", highlight=False)
    for table in report.tables:
        shown = RichTable(title=table.title, title_justify="left", show_lines=False)
        for column in table.columns:
            right = column.unit not in (Unit.TEXT, Unit.DATE)
            shown.add_column(column_heading(column), justify="right" if right else "left")
        for row in _formatted(table):
            shown.add_row(*row)
        if not table.rows:
            console.print(f"\n{table.title}: no data", highlight=False)
            continue
        console.print()
        console.print(shown)
    return console.export_text().encode()


def render_json(report: Report) -> bytes:
    """The report as JSON: the contract's fields, money in minor units."""
    return orjson.dumps(report, option=orjson.OPT_INDENT_2)


def render_csv(report: Report) -> bytes:
    """Every table in turn: a line with the table's name, its header, its rows, a blank line.

    Money is written in major units (the currency is in the header), shares as fractions.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for index, table in enumerate(report.tables):
        if index:
            writer.writerow([])
        writer.writerow([f"# {table.name}"])
        writer.writerow([column_heading(column) for column in table.columns])
        for row in table.rows:
            writer.writerow(
                [plain_value(column, cell) for column, cell in zip(table.columns, row, strict=True)]
            )
    return buffer.getvalue().encode()


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ report.title }} · Patron</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1d2733; max-width: 72rem; }
h1 { margin-bottom: .2rem; }
.period { color: #55606e; margin-top: 0; }
.notes li:first-child { font-weight: 600; }
table { border-collapse: collapse; margin: .5rem 0 2rem; font-size: .9rem; }
th, td { padding: .25rem .6rem; border-bottom: 1px solid #dde2e8; }
th { text-align: left; background: #f3f5f8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1rem 0 2rem; }
figure svg { max-width: 100%; height: auto; }
</style>
</head>
<body>
<h1>{{ report.title }}</h1>
<p class="period">{{ period_line }}</p>
{% if report.notes %}<ul class="notes">
{% for note in report.notes %}<li>{{ note }}</li>
{% endfor %}</ul>{% endif %}
{% for chart in charts %}<figure aria-label="{{ chart.title }}">{{ chart.svg }}</figure>
{% endfor %}
{% for table in tables %}<h2>{{ table.title }}</h2>
{% if table.rows %}<table>
<thead><tr>{% for heading in table.headings %}<th>{{ heading }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in table.rows %}<tr>{% for cell in row -%}
<td{% if table.numeric[loop.index0] %} class="num"{% endif %}>{{ cell }}</td>
{%- endfor %}</tr>
{% endfor %}</tbody>
</table>{% else %}<p>No data.</p>{% endif %}
{% endfor %}
</body>
</html>
"""

_ENVIRONMENT = Environment(autoescape=True)


def _svg(chart_svg: bytes) -> Markup:
    # matplotlib's SVG starts with an XML declaration and a DOCTYPE, not allowed inside HTML.
    text = chart_svg.decode()
    return Markup(text[text.index("<svg") :])  # noqa: S704 - our own matplotlib output


def render_html(report: Report) -> bytes:
    """A self-contained page: no script, no CDN, the charts as inline SVG."""
    charts = [
        {"title": chart.title, "svg": _svg(draw_chart(chart, "svg"))} for chart in report.charts
    ]
    tables = [
        {
            "title": table.title,
            "headings": [column_heading(column) for column in table.columns],
            "numeric": [column.unit not in (Unit.TEXT, Unit.DATE) for column in table.columns],
            "rows": _formatted(table),
        }
        for table in report.tables
    ]
    page = _ENVIRONMENT.from_string(_PAGE).render(
        report=report, period_line=_period_line(report), charts=charts, tables=tables
    )
    return page.encode()


def render_png(report: Report) -> bytes:
    """Every chart of the report in one PNG image (the first table if it has no chart)."""
    first = _formatted(report.tables[0]) if report.tables else []
    return draw_report(report, first)


def render_report(report: Report, report_format: ReportFormat, *, width: int = 160) -> bytes:
    """The report in ``report_format``, as bytes ready to write or send."""
    if report_format is ReportFormat.TABLE:
        return render_table(report, width=width)
    if report_format is ReportFormat.JSON:
        return render_json(report)
    if report_format is ReportFormat.CSV:
        return render_csv(report)
    if report_format is ReportFormat.HTML:
        return render_html(report)
    return render_png(report)
