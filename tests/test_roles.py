"""The role book: mentions through names and aliases, and what a passage is about."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.documents import parse_markdown, read_corpus
from service.evaluation import locate_paragraphs
from service.index import corpus_roles, make_passages
from service.roles import SHARED, RoleBook
from tests.conftest import CORPUS, DATA
from tests.conftest import SHARED as SHARED_DIR

SCRUM = RoleBook.from_dict(
    {
        "role": [
            {"name": "Product Owner", "aliases": ["PO"]},
            {"name": "Scrum Master", "aliases": []},
            {"name": "Developers", "aliases": ["Developer", "dev team"]},
        ]
    }
)


def roles_of(book: RoleBook, text: str) -> list[str]:
    return [m.role for m in book.mentions(text)]


def test_mentions_are_case_insensitive_plural_and_on_word_boundaries() -> None:
    book = RoleBook.load(CORPUS / "roles.toml")
    assert roles_of(book, "Safe product managers and POs") == [
        "SAFe Product Manager",
        "Product Owner",
    ]
    assert roles_of(book, "the Product Owner's backlog") == ["Product Owner"]
    assert roles_of(book, "a SAFe PM") == ["SAFe Product Manager"]
    assert roles_of(book, "POTATO, repo, typo") == []


def test_initials_of_long_names_count_only_in_capitals() -> None:
    book = RoleBook.load(CORPUS / "roles.toml")
    assert roles_of(book, "what does the PM do?") == ["SAFe Product Manager"]
    assert roles_of(book, "the meeting is at 5 pm") == []
    assert roles_of(SCRUM, "ask the SM") == ["Scrum Master"]


def test_names_match_hyphenated_and_initials_with_dots_but_not_a_time() -> None:
    book = RoleBook.load(CORPUS / "roles.toml")
    assert roles_of(book, "what does the P.O. do, and the P.M.?") == [
        "Product Owner",
        "SAFe Product Manager",
    ]
    assert roles_of(book, "product-owner backlog") == ["Product Owner"]
    assert roles_of(book, "the review is at 5 PM, or 5 P.M.") == []
    year = {"name": "Head of Year", "aliases": ["Boss of Year"]}
    chief = RoleBook.from_dict({"role": [{"name": "Editor-in-Chief"}, year]})
    assert roles_of(chief, "the editor in chief and the Editor-in-Chief") == ["Editor-in-Chief"] * 2
    both = ["Head of Year", "Editor-in-Chief"]
    assert roles_of(chief, "Heads of Year and editors-in-chief") == both
    assert roles_of(chief, "the Boss of Year and the Bosses of Year") == ["Head of Year"]


def test_an_apostrophe_in_a_name_may_be_curly_or_left_out() -> None:
    book = RoleBook.from_dict({"role": [{"name": "Children's Librarian"}]})
    for text in ("the Children's Librarian", "the children’s librarian", "the childrens librarian"):
        assert roles_of(book, text) == ["Children's Librarian"], text


def test_a_name_qualifying_the_next_in_one_noun_phrase_is_no_mention() -> None:
    book = RoleBook.from_dict(
        {"role": [{"name": "Veterinary Surgeon", "aliases": ["vet"]}, {"name": "Nurse"}]}
    )
    assert [m.role for m in book.mentions("The vet nurse books the ambulance.")] == ["Nurse"]
    assert book.doers("The vet nurse books the ambulance.") == {"Nurse": True}
    assert [m.role for m in book.mentions("vet nurse rota")] == ["Veterinary Surgeon", "Nurse"]


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
@settings(max_examples=300, deadline=None)
def test_any_text_is_a_role_or_none(text: str) -> None:
    """What a caller passes as a role ("-", "'", "") names a role or none: it never fails."""
    assert SCRUM.canonical(text) in (None, *SCRUM.names)
    assert {m.role for m in SCRUM.mentions(text)} <= set(SCRUM.names)


def test_longest_alias_wins() -> None:
    book = RoleBook.load(CORPUS / "roles.toml")
    mentions = book.mentions("A Safe Product Manager leads.")
    assert [(m.role, m.start, m.end) for m in mentions] == [("SAFe Product Manager", 2, 22)]


def test_strip_mentions_leaves_the_rest_of_the_question() -> None:
    assert SCRUM.strip_mentions("What does the Scrum Master coach?") == "What does the coach?"


def test_a_contrasted_role_is_not_what_the_passage_is_about() -> None:
    text = "Unlike the Scrum Master, the Product Owner orders the backlog."
    assert SCRUM.attribute(text).role == "Product Owner"


def test_a_role_in_a_scene_setting_clause_is_background() -> None:
    text = "When the Scrum Master is away, the Product Owner runs the daily meeting."
    assert SCRUM.attribute(text).role == "Product Owner"
    section = ("The Product Owner", "When the Scrum Master is away")
    assert SCRUM.attribute("They also answer the team's questions.", section).role == (
        "Product Owner"
    )


def test_a_question_asks_about_the_roles_outside_its_scene_setting_clause() -> None:
    def asked(question: str) -> list[str]:
        return [m.role for m in SCRUM.asked_about(question)]

    assert asked("who runs the daily meeting when the Scrum Master is away?") == []
    assert asked("can the PO approve it while the Scrum Master is on leave") == ["Product Owner"]
    assert asked("what does the PO do if the Scrum Master is ill?") == ["Product Owner"]
    assert asked("When should the PO call the Scrum Master?") == ["Product Owner", "Scrum Master"]
    question = "what does the PO do if the Scrum Master is ill?"
    assert SCRUM.strip_mentions(question, SCRUM.asked_about(question)) == (
        "what does the do if the Scrum Master is ill?"
    )


@pytest.mark.parametrize(
    ("text", "doers"),
    [
        ("The Scrum Master runs the retro.", {"Scrum Master": True}),
        ("The retro is run by the Scrum Master.", {"Scrum Master": True}),
        # participles sharing one "is": each agent does its part
        (
            "The plan is drafted by the PO, checked by the Scrum Master and signed off by the "
            "dev team.",
            {"Product Owner": True, "Scrum Master": True, "Developers": True},
        ),
        ("The retro is run by the Scrum Master, not by the PO.", {"Scrum Master": True}),
        # "and the X" with a verb after it opens a clause of its own; without one, X is an object
        (
            "The PO writes the goal and the Scrum Master books the room.",
            {"Product Owner": True, "Scrum Master": True},
        ),
        ("The PO talks to users and the dev team every week.", {"Product Owner": True}),
        ("On Fridays the Scrum Master runs the retro.", {"Scrum Master": True}),
        ("The named PO signs it.", {"Product Owner": True}),
        # words of its own before the subject, or a phrase set before it, where a verb follows
        ("The night shift Scrum Master writes the log.", {"Scrum Master": True}),
        ("The team's senior PO signs it.", {"Product Owner": True}),
        (
            "Within a week of the review the Scrum Master sends the notes.",
            {"Scrum Master": True},
        ),
        ("In the absence of the PO the Scrum Master decides.", {"Scrum Master": True}),
        ("The review is done by the other Scrum Master.", {"Scrum Master": True}),
        ("The notes of the night shift PO.", {}),
        (
            "Only the PO signs it; even the Scrum Master cannot.",
            {"Product Owner": True, "Scrum Master": False},
        ),
        ("The team asks the PO.", {}),
        # so may a list bullet or emphasis
        ("- The Scrum Master runs the retro.", {"Scrum Master": True}),
        ("**Product Owner**: orders the backlog.", {"Product Owner": True}),
        # a clause number or a log entry's time opens the sentence, not its subject
        ("11.4 The Scrum Master runs the retro.", {"Scrum Master": True}),
        ("08:40 The PO signs it off.", {"Product Owner": True}),
        # a relative clause of its own: who it is handed to does the signing
        ("The key is handed to the Scrum Master, who signs for it.", {"Scrum Master": True}),
        # "picked by the PO": no passive, only a qualifier of the subject
        ("A developer picked by the PO demos it.", {"Developers": True}),
        ("A PO does not change the sprint backlog.", {"Product Owner": False}),
        ("The dev team never skips the review.", {"Developers": False}),
        ("The PO can't cancel it alone.", {"Product Owner": False}),
        # a passive denies its agent before it: "must not be ... by", "is never ... by"
        (
            "It must not be restarted by the dev team; only the PO restarts it.",
            {"Developers": False, "Product Owner": True},
        ),
        ("The goal is never changed by the Scrum Master.", {"Scrum Master": False}),
        ("It is reordered by the PO, not by the Scrum Master.", {"Product Owner": True}),
        # a denial with terms says when it is done, not that it is not
        ("The PO does not cancel a sprint unless the goal is obsolete.", {}),
        ("Unlike the PO, the Scrum Master coaches.", {"Scrum Master": True}),
        ("When the PO is away, the Scrum Master decides.", {"Scrum Master": True}),
        (
            "The PO and the Scrum Master do not vote.",
            {"Product Owner": False, "Scrum Master": False},
        ),
        ("Ask the Scrum Master before you call the PO.", {}),
        (
            "The PO writes the goal; the dev team does not.",
            {"Product Owner": True, "Developers": False},
        ),
    ],
)
def test_doers_are_the_roles_a_text_says_do_or_do_not(text: str, doers: dict[str, bool]) -> None:
    assert SCRUM.doers(text) == doers


def test_under_a_heading_naming_two_roles_the_text_decides() -> None:
    section = ("Scrum Master vs Product Owner",)
    text = "Unlike the Scrum Master, a Product Owner orders the backlog."
    assert SCRUM.attribute(text, section).role == "Product Owner"
    assert SCRUM.attribute("Both meet every day.", section).role == SHARED


def test_the_subject_of_the_first_sentence_leads() -> None:
    text = "The PO orders the backlog. They walk the Scrum Master and the Developers through it."
    assert SCRUM.attribute(text).role == "Product Owner"
    assert SCRUM.attribute("The PO and the Scrum Master plan it. Both attend.").role == SHARED


def test_an_emails_sign_off_and_signature_are_about_no_role() -> None:
    signed = "Thanks all,\nDaniel\n--\nDaniel Okafor | Product Owner | Acme Ltd\n01632 960410"
    assert SCRUM.attribute(signed).role is None
    # What comes before the sign-off still counts; a dash inside a line opens no signature.
    assert SCRUM.attribute(f"The Scrum Master books the room.\n{signed}").role == "Scrum Master"
    assert SCRUM.attribute("Thanks,\nThe PO -- our lead -- orders it.").role == "Product Owner"


def test_contact_details_are_about_no_role() -> None:
    directory = "- Product Owner: Dana Smith, ext. 2210\n- Scrum Master: Lee Wong, lee@acme.example"
    assert SCRUM.attribute(directory).role is None
    assert SCRUM.attribute(f"The Scrum Master books the room.\n{directory}").role == "Scrum Master"
    # A sentence that does more than give a number is no directory entry.
    rings = "The Scrum Master rings the facilities desk on ext. 4100 when a room is double-booked."
    assert SCRUM.attribute(rings).role == "Scrum Master"


@pytest.mark.parametrize(
    "record",
    [
        # who came to a meeting, on a line of its own or after the meeting's opening
        "Present: Dana Smith (PO, chair), Lee Wong (Scrum Master). Apologies: the dev team.",
        "The meeting opened at 7.30pm. Present: PO (chair), Scrum Master. In attendance: devs.",
        # the minutes' key of initials, and a rota: who is who
        "DS: Dana Smith, Product Owner (chair)\nLW: Lee Wong, Scrum Master (minutes)",
        "Dana Smith (DS) - Product Owner, chair\nLee Wong (LW) - Scrum Master",
        "PO: Dana Smith. Scrum Master: Lee Wong. Developers on call: Sam Hale.",
        # who took the minutes; what minutes these are, and that the last ones were agreed
        "Minutes taken by the Scrum Master and approved by the PO.",
        "Minutes of the team meeting held on 11 March in Room 3, kept by the Product Owner.",
        "The minutes of the last meeting were agreed and signed by the PO.",
    ],
)
def test_a_meetings_record_and_who_is_who_are_about_no_role(record: str) -> None:
    assert SCRUM.attribute(record).role is None
    assert SCRUM.attribute(f"The Scrum Master books the room.\n{record}").role == "Scrum Master"


def test_the_documents_record_points_back_to_the_document_not_to_a_role() -> None:
    scope = "1.1 These procedures set out how the team works. They apply to all staff."
    around = [["1.2 The Scrum Master keeps them up to date."]]
    assert SCRUM.attribute(scope, ("Purpose",), around).role is None
    pointing = "They also keep the board tidy."
    assert SCRUM.attribute(pointing, ("Purpose",), around).role == "Scrum Master"


def test_two_roles_each_the_subject_of_a_sentence_share_the_text() -> None:
    """The first sentence's subject counts double, and the runner-up needs half of that."""
    text = "The PO orders the backlog. The Scrum Master may review it."
    assert SCRUM.attribute(text).role == SHARED
    # Under a heading that names the first, the section is theirs: the second acting once in it
    # does not make it shared.
    assert SCRUM.attribute(text, ("The Product Owner",)).role == "Product Owner"


