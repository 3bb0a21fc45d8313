from __future__ import annotations

from pathlib import Path

from advisor.corpus import (
    BOILERPLATE_LINES,
    chrome_pattern,
    clean_text,
    load_article,
    load_corpus,
    read_library_file,
)

from .conftest import CORPUS

CHROME = [
    "Talk to Skipper",
    "Article continues after recommendations",
    "Share this post",
    "Try it now",
    "You Might Also Like",
    "Back to Job Search",
    "Have a Question About College?",
    "Feature Image",
]


def test_committed_corpus_loads_with_front_matter() -> None:
    report = load_corpus(CORPUS)
    assert report.problems == {}
    by_id = {a.doc_id: a for a in report.articles}
    assert len(by_id) == 5
    dreambound = by_id["medical-biller-and-coder-vs-pals"]
    assert dreambound.publisher == "Dreambound"
    assert dreambound.authors == ("Pia Yapjoco",)
    careerstep = by_id["medical-coding-and-billing-career"]
    assert careerstep.publisher == "CareerStep"
    assert careerstep.published == "2019-07-23"
    assert by_id["medical-billing-vs-medical-coding"].reviewed_by == (
        "Brandy Gleason MSN, MHA, BC-NC",
    )


def test_committed_corpus_has_no_site_chrome_but_keeps_the_facts() -> None:
    text = "\n".join(a.text for a in load_corpus(CORPUS).articles)
    for chrome in CHROME:
        assert chrome not in text
    for fact in ["$43,260", "$16 hourly", "$54,972", "34,300 job openings", "one-day course"]:
        assert fact in text


def test_clean_text_drops_boilerplate_lines_but_not_sentences_mentioning_them() -> None:
    raw = "Intro line.\nTalk to Skipper\n\nShare this post:\nTo try it now, enroll today.\n"
    site = chrome_pattern(read_library_file(CORPUS).boilerplate)  # the site's rules: data
    cleaned = clean_text(raw, chrome=site)
    assert "Talk to Skipper" not in cleaned
    assert "Share this post" not in cleaned
    assert "To try it now, enroll today." in cleaned
    assert "Talk to Skipper" in clean_text(raw)  # the code knows web chrome, not one site's
    assert len(BOILERPLATE_LINES) >= 8


def test_chrome_rules_never_delete_a_heading() -> None:
    site = chrome_pattern([r".+ vs\.? .+: what are the differences\?", "job search"])
    raw = "## Medical Coder vs. Medical Biller: What Are the Differences?\nBody.\nJob search\n"
    cleaned = clean_text(raw, chrome=site)
    assert "## Medical Coder vs. Medical Biller" in cleaned and "Job search" not in cleaned


def test_txt_file_is_loaded_with_first_line_as_title(tmp_path: Path) -> None:
    path = tmp_path / "Nurse Career.txt"
    path.write_text("Nurse Career Guide\n\nTry it now\n\nNurses care for patients.\n")
    article = load_article(path)
    assert article.doc_id == "nurse-career"
    assert article.title == "Nurse Career Guide"
    assert article.publisher == "unknown"
    assert article.text == "Nurses care for patients.\n"


def test_html_file_main_text_is_extracted(tmp_path: Path) -> None:
    body = " ".join(["Phlebotomists draw blood for tests and donations."] * 8)
    html = f"""<html><head><title>Phlebotomy Careers</title></head><body>
    <nav><a href="/">Home</a> | <a href="/jobs">Jobs</a></nav>
    <article><h1>Phlebotomy Careers</h1><p>{body}</p>
    <p>Training usually takes a few months.</p></article>
    <footer>Share this post:</footer><script>alert('x')</script></body></html>"""
    path = tmp_path / "phlebotomy.html"
    path.write_text(html)
    article = load_article(path)
    assert article.title == "Phlebotomy Careers"
    assert "Phlebotomists draw blood" in article.text
    assert "Training usually takes a few months." in article.text
    assert "alert" not in article.text
    assert "Share this post" not in article.text


def test_broken_files_are_reported_by_name_and_the_rest_load(tmp_path: Path) -> None:
    (tmp_path / "good.md").write_text("---\ntitle: Good\n---\n\nGood text.\n")
    (tmp_path / "empty.md").write_text("   \n")
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR")
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 workers".encode("latin-1"))
    (tmp_path / "badyaml.md").write_text("---\ntitle: [unclosed\n---\n\nText.\n")
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04")
    report = load_corpus(tmp_path)
    assert [a.doc_id for a in report.articles] == ["good"]
    assert set(report.problems) == {
        "empty.md",
        "binary.txt",
        "latin1.txt",
        "badyaml.md",
        "notes.docx",
    }
    assert "empty" in report.problems["empty.md"]
    assert "binary" in report.problems["binary.txt"]
    assert "UTF-8" in report.problems["latin1.txt"]
    assert "YAML" in report.problems["badyaml.md"]


def test_missing_corpus_folder_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    report = load_corpus(tmp_path / "nowhere")
    assert report.articles == []
    assert "does not exist" in next(iter(report.problems.values()))


def test_content_hash_changes_with_text_and_metadata(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text("---\ntitle: A\n---\n\nSome text.\n")
    first = load_article(path).content_hash
    path.write_text("---\ntitle: A2\n---\n\nSome text.\n")
    second = load_article(path).content_hash
    path.write_text("---\ntitle: A2\n---\n\nOther text.\n")
    assert len({first, second, load_article(path).content_hash}) == 3
