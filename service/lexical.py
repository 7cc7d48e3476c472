"""The lexical side: BM25 (bm25s) over stemmed words without stop words."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

# The longer English list: questions are full of "what", "how", "does" that match nothing.
STOPWORDS = frozenset(bm25s.stopwords.STOPWORDS_EN_PLUS)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Lower-cased, stemmed word tokens with English stop words removed."""
    tokens = bm25s.tokenize(
        list(texts),
        stopwords=sorted(STOPWORDS),
        stemmer=_stemmer(),
        return_ids=False,
        show_progress=False,
    )
    return [list(t) for t in tokens]


class LexicalIndex:
    def __init__(self, retriever: bm25s.BM25) -> None:
        self.retriever = retriever
        self.vocab: dict[str, int] = retriever.vocab_dict

    @classmethod
    def build(cls, texts: Sequence[str]) -> LexicalIndex:
        retriever = bm25s.BM25()
        retriever.index(tokenize(texts), show_progress=False)
        return cls(retriever)

    def save(self, folder: Path) -> None:
        self.retriever.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        return cls(bm25s.BM25.load(str(folder), mmap=True, show_progress=False))

    def known(self, tokens: Sequence[str]) -> list[str]:
        """The tokens that occur somewhere in the indexed texts."""
        return [t for t in tokens if t in self.vocab and t != ""]

    @property
    def size(self) -> int:
        return int(self.retriever.scores["num_docs"])

    def weighted_scores(self, terms: Mapping[str, float]) -> np.ndarray:
        """BM25 with a weight per query term (expansions count less than the words asked)."""
        total = np.zeros(self.size, dtype=np.float32)
        for token, weight in terms.items():
            if token in self.vocab and token:
                total += weight * np.asarray(self.retriever.get_scores([token]), dtype=np.float32)
        return total
