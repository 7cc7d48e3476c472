"""The lexical side: BM25 (bm25s) over stemmed words without stop words."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Lower-cased, stemmed word tokens with English stop words removed."""
    tokens = bm25s.tokenize(
        list(texts), stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False
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

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every indexed text for already tokenised query words."""
        known = self.known(tokens)
        n_docs = int(self.retriever.scores["num_docs"])
        if not known:
            return np.zeros(n_docs, dtype=np.float32)
        return np.asarray(self.retriever.get_scores(known), dtype=np.float32)