def test_a_sentence_opening_with_they_has_the_subject_before_it() -> None:
    text = (
        "Sometimes the board is out of date. A Scrum Master who notices does not fix it. "
        "They tell the dev team and ask the PO to update it."
    )
    assert SCRUM.attribute(text).role == "Scrum Master"
    # "She" is whoever opened the sentence before, not a role named later in it.
    text = (
        "Takes are logged on set. Maeve spots a mismatch, and the PO decides. "
        "She does not move props, so ask the dev team."
    )
    assert SCRUM.attribute(text).role == SHARED


def test_a_heading_asking_who_covers_for_a_role_is_not_about_that_role() -> None:
    text = "The Product Owner runs the stand-up."
    assert SCRUM.attribute(text, ("Who covers when the Scrum Master is away?",)).role == (
        "Product Owner"
    )
    about_them = ("What happens if the Scrum Master is away?",)
    assert SCRUM.attribute(text, about_them).role == "Scrum Master"


def test_heading_outweighs_passing_mentions() -> None:
    text = "They work with the Scrum Master and the Developers every day."
    assert SCRUM.attribute(text, ("Accountabilities", "Product Owner")).role == "Product Owner"


def test_a_contrast_heading_passes_on_to_its_parent() -> None:
    text = "They never write code."
    section = ("The Scrum Master", "Compared with the Developers")
    assert SCRUM.attribute(text, section).role == "Scrum Master"


