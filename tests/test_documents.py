"""Corpus files to documents: headings, paragraphs, lists, noise, exact offsets."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from service.documents import (
    Document,
    parse,
    parse_markdown,
    parse_plain_text,
    read_corpus,
    read_text,
)
from tests.conftest import CORPUS


def outline(doc: Document) -> list[tuple[str, tuple[str, ...]]]:
    """Each block's text and its section path: what a parse is judged by."""
    return [(b.text, b.section) for b in doc.blocks]


def test_plain_text_title_sections_and_levels_follow_the_layout() -> None:
    doc = parse_plain_text("a.txt", (CORPUS / "safe-pm-vs-po.txt").read_text(encoding="utf-8"))
    assert doc.title == "Safe Product Manager vs Product Owner: Key Differences Explained"
    assert doc.blocks[0].section == ()  # the introduction sits under the title alone
    assert doc.blocks[1].section == (
        "Understanding the Roles: Safe Product Manager and Product Owner",
        "Defining the Safe Product Manager",
    )
    assert len(doc.blocks) == 36


def test_two_blank_lines_close_a_section_and_link_lists_are_noise() -> None:
    text = (
        "Guide\n\nIntro paragraph that says something.\n\nTopic\n\nBody of the topic.\n\n\n"
        "Closing words after a gap.\n\nAdditional resources\nAdditional resources\n"
    )
    doc = parse_plain_text("g.txt", text)
    assert outline(doc) == [
        ("Intro paragraph that says something.", ()),
        ("Body of the topic.", ("Topic",)),
        ("Closing words after a gap.", ()),
    ]


def test_a_line_in_capitals_is_a_heading_even_with_a_question_mark_or_text_right_under_it() -> None:
    text = (
        "NIGHT CARD\n\nIntro says who does what.\n\nOFF STONE\nA page goes off stone at ten.\n\n"
        "WHO CALLS THE LAWYER?\n\nThe section editor does.\n\nA normal sentence?\n\nIt stays.\n\n"
        "NEVER PROP THE DOOR OPEN.\n\nA warning in capitals is a sentence.\n"
    )
    doc = parse_plain_text("card.txt", text)
    assert doc.title == "NIGHT CARD"
    assert outline(doc) == [
        ("Intro says who does what.", ()),
        ("A page goes off stone at ten.", ("OFF STONE",)),
        ("The section editor does.", ("WHO CALLS THE LAWYER?",)),
        ("A normal sentence?", ("WHO CALLS THE LAWYER?",)),
        ("It stays.", ("WHO CALLS THE LAWYER?",)),
        ("NEVER PROP THE DOOR OPEN.", ("WHO CALLS THE LAWYER?",)),
        ("A warning in capitals is a sentence.", ("WHO CALLS THE LAWYER?",)),
    ]


def test_numbered_lines_over_paragraphs_are_headings_with_their_numbering_as_levels() -> None:
    text = (
        "Shift guide\n\n1. Opening\n\nThe sous chef opens the kitchen at seven and checks "
        "the walk-in temperatures before anyone starts prep.\n\n2. Service\n\n2.1 The pass\n\n"
        "The head chef runs the pass during service and calls every ticket as it comes in.\n\n"
        "3. Closing checks\n\nGas off at the main valve, ovens off and wiped down, walk-in door "
        "shut and the alarm set.\n\n3.1 The alarm\n\nThe code is on the card in the office, and "
        "it is changed every month by the head chef.\n\nKey contacts\n\nCall the head chef first.\n"
    )
    doc = parse_plain_text("s.txt", text)
    assert doc.title == "Shift guide"
    assert [b.section for b in doc.blocks] == [
        ("1. Opening",),
        ("2. Service", "2.1 The pass"),
        ("3. Closing checks",),  # a "3." is in no "2." group, and heads its own
        ("3. Closing checks", "3.1 The alarm"),
        ("Key contacts",),  # an unnumbered heading in a numbered guide: a section of its own
    ]


