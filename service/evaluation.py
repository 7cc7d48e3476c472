"""The metrics of the evaluation README, computed on answers the search core gives in-process."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from service.search import Answer

K_EVAL = 10


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    kind: str
    role: str | None
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class ParagraphRole:
    source: str
    start: int
    end: int
    role: str | None


def normalise(text: str) -> str:
    return " ".join(text.lower().split())


def load_questions(path: Path) -> list[Question]:
    questions = []
    for n, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            questions.append(
                Question(
                    str(d.get("id", n)),
                    d["question"],
                    d.get("kind", "all"),
                    d.get("role"),
                    tuple(d.get("evidence", ())),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{n} is not a question object ({exc})") from exc
    return questions


def locate_paragraphs(path: Path, texts: Mapping[str, str]) -> list[ParagraphRole]:
    """Place each gold paragraph (found by its prefix) in the source texts; it runs to the next."""
    found: list[tuple[str, int, str | None]] = []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        if not line.strip():
            continue
        d = json.loads(line)
        prefix = d["prefix"]
        for source, text in texts.items():
            at = text.find(prefix)
            if at >= 0:
                found.append((source, at, d.get("role")))
                break
    found.sort()
    spans = []
    for i, (source, start, role) in enumerate(found):
        nxt = found[i + 1] if i + 1 < len(found) else None
        end = nxt[1] if nxt and nxt[0] == source else len(texts[source])
        spans.append(ParagraphRole(source, start, end, role))
    return spans


def _evidence_rank(answer: Answer, evidence: Sequence[str]) -> int | None:
    wanted = [normalise(e) for e in evidence]
    for hit in answer.hits[:K_EVAL]:
        text = normalise(hit.passage.text)
        if any(e in text for e in wanted):
            return hit.rank
    return None


def _ratio(num: float, den: int) -> float | None:
    return round(num / den, 4) if den else None


def metrics(
    questions: Sequence[Question],
    answers: Sequence[Answer],
    paragraphs: Sequence[ParagraphRole] = (),
) -> dict[str, float | int | None]:
    with_evidence = [(q, a) for q, a in zip(questions, answers, strict=True) if q.evidence]
    ranks = [_evidence_rank(a, q.evidence) for q, a in with_evidence]
    roled = [(q, a) for q, a in zip(questions, answers, strict=True) if q.role is not None]
    negatives = [a for q, a in zip(questions, answers, strict=True) if q.kind == "negative"]
    positives = [a for q, a in zip(questions, answers, strict=True) if q.kind != "negative"]
    row: dict[str, float | int | None] = {"n": len(questions)}
    for k in (1, 3, 5):
        row[f"recall@{k}"] = _ratio(sum(1 for r in ranks if r and r <= k), len(ranks))
    row["mrr@10"] = _ratio(sum(1 / r for r in ranks if r), len(ranks))
    row["answer_role"] = _ratio(sum(1 for q, a in roled if a.answer_role == q.role), len(roled))
    if paragraphs:
        judged = [
            hit.passage.role == gold
            for a in answers
            for hit in a.hits[:K_EVAL]
            if (
                gold := _gold_role(
                    hit.passage.source, hit.passage.start, hit.passage.end, paragraphs
                )
            )
            is not _UNJUDGED
        ]
        row["passage_role"] = _ratio(sum(judged), len(judged))
    row["negatives_caught"] = _ratio(sum(a.no_answer for a in negatives), len(negatives))
    row["false_no_answer"] = _ratio(sum(a.no_answer for a in positives), len(positives))
    return row


_UNJUDGED = object()


def _gold_role(
    source: str, start: int, end: int, paragraphs: Sequence[ParagraphRole]
) -> str | object | None:
    roles = {p.role for p in paragraphs if p.source == source and p.start < end and start < p.end}
    if len(roles) != 1:
        return _UNJUDGED  # outside the gold paragraphs, or across two of different roles
    return roles.pop()


def report(
    questions: Sequence[Question],
    answers: Sequence[Answer],
    paragraphs: Sequence[ParagraphRole] = (),
) -> dict[str, dict[str, float | int | None]]:
    """Metrics overall and by question kind."""
    table = {"all": metrics(questions, answers, paragraphs)}
    for kind in sorted({q.kind for q in questions}):
        pairs = [(q, a) for q, a in zip(questions, answers, strict=True) if q.kind == kind]
        table[kind] = metrics([q for q, _ in pairs], [a for _, a in pairs], paragraphs)
    return table


CONFIDENCE_BANDS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def is_right(question: Question, answer: Answer) -> bool:
    """The first passage holds the evidence, the answer role is right, and it was answered."""
    first = _evidence_rank(answer, question.evidence) == 1
    role = question.role is None or answer.answer_role == question.role
    return first and role and not answer.no_answer


def calibration(
    questions: Sequence[Question], answers: Sequence[Answer]
) -> dict[str, dict[str, float | int | None]]:
    """Share of right answers by confidence band, over the questions that have an answer:
    calibrated means the share rises with the confidence and roughly matches it."""
    rows: dict[str, dict[str, float | int | None]] = {}
    for low, high in itertools.pairwise(CONFIDENCE_BANDS):
        band = [
            is_right(q, a)
            for q, a in zip(questions, answers, strict=True)
            if q.evidence and (low <= a.confidence < high or a.confidence == high == 1.0)
        ]
        rows[f"{low:.2f}-{high:.2f}"] = {"n": len(band), "right": _ratio(sum(band), len(band))}
    return rows


def failures(questions: Sequence[Question], answers: Sequence[Answer]) -> list[str]:
    """One line per question that missed (evidence not first, wrong role, wrong no-answer)."""
    lines = []
    for q, a in zip(questions, answers, strict=True):
        rank = _evidence_rank(a, q.evidence) if q.evidence else None
        wrong_role = q.role is not None and a.answer_role != q.role
        wrong_na = a.no_answer != (q.kind == "negative")
        if (q.evidence and rank != 1) or wrong_role or wrong_na:
            top = a.hits[0].passage.id if a.hits else "-"
            lines.append(
                f"{q.id} [{q.kind}] rank={rank} role={a.answer_role!r} (gold {q.role!r}) "
                f"no_answer={a.no_answer} conf={a.confidence:.2f} top={top} :: {q.question}"
            )
    return lines
