"""Eval reports: report.json, report.md and report.html in evals/reports/<timestamp>/.

Written for a maintainer diagnosing a regression: the metrics table gives each
metric's value, baseline, threshold, change and verdict; failing cases come
first, each with its question, answer, retrieved and cited articles, relevance
and reasons; the settings the run used are recorded (secrets masked); small
multiples plot every gated metric over earlier runs of the same library and
configuration. The charts are a few lines of inline SVG rather than a plotting
library: the report stays one self-contained file and the eval free of a heavy
import.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from advisor.evaluate import EvalRun
from advisor.gate import change_text, number_text, threshold_text


def run_json(run: EvalRun) -> dict[str, Any]:
    by_id = {c.id: c for c in run.cases}
    graded = sorted(run.graded, key=lambda g: g.passed)  # failures first, order kept
    return {
        "library": run.library,
        "config": run.config,
        "dataset": run.dataset,
        "k": run.k,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "passed": not run.failures,
        "failures": run.failures,
        "warnings": run.warnings,
        "metrics": run.metrics,
        "table": [row.as_json() for row in run.rows],
        "by_dataset": run.by_dataset,
        "stage_latency_ms": run.stage_latency,
        "guard_would_remove": run.guard_would_remove,
        "settings": run.settings,
        "cases": [
            {
                "id": g.case_id,
                "dataset": by_id[g.case_id].dataset,
                "passed": g.passed,
                "reasons": g.reasons,
                "question": by_id[g.case_id].question,
                "earlier_turns": len(by_id[g.case_id].turns) - 1,
                "answer": g.answer,
                "refused": g.refused,
                "expected_docs": by_id[g.case_id].expect_docs,
                "retrieved_docs": g.retrieved_docs,
                "cited_docs": g.cited_docs,
                "relevance": g.relevance,
                "figures": g.figures,
            }
            for g in graded
        ],
    }


def history(
    reports_dir: Path, config: str, library: str = "default", k: int | None = None
) -> list[dict[str, Any]]:
    """Earlier reports of the same library, configuration and k, oldest first."""
    found = []
    for path in sorted(reports_dir.glob("*/report.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        same_k = k is None or data.get("k", k) == k
        if data.get("config") == config and data.get("library", "default") == library and same_k:
            found.append(data)
    return found


def small_multiples(points: list[dict[str, Any]], table: list[dict[str, Any]]) -> str:
    """One small chart per gated metric, over runs; the threshold as a dashed line."""
    gated = [row for row in table if row["status"]]
    if not points or not gated:
        return "<p>No gated metric to plot yet.</p>"
    charts = [_chart(row["name"], [p["metrics"].get(row["name"]) for p in points],
                     row["threshold"]) for row in gated]  # fmt: skip
    return f'<div class="multiples">{"".join(charts)}</div>'


def _chart(name: str, values: list[float | None], threshold: dict[str, float]) -> str:
    width, height, left, top, plot_w, plot_h = 200, 120, 34, 22, 156, 72
    limits = [v for v in threshold.values() if isinstance(v, int | float)]
    known = [v for v in values if v is not None]
    is_share = all(0 <= v <= 1 for v in known + limits) and not name.endswith(("_figures", "_ms"))
    top_value = 1.0 if is_share else max([1.0, *known, *limits]) * 1.1
    step = plot_w / max(1, len(values) - 1)

    def y(v: float) -> float:
        return top + plot_h * (1 - min(top_value, max(0.0, v)) / top_value)

    esc = html.escape
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{esc(name)} over runs"><title>{esc(name)}</title>',
        f'<text x="2" y="13" font-size="12" font-weight="bold">{esc(name)}</text>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" '
        'stroke="#ccc"/>',
        f'<text x="2" y="{top + 8}" font-size="9">{_fmt(top_value)}</text>',
        f'<text x="2" y="{top + plot_h}" font-size="9">0</text>',
    ]
    for limit in limits:
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(limit):.1f}" '
                     f'y2="{y(limit):.1f}" stroke="#d62728" stroke-dasharray="4 3"/>')  # fmt: skip
    coords = [(left + i * step, y(v)) for i, v in enumerate(values) if v is not None]
    if coords:
        path = " ".join(f"{x:.1f},{yy:.1f}" for x, yy in coords)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#1f77b4" stroke-width="2"/>')
        parts += [f'<circle cx="{x:.1f}" cy="{yy:.1f}" r="2.5" fill="#1f77b4"/>'
                  for x, yy in coords]  # fmt: skip
    latest = values[-1] if values else None
    parts.append(f'<text x="{left}" y="{height - 6}" font-size="10">latest: {_fmt(latest)} · '
                 f"{len(values)} runs</text></svg>")  # fmt: skip
    return "".join(parts)


def _docs(doc_ids: list[str]) -> str:
    """`a ×3, b`: passages' articles, best first, repeats counted."""
    counts: dict[str, int] = {}
    for doc in doc_ids:
        counts[doc] = counts.get(doc, 0) + 1
    return ", ".join(f"{d} ×{n}" if n > 1 else d for d, n in counts.items()) or "—"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(data: dict[str, Any]) -> str:
    status = "PASSED" if data["passed"] else "FAILED"
    failed = [c for c in data["cases"] if not c["passed"]]
    lines = [
        f"# Eval report — {data['library']} {data['config']} — {status}",
        "",
        f"{len(data['cases'])} cases, {len(failed)} failed; retrieval k = {data['k']}.",
    ]
    if data["failures"]:
        lines += ["", "## Why it failed", ""] + [f"- {f}" for f in data["failures"]]
    if failed:
        lines += ["", "## Failing cases", ""]
        for c in failed:
            lines += [
                f"### {c['id']} ({c['dataset']})",
                "",
                f"- reasons: {'; '.join(c['reasons'])}",
                f"- question: {c['question']}"
                + (f" (after {c['earlier_turns']} earlier turns)" if c["earlier_turns"] else ""),
                f"- expected docs: {', '.join(c['expected_docs']) or '—'}",
                f"- retrieved docs: {_docs(c['retrieved_docs'])}",
                f"- cited docs: {_docs(c['cited_docs'])}",
                f"- relevance: {_fmt(c['relevance'])}",
                "",
                "```text",
                c["answer"].replace("```", "'''"),
                "```",
                "",
            ]
    lines += ["", "## Metrics", "", "| metric | value | baseline | threshold | change | pass |",
              "|---|---|---|---|---|---|"]  # fmt: skip
    for row in data["table"]:
        lines.append(
            f"| {row['name']} | {_fmt(row['value'])} | {_fmt(row['baseline'], '')} | "
            f"{threshold_text(row['threshold'])} | {change_text(row['change'])} | {row['status']} |"
        )
    if data["by_dataset"]:
        names = list(data["by_dataset"])
        lines += ["", "## By dataset", "", "| metric | " + " | ".join(names) + " |",
                  "|---|" + "---|" * len(names)]  # fmt: skip
        for metric in data["metrics"]:
            cells = " | ".join(_fmt(data["by_dataset"][n].get(metric)) for n in names)
            lines.append(f"| {metric} | {cells} |")
    if data["guard_would_remove"] is not None:
        lines += ["", f"Guard off: the guard would have removed {data['guard_would_remove']} "
                  "figures."]  # fmt: skip
    if data["warnings"]:
        lines += ["", "## Warnings", ""] + [f"- {w}" for w in data["warnings"]]
    lines += ["", "## Cases", "", "| case | dataset | result | reasons |", "|---|---|---|---|"]
    for c in data["cases"]:
        lines.append(f"| {c['id']} | {c['dataset']} | {'pass' if c['passed'] else 'FAIL'} | "
                     f"{_cell('; '.join(c['reasons']))} |")  # fmt: skip
    lines += ["", "## Settings", "", "```json", json.dumps(data["settings"], indent=2), "```"]
    return "\n".join(lines) + "\n"