def test_numbered_steps_and_figures_stay_text() -> None:
    text = (
        "Alarm\n\n1. Enter the code\n2. Lock the door\n\n1. Enter the code\n\n"
        "2. Lock the door\n\nDone.\n\n1.5 Kg of flour goes in the bin.\n"
    )
    doc = parse_plain_text("a.txt", text)
    assert outline(doc) == [
        ("1. Enter the code\n2. Lock the door", ()),
        ("1. Enter the code", ()),
        ("2. Lock the door", ()),
        ("Done.", ()),
        ("1.5 Kg of flour goes in the bin.", ()),
    ]
    assert doc.title == "Alarm"


def test_a_thematic_break_is_no_text_but_an_underline_makes_a_heading() -> None:
    text = "Desk\n====\n\nFirst part.\n\n---\n\nLast part.\n\n* * *\n\nSub\n---\n\nBody.\n"
    doc = parse_markdown("h.md", text)
    assert outline(doc) == [
        ("First part.", ()),
        ("Last part.", ()),
        ("Body.", ("Sub",)),
    ]
    assert doc.title == "Desk"


def test_a_list_of_numbers_is_content_not_noise() -> None:
    text = (
        "Closing\n\nLock the back door.\n\nNumbers to call\nHead Chef, Marta: 07700 900731\n"
        "Refrigeration engineer: 0161 496 0528\n"
    )
    doc = parse_plain_text("card.txt", text)
    assert [b.text for b in doc.blocks][-1].endswith("Refrigeration engineer: 0161 496 0528")
    assert any("Marta" in b.text for b in doc.blocks)


def test_markdown_headings_nest_and_hard_wrapped_paragraphs_stay_whole() -> None:
    text = (
        "# Handbook\n\nIntro line one\nwrapped onto line two.\n\n## Nurse\n\n### Duties\n\n"
        "- first duty\n- second duty\n\n## Clerk\n\nFiles things.\n"
    )
    doc = parse_markdown("h.md", text)
    assert doc.title == "Handbook"
    assert outline(doc) == [
        ("Intro line one\nwrapped onto line two.", ()),
        ("- first duty\n- second duty", ("Nurse", "Duties")),
        ("Files things.", ("Clerk",)),
    ]


def test_markdown_fences_are_not_headings() -> None:
    doc = parse_markdown("f.md", "## Setup\n\n```\n# not a heading\n```\n")
    assert doc.blocks[0].text == "```\n# not a heading\n```"
    assert doc.blocks[0].section == ("Setup",)


def test_setext_headings_are_headings_as_atx_ones_are() -> None:
    setext = "Handbook\n========\n\nIntro.\n\nRoles\n-----\n\nBody text here.\n"
    atx = "# Handbook\n\nIntro.\n\n## Roles\n\nBody text here.\n"
    for doc in (parse_markdown("s.md", setext), parse_markdown("a.md", atx)):
        assert doc.title == "Handbook"  # the one level-1 heading at the top
        assert outline(doc) == [
            ("Intro.", ()),
            ("Body text here.", ("Roles",)),
        ]


line = st.text(
    alphabet=st.characters(
        exclude_categories=["Cs"], exclude_characters="\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(line, max_size=30), st.sampled_from(["doc.txt", "doc.md"]))
def test_every_block_is_an_exact_slice_of_its_source(lines: list[str], name: str) -> None:
    text = "\n".join(lines)
    doc = parse(name, text)
    for block in doc.blocks:
        assert text[block.start : block.end] == block.text
        assert block.text.strip() == block.text and block.text


def test_a_file_saved_with_a_byte_order_mark_and_windows_newlines_reads_as_any_other(
    tmp_path: Path,
) -> None:
    text = "# Kitchen guide\n\n## Commis\n\nThe commis washes the vegetables.\n"
    (tmp_path / "guide.md").write_bytes(("\ufeff" + text.replace("\n", "\r\n")).encode("utf-8"))
    (tmp_path / "plain.md").write_text(text, encoding="utf-8")
    with_mark, plain = read_corpus(tmp_path)
    assert [(b.text, b.section) for b in with_mark.blocks] == [
        (b.text, b.section) for b in plain.blocks
    ]
    assert read_text(tmp_path / "guide.md") == text
