"""`advisor index` and `advisor corpus`: build the index, and show what it read.

Both speak for the library on disk (what was skipped, kept, quarantined or derived),
so a maintainer sees every problem with an article by its file name.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.markup import escape

from advisor.cli.common import app
from advisor.settings import get_settings
from advisor.terminal import err, out


@app.command()
def index(
    full: Annotated[bool, typer.Option("--full", help="Re-embed everything.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Build or update the index from corpus/ (only changed articles are re-embedded).

    A build that was interrupted (killed, Ctrl-C) continues where it stopped next time."""
    from advisor.embeddings import prepare
    from advisor.index.build import build_index

    settings = get_settings()
    prepare(settings.embedding)  # the ONNX export, once: no question waits for it later
    report = build_index(settings, full=full, progress=not quiet and sys.stderr.isatty())
    for name, problem in report.problems.items():
        err.print(f"[yellow]skipped[/] {escape(name)}: {escape(problem)}")
    for doc_id in report.kept_despite_errors:
        err.print(f"[yellow]kept[/] the previous version of {doc_id} (its file is unreadable)")
    for file, why in report.outliers:
        err.print(f"[yellow]caution[/] {escape(file)}: {escape(why)}")
    for held in report.quarantined:
        err.print(
            f"[yellow]quarantined[/] {escape(held.file)}: {escape(held.why)}, not indexed: "
            f"“{escape(held.sentence)}”"
        )
    if report.cleaned:
        err.print(f"removed {len(report.cleaned)} collections left by interrupted builds")
    if not report.changed:
        out.print(
            f"Index is up to date: {len(report.unchanged)} articles unchanged, "
            f"nothing embedded ({report.seconds:.2f} s)."
        )
        if report.knowledge_updated:
            out.print("What the articles are about was re-derived; `advisor corpus` shows it.")
        return
    if report.full_rebuild_reason:
        out.print(f"Full rebuild: {report.full_rebuild_reason}.")
    if report.keyword_repair:
        out.print(f"Rebuilt the keyword index from the stored passages: {report.keyword_repair}.")
    if report.resumed_chunks:
        out.print(f"Resumed an interrupted build: {report.resumed_chunks} chunks kept.")
    out.print(
        f"Indexed in {report.seconds:.1f} s: {len(report.added)} added, "
        f"{len(report.updated)} updated, {len(report.removed)} removed, "
        f"{len(report.unchanged)} unchanged; {report.embedded_chunks} chunks embedded, "
        f"{report.reused_chunks} reused."
    )


@app.command()
def corpus(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show what each article is about, as indexing derives it: occupations, credentials,
    reporters. Correct it with front matter (occupations:, aliases:) or library.yaml."""
    from advisor.corpus import load_corpus
    from advisor.knowledge.library import library_lexicon

    settings = get_settings()
    loaded = load_corpus(settings.corpus_dir, settings.max_file_bytes)
    for name, problem in loaded.problems.items():
        err.print(f"[yellow]skipped[/] {escape(name)}: {escape(problem)}")
    lexicon = library_lexicon(loaded.articles, settings.corpus_dir)
    rows = []
    for article in loaded.articles:
        found = [s for s in lexicon.subjects.values() if article.doc_id in s.docs]
        rows.append(
            {
                "article": article.path.name,
                "title": article.title,
                "about": lexicon.doc_subjects.get(article.doc_id, []),
                "occupations": {s.key: s.aliases for s in found if s.kind == "occupation"},
                "credentials": {s.key: s.aliases for s in found if s.kind == "credential"},
                "mentioned_only": sorted(s.key for s in found if not lexicon.is_covered(s.key)),
            }
        )
    library = {"articles": rows, "reporters": lexicon.reporters,
               "families": {h: sorted(k) for h, k in lexicon.families.items()}}  # fmt: skip
    if as_json:
        print(json.dumps(library, indent=2, ensure_ascii=False))
        return
    for row in rows:
        out.print(f"\n[bold]{escape(row['article'])}[/] — {escape(row['title'])}")
        out.print(f"  about: {escape(', '.join(row['about']) or '(nothing named in the title)')}")
        for kind in ("occupations", "credentials"):
            for key, aliases in row[kind].items():
                also = f" (also: {', '.join(aliases)})" if aliases else ""
                passing = " [dim]mentioned only[/]" if key in row["mentioned_only"] else ""
                out.print(f"  {kind[:-1]}: {escape(key)}{escape(also)}{passing}")
    reporters = ", ".join(f"{k} ({', '.join(v)})" if v else k for k, v in lexicon.reporters.items())
    out.print(f"\n[bold]Reporters:[/] {escape(reporters or '(none found)')}")
    for head, keys in library["families"].items():
        out.print(f"[bold]'{escape(head)}'[/] alone names any of: {escape(', '.join(keys))}")
