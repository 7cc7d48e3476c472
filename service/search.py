"""Question to ranked, role-attributed passages: hybrid scoring, roles, answer, no-answer.

Every passage gets a score from these parts:

- `lexical`: BM25 of the question's words plus near-synonyms from the corpus vocabulary (see
  `expansion`), weighted by their similarity;
- `dense`: cosine of question and passage;
- `sentence`: cosine of question and the passage's best sentence (finer evidence); a sentence
  naming the role the question names may match the whole question, role names in, at half gain;
- `heading`: cosine of the whole question (role names included) and the section path;
- `role`: how much the passage is about the role the question names.

The first four are standardised across passages (z-scores) before they are blended, so no part
wins by its scale alone; the role part is a probability and is added as it is. The lexical part
counts as much as BM25 sees of the question: the share of its word weight the corpus knows.

Role names are taken out of the question before its content is matched, so a question about one
role is matched on what it asks, and the role is honoured by the `role` and `heading` parts and
by the sentences that name it.
"""

from __future__ import annotations

import copy
import itertools
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from service.amounts import asks_amount, states_amount
from service.chunking import Passage
from service.encoder import Encoder
from service.expansion import INITIALISM_WEIGHT, Initialisms, content_words, respell
from service.index import Index
from service.lexical import tokenize
from service.roles import SHARED, WHO, Mention, speaks_of_roles_together, without_scene

# Words that make a question a comparison of roles: general English, not corpus words.
_COMPARISON = re.compile(
    r"\b(?:vs\.?|versus|compared?|comparison|comparing|differ(?:s|ent|ence|ences)?|"
    r"distinguish\w*|contrast|both|either|each role|same)\b",
    re.I,
)

# Confidence is a logistic of evidence and lead; these slopes were set so that the share of
# right answers rises through the bands and roughly matches them (`roleqa eval` shows it).
CONFIDENCE_SLOPE = 5.0
CONFIDENCE_LEAD = 0.1

# A question for a sum of money that the leading passages name none of ("hourly rate for a
# kitchen porter") counts this share of its evidence: only a close match is still an answer.
UNSTATED_AMOUNT = 0.5

# "Who owns the incident and who runs the postmortem?" asks for each role's part.
_WHO_AND_WHO = re.compile(r"\bwho\b.+(?:\band|\bor|,)\s+who\b", re.I)
# What sets roles side by side ("the tutor or the head of year", "NPs, like the manager", the
# British "lifeguard v swim teacher"), or nothing at all between them in a list of keywords
# ("runner producer ad").
_SIDE_BY_SIDE = re.compile(r"\b(?:and|or|nor|vs?\.?|versus|like|unlike|than)\b|[,/&]|^\s*$", re.I)
# Where a sentence turns from what one does to what another does: "X suggests; Y decides",
# "X suggests one, but Y writes it".
_CLAUSE_BREAK = re.compile(r"[;:]\s+|,?\s+(?:but|while|whereas|yet)\s+", re.I)
# Where a clause's parts meet: "drafted by the 2nd AD, checked by the 1st AD and signed off by
# the producer", "the physio stops the bleeding and the kitman brings a clean shirt".
_PART_BREAK = re.compile(r",\s+|\s+(?:and|then)\s+", re.I)
# A question for the one the asker turns to, not for who does the work: "who do I tell?",
# "who should we give the keys to?", "who to call".
_TURNS_TO = re.compile(
    r"\bwho(?:m)?\s+(?:(?:do|did|should|can|could|must|would|will|shall)\s+(?:i|we|you)|to)\b",
    re.I,
)
# The verb a "who" question asks about, after any helping words: "who signs off ...", "who do
# I phone ...", "who's meant to ...", "who needs to look at ...".
_ACT = re.compile(
    r"\bwho(?:m)?(?:'s|\s+(?:is|are|was|were|do|does|did|should|can|could|will|would|must|"
    r"shall|may|might|has|have|had|needs?|to|i|we|you))*\s+([a-z]+)",
    re.I,
)
# Participles a stemmer does not take back to their verb: "is written by" does "who writes".
_PARTICIPLES = {
    "written": "write", "given": "give", "taken": "take", "made": "make", "sent": "send",
    "kept": "keep", "held": "hold", "led": "lead", "told": "tell", "brought": "bring",
    "bought": "buy", "paid": "pay", "chosen": "choose", "drawn": "draw", "shown": "show",
    "seen": "see", "found": "find", "left": "leave", "sold": "sell", "spoken": "speak",
    "broken": "break", "met": "meet", "built": "build", "caught": "catch", "taught": "teach",
    "driven": "drive", "fed": "feed", "heard": "hear", "spent": "spend", "thrown": "throw",
}  # fmt: skip
_PARTICIPLE = re.compile(rf"\b(?:{'|'.join(_PARTICIPLES)})\b", re.I)
# The word a role is reached by: "phone | their team leader", "hand the receipts to | the CM".
_REACHED_BY = re.compile(r"(\w+)\s+(?:(?:the|their|your|our|a|an)\s+)?$", re.I)

