"""The HTTP models: what comes in (validated at the edge) and what goes out."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from service import metrics
from service.questions import check_question
from service.search import Answer, Hit

MAX_TOP_K = 50


class AskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(
        description="a question in plain language", examples=["Who represents the customer?"]
    )
    top_k: int = Field(default=5, ge=1, le=MAX_TOP_K, description="how many passages to return")
    role: str | None = Field(default=None, description="only passages about this role (or shared)")
    explain: bool = Field(default=False, description="add the parts of each passage's score")

    @field_validator("question")
    @classmethod
    def _question(cls, value: str) -> str:
        return check_question(value)


class PassageOut(BaseModel):
    id: str
    rank: int
    score: float
    text: str
    answer: str
    role: str | None
    role_scores: dict[str, float]
    section: list[str]
    source: str
    start: int
    end: int
    explain: dict[str, float] | None = None

    @classmethod
    def from_hit(cls, hit: Hit, explain: bool = False) -> PassageOut:
        p = hit.passage
        return cls(
            id=p.id,
            rank=hit.rank,
            score=hit.score,
            text=p.text,
            answer=hit.answer,
            role=p.role,
            role_scores=dict(p.role_scores),
            section=list(p.section),
            source=p.source,
            start=p.start,
            end=p.end,
            explain=hit.parts if explain else None,
        )


class AnswerOut(BaseModel):
    question: str
    answer_role: str | None
    confidence: float
    no_answer: bool
    passages: list[PassageOut]
    took_ms: float
    error: str | None = None

    @classmethod
    def from_answer(cls, answer: Answer, explain: bool = False) -> AnswerOut:
        """Every answer given over HTTP passes here, so here it is counted."""
        if answer.error is None:  # an invalid item of a batch was not answered at all
            metrics.record_answer(answer.no_answer)
        return cls(
            question=answer.question,
            answer_role=answer.answer_role,
            confidence=answer.confidence,
            no_answer=answer.no_answer,
            passages=[PassageOut.from_hit(h, explain) for h in answer.hits],
            took_ms=answer.took_ms,
            error=answer.error,
        )


class AskBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Items are checked one by one, not here: an invalid item gets an error in its own result
    # rather than failing the whole batch.
    questions: list[JsonValue] = Field(
        description="questions in plain language, answered in this order",
        examples=[["Who represents the customer?", "What does the SAFe PM own?"]],
    )
    top_k: int = Field(default=3, ge=1, le=MAX_TOP_K, description="passages per question")
    role: str | None = Field(default=None, description="only passages about this role (or shared)")
    explain: bool = Field(default=False, description="add the parts of each passage's score")


class AskBatchOut(BaseModel):
    results: list[AnswerOut] = Field(
        description="one answer per question, in order; an invalid question's has `error`"
    )


class RoleOut(BaseModel):
    name: str
    aliases: list[str]
    people: list[str] = Field(
        description='names the documents give people in this role ("Helen Marsh", "Helen"), '
        "which count as the role's names in this corpus"
    )
    description: str
    passages: int


class RolesOut(BaseModel):
    roles: list[RoleOut]
    shared: str = "shared"


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    version: str
    passages: int
    model: str
    built_at: str
    corpus: str
    files: list[str]


class ReloadOut(BaseModel):
    previous: str = Field(description="the index version served before")
    version: str = Field(description="the index version served now")
    passages: int
    changed: bool
