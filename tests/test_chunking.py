"""Blocks to passages: within one section, encoder-sized, exact offsets, sentence spans."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from service.chunking import MAX_PASSAGE_CHARS, chunk_document, split_sentences
from service.documents import parse, parse_markdown, read_corpus
from tests.conftest import CORPUS, DATA


def test_passage_never_crosses_a_heading_and_stays_paragraph_sized() -> None:
    for folder in (CORPUS, DATA / "clinic", DATA / "kitchen", DATA / "newsroom"):
        for doc in read_corpus(folder):
            blocks = {(b.start, b.end): b.section for b in doc.blocks}
            for p in chunk_document(doc):
                assert doc.text[p.start : p.end] == p.text
                assert len(p.text) <= MAX_PASSAGE_CHARS
                inside = [s for (a, b), s in blocks.items() if a < p.end and p.start < b]
                assert set(inside) == {p.section}


def test_each_question_and_answer_of_an_faq_is_a_passage_of_its_own() -> None:
    text = (
        "## FAQ\n\nQ: Who files the forms?\nA: The clerk.\n\n"
        "Q: Who signs them?\nA: The manager.\n\nThe manager also signs leave.\n"
    )
    passages = chunk_document(parse_markdown("f.md", text))
    assert [p.text for p in passages] == [
        "Q: Who files the forms?\nA: The clerk.",
        "Q: Who signs them?\nA: The manager.\n\nThe manager also signs leave.",
    ]


def test_a_question_and_its_answer_a_paragraph_apart_are_one_passage() -> None:
    """As a digest of staff questions writes them: long posts, "Q (who):" and "A (who):"; and
    "Q:" opens an entry of its own, though its first sentence asks nothing."""
    question = "Q (driver): The booking-on line was dead again on Tuesday morning. " * 3
    answer = "A (Sarah, control): Ring the duty control manager on the mobile instead. " * 3
    text = (
        f"## Digest\n\n{question}\n\n{answer}\n\n## Injuries\n\nSee the physio first.\n\n"
        "Q: I got hurt at work on Wednesday. Who do I tell?\nA: Text the physio.\n"
    )
    passages = chunk_document(parse_markdown("d.md", text))
    assert [p.text.split(":")[0] for p in passages] == ["Q (driver)", "See the physio first.", "Q"]
    assert passages[0].text.endswith("instead.")


def test_a_long_paragraph_is_split_at_sentence_boundaries() -> None:
    sentence = "The clerk files every form in the right drawer before noon. "
    text = "## Clerk\n\n" + sentence * 40
    passages = chunk_document(parse_markdown("c.md", text))
    assert len(passages) > 1
    for p in passages:
        assert p.text.endswith("noon.") and len(p.text) <= MAX_PASSAGE_CHARS


def test_short_neighbours_of_a_section_ride_together() -> None:
    text = "## Tips\n\n- one\n\n- two\n\nA longer paragraph that explains the tips in detail.\n"
    passages = chunk_document(parse_markdown("t.md", text))
    assert len(passages) == 1 and passages[0].text.startswith("- one")


def test_sentences_skip_abbreviations_and_end_at_list_items() -> None:
    text = (
        "Use tools, e.g. a hammer. Then rest. Ring ext. 2210 or Capt. Iain Drummond.\n"
        "- first item\n- second item\n1. Arm it.\n2. Go."
    )
    assert [text[s.start : s.end] for s in split_sentences(text)] == [
        "Use tools, e.g. a hammer.",
        "Then rest.",
        "Ring ext. 2210 or Capt. Iain Drummond.",
        "- first item",
        "- second item",
        "1. Arm it.",  # a step's number is no sentence of its own
        "2. Go.",
    ]


def test_passage_ids_are_stable_and_sequential() -> None:
    doc = read_corpus(CORPUS)[0]
    ids = [p.id for p in chunk_document(doc)]
    assert ids == [f"safe-pm-vs-po#{n}" for n in range(1, len(ids) + 1)]


words = st.text(alphabet="abcdefghij .!?\n-#", min_size=0, max_size=400)


@settings(max_examples=150, deadline=None)
@given(words, st.sampled_from(["x.txt", "x.md"]), st.integers(min_value=20, max_value=300))
def test_passages_and_sentences_are_exact_slices(text: str, name: str, limit: int) -> None:
    doc = parse(name, text)
    for p in chunk_document(doc, max_chars=limit, min_chars=limit // 4):
        assert text[p.start : p.end] == p.text
        assert len(p.text) <= limit
        for s in p.sentences:
            assert p.start <= s.start < s.end <= p.end