# A sentence opening with one of these leans on the one before it.
_ANAPHOR = re.compile(r"(?:they|their|them|this|these|those|it|its|such|he|she)\b", re.I)


@dataclass(frozen=True)
class Weights:
    """How the parts of a passage's score are blended; zero turns a part off."""

    lexical: float = 1.0
    dense: float = 1.0
    sentence: float = 1.0
    heading: float = 0.3
    role: float = 2.0


@dataclass(frozen=True)
class SearchConfig:
    weights: Weights = field(default_factory=Weights)
    expand: bool = True  # correct typos, and add near-synonyms to the lexical query
    # Below this evidence (best sentence cosine blended with lexical coverage): no answer.
    # Set over thirteen corpora (631 questions): it catches half of their out-of-scope
    # questions and calls 1.4% of the others unanswerable (at 0.25: 37% and 0.4%); nothing
    # changes between 0.30 and 0.33.
    no_answer_threshold: float = 0.31


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
class Query:
    text: str  # as asked
    spelled: str  # as meant: its typos corrected
    content: str  # the question without its role names
    words: tuple[str, ...]  # content words, for expansion
    tokens: tuple[str, ...]  # BM25 tokens of the content
    roles: tuple[str, ...]  # roles named, in order of first mention
    comparison: bool
    only_roles: bool  # the question is nothing but role names
    who: bool  # it asks which role: one it names is what the work is done to, or for
    turns_to: bool  # it asks whom the asker goes to ("who do I tell?"), not who does the work
    act: str | None  # the stem of the verb it asks about, if it asks "who" ("who signs ...")
    # The tokens of what it asks done: a "who" question's without its scene-setting clause
    # ("who phones 999 | if a patient collapses"), which says when, not what.
    doing: tuple[str, ...]
    amount: bool  # it asks for a sum of money


