"""Query words the corpus does not use, mapped onto words it does.

Search-box questions rarely use the document's own words ("dev squad" for "development team",
"choices" for "decisions") and often carry typos. The corpus vocabulary is embedded once at
build time; at query time each question word adds its close spellings and its nearest
vocabulary words (cosine of the single-word embeddings) as weighted BM25 terms.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from service.cache import LRUCache
from service.encoder import Encoder
from service.lexical import STOPWORDS, tokenize

WORD = re.compile(r"[a-z][a-z'-]+")
# Neighbours below this cosine are too loose to count (0.60-0.65 measured stable on dev and
# held-out questions; 0.70 loses most of the gain).
MIN_SIMILARITY = 0.62
MAX_NEIGHBOURS = 3
# Only words this long are corrected: short ones are too often another real word.
MIN_TYPO_CHARS = 5
# Words whose neighbours are remembered: the same words come back question after question.
NEIGHBOUR_CACHE = 20_000
# An initialism the corpus never writes ("ADR") stands for its phrases with those initials
# ("architecture decision record"), weighed a little under the words the question spells out.
INITIALISM = re.compile(r"\b([A-Z]{3,5})s?\b")
INITIALISM_WEIGHT = 0.9
_PHRASE_BREAK = re.compile(r"[^\w\s'-]+")
_LETTERS = "abcdefghijklmnopqrstuvwxyz'-"  # what a content word is made of
_ANY_CASE_WORD = re.compile(WORD.pattern, re.I)


def respell(text: str, meant: Mapping[str, str]) -> str:
    """`text` with each of its words that `meant` holds (lower-cased) replaced by its value."""
    return _ANY_CASE_WORD.sub(lambda m: meant.get(m[0].lower(), m[0]), text)


def content_words(text: str) -> list[str]:
    """Lower-cased words of `text` that are not stop words, in order, without repeats."""
    words = (w.strip("'-") for w in WORD.findall(text.lower()))
    return list(dict.fromkeys(w for w in words if len(w) > 2 and w not in STOPWORDS))


@dataclass(frozen=True)
class Vocabulary:
    """The corpus's content words, their BM25 tokens and their embeddings."""

    words: tuple[str, ...]
    tokens: tuple[str, ...]
    vectors: np.ndarray  # one unit row per word
    # Words spelled right whether or not the corpus uses them: never taken for typos.
    dictionary: frozenset[str] = frozenset()
    _words: frozenset[str] = field(init=False, repr=False, compare=False)
    _tokens: frozenset[str] = field(init=False, repr=False, compare=False)
    _neighbours: LRUCache[tuple[str, int], tuple[tuple[str, float], ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_words", frozenset(self.words))
        object.__setattr__(self, "_tokens", frozenset(t for t in self.tokens if t))
        object.__setattr__(self, "_neighbours", LRUCache(NEIGHBOUR_CACHE))

    def corrections(self, words: Sequence[str]) -> dict[str, str]:
        """Misspelt question words, to what each was meant as: the corpus word one edit away
        ("brefing": "briefing"), else a corpus token ("recepionist": "receptionist", of
        "receptionists"). A word of the dictionary is no typo, though the corpus lacks it
        ("weather" is not "whether"), nor is another form of a corpus word."""
        found: dict[str, str] = {}
        for word, stems in zip(words, tokenize(words), strict=True):
            known = not stems or stems[0] in self._tokens or word in self.dictionary
            if known or len(word) < MIN_TYPO_CHARS:
                continue
            edits = _one_edit_away(word)
            near = sorted(edits & self._words) or sorted(edits & self._tokens)
            if near:
                found[word] = near[0]
        return found

    @classmethod
    def build(cls, texts: Sequence[str], encoder: Encoder) -> Vocabulary:
        words = sorted({w for t in texts for w in content_words(t)})
        tokens = [t[0] if t else "" for t in tokenize(words)]
        return cls(tuple(words), tuple(tokens), encoder.encode(words))

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "words.json").write_text(
            json.dumps({"words": self.words, "tokens": self.tokens}), encoding="utf-8"
        )
        np.save(folder / "vectors.npy", self.vectors)

    @classmethod
    def load(cls, folder: Path, dictionary: frozenset[str] = frozenset()) -> Vocabulary:
        data = json.loads((folder / "words.json").read_text(encoding="utf-8"))
        vectors = np.load(folder / "vectors.npy", mmap_mode="r")
        if len(data["words"]) != len(vectors):
            raise ValueError("vocabulary words and vectors disagree in number")
        return cls(tuple(data["words"]), tuple(data["tokens"]), np.asarray(vectors), dictionary)

    def expand(
        self, tokens: Sequence[str], words: Sequence[str], vectors: np.ndarray
    ) -> dict[str, float]:
        """Weighted BM25 terms: the question's own tokens (1.0) and their neighbours.

        `words` are the question's content words and `vectors` their embeddings.
        """
        terms = dict.fromkeys(tokens, 1.0)
        for word, vector in zip(words, vectors, strict=True):
            for token, sim in self.neighbours(word, vector):
                if terms.get(token, 0.0) < sim:
                    terms[token] = sim
        return terms

    def neighbours(self, word: str, vector: np.ndarray) -> tuple[tuple[str, float], ...]:
        """The tokens of the vocabulary words nearest `word` (embedded as `vector`), with their
        cosines, if close enough to count. Remembered by word and vector (its hash: the key
        stays small): one matrix-vector product over the whole vocabulary is most of what a
        question costs to expand."""
        key = (word, hash(vector.tobytes()))
        found = self._neighbours.get(key)
        if found is None:
            sims = self.vectors @ vector
            k = min(MAX_NEIGHBOURS, len(sims))
            nearest = np.argpartition(-sims, k - 1)[:k].tolist() if k else []
            found = tuple(
                (self.tokens[j], float(sims[j]))
                for j in nearest
                if sims[j] >= MIN_SIMILARITY and self.tokens[j]
            )
            self._neighbours.put(key, found)
        return found


@dataclass(frozen=True)
class Initialisms:
    """The corpus's runs of three to five content words, by their initials, as BM25 tokens."""

    phrases: dict[str, frozenset[str]]

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> Initialisms:
        phrases: dict[str, set[str]] = {}
        for text in texts:
            for piece in _PHRASE_BREAK.split(text):
                words = piece.split()
                for n in range(3, 6):
                    for i in range(len(words) - n + 1):
                        run = words[i : i + n]
                        if all(w.isalpha() and w.lower() not in STOPWORDS for w in run):
                            initials = "".join(w[0] for w in run).lower()
                            phrases.setdefault(initials, set()).update(tokenize([" ".join(run)])[0])
        return cls({k: frozenset(v) for k, v in phrases.items()})

    def spell_out(self, question: str, known: Callable[[Sequence[str]], list[str]]) -> set[str]:
        """Tokens of the phrases that the initialisms in `question` written in capitals, and
        unknown to the corpus (`known` says which tokens it has), stand for."""
        found: set[str] = set()
        for m in INITIALISM.finditer(question):
            short = m.group(1).lower()
            if not known([short]):
                found |= self.phrases.get(short, frozenset())
        return found


def _one_edit_away(word: str) -> set[str]:
    """Every string one letter dropped, added or changed, or two swapped, from `word`:
    looked up in the corpus's words, a few hundred probes cost less than an index of them."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    return {
        *(a + b[1:] for a, b in splits if b),
        *(a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1),
        *(a + c + b[1:] for a, b in splits if b for c in _LETTERS),
        *(a + c + b for a, b in splits for c in _LETTERS),
    } - {word}