def test_a_name_ending_in_y_is_named_in_its_plural() -> None:
    book = RoleBook.from_dict({"role": [{"name": "Legal Secretary", "aliases": ["Secretary"]}]})
    assert roles_of(book, "Secretaries and legal secretaries' desks") == ["Legal Secretary"] * 2
    assert roles_of(book, "the secretariat") == []


def test_joint_and_unattributed_passages() -> None:
    assert SCRUM.attribute("The Product Owner and the Scrum Master plan together.").role == SHARED
    assert SCRUM.attribute("Coffee is in the kitchen.").role is None
    neighbours = (["The Developers build it."],)
    assert SCRUM.attribute("They test it daily.", context=neighbours).role == "Developers"
    # A text that names no role and points back to no one is about none, wherever it stands.
    assert SCRUM.attribute("The build runs at night.", context=neighbours).role is None
    # "them" inside a sentence is more often someone else: users, players, customers.
    text = "Users are new, so the people around them show them the tools."
    assert SCRUM.attribute(text, context=neighbours).role is None


def test_a_documents_own_record_is_about_no_role() -> None:
    assert SCRUM.attribute("Version 2.1, March 2025. Owner: Product Owner.").role is None
    assert SCRUM.attribute("Approved by the Scrum Master on 3 May 2024.").role is None
    assert SCRUM.attribute("The PO reviewed the backlog for the 2025 release.").role == (
        "Product Owner"
    )


