"""Query words the corpus does not use, mapped onto words it does: initialisms."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from service.expansion import Initialisms
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
