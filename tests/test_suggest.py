from __future__ import annotations

from advisor.answer import Citation, Reply
from advisor.suggest import follow_ups, subject_of, topics_of


def reply(section: str, refused: bool = False) -> Reply:
    cite = Citation(chunk_id="c", doc_id="d", title="T", publisher="P", section=section,
                    text="x", start=0, end=1, n=1)  # fmt: skip
    return Reply("x [1]", [cite], refused=refused)


def test_follow_ups_skip_what_was_just_asked_and_name_the_subject() -> None:
    found = follow_ups("How long is PALS training?", reply("Education and Training › PALS"))
    assert 2 <= len(found) <= 3
    assert not any("training" in q.lower() for q in found)
    assert all("PALS" in q for q in found)


def test_generic_forms_when_the_section_names_no_subject() -> None:
    found = follow_ups("What do they earn?", reply("How Much Do Medical Billers Make?"))
    assert found[0] == "How long is the training?" and "How much" not in " ".join(found)


def test_earlier_topics_come_last_and_refusals_get_none() -> None:
    found = follow_ups("Where do coders work?", reply("Intro › Medical Coding"),
                       asked=["How long is the training?"])  # fmt: skip
    assert found[0].startswith("How much") and "training" not in " ".join(found)
    assert follow_ups("hi", reply("x", refused=True)) == []


def test_topics_and_subjects() -> None:
    assert topics_of("How much do billers earn?") == {"pay"}
    assert subject_of(reply("Salary Differences › Medical Billing")) == "medical billing"
    assert subject_of(reply("Frequently Asked Questions › Where do most coders work?")) == ""