def test_who_wrote_or_typed_up_the_document_is_record() -> None:
    for record in [
        "Report by Sam Reid, Scrum Master, 0430-1300.",
        "Typed up from the whiteboard by the Scrum Master after each review.",
        "Copied into one file by the Product Owner from the sprint emails.",
    ]:
        assert SCRUM.attribute(record).role is None, record
    # "Written" as a word of the text, not the record's
    assert SCRUM.attribute("Written feedback is collected by the Product Owner.").role == (
        "Product Owner"
    )


def test_a_messages_header_and_a_pages_owner_are_record() -> None:
    header = (
        "From: Sam Reid, Scrum Master\nSent: Friday 7 March 2025 16:02\nSubject: Release notes\n\n"
    )
    assert SCRUM.attribute(f"{header}Hi all,\nThe release went out on Tuesday.").role is None
    assert SCRUM.attribute(f"{header}Hi all,\nThe PO signed the release off.").role == (
        "Product Owner"
    )
    assert SCRUM.attribute("Page owner: Scrum Master. Keep it short.").role is None


def test_a_message_is_its_senders_news_unless_it_says_what_another_does() -> None:
    book = SCRUM.with_people({"Priya": "Product Owner", "Sam": "Scrum Master", "SK": "Developers"})
    assert book.attribute("**Sam:** Can we move the review?").role == "Scrum Master"
    chat = "**Sam:** Can we move the review?\n\n**Priya:** Yes, to Friday at ten."
    assert book.attribute(chat).role == SHARED
    # a role the message makes its subject outweighs the sender
    assert book.attribute("**Sam:** Priya orders the backlog.").role == "Product Owner"
    assert book.attribute("Sam facilitates the daily scrum.").role == "Scrum Master"
    # a log entry stamped with its date ("Sept" too), and its sentences without a subject
    entry = "**4 Sept.** SK: flaky test in the build. Fixed it on 5 Sept. Told Priya."
    assert book.attribute(entry).role == "Developers"


