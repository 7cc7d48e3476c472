"""The lexical side agrees with bm25s, whose tokens and scores it takes over for speed."""

from __future__ import annotations

import bm25s
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from service.lexical import STOPWORDS, LexicalIndex, _stemmer, tokenize

TEXTS = [
    "The Product Owner refines the team backlog with the Agile Team.",
    "Product Management owns the program backlog and the roadmap; PMs talk to customers.",
    "Release trains plan together every Program Increment, in PI planning.",
    "Nothing here about owners — only planning, planning and more planning!",
]
_words = st.sampled_from(
    ["Owner", "owners", "the", "backlog", "Backlogs", "PI", "planning", "don't", "Ünïcode", "a"]
)
_texts = st.lists(st.one_of(_words, st.text(max_size=12)), max_size=12).map(" ".join)


@given(st.lists(_texts, max_size=4))
@settings(max_examples=200, deadline=None)
def test_tokens_are_those_of_bm25s(texts: list[str]) -> None:
    expected = bm25s.tokenize(
        texts,
        stopwords=sorted(STOPWORDS),
        stemmer=_stemmer(),
        return_ids=False,
        show_progress=False,
    )
    assert tokenize(texts) == [list(t) for t in expected]


@given(
    st.dictionaries(
        st.sampled_from([*sorted({t for ts in tokenize(TEXTS) for t in ts}), "absent", ""]),
        st.floats(0.1, 1.0),
        max_size=6,
    )
)
@settings(max_examples=100, deadline=None)
def test_weighted_scores_are_bm25s_scores_weighted_per_term(terms: dict[str, float]) -> None:
    lexical = LexicalIndex.build(TEXTS)
    expected = np.zeros(len(TEXTS))
    for token, weight in terms.items():
        if token and token in lexical.vocab:
            expected += weight * lexical.retriever.get_scores([token])
    np.testing.assert_allclose(lexical.weighted_scores(terms), expected, rtol=1e-5, atol=1e-6)
    assert lexical.weighted_scores(terms).dtype == np.float32
