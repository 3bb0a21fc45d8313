"""How replies and eval runs look in a terminal (`advisor ask`, `chat`, `eval`).

Text from sources and students is data here too: it is appended to rich `Text` or
escaped, never read as Markdown or as rich markup.
"""

from __future__ import annotations

import re
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.text import Text

out = Console(highlight=False)
# soft_wrap: an error names a path; rich must not break it (or the message) to the
# terminal's width, which is unknown, 40 columns, or 80 when COLUMNS is unset.
err = Console(stderr=True, highlight=False, soft_wrap=True)


_HEADING = re.compile(r"\*\*(?P<text>[^*]+)\*\*")
_LABEL = re.compile(r"\*\*(?P<text>[^*]+?:)\*\*\s*")


def answer_text(answer: str) -> Text:
    """The answer for a terminal: the composer's own headings, bullets and bold labels
    styled, every other character printed as it is (text from sources and students is
    data, so it is never read as Markdown or as rich markup)."""
    text = Text()
    for line in answer.splitlines():
        heading = _HEADING.fullmatch(line.strip())
        if heading:
            text.append(heading["text"], style="bold")
        else:
            bullet = line.startswith("- ")
            body = line[2:] if bullet else line
            label = _LABEL.match(body)
            text.append("  • " if bullet else "")
            if label:
                text.append(label["text"] + " ", style="bold")
                body = body[label.end() :]
            text.append(body)
        text.append("\n")
    return text


def print_reply(reply) -> None:
    """An answer, its pay table, its sources and the guard's note, as `ask` and `chat` print it."""
    from advisor.paychart import cli_table
    from advisor.payfigures import worth_charting
    from advisor.render import guard_note

    out.print(answer_text(reply.answer.strip()))
    if worth_charting(reply.figures):  # the same figures the page charts
        out.print()
        out.print(cli_table(reply.figures))
    if reply.citations:
        out.print("\n[bold]Sources[/]")
    for c in reply.citations:
        dated = f", {escape(c.published)}" if c.published else ""
        out.print(
            f"  [{c.n}] {escape(c.title)} ({escape(c.publisher)}{dated}) — {escape(c.section)}"
        )
    if note := guard_note(reply):
        out.print(f"\n{escape(note)}")
    for removal in reply.removed:  # the detail, for whoever checks the guard
        err.print(f"[dim]guard removed: {escape(removal.reason)}[/]")


def print_eval(run, folder: Path) -> None:
    """An eval run's metrics against the baseline, its failures and where the report is."""
    from rich.table import Table

    from advisor.gate import change_text, number_text

    title = f"eval {run.library} {run.config}: {len(run.graded)} cases, k={run.k}"
    table = Table(title=title)
    for column in ("metric", "value", "baseline", "threshold", "change", "pass"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for row in run.rows:
        baseline = "" if row.baseline is None else number_text(row.baseline)
        status = {"FAIL": "[bold red]FAIL[/]", "pass": "[green]pass[/]"}.get(row.status, row.status)
        table.add_row(
            row.name,
            number_text(row.value),
            baseline,
            row.threshold_text,
            change_text(row.change),
            status,
        )
    out.print(table)
    if run.guard_would_remove is not None:
        out.print(f"Guard off: the guard would have removed {run.guard_would_remove} figures.")
    for warning in run.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}")
    for failure in run.failures:
        err.print(f"[bold red]FAIL[/] {escape(failure)}")
    failed_cases = run.failed_cases
    out.print(
        f"{len(failed_cases)} of {len(run.graded)} cases failed; report: {folder}", soft_wrap=True
    )
    for g in failed_cases:
        out.print(f"  [red]✗[/] {escape(g.case_id)}: {escape(g.reasons[0])}", soft_wrap=True)
    out.print("[bold green]PASSED[/]" if not run.failures else "[bold red]FAILED[/]")
