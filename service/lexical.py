"""The lexical side: BM25 (bm25s) over stemmed words without stop words."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

# The longer English list: questions are full of "what", "how", "does" that match nothing.
# Typed questions contract them too, and often drop the apostrophe ("whats the difference",
# "dont"): those forms are stop words as well, but for the ones that are words of their own.
_CONTRACTIONS = (
    "what's", "who's", "how's", "where's", "when's", "why's", "that's", "there's", "here's",
    "let's", "i'm", "i've", "i'd", "i'll", "we're", "we've", "we'll", "they're", "they've",
    "they'll", "he's", "he'll", "she'll", "can't",
)  # fmt: skip
_WORDS_OF_THEIR_OWN = frozenset({"well", "ill", "hell", "id", "lets", "shell", "wed"})
_LISTED = frozenset({*bm25s.stopwords.STOPWORDS_EN_PLUS, *_CONTRACTIONS})
STOPWORDS = _LISTED | ({w.replace("'", "") for w in _LISTED if "'" in w} - _WORDS_OF_THEIR_OWN)
# bm25s's (and scikit-learn's) word pattern.
_WORD = re.compile(r"(?u)\b\w\w+\b")


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Lower-cased, stemmed word tokens with English stop words removed.

    The tokens `bm25s.tokenize` gives (a test holds the two together), without its set-up per
    call (progress bars, a stop-word set per text), which cost more than a question's words.
    """
    stem = _stemmer().stemWords
    return [stem([w for w in _WORD.findall(t.lower()) if w not in STOPWORDS]) for t in texts]


class LexicalIndex:
    def __init__(self, retriever: bm25s.BM25) -> None:
        self.retriever = retriever
        self.vocab: dict[str, int] = retriever.vocab_dict
        # bm25s's eager scores: each token's (passage, score) pairs, one slice per token.
        scores = retriever.scores
        self._data = np.asarray(scores["data"], dtype=np.float32)
        self._passages = np.asarray(scores["indices"])
        self._starts = np.asarray(scores["indptr"])
        self._absent = retriever.nonoccurrence_array  # BM25L/BM25+ score words a text lacks

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
        """BM25 with a weight per query term (expansions count less than the words asked).

        bm25s scores a query's terms alike; summing its score slices here, weighted, in one
        `bincount`, also spares a call per term.
        """
        ids = [(self.vocab[t], w) for t, w in terms.items() if t and t in self.vocab]
        if not ids:
            return np.zeros(self.size, dtype=np.float32)
        spans = [(int(self._starts[i]), int(self._starts[i + 1]), w) for i, w in ids]
        passages = np.concatenate([self._passages[a:b] for a, b, _ in spans])
        scores = np.concatenate([w * self._data[a:b] for a, b, w in spans])
        total: np.ndarray = np.bincount(passages, scores, minlength=self.size)
        if self._absent is not None:
            total = total + sum(w * float(self._absent[i]) for i, w in ids)
        return total.astype(np.float32)