def test_whom_a_message_greets_is_not_what_it_is_about() -> None:
    book = SCRUM.with_people({"Sam": "Scrum Master"})
    for greeting in ("Hi Sam,", "Morning Sam, thanks.", "Dear Sam", "Thanks Sam."):
        assert book.attribute(f"{greeting} The review went well.").role is None, greeting
    assert book.attribute("Hi all, Sam moved the review.").role == "Scrum Master"


def test_who_speaks_or_writes_is_what_they_say_in_the_first_person() -> None:
    book = SCRUM.with_people({"Priya": "Product Owner", "Sam": "Scrum Master", "SK": "Developers"})
    # a chat: the label is passed over, but "I" and "me" are the speaker
    assert book.attribute("**Sam:** Call me before ten. If I miss it, ring the office.").role == (
        "Scrum Master"
    )
    # an exchange: asked by the Product Owner, answered by whoever says "I"
    question = "Q (Priya, PO): Does the dev team estimate?"
    assert book.attribute(question).role == "Developers"
    answer = "A (Sam, Scrum Master): That one is mine. I book the room for the review."
    assert book.attribute(answer).role == "Scrum Master"
    # a message stamped with its date and time
    stamped = "Sat 2 Aug, 09:52 - Sam (Scrum Master): The dev team demos it on Friday."
    assert book.attribute(stamped).role == "Developers"
    assert book.attribute("[02/08 09:52] Sam: Call me if I'm late.").role == "Scrum Master"
    # a log entry: its writer did what it records
    assert book.attribute("08:15 SK. Fixed the build. I paired with Priya on it.").role == (
        "Developers"
    )
    # no label, no speaker: "I" is nobody known
    assert book.attribute("I think the review went well.").role is None


def test_a_counted_role_opening_a_sentence_is_its_subject() -> None:
    text = "One developer from each team is on call, on the rota the Scrum Master keeps."
    assert SCRUM.doers(text) == {"Developers": True, "Scrum Master": True}
    paragraph = "One developer from each team is on call. They page the Scrum Master if it breaks."
    assert SCRUM.attribute(paragraph).role == "Developers"


def test_a_report_in_the_first_person_is_about_whoever_its_record_line_says_wrote_it() -> None:
    entry = "0715 I held the release and called the vendor. It went out at ten."
    written = ["Report by Sam Okoye, Scrum Master, early shift.", "Monday was quiet."]
    assert SCRUM.attribute(entry, ("Monday",), (written,)).role == "Scrum Master"
    signed = ["Week 7. Written by Sam Okoye (Scrum Master) after each sprint."]
    assert SCRUM.attribute(entry, ("Monday",), (signed,)).role == "Scrum Master"
    assert SCRUM.attribute(entry, ("Monday",), (["Monday was quiet."],)).role is None
    # an email's sender, on its header
    book = SCRUM.with_people({"Sam Okoye": "Scrum Master"})
    header = ["From: Sam Okoye <sam@example.org>\nTo: Priya Nair\nSubject: Re: release"]
    assert book.attribute(entry, ("Message 2",), (header,)).role == "Scrum Master"
    # the record line itself is about no role
    assert SCRUM.attribute(written[0]).role is None


