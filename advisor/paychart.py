"""Pay at a glance: an answer's sourced pay figures drawn as a chart, a table and a CLI table.

All three are drawn from one list (advisor.payfigures), so none shows a
figure the others do not. The chart is a Plotly figure, written as plotly.js's
JSON (Gradio bundles plotly.js, so it draws offline): one horizontal bar per
figure, a range as a floating bar between its two ends, yearly and hourly pay in separate panels
with separate axes (never converted into each other), bars grouped and
coloured by occupation. Every number it shows is a figure's own text, taken
from its source: the axes carry no tick numbers of their own. Each bar's
hover label is the source sentence; its customdata says which source card
a click opens (the page's script does that, and makes bars focusable).
Source text is escaped before Plotly sees it: its labels render a little
HTML, and text from sources is never live.
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from advisor.payfigures import PayFigure, grouped

if TYPE_CHECKING:
    from rich.table import Table

PANELS = {"year": "Yearly pay", "hour": "Hourly pay"}
UNIT_WORDS = {"year": "a year", "hour": "an hour"}
# Colours readable on white and on Gradio's dark panels (3:1 or more against both).
PALETTE = ["#2563eb", "#d97706", "#0d9488", "#c026d3", "#65a30d", "#e11d48"]
BAR_ROW_PX = 64  # two label lines above a bar
LABEL_WRAP = 44  # characters per label line: fits a 390-px phone screen


def stated(figure: PayFigure) -> str:
    """The figure as its source writes it, with the unit: "$16 an hour"."""
    return f"{figure.text} {UNIT_WORDS[figure.unit]}"


def label_text(figure: PayFigure) -> str:
    """What a bar or row is called: occupation · statistic · reporter · period [n]."""
    return f"{figure.label} [{figure.n}]"


def _wrapped(text: str, width: int) -> str:
    """Escaped text in lines of `width`, joined by <br> (Plotly labels wrap no other way)."""
    return "<br>".join(html.escape(line) for line in textwrap.wrap(text, width) or [""])


def bar_label(figure: PayFigure) -> str:
    """Two lines over a bar: who and which statistic; who reported it, when, and its [n]."""
    who = _wrapped(f"{figure.occupation} · {figure.statistic}", LABEL_WRAP)
    return f"{who}<br>{html.escape(f'{figure.reporter} · {figure.period} [{figure.n}]')}"


def pay_chart(figures: Sequence[PayFigure], targets: dict[int, str], title: str = "") -> dict:
    """The chart as Plotly's JSON figure: one panel per unit present, one bar per figure,
    labelled above the bar.

    Written as the JSON plotly.js reads rather than through plotly's graph_objects, whose
    validation cost the page more than the rest of an answer (13 ms of a 39 ms turn);
    `tests/test_payfigures.py` and the page's chart test check what it draws. `targets`
    maps a citation number to the source card ("m3-s1") a click on its bar opens.
    """
    ordered = grouped(figures)
    units = [u for u in PANELS if any(f.unit == u for f in ordered)]
    counts = [sum(f.unit == u for f in ordered) for u in units]
    occupations = dict.fromkeys(f.occupation for f in ordered)
    colours = {o: PALETTE[i % len(PALETTE)] for i, o in enumerate(occupations)}
    legend = len(colours) > 1
    gap = 0.34 / sum(counts)  # between panels, as a share of the plot's height
    tall = 1 - gap * (len(units) - 1)
    data: list[dict] = []
    layout: dict = {}
    titles: list[dict] = []  # the panels' titles, then the bars' labels
    labels: list[dict] = []
    top, shown = 1.0, set()
    for row, unit in enumerate(units, start=1):
        panel = [f for f in ordered if f.unit == unit]
        ids = [f"{unit}{i}" for i in range(len(panel))]
        widest = max((f.high or f.value) for f in panel)
        x, y = ("x", "y") if row == 1 else (f"x{row}", f"y{row}")
        bottom = max(0.0, top - tall * counts[row - 1] / sum(counts))
        layout[f"xaxis{row if row > 1 else ''}"] = {
            "anchor": y, "domain": [0.0, 1.0], "range": [0, widest * 1.28],
            "showticklabels": False, "showgrid": False, "zeroline": True,
            "zerolinecolor": "#9ca3af", "fixedrange": True,
        }  # fmt: skip
        layout[f"yaxis{row if row > 1 else ''}"] = {
            "anchor": x, "domain": [bottom, top], "categoryorder": "array",
            "categoryarray": ids[::-1], "showticklabels": False, "fixedrange": True,
        }  # fmt: skip
        titles.append(
            {"text": PANELS[unit], "x": 0, "xanchor": "left", "xref": "paper", "y": top,
             "yanchor": "bottom", "yref": "paper", "showarrow": False, "font": {"size": 13}}
        )  # fmt: skip
        for occupation in dict.fromkeys(f.occupation for f in panel):
            mine = [(i, f) for i, f in zip(ids, panel, strict=True) if f.occupation == occupation]
            data.append({
                "type": "bar", "orientation": "h", "xaxis": x, "yaxis": y,
                "y": [i for i, _ in mine],
                "x": [(f.high - f.value) if f.high else f.value for _, f in mine],
                "base": [f.value if f.high else 0 for _, f in mine],
                "text": [html.escape(f.text) for _, f in mine],
                "textposition": "outside", "cliponaxis": False,
                "marker": {"color": colours[occupation]}, "width": 0.42,
                "name": html.escape(occupation), "legendgroup": occupation,
                "showlegend": occupation not in shown and legend,
                "customdata": [
                    [f"{targets.get(f.n, '')}:{f.n}", _wrapped(f.sentence, LABEL_WRAP),
                     html.escape(label_text(f)), html.escape(stated(f))]
                    for _, f in mine
                ],
                "hovertemplate": "<b>%{customdata[2]}</b><br>%{customdata[3]}<br><br>"
                "%{customdata[1]}<extra></extra>",
            })  # fmt: skip
            shown.add(occupation)
        labels += [
            {"text": bar_label(f), "x": 0, "xref": f"{x} domain", "y": i, "yref": y,
             "xanchor": "left", "yanchor": "bottom", "yshift": 15, "showarrow": False,
             "align": "left", "font": {"size": 12}}
            for i, f in zip(ids, panel, strict=True)
        ]  # fmt: skip
        top = bottom - gap
    layout.update(
        annotations=titles + labels,
        height=sum(counts) * BAR_ROW_PX + 60 * len(units) + (34 if legend else 0),
        margin={"l": 4, "r": 8, "t": 56 if legend else 30, "b": 8},
        paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
        font={"family": "system-ui, sans-serif", "size": 12, "color": "#374151"},
        hoverlabel={"bgcolor": "#ffffff", "bordercolor": "#6b7280",
                    "font": {"color": "#111827", "size": 12}, "align": "left"},
        legend={"orientation": "h", "x": 0, "y": 1, "yanchor": "top", "yref": "container",
                "font": {"size": 12}},
        dragmode=False, bargap=0.5, barmode="overlay",
        modebar={"remove": ["zoom", "pan", "select", "lasso", "zoomIn", "zoomOut",
                            "autoScale", "resetScale", "toImage"]},
        meta={"title": html.escape(title)},
    )  # fmt: skip
    return {"data": data, "layout": layout}


def table_html(figures: Sequence[PayFigure], chip: Callable[[int], str]) -> str:
    """The chart's data as a small table (what a screen reader reads): one row per figure,
    its source chip (`chip(n)`) previewing the sentence and opening the card."""
    rows = "".join(
        f'<tr><td class="pay-value">{html.escape(stated(f))}</td>'
        f"<td>{html.escape(f.occupation)} · {html.escape(f.statistic)}</td>"
        f"<td>{html.escape(f.reporter)} · {html.escape(f.period)}</td><td>{chip(f.n)}</td></tr>"
        for f in grouped(figures)
    )
    return (
        '<details class="pay-table-box"><summary>Pay figures as a table</summary>'
        '<table class="pay-table"><caption class="sr-only">Pay figures in this answer, '
        'with who reported each and when</caption><thead><tr><th scope="col">Pay</th>'
        '<th scope="col">Who · statistic</th><th scope="col">Reported by</th>'
        '<th scope="col">Source</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></details>"
    )


def cli_table(figures: Sequence[PayFigure]) -> Table:
    """The same figures as a compact rich table, under the answer in the terminal."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Pay at a glance", box=box.SIMPLE_HEAD, title_justify="left",
                  pad_edge=False, show_edge=False)  # fmt: skip
    for name, justify in (("Pay", "right"), ("Who", "left"), ("Statistic", "left"),
                          ("Reported by", "left"), ("", "right")):  # fmt: skip
        table.add_column(name, justify=justify, overflow="fold", no_wrap=name in ("Pay", ""))
    for f in grouped(figures):
        table.add_row(escape(stated(f)), escape(f.occupation), escape(f.statistic),
                      escape(f"{f.reporter} · {f.period}"), escape(f"[{f.n}]"))  # fmt: skip
    return table
