"""Eval reports: report.json, report.md and report.html in evals/reports/<timestamp>/.

The HTML holds the per-case table (pass/fail and why), the metric summary and
a small line chart of the key metrics over earlier runs. The chart is a few
lines of inline SVG rather than a plotting library: it keeps the report one
self-contained file and the eval free of a heavy import.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from advisor.evaluate import EvalRun

PLOTTED = (
    "pass_rate",
    "fact_coverage",
    "citation_validity",
    "refusal_recall",
    "fabricated_figure_rate",
)
COLOURS = ("#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#d62728")


def run_json(run: EvalRun) -> dict[str, Any]:
    return {
        "config": run.config,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "passed": not run.failures,
        "failures": run.failures,
        "warnings": run.warnings,
        "metrics": run.metrics,
        "stage_latency_ms": run.stage_latency,
        "guard_would_remove": run.guard_would_remove,
        "cases": [
            {
                "id": g.case_id,
                "passed": g.passed,
                "reasons": g.reasons,
                "refused": g.refused,
                "answer": g.answer,
                "cited_docs": g.cited_docs,
                "figures": g.figures,
            }
            for g in run.graded
        ],
    }


def history(reports_dir: Path, config: str) -> list[dict[str, Any]]:
    """Earlier reports of the same configuration, oldest first."""
    found = []
    for path in sorted(reports_dir.glob("*/report.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if data.get("config") == config:
            found.append(data)
    return found


def svg_chart(points: list[dict[str, Any]], width: int = 640, height: int = 220) -> str:
    """Metrics (all in 0..1) against run number, as inline SVG."""
    if not points:
        return "<p>No runs to plot yet.</p>"
    left, top, plot_w, plot_h = 40, 10, width - 200, height - 40
    step = plot_w / max(1, len(points) - 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'role="img" aria-label="metrics over runs">',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" '
        'fill="none" stroke="#ccc"/>',
        f'<text x="4" y="{top + 8}" font-size="10">1.0</text>',
        f'<text x="4" y="{top + plot_h}" font-size="10">0.0</text>',
    ]
    for i, (name, colour) in enumerate(zip(PLOTTED, COLOURS, strict=True)):
        coords = [
            (left + j * step, top + plot_h * (1 - min(1.0, max(0.0, p["metrics"].get(name, 0)))))
            for j, p in enumerate(points)
        ]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in coords]
        parts.append(
            f'<text x="{left + plot_w + 10}" y="{top + 14 + 16 * i}" font-size="12" '
            f'fill="{colour}">{name}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def markdown(data: dict[str, Any]) -> str:
    status = "PASSED" if data["passed"] else "FAILED"
    lines = [
        f"# Eval report — {data['config']} — {status}",
        "",
        "## Metrics",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    lines += [f"| {k} | {_fmt(v)} |" for k, v in data["metrics"].items()]
    if data["guard_would_remove"] is not None:
        lines += [
            "",
            f"Guard off: the guard would have removed {data['guard_would_remove']} figures.",
        ]
    if data["failures"]:
        lines += ["", "## Why it failed", ""] + [f"- {f}" for f in data["failures"]]
    lines += ["", "## Cases", "", "| case | result | reasons |", "|---|---|---|"]
    for case in data["cases"]:
        reasons = "; ".join(case["reasons"]).replace("|", "\\|")
        lines.append(f"| {case['id']} | {'pass' if case['passed'] else 'FAIL'} | {reasons} |")
    return "\n".join(lines) + "\n"


def html_report(data: dict[str, Any], chart: str) -> str:
    esc = html.escape
    rows = "".join(
        f'<tr class="{"pass" if c["passed"] else "fail"}"><td>{esc(c["id"])}</td>'
        f"<td>{'pass' if c['passed'] else 'FAIL'}</td><td>{esc('; '.join(c['reasons']))}</td>"
        f"<td><details><summary>answer</summary><pre>{esc(c['answer'])}</pre></details></td></tr>"
        for c in data["cases"]
    )
    metrics = "".join(
        f"<tr><td>{esc(k)}</td><td>{_fmt(v)}</td></tr>" for k, v in data["metrics"].items()
    )
    failures = "".join(f"<li>{esc(f)}</li>" for f in data["failures"])
    status = "PASSED" if data["passed"] else "FAILED"
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Eval report</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ddd;padding:4px 8px;vertical-align:top}}tr.fail{{background:#fde8e8}}
pre{{white-space:pre-wrap;max-width:60em}}</style></head><body>
<h1>Eval report — {esc(data["config"])} — {status}</h1>
<h2>Metrics</h2><table>{metrics}</table>
<h2>Over runs</h2>{chart}
{f"<h2>Why it failed</h2><ul>{failures}</ul>" if failures else ""}
<h2>Cases</h2><table><tr><th>case</th><th>result</th><th>reasons</th><th></th></tr>{rows}</table>
</body></html>"""


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def write_report(run: EvalRun, reports_dir: Path) -> Path:
    """Write the three files; return their folder."""
    folder = reports_dir / datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    folder.mkdir(parents=True, exist_ok=True)
    data = run_json(run)
    (folder / "report.json").write_text(json.dumps(data, indent=2), encoding="utf-8")
    (folder / "report.md").write_text(markdown(data), encoding="utf-8")
    chart = svg_chart(history(reports_dir, run.config))
    (folder / "report.html").write_text(html_report(data, chart), encoding="utf-8")
    return folder