@dataclass(frozen=True)
class _Vectors:
    content: np.ndarray
    full: np.ndarray
    words: np.ndarray


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
        self._roles = np.array(
            [[dict(p.role_scores).get(r, 0.0) for r in index.roles.names] for p in index.passages],
            dtype=np.float32,
        )
        self._idf = _idf(index)
        self._unknown_idf = max(self._idf.values(), default=1.0)  # what a word it lacks weighs
        self._typical_idf = float(np.median(list(self._idf.values()) or [1.0]))
        self._initialisms = Initialisms.from_texts(p.text for p in index.passages)
        self._states_amount = np.array([states_amount(p.text) for p in index.passages], dtype=bool)
        # The corpus's own words were embedded at build time: when by this very backend, their
        # vectors are the ones the encoder would give, so a question's known words cost nothing.
        record = index.manifest.get("encoder")
        same_backend = isinstance(record, dict) and record.get("embedded_by") == encoder.backend
        vocabulary = index.vocabulary
        self._known_words: dict[str, np.ndarray] = (
            dict(zip(vocabulary.words, vocabulary.vectors, strict=True)) if same_backend else {}
        )
        self._rows = [np.flatnonzero(self._owner == i) for i in range(n)]  # sentences of each
        # Word sets of every sentence, once, for the answer sentence's word overlap.
        self._sentence_words = [
            [set(t) for t in tokenize(p.sentence_texts())] if p.sentences else []
            for p in index.passages
        ]
        # A question in the text (an FAQ's "Q: ...?") matches a question best and answers none.
        self._no_answer_sentences = [
            np.array([t.endswith("?") for t in p.sentence_texts()], dtype=bool)
            for p in index.passages
        ]

    def with_config(self, config: SearchConfig) -> Searcher:
        """The same index and encoder with other settings (for ablations)."""
        clone = copy.copy(self)
        clone.config = config
        return clone

    def with_encoder(self, encoder: Encoder) -> Searcher:
        """The same index and settings with another encoder of the same model (a caching one)."""
        clone = copy.copy(self)
        clone.encoder = encoder
        return clone

    def parse(self, asked_as: str) -> Query:
        # "backlgo", "release manger": read as the "backlog" and "release manager" meant, by
        # meaning, by word and by role.
        vocabulary = self.index.vocabulary
        meant = vocabulary.corrections(content_words(asked_as)) if self.config.expand else {}
        question = respell(asked_as, meant)
        roles = self.index.roles
        asked = roles.asked_about(question)
        compares = bool(_COMPARISON.search(question))
        who_and_who = bool(_WHO_AND_WHO.search(question))
        if not (compares or who_and_who or _side_by_side(question, asked)):
            # "Does the secretary answer the phones for the associates?" asks about the
            # secretary: the other roles are what it works for, on or with.
            asked = [m for m in asked if m.role == asked[0].role]
        named = tuple(dict.fromkeys(m.role for m in asked))
        comparison = (
            len(named) >= 2
            or (compares and len(roles.names) > 1 and len(named) != 1)
            or who_and_who
        )
        content = roles.strip_mentions(question, asked)
        if len(named) >= 2:
            # "X vs Y on Z": "vs", "differ", "both" say how to arrange the answer; Z is what
            # it is about. Without named roles ("key differences") they are the subject.
            content = _COMPARISON.sub(" ", content)
        only_roles = not content_words(content)
        if only_roles:
            content = question  # "product owner" alone: match the role's own words
        who = bool(WHO.search(question))
        tokens = tuple(tokenize([content])[0])
        return Query(
            asked_as,
            question,
            content,
            tuple(content_words(content)),
            tokens,
            named,
            comparison,
            only_roles and bool(named),
            who,
            bool(_TURNS_TO.search(question)),
            _act(question) if who else None,
            tuple(tokenize([without_scene(content)])[0]) if who else tokens,
            asks_amount(question) and not who,  # "who prices change requests?" asks for a role
        )

    def search(self, question: str, top_k: int = 5, role: str | None = None) -> Answer:
        return self.search_many([question], top_k, role)[0]

    def search_many(
        self, questions: Sequence[str], top_k: int = 5, role: str | None = None
    ) -> list[Answer]:
        """Answer many questions; everything they need encoded goes to the encoder at once."""
        started = time.perf_counter()
        queries = [self.parse(q) for q in questions]
        texts = list(dict.fromkeys(t for q in queries for t in (q.content, q.spelled, *q.words)))
        encoded = {t: self._known_words[t] for t in texts if t in self._known_words}
        todo = [t for t in texts if t not in encoded]
        if todo:
            encoded.update(zip(todo, self.encoder.encode(todo), strict=True))
        shared_ms = (time.perf_counter() - started) * 1000 / max(len(queries), 1)
        answers = []
        for q in queries:
            t0 = time.perf_counter()
            vectors = _Vectors(
                encoded[q.content],
                encoded[q.spelled],
                np.array([encoded[w] for w in q.words], dtype=np.float32).reshape(
                    len(q.words), self.encoder.dim
                ),
            )
            answer = self._answer(q, vectors, top_k, role)
            took = (time.perf_counter() - t0) * 1000 + shared_ms
            answers.append(replace(answer, took_ms=round(took, 3)))
        return answers

    def _raw_parts(self, q: Query, v: _Vectors, sentences: np.ndarray) -> dict[str, np.ndarray]:
        """Each part's score for every passage; `sentences` are the question's sentence cosines."""
        n = len(self.index.passages)
        if self.config.expand:
            terms = self.index.vocabulary.expand(q.tokens, q.words, v.words)
            for token in self._initialisms.spell_out(q.content, self.index.lexical.known):
                terms.setdefault(token, INITIALISM_WEIGHT)
        else:
            terms = dict.fromkeys(q.tokens, 1.0)
        sentence = np.full(n, -1.0, dtype=np.float32)
        np.maximum.at(sentence, self._owner, sentences)
        return {
            "lexical": self.index.lexical.weighted_scores(terms),
            "dense": self._dense @ v.content,
            "sentence": sentence,
            "heading": self._headings @ v.full,
            "role": self._role_part(q),
        }

    def _role_part(self, q: Query) -> np.ndarray:
        if not q.roles or q.comparison:
            return np.zeros(len(self.index.passages), dtype=np.float32)
        names = self.index.roles.names
        part: np.ndarray = self._roles[:, [names.index(r) for r in q.roles]].max(axis=1)
        return part

    def _answer(self, q: Query, v: _Vectors, top_k: int, role: str | None) -> Answer:
        w = self.config.weights
        asked = self._sentences @ v.content
        # A sentence naming the role the question names, doing what it asks, answers it better
        # than one doing it alone ("At the start of each shift the Goods-In Clerk prints ..."):
        # where the whole question's cosine, role names in, is higher, half the gain counts.
        sentences = np.maximum(asked, 0.5 * (asked + self._sentences @ v.full))
        raw = self._raw_parts(q, v, sentences)
        used = [k for k in raw if getattr(w, k) > 0]
        scaled = [k for k in used if k != "role"]  # the role part is a probability already
        z = (
            dict(zip(scaled, _standardise(np.stack([raw[k] for k in scaled])), strict=True))
            if scaled
            else {}
        )
        # Standardised, BM25 would speak as loudly for a question whose words the corpus
        # mostly lacks (a paraphrase: a stray common word decides) as for one whose words it
        # all has: it counts as much as it sees of the question, an unseen word weighing as a
        # typical one.
        seen = _coverage(q.tokens, self._idf, self._typical_idf)
        weights = {k: getattr(w, k) * (seen if k == "lexical" else 1.0) for k in used}
        parts = {k: weights[k] * z.get(k, raw[k]) for k in used}
        fused = np.sum(list(parts.values()), axis=0) if parts else np.zeros(len(raw["dense"]))
        order = self._rank(q, fused, role)
        evidence = self._evidence(q, asked, order)
        # Shown as a logistic of the mean standardised part: 0.5 is an average passage.
        scores = 1.0 / (1.0 + np.exp(-fused / max(sum(weights.values()), 1e-9)))
        hits = tuple(
            Hit(
                passage=self.index.passages[i],
                rank=rank,
                score=round(float(scores[i]), 4),
                answer=self._best_sentence(i, sentences, q),
                parts={k: round(float(x[i]), 4) for k, x in parts.items()},
            )
            for rank, i in enumerate(order[:top_k], start=1)
        )
        answer_role = self._answer_role(q, hits)
        confidence = self._confidence(evidence, fused, order)
        no_answer = evidence < self.config.no_answer_threshold
        return Answer(q.text, answer_role, confidence, no_answer, hits, 0.0)

    def _rank(self, q: Query, fused: np.ndarray, role: str | None) -> list[int]:
        order = [int(i) for i in np.argsort(-fused, kind="stable")]
        passages = self.index.passages
        if role is not None:
            return [i for i in order if passages[i].role in (role, SHARED)]
        if len(q.roles) < 2:
            return order
        # Naming two roles asks for each one's side: lead with the best passage of each, after
        # a passage about them jointly if that is the best match of all.
        leaders = [order[0]] if passages[order[0]].role == SHARED else []
        for r in q.roles:
            best = next((i for i in order if passages[i].role == r), None)
            if best is not None:
                leaders.append(best)
        leaders.sort(key=lambda i: -fused[i])
        return leaders + [i for i in order if i not in leaders]

    def _evidence(self, q: Query, asked: np.ndarray, order: list[int]) -> float:
        """How well the corpus matches the question's content, role names aside, in [0, 1].

        The best sentence's cosine among the leading passages (`asked`: the content's cosine to
        every indexed sentence), blended with the share of the question's word weight that the
        corpus knows (unknown words weigh most). A question that is nothing but role names is
        about the corpus by definition; one for a sum of money, where none of the leading
        passages names one, counts `UNSTATED_AMOUNT` of this.
        """
        if q.only_roles:
            return 1.0
        top = order[:3]
        if not top:
            return 0.0
        sentence = max(
            (float(asked[self._rows[i]].max()) for i in top if self._rows[i].size), default=-1.0
        )
        coverage = _coverage(q.tokens, self._idf, self._unknown_idf)
        evidence = 0.7 * max(sentence, 0.0) + 0.3 * coverage
        if q.amount and not self._states_amount[top].any():
            return UNSTATED_AMOUNT * evidence
        return evidence

    def _confidence(self, evidence: float, fused: np.ndarray, order: list[int]) -> float:
        """A logistic of the evidence, lifted by the first passage's lead over the second.

        It crosses 0.5 exactly at the no-answer threshold, so `no_answer` and a confidence
        under one half always go together.
        """
        z = CONFIDENCE_SLOPE * (evidence - self.config.no_answer_threshold)
        if z >= 0 and len(order) > 1:
            z += CONFIDENCE_LEAD * float(fused[order[0]] - fused[order[1]])
        return round(1.0 / (1.0 + math.exp(-z)), 4)

    def _answer_role(self, q: Query, hits: Sequence[Hit]) -> str | None:
        if q.comparison:
            return SHARED
        if len(q.roles) == 1 and not q.who:
            return q.roles[0]
        # The best passage that is about a role: an introduction about none answers no "who".
        for h in hits:
            if q.who:
                # "Who ...?" is answered by whoever the answer sentence says does it (or, asked
                # "who do I tell?", whom it says to go to), whatever the passage is about; a
                # passage that says its role does not, answers no one.
                clause = self._clause(q, h.answer)
                said = self.index.roles.doers(clause)
                answering = self._answering(q, clause, said)
                if len(answering) == 1:
                    return answering[0]
                if said.get(h.passage.role or "") is False:
                    continue
            if h.passage.role == SHARED and not speaks_of_roles_together(h.passage.text):
                # Short of a comparison, a question asks for one role: of a passage about
                # several, not together, the one it is most about, unless it is about them alike.
                return _leading(h.passage)
            if h.passage.role is not None:
                return h.passage.role
        return None

    def _clause(self, q: Query, answer: str) -> str:
        """The clause of `answer` most like the question: "A reporter can suggest one, | but
        the headline is written by the copy editor"; "the SRE does not approve releases; | the
        freeze belongs to the SRE" denies no freeze."""
        clauses = _CLAUSE_BREAK.split(answer)
        asked = set(q.doing)
        words = _verb_tokens(clauses)
        return clauses[max(range(len(clauses)), key=lambda i: len(asked.intersection(words[i])))]

    def _answering(self, q: Query, clause: str, said: dict[str, bool]) -> list[str]:
        """The roles `clause` answers with: for "who do I tell?", the one it sends the asker to
        ("an advisor who is unwell must phone | their team leader"), if it names one; else those
        it says do it, and of several, those in the one part of the clause with the verb asked
        ("drafted by the 2nd AD, checked by the 1st AD and | signed off by the producer")."""
        if q.turns_to:
            mentions = self.index.roles.mentions(clause)
            sent_to = {m.role for m in mentions if _reaches(clause[: m.start], q.act)} - said.keys()
            if len(sent_to) == 1:
                return list(sent_to)
        doing = [role for role, does in said.items() if does]
        if len(doing) > 1 and q.act:
            parts = _PART_BREAK.split(clause)
            acting = [
                p for p, words in zip(parts, _verb_tokens(parts), strict=True) if q.act in words
            ]
            if len(acting) == 1:
                named = {m.role for m in self.index.roles.mentions(acting[0])}
                doing = [role for role in doing if role in named]
        return doing

    def _best_sentence(self, i: int, cosines: np.ndarray, q: Query) -> str:
        """The passage's sentence that best answers, by its cosine (of all `cosines`, one per
        indexed sentence) and its share of the question's words."""
        passage = self.index.passages[i]
        rows = self._rows[i]
        texts = passage.sentence_texts()
        if rows.size == 0 or not texts:
            return passage.text
        words = set(q.doing)
        overlap = np.array(
            [len(words & t) / (len(words) or 1) for t in self._sentence_words[i]], dtype=np.float32
        )
        fit = cosines[rows] + 0.3 * overlap
        asks = self._no_answer_sentences[i]
        if len(asks) == len(fit) and not asks.all():
            fit[asks] = -np.inf
        best = int(np.argmax(fit))
        # "They refine the backlog." says little alone: take in the sentence naming "they".
        first = best - 1 if best > 0 and _ANAPHOR.match(texts[best]) else best
        spans = passage.sentences
        return passage.text[spans[first].start - passage.start : spans[best].end - passage.start]


