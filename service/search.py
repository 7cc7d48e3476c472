"""Question to ranked, role-attributed passages: hybrid scoring, roles, answer, no-answer.

Every passage gets a fused score from these parts (each in [0, 1]):

- `lexical`: BM25 of the question's words, divided by the best passage's BM25 and scaled by
  how much of the question's word weight the corpus knows at all;
- `dense`: cosine of question and passage;
- `sentence`: cosine of question and the passage's best sentence (finer evidence);
- `heading`: cosine of question and the passage's section path;
- `role`: how much the passage is about the role(s) the question names.

Role names are taken out of the question before matching its content, so a question about one
role is matched on what it asks, and the role is honoured by the `role` part alone.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from service.chunking import Passage
from service.encoder import Encoder
from service.index import Index
from service.lexical import tokenize
from service.roles import SHARED

# Words that make a question a comparison of roles. General English, not corpus words.
_COMPARISON = re.compile(
    r"\b(?:vs\.?|versus|compared?|comparison|comparing|differ(?:s|ent|ence|ences)?|"
    r"distinguish\w*|contrast|both|either|each role|same)\b",
    re.I,
)


@dataclass(frozen=True)
class Weights:
    """How the parts of a passage's score are blended; zero turns a part off."""

    lexical: float = 0.35
    dense: float = 0.25
    sentence: float = 0.30
    heading: float = 0.10
    role: float = 0.25


@dataclass(frozen=True)
class SearchConfig:
    weights: Weights = field(default_factory=Weights)
    # No answer below this evidence (best sentence cosine blended with lexical coverage).
    no_answer_threshold: float = 0.40
    candidates: int = 10


@dataclass(frozen=True)
class Hit:
    passage: Passage
    rank: int
    score: float
    answer: str
    parts: dict[str, float]


@dataclass(frozen=True)
class Answer:
    question: str
    answer_role: str | None
    confidence: float
    no_answer: bool
    hits: tuple[Hit, ...]
    took_ms: float
    error: str | None = None


@dataclass(frozen=True)
class _Query:
    text: str
    content: str  # the question without its role names
    roles: tuple[str, ...]  # roles named, in order of first mention
    comparison: bool