def test_a_paragraph_opening_with_the_documents_version_is_all_record() -> None:
    record = (
        "Version 2.3, January 2025. Written by the Product Owner with the team. Copies are in "
        "the Scrum Master's office."
    )
    assert SCRUM.attribute(record).role is None
    edition = "*Edition 4, January 2025. Kept up to date by the Scrum Master.*"
    assert SCRUM.attribute(edition).role is None
    kept = "*Kept by Sam Reid. Each entry is written up by the Scrum Master within a week.*"
    assert SCRUM.attribute(kept).role is None
    assert SCRUM.attribute(f"{record}\n\nThe Scrum Master coaches the team.").role == (
        "Scrum Master"
    )
    # Only an opening version line makes the paragraph the document's: a step's owner is not.
    steps = "Each step has an owner: the Product Owner orders the backlog first."
    assert SCRUM.attribute(steps).role == "Product Owner"


def test_a_paragraph_opening_with_what_the_document_is_for_is_all_record() -> None:
    neighbours = (["The Product Owner orders the backlog.", "The Scrum Master coaches."],)
    for scope in (
        "This handbook sets out how the team works. The Scrum Master keeps it up to date.",
        "1.1 These Team Operating Procedures (TOPs) set out how the PO and the team plan.",
    ):
        assert SCRUM.attribute(scope, context=neighbours).role is None
        assert SCRUM.attribute(f"{scope}\n\nThe PO orders the backlog.").role == "Product Owner"
    # Describing the roles is about them all; a scope named later in a paragraph is no opening.
    roles = "This guide describes the three roles and how they work together."
    assert SCRUM.attribute(roles, context=neighbours).role == SHARED
    later = "The Scrum Master coaches. This handbook sets out the rest."
    assert SCRUM.attribute(later).role == "Scrum Master"


def test_a_text_naming_no_role_amid_several_is_shared_only_if_it_speaks_of_them_together() -> None:
    neighbours = (["The Product Owner orders the backlog.", "The Scrum Master coaches."],)
    assert SCRUM.attribute("The office opens at eight.", context=neighbours).role is None
    assert SCRUM.attribute("Each role has its own board.", context=neighbours).role == SHARED
    assert SCRUM.attribute("Boards hang by the door.", ("Working together",), neighbours).role == (
        SHARED
    )
    # Sharing a duty is doing it together; a shared drive is only a place for files.
    assert SCRUM.attribute("The demo is a shared duty.", context=neighbours).role == SHARED
    stored = "The controlled copy is on the shared drive. Printed copies may be out of date."
    assert SCRUM.attribute(stored, context=neighbours).role is None
    # Nor is the document's own footer, who to ask about it, about that one.
    for footer in (
        "Questions about this guide: Dana Smith, Product Owner, Unit 7, Brunel Way.",
        "Queries about these procedures go to the Scrum Master's office, Unit 7, Brunel Way.",
        "Staff wiki page, last edited 3 March 2025 by Dana Smith (Product Owner).",
    ):
        assert SCRUM.attribute(footer).role is None


def test_every_bundled_passage_has_its_paragraphs_gold_role() -> None:
    docs = read_corpus(CORPUS)
    passages, _ = make_passages(docs, corpus_roles(CORPUS, docs))
    text = (CORPUS / "safe-pm-vs-po.txt").read_text(encoding="utf-8")
    gold = locate_paragraphs(
        SHARED_DIR / "eval" / "paragraph_roles.jsonl", {"safe-pm-vs-po.txt": text}
    )
    assert len(gold) == 36
    for paragraph in gold:
        inside = [p for p in passages if p.start < paragraph.end and paragraph.start < p.end]
        assert inside and all(p.role == paragraph.role for p in inside), paragraph