def _side_by_side(question: str, asked: Sequence[Mention]) -> bool:
    """Whether two roles `asked` about are named side by side: joined by "and", "or", "vs", a
    comma, "like", or by nothing at all."""
    return any(
        a.role != b.role and _SIDE_BY_SIDE.search(question[a.end : b.start])
        for a, b in itertools.pairwise(asked)
    )


def _leading(passage: Passage) -> str:
    """The role a passage is most about, or `SHARED` if no one role leads."""
    ranked = sorted(passage.role_scores, key=lambda role_score: -role_score[1])
    if len(ranked) > 1 and ranked[0][1] > ranked[1][1]:
        return ranked[0][0]
    return SHARED


def _verb_tokens(texts: Sequence[str]) -> list[list[str]]:
    """The texts' tokens, a participle as its verb's: "is given by the VN" does "who gives"."""
    return tokenize([_PARTICIPLE.sub(lambda m: _PARTICIPLES[m[0].lower()], t) for t in texts])


def _act(question: str) -> str | None:
    """The stem of the verb a "who" question asks about: "who signs off the rota?" -> "sign"."""
    found = _ACT.search(question)
    stems = _verb_tokens([found[1]])[0] if found else []
    return stems[0] if stems else None


def _reaches(before: str, act: str | None) -> bool:
    """Whether the role named after `before` is one the asker goes to: after "to", "with" or
    the verb asked (`act`)."""
    word = _REACHED_BY.search(before)
    if word is None:
        return False
    return word[1].lower() in ("to", "with") or _verb_tokens([word[1]])[0] == [act]


def _standardise(rows: np.ndarray) -> np.ndarray:
    """Each row as z-scores; a row with no spread becomes zeros."""
    centred = rows - rows.mean(axis=1, keepdims=True)
    sd = centred.std(axis=1, keepdims=True)
    z: np.ndarray = np.divide(centred, sd, out=np.zeros_like(centred), where=sd > 1e-9)
    return z


def _idf(index: Index) -> dict[str, float]:
    """Inverse document frequency of every indexed word, for weighting query coverage."""
    n = len(index.passages)
    df: dict[str, int] = {}
    for tokens in tokenize([p.text for p in index.passages]):
        for t in set(tokens):
            df[t] = df.get(t, 0) + 1
    return {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}


def _coverage(tokens: Sequence[str], idf: Mapping[str, float], unknown_weight: float) -> float:
    """Share of the question's word weight that the corpus knows (unknown words weigh most)."""
    if not tokens:
        return 0.0
    total = sum(idf.get(t, unknown_weight) for t in tokens)
    return sum(idf.get(t, 0.0) for t in tokens) / total if total else 0.0
