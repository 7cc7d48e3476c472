"""Query words the corpus does not use, mapped onto words it does: typos and initialisms."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from service.expansion import Initialisms, Vocabulary, content_words
from service.lexical import tokenize

TEXTS = [
    "A new datastore needs an architecture decision record. The lead signs it off.",
    "SREs own the service level objectives, and page the Tech Lead.",
]


def known_in(texts: list[str]) -> Callable[[Sequence[str]], list[str]]:
    tokens = {t for row in tokenize(texts) for t in row}

    def known(asked: Sequence[str]) -> list[str]:
        return [t for t in asked if t in tokens]

    return known


def test_an_initialism_the_corpus_never_writes_stands_for_its_phrase() -> None:
    spelled = Initialisms.from_texts(TEXTS)
    known = known_in(TEXTS)
    assert spelled.spell_out("who signs off an ADR", known) == set(
        tokenize(["architecture decision record"])[0]
    )
    assert spelled.spell_out("what are our SLOs", known) == set(
        tokenize(["service level objectives"])[0]
    )
    # Only in capitals ("adr" may be a word), only for what the corpus does not write itself,
    # and only runs of content words: "needs an architecture" is no "NAA".
    assert spelled.spell_out("who signs off an adr", known) == set()
    assert spelled.spell_out("what do SREs do", known) == set()
    assert spelled.spell_out("what is NAA", known) == set()


def vocabulary_of(text: str, dictionary: frozenset[str] = frozenset()) -> Vocabulary:
    words = content_words(text)
    tokens = [t[0] for t in tokenize(words)]
    return Vocabulary(tuple(words), tuple(tokens), np.zeros((len(words), 2)), dictionary)


def test_a_misspelt_word_is_read_as_the_corpus_word_one_edit_away() -> None:
    vocabulary = vocabulary_of(
        "The purser gives the briefing and files the report. Receptionists answer whether "
        "the cases are urgent."
    )
    asked = ["brefing", "reprot", "recepionist", "briefings", "gcses", "teh"]
    assert vocabulary.corrections(asked) == {
        "brefing": "briefing",  # a letter dropped
        "reprot": "report",  # two swapped
        "recepionist": "receptionist",  # one from the token of "receptionists"
        # "briefings" is another form of a corpus word; "gcses" is two edits from "cases";
        # "teh" is too short to tell from another word.
    }


def test_a_word_spelled_right_is_no_typo_though_the_corpus_lacks_it() -> None:
    text = "Keep watch over the gate."
    assert vocabulary_of(text).corrections(["match"]) == {"match": "watch"}
    assert vocabulary_of(text, frozenset({"match"})).corrections(["match"]) == {}