class Searcher:
    """Answers questions from one loaded index; holds no per-request state."""

    def __init__(self, index: Index, encoder: Encoder, config: SearchConfig | None = None) -> None:
        self.index = index
        self.encoder = encoder
        self.config = config or SearchConfig()
        n = len(index.passages)
        self._dense = index.dense.reconstruct_n(0, n)
        self._headings = index.headings.reconstruct_n(0, n)
        self._sentences = index.sentences.reconstruct_n(0, index.sentences.ntotal)
        self._owner = np.asarray(index.sentence_owner)
        self._role_matrix = np.array(
            [[dict(p.role_scores).get(r, 0.0) for r in index.roles.names] for p in index.passages],
            dtype=np.float32,
        )
        self._shared = np.array([p.role == SHARED for p in index.passages])
        self._idf = _idf(index)

    def with_config(self, config: SearchConfig) -> Searcher:
        clone = object.__new__(Searcher)
        clone.__dict__.update(self.__dict__)
        clone.config = config
        return clone

    def parse(self, question: str) -> _Query:
        roles = self.index.roles
        named = tuple(dict.fromkeys(m.role for m in roles.mentions(question)))
        content = roles.strip_mentions(question)
        if not re.search(r"\w", content):
            content = question
        comparison = len(named) >= 2 or (
            bool(_COMPARISON.search(question)) and len(roles.names) > 1 and len(named) != 1
        )
        return _Query(question, content, named, comparison)

    def search(self, question: str, top_k: int = 5, role: str | None = None) -> Answer:
        return self.search_many([question], top_k, role)[0]

    def search_many(
        self, questions: Sequence[str], top_k: int = 5, role: str | None = None
    ) -> list[Answer]:
        """Answer many questions; they are encoded together, in one call to the encoder."""
        started = time.perf_counter()
        queries = [self.parse(q) for q in questions]
        texts = list(dict.fromkeys(q.content for q in queries))
        vectors = dict(zip(texts, self.encoder.encode(texts), strict=True)) if texts else {}
        share = (time.perf_counter() - started) / max(len(queries), 1)
        answers = []
        for q in queries:
            t0 = time.perf_counter()
            answer = self._answer(q, vectors[q.content], top_k, role)
            took = (time.perf_counter() - t0 + share) * 1000
            answers.append(replace(answer, took_ms=round(took, 3)))
        return answers

    def _parts(self, q: _Query, vector: np.ndarray) -> dict[str, np.ndarray]:
        w = self.config.weights
        n = len(self.index.passages)
        tokens = tokenize([q.content])[0]
        known = self.index.lexical.known(tokens)
        bm25 = self.index.lexical.scores(known)
        coverage = _coverage(tokens, known, self._idf)
        lexical = bm25 / bm25.max() * coverage if bm25.max() > 0 else np.zeros(n, np.float32)
        sentence_cos = self._sentences @ vector
        sentence = np.full(n, -1.0, dtype=np.float32)
        np.maximum.at(sentence, self._owner, sentence_cos)
        parts = {
            "lexical": lexical,
            "dense": np.clip(self._dense @ vector, 0, 1),
            "sentence": np.clip(sentence, 0, 1),
            "heading": np.clip(self._headings @ vector, 0, 1),
            "role": self._role_part(q),
        }
        return {k: v for k, v in parts.items() if getattr(w, k) > 0}

    def _role_part(self, q: _Query) -> np.ndarray:
        names = self.index.roles.names
        n = len(self.index.passages)
        if not q.roles or q.comparison:
            return np.zeros(n, dtype=np.float32)
        cols = [names.index(r) for r in q.roles]
        return self._role_matrix[:, cols].max(axis=1)

    def _answer(self, q: _Query, vector: np.ndarray, top_k: int, role: str | None) -> Answer:
        w = self.config.weights
        parts = self._parts(q, vector)
        score = sum(getattr(w, k) * v for k, v in parts.items())
        total = sum(getattr(w, k) for k in parts) or 1.0
        score = np.asarray(score / total, dtype=np.float32)
        order = self._rank(q, score, role)
        evidence = self._evidence(parts, order)
        no_answer = evidence < self.config.no_answer_threshold
        hits = tuple(
            Hit(
                passage=self.index.passages[i],
                rank=rank,
                score=round(float(score[i]), 4),
                answer=self._best_sentence(i, vector, q),
                parts={k: round(float(v[i]) * getattr(w, k) / total, 4) for k, v in parts.items()},
            )
            for rank, i in enumerate(order[:top_k], start=1)
        )
        answer_role = self._answer_role(q, hits) if hits else None
        confidence = self._confidence(evidence, score, order)
        return Answer(q.text, answer_role, confidence, bool(no_answer), hits, 0.0)

    def _rank(self, q: _Query, score: np.ndarray, role: str | None) -> list[int]:
        order = [int(i) for i in np.argsort(-score, kind="stable")]
        if role is not None:
            return [i for i in order if self.index.passages[i].role in (role, SHARED)]
        if not q.comparison:
            return order
        # A comparison leads with the best passage of each role it concerns, then the rest.
        concerned = q.roles or tuple(self.index.roles.names)
        leaders = []
        for r in concerned:
            best = next((i for i in order if self.index.passages[i].role == r), None)
            if best is not None:
                leaders.append(best)
        shared_first = [i for i in order[:1] if self._shared[i]]
        head = list(dict.fromkeys(shared_first + sorted(leaders, key=lambda i: -score[i])))
        return head + [i for i in order if i not in head]

    def _evidence(self, parts: dict[str, np.ndarray], order: list[int]) -> float:
        """How well the best passages match the question's content, role names aside."""
        if not order:
            return 0.0
        top = order[:3]
        sentence = max(float(parts.get("sentence", parts.get("dense", np.zeros(1)))[i]) for i in top)
        lexical = max(float(parts["lexical"][i]) for i in top) if "lexical" in parts else sentence
        return 0.6 * sentence + 0.4 * lexical

    def _confidence(self, evidence: float, score: np.ndarray, order: list[int]) -> float:
        """A logistic of the evidence and the lead of the first passage over the second."""
        margin = float(score[order[0]] - score[order[1]]) if len(order) > 1 else 0.0
        z = 12.0 * (evidence - self.config.no_answer_threshold) + 8.0 * margin
        return round(1.0 / (1.0 + math.exp(-z)), 4)

    def _answer_role(self, q: _Query, hits: Sequence[Hit]) -> str | None:
        if q.comparison:
            return SHARED
        if len(q.roles) == 1:
            return q.roles[0]
        return hits[0].passage.role

    def _best_sentence(self, i: int, vector: np.ndarray, q: _Query) -> str:
        passage = self.index.passages[i]
        rows = np.flatnonzero(self._owner == i)
        if rows.size == 0:
            return passage.text
        words = set(tokenize([q.content])[0])
        texts = passage.sentence_texts()
        overlap = np.array(
            [len(words & set(t)) / (len(words) or 1) for t in tokenize(texts)], dtype=np.float32
        )
        best = int(np.argmax(self._sentences[rows] @ vector + 0.3 * overlap))
        return texts[best]


def _idf(index: Index) -> dict[str, float]:
    """Inverse document frequency of every indexed word, for weighting query coverage."""
    n = len(index.passages)
    df: dict[str, int] = {}
    for tokens in tokenize([p.text for p in index.passages]):
        for t in set(tokens):
            df[t] = df.get(t, 0) + 1
    return {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}


def _coverage(tokens: Sequence[str], known: Sequence[str], idf: dict[str, float]) -> float:
    """Share of the question's word weight that the corpus knows (unknown words weigh most)."""
    if not tokens:
        return 0.0
    unknown_weight = max(idf.values(), default=1.0)
    total = sum(idf.get(t, unknown_weight) for t in tokens)
    return sum(idf[t] for t in known) / total if total else 0.0