def html_report(data: dict[str, Any], charts: str) -> str:
    esc = html.escape
    status = "PASSED" if data["passed"] else "FAILED"
    failed = [c for c in data["cases"] if not c["passed"]]
    metrics = "".join(
        f'<tr class="{"fail" if row["status"] == "FAIL" else ""}"><td>{esc(row["name"])}</td>'
        f"<td>{_fmt(row['value'])}</td><td>{_fmt(row['baseline'], '')}</td>"
        f"<td>{esc(threshold_text(row['threshold']))}</td><td>{change_text(row['change'])}</td>"
        f"<td>{esc(row['status'])}</td></tr>"
        for row in data["table"]
    )
    cases = "".join(_html_case(c) for c in data["cases"])
    by_dataset = ""
    if data["by_dataset"]:
        names = list(data["by_dataset"])
        head = "".join(f"<th>{esc(n)}</th>" for n in names)
        body = "".join(
            f"<tr><td>{esc(m)}</td>"
            + "".join(f"<td>{_fmt(data['by_dataset'][n].get(m))}</td>" for n in names)
            + "</tr>"
            for m in data["metrics"]
        )
        by_dataset = f"<h2>By dataset</h2><table><tr><th>metric</th>{head}</tr>{body}</table>"
    failures = "".join(f"<li>{esc(f)}</li>" for f in data["failures"])
    warnings = "".join(f"<li>{esc(w)}</li>" for w in data["warnings"])
    guard = ""
    if data["guard_would_remove"] is not None:
        guard = f"<p>Guard off: the guard would have removed {data['guard_would_remove']} figures."
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Eval report — {esc(data["library"])} {esc(data["config"])} — {status}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ddd;padding:4px 8px;vertical-align:top;text-align:left}}
tr.fail{{background:#fde8e8}}pre{{white-space:pre-wrap;max-width:60em}}
.multiples{{display:flex;flex-wrap:wrap;gap:12px}}.multiples svg{{border:1px solid #eee}}</style>
</head><body>
<h1>Eval report — {esc(data["library"])} {esc(data["config"])} — {status}</h1>
<p>{len(data["cases"])} cases, {len(failed)} failed; retrieval k = {data["k"]}.</p>
{f"<h2>Why it failed</h2><ul>{failures}</ul>" if failures else ""}
<h2>Metrics</h2><table><tr><th>metric</th><th>value</th><th>baseline</th><th>threshold</th>
<th>change</th><th>pass</th></tr>{metrics}</table>{guard}
<h2>Gated metrics over runs</h2>{charts}
{by_dataset}
{f"<h2>Warnings</h2><ul>{warnings}</ul>" if warnings else ""}
<h2>Cases (failures first)</h2><table><tr><th>case</th><th>result</th><th>reasons</th>
<th>question</th><th>retrieved</th><th>cited</th><th>relevance</th><th>answer</th></tr>
{cases}</table>
<h2>Settings</h2><pre>{esc(json.dumps(data["settings"], indent=2))}</pre>
</body></html>"""


def _html_case(c: dict[str, Any]) -> str:
    esc = html.escape
    result = "pass" if c["passed"] else "FAIL"
    return (
        f'<tr class="{result.lower()}"><td>{esc(c["id"])}<br><small>{esc(c["dataset"])}'
        f"</small></td><td>{result}</td><td>{esc('; '.join(c['reasons']))}</td>"
        f"<td>{esc(c['question'])}</td><td>{esc(_docs(c['retrieved_docs']))}</td>"
        f"<td>{esc(_docs(c['cited_docs']))}</td><td>{_fmt(c['relevance'])}</td>"
        f"<td><details{'' if c['passed'] else ' open'}><summary>answer</summary>"
        f"<pre>{esc(c['answer'])}</pre></details></td></tr>"
    )


def _fmt(value: Any, missing: str = "n/a") -> str:
    return missing if value is None else number_text(value)


def write_report(run: EvalRun, reports_dir: Path) -> Path:
    """Write the three files; return their folder."""
    folder = reports_dir / datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    folder.mkdir(parents=True, exist_ok=True)
    data = run_json(run)
    (folder / "report.json").write_text(json.dumps(data, indent=2), encoding="utf-8")
    (folder / "report.md").write_text(markdown(data), encoding="utf-8")
    charts = small_multiples(history(reports_dir, run.config, run.library, run.k), data["table"])
    (folder / "report.html").write_text(html_report(data, charts), encoding="utf-8")
    return folder
