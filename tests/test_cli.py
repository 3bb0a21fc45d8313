from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from advisor.cli import main
from advisor.figures import extract_figures
from advisor.index.manifest import read_manifest
from advisor.settings import get_settings

from .conftest import REPO


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    get_settings.cache_clear()
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_config_prints_effective_settings_as_json(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADVISOR_RETRIEVAL__K", "7")
    monkeypatch.setenv("ADVISOR_PORT", "9999")
    code, out, _ = run(["config"], capsys)
    data = json.loads(out)
    assert code == 0
    assert data["retrieval"]["k"] == 7
    assert data["port"] == 9999
    assert data["index"]["path"].endswith("index")


@pytest.mark.slow
def test_index_then_search_json(corpus_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["index", "--quiet"], capsys)
    assert code == 0 and "5 added" in out
    code, out, _ = run(["index", "--quiet"], capsys)
    assert code == 0 and "nothing embedded" in out
    code, out, _ = run(["search", "is CCS better than CPC", "--json", "--k", "3"], capsys)
    hits = json.loads(out)
    assert code == 0 and len(hits) == 3
    keys = {"chunk_id", "doc_id", "title", "publisher", "section", "text", "score", "start", "end"}
    assert keys <= set(hits[0])
    assert any("CCS professionals" in h["text"] for h in hits[:2])
    code, out, _ = run(["search", "how long is PALS training"], capsys)
    assert code == 0 and "1. Medical Biller and Coder vs PALS" in out


@pytest.mark.parametrize(
    ("query", "message"),
    [("", "empty"), ("   \n\t", "empty"), ("x" * 100_000, "100,000 characters")],
    ids=["empty", "blank", "100KB"],
)
def test_unusable_query_is_a_clear_error(
    query: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["search", query], capsys)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_search_without_an_index_says_how_to_build_it(
    corpus_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["search", "coder salary"], capsys)
    assert code == 2
    assert "advisor index" in err


def test_index_reports_broken_files_by_name_and_indexes_the_rest(
    corpus_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from .conftest import HashEmbedder

    monkeypatch.setattr("advisor.embeddings.SentenceEmbedder", lambda _settings: HashEmbedder())
    (corpus_dir / "empty.md").write_text("")
    (corpus_dir / "photo.txt").write_bytes(b"\x89PNG\x00\x00binary")
    code, out, err = run(["index", "--quiet"], capsys)
    assert code == 0
    assert "empty.md" in err and "photo.txt" in err
    assert "5 added" in out
    assert len(read_manifest(get_settings().index).documents) == 5


def test_index_with_no_readable_article_fails_and_keeps_nothing_broken(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "empty.md").write_text("")
    code, _, err = run(["index"], capsys)
    assert code == 2
    assert "no readable article" in err and "empty.md" in err


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["frobnicate"], capsys)
    assert code == 2
    assert "No such command" in err


def test_a_relative_index_path_is_searched_from_where_the_command_runs(
    cli_index, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """ADVISOR_INDEX__PATH=index (relative, as a maintainer types it) used to fail as a
    damaged index: the keyword file is opened by URI, which must be absolute."""
    index = cli_index.index.path
    monkeypatch.chdir(index.parent)
    monkeypatch.setenv("ADVISOR_INDEX__PATH", index.name)
    code, out, err = run(["search", "coder certification", "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)  # a list of hits


@pytest.mark.slow
def test_real_process_has_no_traceback_for_bad_input(tmp_path: Path) -> None:
    env = {**os.environ, "ADVISOR_INDEX__PATH": str(tmp_path / "index")}
    for args in (["search", ""], ["search", "coder pay"]):
        proc = subprocess.run(
            [sys.executable, "-m", "advisor", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
            timeout=120,
        )
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr
        assert proc.stderr.startswith("error:")


@pytest.fixture
def cli_index(settings, real_embedder, monkeypatch: pytest.MonkeyPatch):
    """An index built for this test, and the CLI pointed at it."""
    from advisor.index.build import build_index

    build_index(settings, real_embedder)
    monkeypatch.setenv("ADVISOR_INDEX__PATH", str(settings.index.path))
    monkeypatch.setenv("ADVISOR_CORPUS_DIR", str(settings.corpus_dir))
    return settings


@pytest.mark.slow
def test_ask_json_prints_exactly_one_object(cli_index, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["ask", "Is CCS better than CPC?", "--json"], capsys)
    assert code == 0
    reply = json.loads(out)  # one object, nothing else on stdout
    assert set(reply) == {"answer", "citations", "refused", "guard", "figures", "timings_ms"}
    assert reply["refused"] is False
    citation = reply["citations"][0]
    keys = {"n", "chunk_id", "doc_id", "title", "publisher", "section", "text", "start", "end"}
    assert keys <= set(citation)
    assert reply["guard"] == {"removed": []}
    assert "$" not in reply["answer"]


@pytest.mark.slow
def test_ask_json_lists_the_sourced_pay_figures_and_the_text_output_tables_them(
    cli_index, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 13: `figures` holds value, unit, occupation, statistic, reporter, period and the
    citation n of every pay figure the answer states; each is verbatim in its passage."""
    code, out, _ = run(["ask", "How much do medical billers make?", "--json"], capsys)
    assert code == 0
    reply = json.loads(out)
    passages = {c["n"]: c for c in reply["citations"]}
    figures = reply["figures"]
    assert len(figures) >= 2
    keys = {"value", "unit", "occupation", "statistic", "reporter", "period", "n"}
    for figure in figures:
        assert keys <= set(figure)
        assert figure["unit"] in {"hour", "year"}
        cited = passages[figure["n"]]
        assert figure["text"] in cited["text"] and figure["text"] in reply["answer"]
        assert float(figure["text"].strip("$").replace(",", "")) == figure["value"]
        assert figure["reporter"] in cited["text"] or figure["reporter"] == cited["publisher"]
        year = re.search(r"\d{4}", figure["period"]).group()
        assert year in cited["text"] or year in cited.get("published", "")
    answered = {
        (f.value, f.pay_unit) for f in extract_figures(reply["answer"]) if f.kind == "money"
    }
    assert {(f["value"], f["unit"]) for f in figures} == answered
    code, out, _ = run(["ask", "How much do medical billers make?"], capsys)
    assert code == 0
    table = out[out.index("Pay at a glance") : out.index("Sources")]
    for figure in figures:
        assert figure["text"] in table and f"[{figure['n']}]" in table


@pytest.mark.slow
def test_ask_readable_output_lists_sources(cli_index, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["ask", "How long is PALS training?"], capsys)
    assert code == 0
    assert "Sources" in out and "[1] Medical Biller and Coder vs PALS (Dreambound)" in out


@pytest.mark.slow
def test_ask_with_history_file(
    cli_index, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history = tmp_path / "history.json"
    history.write_text(
        json.dumps(
            [{"role": "user", "content": "What certifications are there for medical coders?"}]
        )
    )
    code, out, _ = run(["ask", "Which of those tends to pay more?", "--history", str(history),
                        "--json"], capsys)  # fmt: skip
    assert code == 0
    assert "CCS" in json.loads(out)["answer"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"role": "user", "content": "hi"}', "not a list"),
        ('[{"role": "wizard", "content": "hi"}]', "not a list"),
        (b"\xff\xfe\x00garbage", "Cannot read"),
    ],
    ids=["bad-json", "object", "bad-role", "binary"],
)
def test_malformed_history_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content, message: str
) -> None:
    history = tmp_path / "history.json"
    if isinstance(content, bytes):
        history.write_bytes(content)
    else:
        history.write_text(content)
    code, _, err = run(["ask", "Is CCS better?", "--history", str(history)], capsys)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_missing_history_file_is_a_clear_error(tmp_path: Path, capsys) -> None:
    code, _, err = run(["ask", "Is CCS better?", "--history", str(tmp_path / "nope.json")], capsys)
    assert code == 2 and "Cannot read the history file" in err


@pytest.mark.parametrize("question", ["", " \t ", "x" * 100_000, "\x00\x07\x1b"])
def test_ask_rejects_unusable_questions(question: str, capsys) -> None:
    code, _, err = run(["ask", question], capsys)
    assert code == 2 and "error:" in err and "Traceback" not in err


def test_unknown_backend_is_a_clear_error(corpus_dir: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("ADVISOR_GENERATOR__MODEL", "some-model")  # would reach a client
    code, _, err = run(["ask", "Is CCS better?", "--backend", "gpt9"], capsys)
    assert code == 2 and "backend" in err and "Traceback" not in err
    assert "'extractive', 'openai' or 'ollama'" in err


@pytest.mark.slow
def test_llm_server_down_is_a_clear_error(cli_index, capsys, monkeypatch) -> None:
    monkeypatch.setenv("ADVISOR_GENERATOR__BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("ADVISOR_GENERATOR__MODEL", "any")
    monkeypatch.setenv("ADVISOR_GENERATOR__TIMEOUT_S", "2")
    code, _, err = run(["ask", "Is CCS better than CPC?", "--backend", "openai"], capsys)
    assert code == 2
    assert "check that the server is running" in err and "Traceback" not in err


@pytest.mark.slow
def test_chat_remembers_the_conversation(cli_index, capsys, monkeypatch) -> None:
    import io

    lines = (
        "What certifications are there for medical coders?\nWhich of those tends to pay more?\n\n"
    )
    monkeypatch.setattr("sys.stdin", io.StringIO(lines))
    code, out, _ = run(["chat"], capsys)
    assert code == 0
    assert out.count("Sources") == 2
    assert "higher salary than CPC" in out.replace("\n", " ")


@pytest.mark.parametrize("columns", [None, "40"], ids=["COLUMNS-unset", "COLUMNS-40"])
def test_error_lines_do_not_wrap_in_narrow_terminals(tmp_path: Path, columns: str | None) -> None:
    """A user-facing error is one line, whatever the terminal width and however long the path."""
    deep = tmp_path / ("a-rather-long-folder-name-" * 4) / "history file.json"
    deep.parent.mkdir(parents=True)
    deep.write_text("{not json")
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns:
        env["COLUMNS"] = columns
    done = subprocess.run(
        [sys.executable, "-m", "advisor", "ask", "Is CCS better?", "--history", str(deep)],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert str(deep) in line and "not valid JSON" in line


def test_terminal_answer_keeps_headings_on_their_own_line_and_source_text_inert() -> None:
    """A multi-part answer's headings ran into the answer ("Do coders need a degree
    Medical coders…") when the reply was rendered as Markdown; a source's own markup
    ([link](url), **, [bold]) is printed as written."""
    from rich.console import Console

    from advisor.terminal import answer_text

    answer = (
        "**Do coders need a degree?**\nNo degree is required [1].\n\n"
        "- **BLS, May 2023:** See [salary data](http://evil.test/x) and [bold]x[/bold] [2]."
    )
    console = Console(width=200, record=True, color_system=None)
    console.print(answer_text(answer))
    shown = console.export_text()
    lines = shown.splitlines()
    assert lines[0] == "Do coders need a degree?" and lines[1] == "No degree is required [1]."
    assert (
        "  • BLS, May 2023: See [salary data](http://evil.test/x) and [bold]x[/bold] [2]." in lines
    )