def gold_and_given(name: str) -> list[tuple[str | None, str | None, str]]:
    """(gold role, given role, text) of each passage of a held-out corpus lying in paragraphs
    of one gold role."""
    folder = DATA / name
    docs = read_corpus(folder)
    passages, _ = make_passages(docs, corpus_roles(folder, docs))
    texts = {p.source: (folder / p.source).read_text(encoding="utf-8") for p in passages}
    gold = locate_paragraphs(folder / "paragraph_roles.jsonl", texts)
    judged = []
    for p in passages:
        roles = {
            g.role for g in gold if g.source == p.source and g.start < p.end and p.start < g.end
        }
        if len(roles) == 1:
            judged.append((roles.pop(), p.role, p.text[:80]))
    return judged


def test_a_markdown_corpus_with_four_roles_gets_its_gold_roles() -> None:
    judged = gold_and_given("clinic")
    assert len(judged) >= 40
    for gold, attributed, text in judged:
        assert attributed == gold, text


@pytest.mark.parametrize(
    "name",
    [
        "kitchen",
        "newsroom",
        "airline",
        "devteam",
        "hospital",
        "school",
        "lawfirm",
        "filmset",
        "building",
        "hotel",
        "club",
        "oss",
        "lab",
        "retail",
        "itsm",
        "sailing",
        "library",
        "events",
        "orchestra",
        "warehouse",
        "vetpractice",
        "firestation",
        "museum",
        "foodbank",
        "railway",
        "leisure",
        "teaching",
        "mountainrescue",
        "bankbranch",
        "carehome",
        "estateagency",
        "brewery",
        "housing",
        "dental",
        "pharmacy",
        "zoo",
        "callcentre",
        "admissions",
        "windfarm",
        "theatre",
        "ferry",
        "court",
        "busdepot",
        "themepark",
        "printshop",
        "campsite",
        "cinema",
        "dairy",
        "radio",
        "bakery",
        "allotment",
        "ambulance",
        "salon",
        "parish",
        "harbour",
        "villagehall",
        "vineyard",
        "scouts",
        "garage",
        "dogrescue",
        "choir",
        "coworking",
        "lifeboat",
    ],
)
def test_most_passages_of_the_other_held_out_corpora_get_their_gold_role(name: str) -> None:
    """Their writers never read this code; what they found wrong is in docs/quality.md."""
    judged = gold_and_given(name)
    right = sum(gold == given for gold, given, _ in judged)
    assert len(judged) >= 30 and right / len(judged) >= 0.65, (right, len(judged))


def test_three_roles_with_deeper_headings() -> None:
    text = (
        "# Team guide\n\n## Scrum Master\n\n### Coaching\n\nThey coach the team on Scrum.\n\n"
        "### Compared with the Product Owner\n\nThey never order the backlog.\n\n"
        "## Developers\n\nDevelopers build the increment with the Product Owner nearby.\n\n"
        "## Events\n\nThe Product Owner, the Scrum Master and the Developers meet at the review.\n"
    )
    doc = parse_markdown("guide.md", text)
    got = [SCRUM.attribute(b.text, b.section).role for b in doc.blocks]
    assert got == ["Scrum Master", "Scrum Master", "Developers", SHARED]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, r"needs \[\[role\]\]"),
        ({"role": [{"aliases": ["x"]}]}, "needs a name"),
        ({"role": [{"name": "A"}, {"name": "a"}]}, "twice"),
        ({"role": [{"name": "shared"}]}, "reserved"),
        ({"role": [{"name": "A", "aliases": "B"}]}, "list of strings"),
    ],
)
def test_a_bad_role_book_is_refused_with_a_reason(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RoleBook.from_dict(data)


def test_role_book_round_trips_through_a_dict(tmp_path: Path) -> None:
    book = RoleBook.load(CORPUS / "roles.toml")
    again = RoleBook.from_dict(json.loads(json.dumps(book.to_dict())))
    assert again.roles == book.roles


@pytest.mark.parametrize(
    "book", sorted([CORPUS / "roles.toml", *DATA.glob("*/roles.toml")]), ids=lambda p: p.parent.name
)
def test_every_alias_however_written_names_its_role(book: Path) -> None:
    roles = RoleBook.load(book)
    for role in roles.roles:
        for alias in role.names:
            plural = re.sub(r"([^aeiou])y$", r"\1ie", alias) + "s"  # "Secretaries"
            forms = (alias, alias.lower(), alias.upper(), alias.replace(" ", "-"), plural)
            for form in forms:
                found = roles_of(roles, f"Ask the {form}.")
                assert role.name in found, (alias, form, found)
