"""`advisor eval`: grade a library's datasets, write a report, fail on a regression.

Its help lists the datasets found on disk, so it is built when the command registers.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from advisor.cli.common import BACKEND_HELP, app
from advisor.settings import get_settings
from advisor.terminal import out, print_eval


class _CleanHelpCommand(typer.core.TyperCommand):
    """`--help` shown as a plain flag, like the command's other flags (no `<bool>`)."""

    def get_help_option(self, ctx):
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option


def _eval_help() -> str:
    from advisor.settings import PROJECT_ROOT

    def names(folder: Path) -> str:
        return ", ".join(p.stem for p in sorted(folder.glob("*.yaml"))) or "none"

    evals = PROJECT_ROOT / "evals"
    libraries = [
        f"{p.parent.name} ({names(p.parent / 'datasets')})"
        for p in sorted((evals / "corpora").glob("*/corpus"))
    ]
    more = f" Other libraries (evals/corpora/): {'; '.join(libraries)}." if libraries else ""
    return (
        "Run a library's eval datasets, write a report, and fail on a regression.\n\n"
        f"Datasets of the first library (evals/datasets/): {names(evals / 'datasets')}.{more} "
        "`--library evals/corpora/NAME` grades another library against a temporary index "
        "and its own baseline.json."
    )


FLAG = ""  # metavar of a flag: shown as `--flag` only


@app.command("eval", help=_eval_help(), cls=_CleanHelpCommand)
def eval_command(
    dataset: Annotated[
        str | None,
        typer.Option(
            metavar="NAME|PATH",
            envvar="ADVISOR_EVAL__DATASET",
            help="A dataset name in the library's datasets folder, or a folder or YAML file "
            "of cases. Default: every dataset of the library.",
        ),
    ] = None,
    library: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            envvar="ADVISOR_EVAL__LIBRARY",
            help="A library folder: DIR/corpus, DIR/datasets, DIR/baseline.json.",
        ),
    ] = None,
    corpus: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            envvar="ADVISOR_EVAL__CORPUS",
            help="Grade this folder of articles (a temporary index; index/ is not touched).",
        ),
    ] = None,
    baseline: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            envvar="ADVISOR_EVAL__BASELINE",
            help="Baseline and thresholds file. Default: the library's.",
        ),
    ] = None,
    backend: Annotated[str | None, typer.Option(metavar="NAME", help=BACKEND_HELP)] = None,
    answers: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Grade answers from this JSON-lines file instead, by the chosen cases' ids.",
        ),
    ] = None,
    no_guard: Annotated[
        bool, typer.Option("--no-guard", metavar=FLAG, help="Ablation: guard off.")
    ] = False,
    update_baseline: Annotated[
        bool,
        typer.Option("--update-baseline", metavar=FLAG, help="Record this run as the baseline."),
    ] = False,
    reports_dir: Annotated[
        Path | None, typer.Option(metavar="DIR", help="Where reports go. Default: evals/reports.")
    ] = None,
) -> None:
    from advisor import evaluate as ev
    from advisor import libraries
    from advisor.evalset import dataset_paths, load_cases
    from advisor.gate import load_baseline
    from advisor.report import write_report
    from advisor.settings import PROJECT_ROOT

    chosen = libraries.choose_library(library, corpus, baseline)
    _, label = dataset_paths(dataset, chosen.datasets)
    cases = load_cases(dataset, chosen.datasets)
    settings = ev.with_backend(libraries.library_settings(get_settings(), chosen), backend)
    checker = ev.corpus_checker(settings)
    warnings: list[str] = []
    would_remove, retrieval = None, {}
    if answers is not None:
        graded, warnings = ev.run_with_answers(ev.read_answers(answers), cases, checker)
        config = f"answers:{label}"
    else:
        with libraries.library_advisor(settings, chosen) as advisor:
            advisor.guard = not no_guard
            graded, would_remove = ev.run_with_advisor(advisor, cases, checker, sys.stderr.isatty())
            retrieval = ev.labelled_retrieval(advisor, chosen) if label == "all" else {}
            config = f"{advisor.generator.name}{'-noguard' if no_guard else ''}:{label}"
    baseline_data = load_baseline(chosen.baseline)
    run = ev.evaluate(cases, graded, config, baseline_data, settings.retrieval.k, retrieval)
    run.library = chosen.name
    run.warnings = warnings + run.warnings
    run.guard_would_remove = would_remove if no_guard else None
    run.settings = ev.effective_settings(settings)
    run.settings["eval"] = {
        "library": chosen.name,
        "corpus": str(chosen.corpus or settings.corpus_dir),
        "index": "temporary" if chosen.corpus is not None and answers is None else "index.path",
        "datasets": str(dataset or chosen.datasets),
        "baseline": str(chosen.baseline) if chosen.baseline else None,
        "retrieval_set": str(chosen.retrieval) if chosen.retrieval else None,
        "answers": str(answers) if answers else None,
        "guard": not no_guard,
    }
    folder = write_report(run, reports_dir or PROJECT_ROOT / "evals" / "reports")
    print_eval(run, folder)
    if update_baseline:
        ev.update_baseline(run, chosen.baseline)
        out.print(
            f"Baseline for {chosen.name} {config} updated in {chosen.baseline}.", soft_wrap=True
        )
        run.failures = [f for f in run.failures if "fell from" not in f and "rose from" not in f]
    if run.failures:
        raise typer.Exit(1)
